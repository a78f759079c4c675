"""The SLURM profile against a real one-node SLURM (bash scripts/slurm_cluster.sh up)."""

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
import torch
from conftest import ROOT, STUB_OPTIONS, load_config, run_snakemake, sbatch_stubs, snakemake_command

from invertibility.core import paths
from invertibility.planning.plan import Plan


def slurm_is_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    run = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return run.returncode == 0 and bool(re.search(r"idle|mix|alloc", run.stdout))


# CI sets REQUIRE_SLURM=1: there a missing cluster is a failure, not a skip
REQUIRED = os.environ.get("REQUIRE_SLURM") == "1"
slurm = pytest.mark.skipif(
    not REQUIRED and not slurm_is_up(),
    reason="SLURM test cluster is not up: run `bash scripts/slurm_cluster.sh up` (as root)",
)
pytestmark = pytest.mark.slurm

PROFILES = ["--profile", "profiles/slurm", "--workflow-profile", "profiles/slurm-test"]


@slurm
def test_tiny_config_runs_through_sbatch(tmp_path):
    """The test config, its MLP chunked (a folder per job) and the rest one job per file
    (grouped 4 to a submission by the test profile)."""
    chunked = tmp_path / "chunked.yaml"
    chunked.write_text("models: {mlp: {invert_chunk: 2}}\n")
    config = [ROOT / "config" / "test.yaml", chunked]
    run = run_snakemake(
        tmp_path / "run",
        *PROFILES,
        "--slurm-keep-successful-logs",
        config=config,
        check=False,
        timeout=1500,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    plan = Plan(load_config(ROOT / "config" / "test.yaml"))
    for job in plan.inversions.all:
        assert (tmp_path / "run" / job.path).is_file()
    assert (tmp_path / "run" / paths.claims()).is_file()
    # every job of the run was submitted with sbatch: one SLURM job id per submission
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
    groups = output.count("Group job inversions")
    n_grouped = sum(job.model != "mlp" for job in plan.inversions.all)
    other_jobs = len(re.findall(r"^rule (?!all\b|invert\b)\w+:", output, re.M))
    chunks = len(re.findall(r"^rule invert_chunk:", output, re.M))
    assert chunks == len({(j.seed, j.layer, j.t) for j in plan.inversions.all if j.model == "mlp"})
    assert len(submitted) == len(set(submitted)) == groups + other_jobs, output[-3000:]
    assert groups == -(-n_grouped // 4)  # 4 inversions per group in the test profile
    logs = list((tmp_path / "run" / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in logs} >= set(submitted)


def test_a_gpu_rule_asks_sbatch_for_a_gpu(tmp_path):
    """No SLURM needed (stubs)."""
    env, record = sbatch_stubs(tmp_path)
    gpu_config = tmp_path / "gpu.yaml"
    gpu_config.write_text("resources: {gpu: 1, train_threads: 2}\n")
    command = snakemake_command(
        tmp_path / "run",
        paths.training_table("mlp", 0),
        *STUB_OPTIONS,
        config=[ROOT / "config" / "test.yaml", gpu_config],
    )
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert record.is_file(), (run.stdout + run.stderr)[-3000:]
    request = record.read_text()
    assert "--gres=gpu:1" in request, request  # config resources.gpu
    assert "--gpus" not in request, request
    assert "--cpus-per-task=2" in request, request  # the train job's threads
    assert "-p gpu" in request and "--comment rule_train" in request


@slurm
def test_a_training_longer_than_its_time_limit_is_stopped_resubmitted_and_resumed(tmp_path):
    """The test config's MLP trained for 10,000 steps (about 30 s on one core of a 2-core Xeon)
    under a one-minute SLURM limit: the job saves its state and stops itself 45 s before the
    limit, the retries resubmit it, it resumes (as often as it takes), and its checkpoints and
    tables equal a training that was never stopped."""
    from safetensors.torch import load_file

    longer = tmp_path / "longer.yaml"
    longer.write_text(
        'models: {mlp: {train: {epochs: 500}, checkpoints: ["0_5", "1_0", "1_5", "500_0"]}}\n'
        "resources: {train_runtime: 1, train_stop_margin_s: 45, train_state_every_s: 5}\n"
    )
    config = [ROOT / "config" / "test.yaml", longer]
    outputs = [paths.training_table("mlp", 0), paths.checkpoint_dir("mlp", 0)]
    run = run_snakemake(
        tmp_path / "slurm", *outputs, *PROFILES, "--retries", "10", config=config, check=False
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    # each stopped attempt's error is in its SLURM log; the job's log is the last attempt's
    attempts = (tmp_path / "slurm" / ".snakemake" / "slurm_logs").rglob("*.log")
    stops = [p for p in attempts if "TrainingStopped: stopped at step" in p.read_text()]
    assert stops, (run.stdout + run.stderr)[-5000:]
    log = (tmp_path / "slurm" / paths.log("train", model="mlp", seed="seed0")).read_text()
    assert "resumed at step" in log, log[-3000:]
    assert not (tmp_path / "slurm" / paths.training_state("mlp", 0)).exists()

    run_snakemake(tmp_path / "local", *outputs, config=config)  # never stopped
    for step in ("0_5", "1_5", "500_0"):
        ours, theirs = (
            load_file(tmp_path / run / paths.checkpoint("mlp", 0, step))
            for run in ("slurm", "local")
        )
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[name], theirs[name]) for name in ours), step
    for table in (paths.training_table("mlp", 0), paths.checkpoint_accuracy("mlp", 0)):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "slurm" / table), pd.read_parquet(tmp_path / "local" / table)
        )
