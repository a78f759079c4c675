"""Rule augmentation: one seed of the augmentation experiment."""

import json

from invertibility.jobs.call import run_job


def main(smk):
    run_job(
        smk.log[0],
        "augmentation",
        spec=json.loads(smk.params.spec),
        outcome=smk.output.outcome,
        drift=smk.output.drift,
        similarity=smk.output.similarity,
        threads=smk.threads,
        jobs_per_gpu=smk.resources.jobs_per_gpu,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
