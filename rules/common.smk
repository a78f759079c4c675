# Everything rules need from the config: checked once, here, before any job is planned.
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from invertibility import paths
from invertibility.errors import ConfigError
from invertibility.plan import (
    OTHER_IMAGE,
    Plan,
    canonical,
    check_step_labels_are_strings,
)
from invertibility.provenance import code_version
from invertibility.steps import STEP_PATTERN

try:
    check_step_labels_are_strings(config)
    validate(config, workflow.source_path("../workflow/schemas/config.schema.yaml"))
    PLAN = Plan(config)
except ConfigError as error:
    raise WorkflowError(f"Config error: {error}") from None


wildcard_constraints:
    model="|".join(config["models"]),
    step=STEP_PATTERN,
    t=STEP_PATTERN,
    tp=f"{STEP_PATTERN}|{OTHER_IMAGE}",
    layer="[A-Za-z0-9_.-]+",
    name="|".join(config["figures"]) or "no-image-grid-figure",


def res(key):
    return config["resources"][key]


def get_final_targets():
    targets = [paths.training_table(model) for model in PLAN.trained_models()]
    targets += [job.path for job in PLAN.inversion_jobs]
    for name in PLAN.figure_names() + get_analysis_figures():
        targets += [paths.figure(name, "pdf"), paths.figure(name, "png")]
    targets += [
        paths.table(name) for name in ("invertibility", "invertibility_horizons")
    ]
    targets += get_all_distances()
    if PLAN.claims():
        targets.append(paths.claims())
    return targets


def get_analysis_figures():
    """Figure 6 when norm distances are asked for; Figure 7 always (curves from the table)."""
    names = ["fig7_invertibility_curves"]
    if PLAN.distance_layers():
        names.append("fig6_norm_distances")
    return names


def get_all_inversions(wildcards=None):
    return [job.path for job in PLAN.inversion_jobs]


def get_all_distances(wildcards=None):
    return [
        paths.norm_distances(model, layer) for model, layer in PLAN.distance_layers()
    ]


def get_checkpoint_paths(model):
    return {step: paths.checkpoint(model, step) for step in PLAN.needed_steps(model)}


def get_job_checkpoints(wildcards):
    """Checkpoint files an inversion job reads: function t, target tp, and the classifier."""
    model = wildcards.model
    tp = wildcards.t if wildcards.tp == OTHER_IMAGE else wildcards.tp
    return {
        "t": paths.checkpoint(model, wildcards.t),
        "tp": paths.checkpoint(model, tp),
        "classifier": paths.checkpoint(model, PLAN.classifier_step(model)),
    }


def get_figure_inputs(wildcards):
    return [job.path for job in PLAN.figure_jobs(wildcards.name)]


def print_claims(path):
    """At the end of a successful run, show the claims table (when this run has one)."""
    if os.path.exists(path):
        import pandas as pd

        with pd.option_context("display.max_colwidth", 70, "display.width", 200):
            print(f"\nClaims of the paper, measured by this run ({path}):")
            print(
                pd.read_csv(path)[
                    ["claim", "value", "low", "high", "verdict"]
                ].to_string()
            )
