"""Benchmark: a fixed reference workload, the unit in which runs measured apart are compared.

Machines here differ (and one machine differs from hour to hour), so a run's job time is
reported in units of this workload, timed on the same machine just before or after the run:
one thread, a fixed mix of the operations the jobs spend their time in, written with torch
alone so that no change to this project's code changes it: 3x3 convolutions forward and
backward at 64 channels (AlexNet/ResNet training and inversion), large matrix products (the
MLPs), and a 256 MB copy (the memory traffic of the bigger layers). Prints the median seconds
over ``--repeats`` rounds.

    .venv/bin/python bench/reference_workload.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def workload() -> float:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(16, 64, 32, 32, generator=generator, requires_grad=True)
    weight = torch.rand(64, 64, 3, 3, generator=generator, requires_grad=True)
    a = torch.rand(2048, 2048, generator=generator)
    b = torch.rand(2048, 2048, generator=generator)
    source = torch.rand(64 * 2**20, generator=generator)
    target = torch.empty_like(source)
    start = time.perf_counter()
    for _ in range(20):
        F.conv2d(images, weight, padding=1).square().mean().backward()
        torch.mm(a, b)
        target.copy_(source)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    workload()  # warm-up
    seconds = statistics.median(workload() for _ in range(args.repeats))
    print(f"reference workload: {seconds:.3f} s (one thread, median of {args.repeats})")


if __name__ == "__main__":
    main()
