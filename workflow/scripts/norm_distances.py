"""Rule norm_distances: distances between representations of one (model, layer)."""

from invertibility.jobs import run_norm_distances
from invertibility.logs import logged
from invertibility.plan import Plan


def main(smk):
    with logged(smk.log[0]):
        run_norm_distances(
            Plan(smk.config), smk.wildcards.model, smk.wildcards.layer, smk.output[0], smk.threads
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
