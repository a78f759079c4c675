"""Benchmark: batched, truncated inversion against the naive way, on the same images and CPU.

Naive = one image at a time through the full network (the layer read by a hook, the forward
pass running to the logits). Prints, for each batch size, the speed-up of the batched truncated
inversion over naive, and the overhead of the inversion over bare iterations x (forward +
backward of the truncated net): the inversion's own work around the network's passes. The
batched and bare loops alternate for ``--rounds`` rounds and each time is the median of its
rounds; the process keeps freed memory as the jobs do. Goals: >= 20x at batch 64; overhead
<= 1.10.

    .venv/bin/python bench/inversion_speed.py [--model mlp --layer fc2] [--iterations 50]
        [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from invertibility.core.inversion_settings import InversionSettings
from invertibility.jobs.allocator import keep_freed_memory
from invertibility.jobs.device import choose_device
from invertibility.methods.inversion import initial_images, invert
from invertibility.nets.models import build_model, layer_names
from invertibility.nets.taps import Tap

MODELS = {
    "mlp": dict(architecture="mlp", input_shape=(1, 28, 28), hidden=[2000, 1000, 100]),
    "alexnet": dict(architecture="alexnet", input_shape=(3, 64, 64)),
    "resnet18_nobn": dict(architecture="resnet18_nobn", input_shape=(3, 64, 64)),
}


class FullForward:
    """The naive forward: run the whole network, return the layer's output from a hook."""

    def __init__(self, model, layer):
        self.model, self.module = model, dict(model.named_modules())[layer]

    def __call__(self, x):
        store = {}
        handle = self.module.register_forward_hook(lambda _m, _i, out: store.update(out=out))
        try:
            self.model(x)
        finally:
            handle.remove()
        return store["out"]


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_iterations(forward, x, iterations):
    x = x.clone().requires_grad_(True)
    for _ in range(iterations):
        forward(x).float().pow(2).sum().backward()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mlp", choices=MODELS)
    parser.add_argument(
        "--layer", default=None, help="module path (default: fc2 / features.3 / layer1.1.conv2)"
    )
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="median of this many rounds")
    parser.add_argument("--size", type=int, default=None, help="image side for conv models")
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--autocast", action="store_true", help="bf16 autocast forward")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop (slow)")
    args = parser.parse_args()
    spec = dict(MODELS[args.model])
    if args.size and args.model != "mlp":
        spec["input_shape"] = (3, args.size, args.size)
    layer = (
        args.layer
        or {"mlp": "fc2", "alexnet": "features.3", "resnet18_nobn": "layer1.1.conv2"}[args.model]
    )
    keep_freed_memory()  # as every job does
    device = choose_device(args.device)
    torch.manual_seed(0)
    model = build_model(spec["architecture"], 10, spec["input_shape"], spec.get("hidden"))
    model = model.to(device).eval()
    if layer not in layer_names(model):
        parser.error(f"unknown layer {layer!r}")
    for p in model.parameters():
        p.requires_grad_(False)
    settings = InversionSettings(iterations=args.iterations, autocast=args.autocast)
    truncated, full = Tap(model, layer), FullForward(model, layer)
    print(
        f"model={args.model} layer={layer} device={device} iterations={args.iterations} "
        f"threads={torch.get_num_threads()} autocast={args.autocast} rounds={args.rounds}"
    )
    for batch in args.batches:
        measure(batch, spec, truncated, full, settings, device, args)


def measure(batch, spec, truncated, full, settings, device, args):
    """Time batched+truncated, naive and bare forward+backward on the same images."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    images = torch.randn(batch, *spec["input_shape"], device=device)
    ids = [f"bench{i}" for i in range(batch)]
    init = initial_images(ids, images.shape[1:], 0.1, 0).to(device)
    with torch.no_grad():
        target = truncated(images)

    def batched():
        invert(truncated, target, init, settings, progress=False)
        sync()

    def naive():
        for i in range(batch):
            invert(full, target[i : i + 1], init[i : i + 1], settings, progress=False)
        sync()

    def bare():
        bare_iterations(truncated, init, args.iterations)
        sync()

    batched()  # warm-up (allocations, kernels)
    rounds = [(timed(batched), timed(bare)) for _ in range(args.rounds)]
    t_batched = statistics.median(r[0] for r in rounds)
    t_bare = statistics.median(r[1] for r in rounds)
    t_naive = float("nan") if args.no_naive else timed(naive)
    print(
        f"batch {batch:4d}: batched+truncated {t_batched:7.2f}s  naive {t_naive:7.2f}s  "
        f"speed-up {t_naive / t_batched:6.1f}x  |  bare fwd+bwd {t_bare:6.2f}s  "
        f"overhead {t_batched / t_bare:5.2f} (rounds {min(b / r for b, r in rounds):.2f}-"
        f"{max(b / r for b, r in rounds):.2f})  |  "
        f"{batch * args.iterations / t_batched:8.0f} image-iterations/s"
    )


if __name__ == "__main__":
    main()
