"""Compare two runs of the same config output by output: every inversion file key by key, every
table column by column, every figure pixel by pixel, the tensors both runs' checkpoints hold, and
the claims table to a number of decimals.

    .venv/bin/python tools/compare_runs.py FIRST_RUN SECOND_RUN [--tolerance 1e-5]
        [--decimals 3] [--out differences.csv]

FIRST_RUN and SECOND_RUN are working directories (each with results/), for example the default
run before and after a change to the inversion's inner loop or to what a checkpoint holds. Prints,
per kind of output and key (column, tensor), how many files differ, the largest absolute
difference and the largest relative to the first run's file (invertibility.analysis.run_comparison),
the files in one run only, everything past ``--tolerance`` (relative; a figure: any pixel), and
every claim whose numbers differ at ``--decimals`` or whose verdict changed. Exits 1 if anything is
past the tolerance or a verdict changed. Wall times (an inversion file's ``loop_seconds``) are not
compared.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from invertibility.analysis.run_comparison import (
    checkpoint_differences,
    claims_differences,
    figure_differences,
    inversion_differences,
    table_differences,
)
from invertibility.core import paths

KINDS = {
    "inversions": inversion_differences,
    "tables": table_differences,
    "figures": figure_differences,
    "checkpoints": checkpoint_differences,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-5, help="relative, per file")
    parser.add_argument("--decimals", type=int, default=3)
    parser.add_argument("--out", type=Path, help="every (kind, file, key) difference as CSV")
    args = parser.parse_args()
    every, past_any = [], False
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        for kind, differences in KINDS.items():
            files = differences(args.first, args.second)
            compared = files[~files["key"].isin(["missing", "absent"])]
            by_key = compared.groupby("key").agg(
                files=("file", "size"),
                differing=("largest", lambda d: int((d > 0).sum())),
                largest=("largest", "max"),
                relative=("relative", "max"),
            )
            missing = files.loc[files["key"] == "missing", "file"].tolist()
            past = compared[compared["relative"] > args.tolerance]
            past_any |= bool(len(past))
            print(f"{kind}: {compared['file'].nunique()} in both runs")
            if kind == "checkpoints":
                absent = int(files.loc[files["key"] == "absent", "largest"].sum())
                print(f"tensors one run's checkpoints do not hold: {absent}")
            print(by_key.to_string() if len(by_key) else "(nothing compared)")
            print(f"in one run only: {', '.join(missing) or 'none'}")
            print(f"past the relative tolerance {args.tolerance:g}: {len(past)}")
            if len(past):
                print(past.to_string(index=False))
            print()
            every.append(files.assign(kind=kind))
        claims = [pd.read_csv(run / paths.claims()) for run in (args.first, args.second)]
        moved = claims_differences(*claims, args.decimals)
        print(f"claims: {len(claims[0])}; moved at {args.decimals} decimals or verdict changed:")
        print(moved.to_string(index=False) if len(moved) else "none")
    if args.out:
        pd.concat(every).to_csv(args.out, index=False)
    changed = (moved["verdict_1"] != moved["verdict_2"]).any()
    sys.exit(1 if past_any or changed else 0)


if __name__ == "__main__":
    main()
