"""Rules fig6_norm_distances and fig7_invertibility_curves."""

import pandas as pd

from invertibility.analysis_figures import draw_invertibility_curves, draw_norm_distances
from invertibility.logs import logged


def main(smk):
    with logged(smk.log[0]):
        if smk.rule == "fig6_norm_distances":
            distances = pd.concat([pd.read_parquet(p) for p in smk.input.distances])
            draw_norm_distances(
                distances, pd.read_parquet(smk.input.table), smk.output.pdf, smk.output.png
            )
        else:
            draw_invertibility_curves(
                pd.read_parquet(smk.input.summary), smk.output.pdf, smk.output.png
            )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
