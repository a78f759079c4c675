"""Rule figure: draw one paper figure from its inversion outputs."""

from invertibility.figures import draw_figure
from invertibility.logs import logged


def main(smk):
    with logged(smk.log[0]):
        draw_figure(
            smk.config["figures"][smk.wildcards.name],
            list(smk.input),
            smk.output.pdf,
            smk.output.png,
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
