"""Rule invertibility_curves_figure: Figure 7 from the invertibility summary."""

import json

import pandas as pd

from invertibility.core.logs import logged
from invertibility.figures.analysis import draw_invertibility_curves


def main(smk):
    with logged(smk.log[0]):
        spec = json.loads(smk.params.spec)
        draw_invertibility_curves(
            pd.read_parquet(smk.input.summary),
            smk.output.pdf,
            smk.output.png,
            measure=spec.get("measure", "retained"),
            title=spec.get("title"),
            models=spec.get("models"),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
