"""Rule training_diagnostics_figure: block and weight diagnostics over training."""

import json

from invertibility.analysis.claims import read_tables
from invertibility.core.logs import logged
from invertibility.figures.diagnostics import draw_training_diagnostics


def main(smk):
    with logged(smk.log[0]):
        spec = json.loads(smk.params.spec)
        blocks, weights = read_tables(list(smk.input.blocks)), read_tables(list(smk.input.weights))
        if spec.get("models"):
            blocks = blocks[blocks["model"].isin(spec["models"])]
            weights = weights[weights["model"].isin(spec["models"])]
        draw_training_diagnostics(
            blocks, weights, smk.output.pdf, smk.output.png, title=spec.get("title")
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
