"""Rule train: train one model and save its checkpoint schedule."""

import json

from invertibility.jobs.call import run_job


def main(smk):
    run_job(
        smk.log[0],
        "train",
        spec=json.loads(smk.params.spec),
        table=smk.output.table,
        accuracy_table=smk.output.accuracy,
        blocks_table=smk.output.blocks,
        gradients_table=smk.output.gradients,
        state=smk.params.state,
        code=smk.params.code,
        state_every_s=smk.resources.state_every_s,
        runtime_minutes=smk.resources.runtime,
        stop_margin_s=smk.resources.stop_margin_s,
        threads=smk.threads,
        jobs_per_gpu=smk.resources.jobs_per_gpu,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
