"""Compare the claims of two results folders of the same config, seed by seed.

    .venv/bin/python tools/claims_stability.py FIRST_RUN SECOND_RUN [--out stability.csv]

FIRST_RUN and SECOND_RUN are working directories (each with results/tables/claims.csv and
claims_by_seed.parquet), for example the default run and the same config trained with
`resources.train_threads: 2` in a folder of its own. Prints, per claim, how far each seed's
effect moved against the spread between seeds, and whether the verdict changed
(invertibility.analysis.stability).
"""

import argparse
from pathlib import Path

import pandas as pd

from invertibility.analysis.stability import seed_stability
from invertibility.core import paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    tables = [
        (pd.read_parquet(run / paths.claims_by_seed()), pd.read_csv(run / paths.claims()))
        for run in (args.first, args.second)
    ]
    table = seed_stability(tables[0][0], tables[1][0], tables[0][1], tables[1][1])
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.round(3).to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
