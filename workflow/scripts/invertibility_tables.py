"""Rule invertibility_tables: per-image table, summary with CIs, horizons."""

from invertibility.jobs import run_invertibility_tables
from invertibility.logs import logged
from invertibility.plan import Plan


def main(smk):
    with logged(smk.log[0]):
        run_invertibility_tables(Plan(smk.config), list(smk.input), dict(smk.output.items()))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
