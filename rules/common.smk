# Everything rules need from the config: checked and planned once, here, before any job runs.
import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

from invertibility.core import paths
from invertibility.core.errors import ConfigError
from invertibility.core.provenance import code_version
from invertibility.core.steps import STEP_PATTERN
from invertibility.core.vocabulary import CONTROLS, canonical
from invertibility.figures import KINDS as FIGURE_KINDS
from invertibility.planning.plan import InversionChunk, Plan
from invertibility.planning.schema_check import check_schema
from invertibility.planning.time_limits import over_the_limit

try:
    # one line naming the key, before Snakemake's validator would dump the whole schema
    check_schema(config, workflow.source_path("../workflow/schemas/config.schema.yaml"))
    validate(config, workflow.source_path("../workflow/schemas/config.schema.yaml"))
    PLAN = Plan(config)
except ConfigError as error:
    raise WorkflowError(f"Config error: {error}") from None

# jobs that would outlast the cluster's time limit, said before any job is submitted
for message in over_the_limit(PLAN, config["resources"]):
    logger.warning(f"Warning: {message}")


wildcard_constraints:
    model="|".join(config["models"]),
    seed=r"\d+",
    t=STEP_PATTERN,
    tp="|".join([STEP_PATTERN, *CONTROLS]),
    layer="[A-Za-z0-9_.-]+",
    dataset="|".join(config["datasets"]),


def resource(key):
    """The config's ``resources.<key>``: what a job asks the scheduler for."""
    return config["resources"][key]


# A torch job's GPU, two ways: `gpu_slots` (one of GPUs x jobs_per_gpu slots) is what Snakemake
# counts on one machine and inside a SLURM group job; `gres` is what a submitted SLURM job asks
# for. A string, so that a group of jobs side by side still asks for one GPU (Snakemake sums
# a group's numbers across parallel jobs, and takes its strings as they are).
GPU_SLOTS = resource("gpu")
GPU_GRES = f"gpu:{resource('gpu')}" if resource("gpu") else ""
# A resource, not a param: sharing GPUs differently reruns nothing.
JOBS_PER_GPU = resource("jobs_per_gpu")


def script_code(name):
    """Hash of a script in workflow/scripts/ and of the package modules it imports."""
    return code_version(Path(workflow.basedir) / "workflow" / "scripts" / name)


def names_pattern(names):
    """A wildcard constraint matching exactly ``names`` (nothing, if there are none)."""
    return "|".join(re.escape(str(name)) for name in names) or "(?!)"


def get_final_targets():
    targets = [paths.training_table(model, seed) for model, seed in PLAN.runs()]
    targets += get_all_inversions()
    for name in PLAN.figures.names():
        targets += [paths.figure(name, "pdf"), paths.figure(name, "png")]
    targets += [
        paths.table(name)
        for name in (
            "invertibility",
            "invertibility_summary",
            "invertibility_horizons",
            "invertibility_horizons_by_seed",
        )
    ]
    targets += get_all_distances()
    targets += get_all_diagnostics()
    if PLAN.diagnostics.runs():
        targets += [paths.table("predictors"), paths.table("predictor_units")]
    targets += list(PLAN.experiments.tables().values())
    if PLAN.claims():
        targets += [paths.claims(), paths.table("claims_sensitivity")]
    return targets


def get_all_inversions(wildcards=None):
    """Every inversion file, or its chunk's folder."""
    return PLAN.inversions.targets(PLAN.inversions.all)


def get_all_pools(wildcards=None):
    """The prepared image set (its held-out pool) of every model with an inversion."""
    return [
        paths.images(model)
        for model in dict.fromkeys(j.model for j in PLAN.inversions.all)
    ]


def get_all_judged(wildcards=None):
    """The label judges' tables, one per judged dataset."""
    return [paths.judged_labels(dataset) for dataset in PLAN.judges.datasets()]


def get_all_accuracies(wildcards=None):
    return [paths.checkpoint_accuracy(model, seed) for model, seed in PLAN.runs()]


def get_all_distances(wildcards=None):
    return PLAN.distances.tables()


def get_all_diagnostics(wildcards=None):
    return PLAN.diagnostics.tables("weights") + PLAN.diagnostics.tables("similarity")


def get_all_similarity(wildcards=None):
    return PLAN.diagnostics.tables("similarity")


def get_chunk(wildcards):
    """The steps a job inverts: its chunk's (rule invert_chunk), or its one step (rule
    invert, whose wildcards name it)."""
    if "tp" in wildcards.keys():
        return InversionChunk(
            wildcards.model,
            int(wildcards.seed),
            wildcards.layer,
            wildcards.t,
            (wildcards.tp,),
        )
    return PLAN.inversions.chunk(
        wildcards.model, int(wildcards.seed), wildcards.layer, wildcards.t
    )


def get_inversion_checkpoints(wildcards):
    """The checkpoint folders of the runs a job reads (two for the cross-seed control)."""
    chunk = get_chunk(wildcards)
    return [
        paths.checkpoint_dir(chunk.model, seed)
        for seed in PLAN.inversions.seeds_read(chunk)
    ]


def get_inversion_spec(wildcards):
    return canonical(PLAN.inversions.spec(get_chunk(wildcards)))


def get_chunk_runtime(wildcards):
    """Minutes: the config's ``invert_runtime`` for each of the chunk's batched optimizations."""
    return resource("invert_runtime") * PLAN.inversions.batches(get_chunk(wildcards))


def figure_kind(wildcards):
    return FIGURE_KINDS[PLAN.config["figures"][wildcards.name]["kind"]]


def get_figure_inputs(wildcards):
    return figure_kind(wildcards).inputs(PLAN, wildcards.name)


def get_figure_spec(wildcards):
    return canonical(figure_kind(wildcards).spec_of(PLAN, wildcards.name))


def get_figure_caption(wildcards):
    return figure_kind(wildcards).caption_of(wildcards.name)


def get_figure_category(wildcards):
    return figure_kind(wildcards).category


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
