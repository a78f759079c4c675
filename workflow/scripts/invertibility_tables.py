"""Rule invertibility_tables: per-image table, summary with CIs, horizons (and per seed)."""

from pathlib import Path

from invertibility.analysis.tables import write_invertibility_tables
from invertibility.core.inversion_io import inversion_files
from invertibility.core.logs import logged


def main(smk):
    with logged(smk.log[0]):
        write_invertibility_tables(
            inversion_files(smk.input.inversions),
            list(smk.input.accuracy),
            {Path(path).name.split(".")[0]: path for path in smk.input.pools},
            list(smk.input.judged),
            dict(smk.output.items()),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
