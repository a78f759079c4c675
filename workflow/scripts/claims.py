"""Rule claims: the paper's claims with values, intervals and verdicts."""

from invertibility.jobs import run_claims
from invertibility.logs import logged
from invertibility.plan import Plan


def main(smk):
    with logged(smk.log[0]):
        run_claims(Plan(smk.config), smk.input.table, list(smk.input.distances), smk.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
