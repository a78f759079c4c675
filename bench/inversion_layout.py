"""Benchmark: an inversion job's optimization with the network's conv weights in PyTorch's
default (contiguous, NCHW) layout against channels-last (NHWC), on one thread.

For each inverted layer of the default config's conv nets, builds the network (fresh weights:
the time does not depend on their values), a batch of ``--rows`` images at 64 px (a default
chunk's rows: 6 steps of 13 images) and runs ``--iterations`` iterations of the inversion
(:func:`invertibility.methods.inversion.invert`, the objective and optimizer of the jobs) in
each layout; the layouts alternate over ``--repeats`` rounds. Prints each layout's median
seconds per iteration and the ratio channels-last / contiguous, and how far the two layouts'
reconstructions are apart (the largest absolute difference, in standardized input units).

    .venv/bin/python bench/inversion_layout.py [--rows 78] [--iterations 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from invertibility.core.inversion_settings import InversionSettings
from invertibility.methods.inversion import initial_images, invert
from invertibility.nets.models import build_model
from invertibility.nets.taps import Tap

LAYERS = {  # the default config's inverted conv layers
    "alexnet": ["features.0", "features.3", "features.10"],
    "resnet18_nobn": ["conv1", "layer1.1.conv2", "layer1.1"],
}
LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def timed(architecture: str, layer: str, layout, rows: int, iterations: int):
    torch.manual_seed(0)
    network = build_model(architecture, 10, (3, 64, 64)).eval().requires_grad_(False)
    network = network.to(memory_format=layout)
    forward = Tap(network, layer)
    images = torch.randn(rows, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = forward(images)
    init = initial_images([str(i) for i in range(rows)], (3, 64, 64), 0.1, 0)
    settings = InversionSettings(iterations=iterations, lr=200.0)
    start = time.perf_counter()
    result = invert(forward, target, init, settings, progress=False)
    return (time.perf_counter() - start) / iterations, result.reconstructions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=78)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{args.rows} images at 64 px, {args.iterations} iterations, one thread")
    print("| network | layer | contiguous s/it | channels-last s/it | ratio | max difference |")
    print("| --- | --- | --- | --- | --- | --- |")
    for architecture, layers in LAYERS.items():
        for layer in layers:
            seconds = {name: [] for name in LAYOUTS}
            outputs = {}
            for round_ in range(args.repeats):
                names = list(LAYOUTS) if round_ % 2 == 0 else list(reversed(LAYOUTS))
                for name in names:
                    per_iteration, outputs[name] = timed(
                        architecture, layer, LAYOUTS[name], args.rows, args.iterations
                    )
                    seconds[name].append(per_iteration)
            base, last = (statistics.median(seconds[name]) for name in LAYOUTS)
            gap = float((outputs["contiguous"] - outputs["channels_last"]).abs().max())
            print(
                f"| {architecture} | {layer} | {base:.3f} | {last:.3f} | {last / base:.2f} "
                f"| {gap:.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
