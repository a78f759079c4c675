"""Rule predictors: rank correlation of each candidate predictor with invertibility."""

from invertibility.analysis.predictors import write_predictors
from invertibility.core.logs import logged


def main(smk):
    with logged(smk.log[0]):
        write_predictors(
            smk.input.table,
            list(smk.input.similarity),
            smk.params.measure,
            smk.output.predictors,
            smk.output.units,
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
