"""Rule norm_distances_figure: Figure 6 from the norm-distance tables."""

import json

import pandas as pd

from invertibility.core.logs import logged
from invertibility.figures.analysis import draw_norm_distances


def main(smk):
    with logged(smk.log[0]):
        distances = pd.concat([pd.read_parquet(p) for p in smk.input.distances])
        draw_norm_distances(
            distances,
            pd.read_parquet(smk.input.table),
            smk.output.pdf,
            smk.output.png,
            title=json.loads(smk.params.spec).get("title"),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
