"""Rule diagnostics: one training run's weight and representation diagnostics."""

import json

from invertibility.core.logs import logged
from invertibility.jobs.diagnostics_job import run_diagnostics


def main(smk):
    with logged(smk.log[0]):
        run_diagnostics(
            json.loads(smk.params.spec),
            smk.input.images,
            {"weights": smk.output.weights, "similarity": smk.output.similarity},
            smk.threads,
            jobs_per_gpu=smk.config["resources"]["jobs_per_gpu"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
