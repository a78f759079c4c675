"""Rule claims_sensitivity: each primary claim's verdict under each specification."""

import json
import logging

from invertibility.analysis.claims.sensitivity import write_sensitivity
from invertibility.core.logs import logged


def main(smk):
    with logged(smk.log[0]):
        summary = write_sensitivity(
            json.loads(smk.params.claims),
            smk.input.table,
            list(smk.input.distances),
            list(smk.input.similarity),
            smk.output[0],
            dict(smk.params.experiments),
        )
        logging.info("verdicts across specifications:\n%s", summary.to_string(index=False))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
