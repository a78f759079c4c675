"""Rule augmentation_tables: the augmentation experiment's seeds in one table of arms and one
of windows (drift and retained similarity)."""

from invertibility.analysis.augmentation_tables import write_augmentation_tables
from invertibility.core.logs import logged


def main(smk):
    with logged(smk.log[0]):
        write_augmentation_tables(
            list(smk.input.outcome),
            list(smk.input.drift),
            list(smk.input.similarity),
            dict(smk.params.measured_at),
            smk.output.outcome,
            smk.output.windows,
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
