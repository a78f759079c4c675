"""Rule width_horizons_figure: horizon and identification against the MLP width."""

import json

import pandas as pd

from invertibility.core.logs import logged
from invertibility.figures.diagnostics import draw_width_horizons


def main(smk):
    with logged(smk.log[0]):
        draw_width_horizons(
            pd.read_parquet(smk.input.horizons),
            pd.read_parquet(smk.input.summary),
            dict(smk.params.widths),
            smk.output.pdf,
            smk.output.png,
            title=json.loads(smk.params.spec).get("title"),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
