"""Rules invert and invert_chunk: one inversion job per (model, seed, layer, t, tp), or one per
(model, seed, layer, t) that writes the folder of its steps' files."""

import json

from invertibility.jobs.call import run_job
from invertibility.jobs.invert_job import step_files


def main(smk):
    spec = json.loads(smk.params.spec)
    run_job(
        smk.log[0],
        "invert",
        spec=spec,
        inputs=dict(smk.input.items()),
        outputs=step_files(spec) if smk.rule == "invert_chunk" else list(smk.output),
        threads=smk.threads,
        jobs_per_gpu=smk.resources.jobs_per_gpu,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
