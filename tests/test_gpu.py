"""The GPU path: run where CUDA is present (skipped, with the reason, on CPU-only machines);
GPU slots and the cluster's GPU request, tested everywhere."""

import shutil
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from conftest import ROOT, STUB_OPTIONS, load_config, sbatch_stubs, snakemake_command

from invertibility.core.inversion_settings import InversionSettings
from invertibility.jobs.device import choose_device
from invertibility.methods.inversion import initial_images, invert
from invertibility.nets.mlp import MLP
from invertibility.nets.models import build_model
from invertibility.nets.taps import Tap
from invertibility.planning.plan import Plan

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")

# Stated tolerance for autocast (bf16 forward, fp32 image and priors): mean absolute pixel
# difference to the fp32 reconstruction, in standardized units (pixel std is about 1).
AUTOCAST_TOLERANCE = 0.05


def mlp_problem(device):
    """fc1 of a small MLP: overcomplete and well conditioned, so the inversion has one answer
    (a non-convex conv inversion at a large step would amplify TF32 rounding into a different
    local optimum, which says nothing about the GPU path)."""
    torch.manual_seed(0)
    model = MLP(64, [256, 32], 10).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    forward = Tap(model, "fc1")
    images = (torch.rand(8, 1, 8, 8) * 2 - 0.5).to(device)
    init = initial_images([f"g{i}" for i in range(8)], (1, 8, 8), 0.1, 0).to(device)
    return forward, forward(images).detach(), init, images


SETTINGS = InversionSettings(iterations=150, lr=5.0, lambda_tv=0.001, lambda_alpha=1e-6)


def test_auto_device_follows_cuda_availability():
    assert choose_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@cuda
def test_cuda_inversion_matches_cpu():
    results = {}
    for device in ("cpu", "cuda"):
        forward, target, init, _ = mlp_problem(torch.device(device))
        results[device] = invert(forward, target, init, SETTINGS, progress=False)
    difference = (results["cuda"].reconstructions.cpu() - results["cpu"].reconstructions).abs()
    assert difference.mean() < 1e-3, difference.mean()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_autocast_matches_fp32_within_the_stated_tolerance(device):
    """bfloat16 autocast runs on the CPU too, so its path is tested on every machine."""
    forward, target, init, images = mlp_problem(torch.device(device))
    fp32 = invert(forward, target, init, SETTINGS, progress=False)
    bf16 = invert(forward, target, init, replace(SETTINGS, autocast=True), progress=False)
    difference = (bf16.reconstructions - fp32.reconstructions).abs().mean().item()
    assert difference < AUTOCAST_TOLERANCE, difference
    assert bf16.feature_error.max() < 0.1


@cuda
def test_conv_inversion_runs_on_cuda_with_autocast():
    torch.manual_seed(0)
    model = build_model("resnet18_nobn", 10, (3, 64, 64)).cuda().eval()
    forward = Tap(model, "layer1.1.conv2")
    images = torch.randn(4, 3, 64, 64, device="cuda")
    init = initial_images(list("abcd"), (3, 64, 64), 0.1, 0).cuda()
    result = invert(
        forward,
        forward(images).detach(),
        init,
        InversionSettings(iterations=50, lr=200.0, autocast=True),
        progress=False,
    )
    assert not result.diverged.any() and result.feature_error.max() < 0.9


def test_slots_spread_over_gpus_before_they_stack_and_are_released(tmp_path):
    from invertibility.jobs import device

    held = len(device._HELD_LOCKS)
    assert [device.claim_gpu_slot(2, 2, tmp_path) for _ in range(4)] == [0, 1, 0, 1]
    for handle in device._HELD_LOCKS[held + 1 :]:  # jobs end: their slots free up
        handle.close()
    del device._HELD_LOCKS[held + 1 :]
    assert device.claim_gpu_slot(2, 2, tmp_path) == 1  # GPU 0's first slot is still held
    for handle in device._HELD_LOCKS[held:]:
        handle.close()
    del device._HELD_LOCKS[held:]


SLOT_JOB = """
import sys, time
from invertibility.jobs.device import claim_gpu_slot
claim_gpu_slot(1, int(sys.argv[2]), sys.argv[1], poll_s=0.02)
start = time.time()
time.sleep(0.6)
print(start, time.time())
"""


def slot_jobs(tmp_path, jobs: int, jobs_per_gpu: int) -> list[tuple[float, float]]:
    """(start, end) of ``jobs`` processes started together, each holding a slot of one GPU."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SLOT_JOB, str(tmp_path), str(jobs_per_gpu)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(jobs)
    ]
    spans = [tuple(map(float, p.communicate(timeout=60)[0].split())) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    return sorted(spans)


def test_one_slot_never_runs_two_jobs_at_once(tmp_path):
    spans = slot_jobs(tmp_path, 3, jobs_per_gpu=1)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end  # the next one waited for the slot: never a silent share


def test_n_slots_run_n_jobs_at_once(tmp_path):
    spans = slot_jobs(tmp_path, 3, jobs_per_gpu=3)
    assert max(start for start, _ in spans) < min(end for _, end in spans)


def test_a_group_of_inversions_side_by_side_asks_for_one_gpu(finished_run, tmp_path):
    """Four inversions in a group, four slots of one GPU: the group runs them at once and asks
    sbatch for one GPU, not four (no SLURM needed: stubs)."""
    env, record = sbatch_stubs(tmp_path)
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir, symlinks=True)  # keeps the times: nothing reruns
    jobs = Plan(load_config(ROOT / "config" / "test.yaml")).inversions.all[:4]
    for job in jobs:
        (run_dir / job.path).unlink()
    gpu_config = tmp_path / "gpu.yaml"
    gpu_config.write_text("resources: {gpu: 1, jobs_per_gpu: 4}\n")
    command = snakemake_command(
        run_dir,
        *(job.path for job in jobs),
        *STUB_OPTIONS,
        "--group-components",
        "inversions=4",
        "--resources",
        "gpu_slots=4",
        config=[ROOT / "config" / "test.yaml", gpu_config],
    )
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    output = run.stdout + run.stderr
    assert record.is_file(), output[-3000:]
    requests = record.read_text().splitlines()
    assert len(requests) == 1, requests  # one group job for the four
    assert "--gres=gpu:1" in requests[0] and "--gpus" not in requests[0], requests[0]
    assert "gpu_slots=4" in output, output[-3000:]  # the four side by side on its GPU
