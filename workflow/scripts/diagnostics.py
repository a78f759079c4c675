"""Rule diagnostics: one training run's weight and representation diagnostics."""

import json

from invertibility.jobs.call import run_job


def main(smk):
    run_job(
        smk.log[0],
        "diagnostics",
        spec=json.loads(smk.params.spec),
        images_path=smk.input.images,
        gradients_path=smk.input.gradients,
        outputs={"weights": smk.output.weights, "similarity": smk.output.similarity},
        threads=smk.threads,
        jobs_per_gpu=smk.resources.jobs_per_gpu,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
