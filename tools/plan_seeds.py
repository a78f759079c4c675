"""Seeds each primary claim needs, planned from a finished run's claims table.

    .venv/bin/python tools/plan_seeds.py [results/tables/claims.csv] [--power 0.8]

For each primary claim: the gap between its effect and the line it must clear, the spread of
its seed effects (recovered from the interval), and the seeds at which a one-sided t test at
Holm's strictest level finds that gap with the given power (invertibility.analysis.seed_plan).
A claim voided by a gate is marked: seeds do not lift a gate.
"""

import argparse

import pandas as pd

from invertibility.analysis.seed_plan import plan_seeds
from invertibility.core import paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claims", nargs="?", default=paths.claims())
    parser.add_argument("--power", type=float, default=0.8)
    args = parser.parse_args()
    table = plan_seeds(pd.read_csv(args.claims), args.power)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
