"""The one naming scheme of results/: the DAG's contract. Rules build paths only through these."""

from __future__ import annotations

RESULTS = "results"


def checkpoint(model: str, step: str) -> str:
    return f"{checkpoint_dir(model)}/{step}.safetensors"


def training_table(model: str) -> str:
    return f"{RESULTS}/tables/training/{model}.parquet"


def inversion(model: str, layer: str, t: str, tp: str) -> str:
    """``tp`` is an activation step label, or ``other_image`` for the other-image control."""
    return f"{RESULTS}/inversions/{model}/{layer}/{t}/{tp}.npz"


def checkpoint_dir(model: str) -> str:
    """A model's checkpoint folder: the output of its training job."""
    return f"{RESULTS}/checkpoints/{model}"


def figure(name: str, ext: str = "pdf") -> str:
    return f"{RESULTS}/figures/{name}.{ext}"


def log(rule: str, **wildcards: str) -> str:
    return "/".join(["logs", rule, *wildcards.values()]) + ".log"


def benchmark(rule: str, **wildcards: str) -> str:
    return "/".join(["benchmarks", rule, *wildcards.values()]) + ".tsv"


def table(name: str) -> str:
    return f"{RESULTS}/tables/{name}.parquet"


def norm_distances(model: str, layer: str) -> str:
    return f"{RESULTS}/tables/norm_distances/{model}/{layer}.parquet"


def claims() -> str:
    return f"{RESULTS}/tables/claims.csv"


def images(model: str) -> str:
    """The prepared images every job of ``model`` inverts (see image_sets)."""
    return f"{RESULTS}/images/{model}.safetensors"
