"""Benchmark: the cost of the training-time block probes (invertibility.methods.block_probe).

Trains the same network from the same seed for the same steps twice in one process, probes on
(every ``--every`` steps) and off, alternating the order over ``--repeats`` rounds, and prints
each round's wall times and the median ratio on/off. Goal: no measurable cost (ratio within the
round-to-round noise, about 1.02 here).

    .venv/bin/python bench/probe_cost.py [--model resnet18_nobn] [--steps 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import TensorDataset

from invertibility.methods.training import TrainSettings, train
from invertibility.nets.models import build_model

MODELS = {
    "mlp": dict(architecture="mlp", input_shape=(1, 28, 28), hidden=[2000, 1000, 100]),
    "resnet18_nobn": dict(architecture="resnet18_nobn", input_shape=(3, 64, 64)),
    "alexnet": dict(architecture="alexnet", input_shape=(3, 64, 64)),
}


def timed_training(network: dict, data, steps: int, batch: int, every: int, probe: bool) -> float:
    torch.manual_seed(0)
    model = build_model(num_classes=10, **network)
    settings = TrainSettings(
        lr=0.01, momentum=0.9, batch_size=batch, seed=0, diagnostics_every=every
    )
    start = time.perf_counter()
    train(
        model,
        data,
        settings,
        [steps],
        10**6,
        lambda m, s: None,
        torch.device("cpu"),
        progress=False,
        on_probe=(lambda step, rows: None) if probe else None,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default="resnet18_nobn")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    network = MODELS[args.model]
    n = args.steps * args.batch
    data = TensorDataset(torch.rand(n, *network["input_shape"]), torch.randint(0, 10, (n,)))
    ratios = []
    for round_ in range(args.repeats):
        order = (True, False) if round_ % 2 == 0 else (False, True)
        times = {
            probe: timed_training(network, data, args.steps, args.batch, args.every, probe)
            for probe in order
        }
        ratios.append(times[True] / times[False])
        print(
            f"round {round_}: probes on {times[True]:.2f} s, off {times[False]:.2f} s, "
            f"ratio {ratios[-1]:.3f}"
        )
    print(
        f"{args.model}, {args.steps} steps, probes every {args.every}: median ratio on/off "
        f"{statistics.median(ratios):.3f}"
    )


if __name__ == "__main__":
    main()
