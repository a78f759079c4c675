"""Rule image_grid_figure: draw one image-grid figure (Figures 1-5) from its inversions."""

import json

from invertibility.core.logs import logged
from invertibility.figures.image_grid import draw_figure


def main(smk):
    with logged(smk.log[0]):
        draw_figure(json.loads(smk.params.spec), list(smk.input), smk.output.pdf, smk.output.png)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
