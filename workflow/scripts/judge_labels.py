"""Rule judge_labels: one network's class for every reconstruction of one dataset's models."""

import json

from invertibility.core.inversion_io import inversion_files
from invertibility.jobs.call import run_job


def main(smk):
    run_job(
        smk.log[0],
        "judge_labels",
        spec=json.loads(smk.params.spec),
        inversions=inversion_files(smk.input.inversions),
        output=smk.output[0],
        threads=smk.threads,
        jobs_per_gpu=smk.resources.jobs_per_gpu,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
