"""Benchmark: one training job on two threads, or two one-thread training jobs side by side?

On a 2-core machine Snakemake runs a ``train_threads: 2`` job alone; with ``train_threads: 1``
two trainings (or a training and an inversion) share the machine. This times, in one run and
alternating the order over ``--repeats`` rounds:

* ``2 threads``: one process training ``--steps`` steps on two threads;
* ``1 + 1 threads``: two processes at once, each training the same steps on one thread;

and prints the throughput ratio (steps per second of the pair over the single two-thread job).
Above 1, one thread per training finishes a run's trainings sooner.

    .venv/bin/python bench/train_threads.py [--model alexnet] [--steps 100]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch
from probe_cost import MODELS, timed_training  # this folder's probe benchmark (sys.path[0])
from torch.utils.data import TensorDataset


def worker(model: str, steps: int, batch: int, threads: int) -> None:
    """Train ``steps`` steps on ``threads`` threads, block probes off."""
    torch.set_num_threads(threads)
    network = MODELS[model]
    n = steps * batch
    data = TensorDataset(torch.rand(n, *network["input_shape"]), torch.randint(0, 10, (n,)))
    timed_training(network, data, steps, batch, every=10, probe=False)


def timed(args, threads: int, copies: int) -> float:
    command = [sys.executable, __file__, "--worker", str(threads)]
    command += ["--model", args.model, "--steps", str(args.steps), "--batch", str(args.batch)]
    start = time.perf_counter()
    for process in [subprocess.Popen(command) for _ in range(copies)]:
        if process.wait():
            raise SystemExit("a training worker failed")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="alexnet")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.model, args.steps, args.batch, args.worker)
        return
    ratios = []
    for round_ in range(args.repeats):
        order = ((2, 1), (1, 2)) if round_ % 2 == 0 else ((1, 2), (2, 1))
        times = {threads: timed(args, threads, copies) for threads, copies in order}
        # the pair trains twice the steps: throughput ratio = 2 * t(2 threads) / t(1 + 1)
        ratios.append(2 * times[2] / times[1])
        print(
            f"round {round_}: 2 threads {times[2]:.1f} s, 1 + 1 threads {times[1]:.1f} s, "
            f"throughput ratio {ratios[-1]:.2f}"
        )
    print(
        f"{args.model}, {args.steps} steps: median throughput ratio {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
