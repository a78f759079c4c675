"""Rule invert: one inversion job per (model, layer, t, tp)."""

from invertibility.jobs import run_inversion
from invertibility.logs import logged
from invertibility.plan import InversionJob, Plan


def main(smk):
    with logged(smk.log[0]):
        wc = smk.wildcards
        job = InversionJob(wc.model, wc.layer, wc.t, wc.tp)
        run_inversion(Plan(smk.config), job, smk.params.checkpoints, smk.output[0], smk.threads)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake's script directive)
