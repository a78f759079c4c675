"""The GPU path: run where CUDA is present (skipped, with the reason, on CPU-only machines)."""

from dataclasses import replace

import pytest
import torch

from invertibility.device import choose_device
from invertibility.inversion import initial_images, invert
from invertibility.inversion_settings import InversionSettings
from invertibility.models import MLP, build_model
from invertibility.taps import Tap

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


@cuda
def test_autocast_matches_fp32_within_the_stated_tolerance():
    forward, target, init, images = mlp_problem(torch.device("cuda"))
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


def test_gpu_claims_are_exclusive_and_released(tmp_path):
    from invertibility import device

    first = device.claim_free_gpu(2, tmp_path)
    second = device.claim_free_gpu(2, tmp_path)
    assert {first, second} == {0, 1}
    for handle in device._HELD_LOCKS[-2:]:  # a finished job releases its GPU
        handle.close()
    del device._HELD_LOCKS[-2:]
    assert device.claim_free_gpu(2, tmp_path) == 0
    device._HELD_LOCKS.pop().close()
