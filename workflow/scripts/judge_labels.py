"""Rule judge_labels: one network's class for every reconstruction of one dataset's models."""

import json

from invertibility.core.inversion_io import inversion_files
from invertibility.core.logs import logged
from invertibility.jobs.judge_job import judge_labels


def main(smk):
    with logged(smk.log[0]):
        judge_labels(
            json.loads(smk.params.spec),
            inversion_files(smk.input.inversions),
            smk.output[0],
            smk.threads,
            jobs_per_gpu=smk.config["resources"]["jobs_per_gpu"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
