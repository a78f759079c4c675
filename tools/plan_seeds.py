"""Seeds each claim of a family needs, planned from a finished run's claims table.

    .venv/bin/python tools/plan_seeds.py [results/tables/claims.csv]

For each claim of a family (the paper's, ``primary``, and each experiment's, e.g.
``augmentation``; exploratory rows left out): the spread of its seed effects and the seeds at
which every part its verdict needs, on the side it claims, would be found 80% of the time by a
one-sided t test at Holm's strictest level in its own family, at the observed effects and
spreads (the claims table's ``seeds_for_power``; invertibility.analysis.seed_plan). A claim
voided by a gate is marked: seeds do not lift a gate.
"""

import argparse

import pandas as pd

from invertibility.analysis.seed_plan import plan_seeds
from invertibility.core import paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claims", nargs="?", default=paths.claims())
    args = parser.parse_args()
    table = plan_seeds(pd.read_csv(args.claims))
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
