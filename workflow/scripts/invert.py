"""Rules invert and invert_chunk_*: one inversion job per (model, layer, t, tp), or per chunk of
activation steps of one (model, layer, t)."""

import json

from invertibility.core.logs import logged
from invertibility.jobs.invert_job import run_inversion


def main(smk):
    with logged(smk.log[0]):
        run_inversion(
            json.loads(smk.params.spec),
            dict(smk.input.items()),
            list(smk.output),
            smk.threads,
            jobs_per_gpu=smk.config["resources"]["jobs_per_gpu"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
