"""Rule norm_distances: distances between representations of one (model, layer)."""

import json

from invertibility.jobs.call import run_job


def main(smk):
    run_job(
        smk.log[0],
        "norm_distances",
        spec=json.loads(smk.params.spec),
        images_path=smk.input.images,
        output=smk.output[0],
        threads=smk.threads,
        jobs_per_gpu=smk.resources.jobs_per_gpu,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
