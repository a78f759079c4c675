"""Rule invert: one inversion job per (model, layer, t, tp)."""

import json

from invertibility.invert_job import run_inversion
from invertibility.logs import logged


def main(smk):
    with logged(smk.log[0]):
        run_inversion(
            json.loads(smk.params.spec),
            dict(smk.input.items()),
            smk.output[0],
            smk.threads,
            jobs_per_gpu=smk.config["resources"]["jobs_per_gpu"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
