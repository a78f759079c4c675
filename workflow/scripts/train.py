"""Rule train: train one model, save the checkpoints the plan needs, write the training table."""

from invertibility import paths
from invertibility.jobs import run_training
from invertibility.logs import logged
from invertibility.plan import Plan


def main(smk):
    with logged(smk.log[0]):
        model = smk.wildcards.model
        checkpoints = {step: paths.checkpoint(model, step) for step in smk.params.steps}
        run_training(Plan(smk.config), model, checkpoints, smk.output.table, smk.threads)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
