"""Rule claims_forest_figure: each claim's effect with its interval, per seed and pooled."""

import json

import pandas as pd

from invertibility.core.logs import logged
from invertibility.figures.analysis import draw_claims_forest


def main(smk):
    with logged(smk.log[0]):
        draw_claims_forest(
            pd.read_csv(smk.input.claims),
            pd.read_parquet(smk.input.by_seed),
            smk.output.pdf,
            smk.output.png,
            title=json.loads(smk.params.spec).get("title"),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
