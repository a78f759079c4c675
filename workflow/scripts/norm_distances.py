"""Rule norm_distances: distances between representations of one (model, layer)."""

import json

from invertibility.core.logs import logged
from invertibility.jobs.distance_job import run_norm_distances


def main(smk):
    with logged(smk.log[0]):
        run_norm_distances(
            json.loads(smk.params.spec),
            smk.input.images,
            smk.output[0],
            smk.threads,
            jobs_per_gpu=smk.config["resources"]["jobs_per_gpu"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
