"""Rule predictors_figure: each predictor against invertibility, with its rank correlation."""

import json

import pandas as pd

from invertibility.core.logs import logged
from invertibility.figures.diagnostics import draw_predictors


def main(smk):
    with logged(smk.log[0]):
        draw_predictors(
            pd.read_parquet(smk.input.units),
            pd.read_parquet(smk.input.predictors),
            smk.output.pdf,
            smk.output.png,
            title=json.loads(smk.params.spec).get("title"),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
