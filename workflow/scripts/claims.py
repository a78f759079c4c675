"""Rule claims: the paper's claims with values, intervals and verdicts."""

import json

from invertibility.analysis.claims import write_claims
from invertibility.core.logs import logged


def main(smk):
    with logged(smk.log[0]):
        write_claims(
            json.loads(smk.params.claims),
            smk.input.table,
            list(smk.input.distances),
            list(smk.input.similarity),
            smk.output.claims,
            smk.output.by_seed,
            dict(smk.params.experiments),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
