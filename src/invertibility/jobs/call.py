"""A job's call, written beside its log, so that one job can be run again alone, outside
Snakemake, in one Python process (under a debugger, with prints):

    python -m invertibility.jobs logs/invert/mlp/seed0/fc1/0_10/1_0.call.json

runs the job with the resolved spec, files, threads and GPU share that Snakemake gave it, logging
to the terminal. It rewrites that job's outputs, as Snakemake would.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from ..core.atomic import write_atomic
from ..core.logs import logged

# job name -> the function that runs it (imported on use: every job imports torch)
JOBS = {
    "train": "invertibility.jobs.train_job:run_training",
    "invert": "invertibility.jobs.invert_job:run_inversion",
    "norm_distances": "invertibility.jobs.distance_job:run_norm_distances",
    "diagnostics": "invertibility.jobs.diagnostics_job:run_diagnostics",
    "judge_labels": "invertibility.jobs.judge_job:judge_labels",
    "augmentation": "invertibility.jobs.augmentation_job:run_augmentation",
}


def call_path(log: str | Path) -> Path:
    """Where the call of the job logging to ``log`` is written: ``x.log`` -> ``x.call.json``."""
    log = str(log)
    return Path((log[: -len(".log")] if log.endswith(".log") else log) + ".call.json")


def job_function(job: str):
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}; the jobs are {', '.join(JOBS)}")
    module, name = JOBS[job].split(":")
    return getattr(importlib.import_module(module), name)


def run_job(log: str | None, job: str, **arguments):
    """Run ``job`` with ``arguments`` (JSON-able: the spec, file names, threads), logging to
    ``log``; with a log, first write the call beside it."""
    function = job_function(job)
    if log:
        call = json.dumps({"job": job, "arguments": arguments}, indent=1, default=str)
        write_atomic(call_path(log), lambda scratch: scratch.write_text(call))
    with logged(log):
        return function(**arguments)


def rerun(path: str | Path):
    """Run the job whose call is written at ``path``, logging to the terminal."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such call file (a job writes one beside its log)")
    call = json.loads(path.read_text())
    return run_job(None, call["job"], **call["arguments"])
