"""Compare two runs of the same config output by output: every inversion file key by key, and
the claims table to a number of decimals.

    .venv/bin/python tools/compare_runs.py FIRST_RUN SECOND_RUN [--tolerance 1e-5]
        [--decimals 3] [--out differences.csv]

FIRST_RUN and SECOND_RUN are working directories (each with results/inversions/ and
results/tables/claims.csv), for example the default run before and after a change to the
inversion's inner loop. Prints, per key of the inversion files, how many files differ, the
largest absolute difference and the largest relative to the first run's file
(invertibility.analysis.run_comparison), the files past ``--tolerance`` (relative), and every
claim whose numbers differ at ``--decimals`` or whose verdict changed. Exits 1 if anything is
past the tolerance or a verdict changed.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from invertibility.analysis.run_comparison import claims_differences, inversion_differences
from invertibility.core import paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-5, help="relative, per file")
    parser.add_argument("--decimals", type=int, default=3)
    parser.add_argument("--out", type=Path, help="every (file, key) difference as CSV")
    args = parser.parse_args()
    files = inversion_differences(args.first, args.second)
    by_key = files.groupby("key").agg(
        files=("file", "size"),
        differing=("largest", lambda d: int((d > 0).sum())),
        largest=("largest", "max"),
        relative=("relative", "max"),
    )
    past = files[files["relative"] > args.tolerance]
    claims = [pd.read_csv(run / paths.claims()) for run in (args.first, args.second)]
    moved = claims_differences(*claims, args.decimals)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print(f"inversion files: {files['file'].nunique()}")
        print(by_key.to_string())
        print(f"\npast the relative tolerance {args.tolerance:g}: {len(past)} (file, key)")
        if len(past):
            print(past.to_string(index=False))
        print(f"\nclaims: {len(claims[0])}; moved at {args.decimals} decimals or verdict changed:")
        print(moved.to_string(index=False) if len(moved) else "none")
    if args.out:
        files.to_csv(args.out, index=False)
    changed = (moved["verdict_1"] != moved["verdict_2"]).any()
    sys.exit(1 if len(past) or changed else 0)


if __name__ == "__main__":
    main()
