"""Rule train: train one model and save its checkpoint schedule."""

import json

from invertibility.core.logs import logged
from invertibility.jobs.train_job import run_training


def main(smk):
    with logged(smk.log[0]):
        run_training(
            json.loads(smk.params.spec),
            smk.output.table,
            smk.output.accuracy,
            smk.output.blocks,
            smk.threads,
            jobs_per_gpu=smk.config["resources"]["jobs_per_gpu"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
