"""Rules invert and invert_chunk: one inversion job per (model, seed, layer, t, tp), or one per
(model, seed, layer, t) that writes the folder of its steps' files."""

import json

from invertibility.core.logs import logged
from invertibility.jobs.invert_job import run_inversion, step_files


def main(smk):
    with logged(smk.log[0]):
        spec = json.loads(smk.params.spec)
        run_inversion(
            spec,
            dict(smk.input.items()),
            step_files(spec) if smk.rule == "invert_chunk" else list(smk.output),
            smk.threads,
            jobs_per_gpu=smk.config["resources"]["jobs_per_gpu"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
