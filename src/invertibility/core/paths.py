"""The one naming scheme of results/: the DAG's contract. Rules build paths only through these."""

from __future__ import annotations

RESULTS = "results"


def checkpoint(model: str, seed, step: str) -> str:
    return f"{checkpoint_dir(model, seed)}/{step}.safetensors"


def training_state(model: str, seed) -> str:
    """A training's resumable state and the checkpoints it has written so far: beside the job's
    outputs, not among them (Snakemake deletes a failed job's outputs)."""
    return f"{RESULTS}/resume/train/{model}/seed{seed}"


def training_table(model: str, seed) -> str:
    return f"{RESULTS}/tables/training/{model}/seed{seed}.parquet"


def checkpoint_accuracy(model: str, seed) -> str:
    """Held-out accuracy of every saved checkpoint of one training run."""
    return f"{RESULTS}/tables/training/{model}/seed{seed}_checkpoints.parquet"


def checkpoint_gradients(model: str, seed) -> str:
    """The gradient-norm ratio below each declared layer at every saved checkpoint."""
    return f"{RESULTS}/tables/training/{model}/seed{seed}_gradients.parquet"


def block_diagnostics(model: str, seed) -> str:
    """Per-block gradient-norm ratios, feature norms and residual steps during training."""
    return f"{RESULTS}/tables/training/{model}/seed{seed}_blocks.parquet"


def diagnostics(model: str, seed, kind: str) -> str:
    """A training run's diagnostics table: ``weights`` (per checkpoint) or ``similarity`` (per
    inverted layer, t, tp)."""
    return f"{RESULTS}/tables/diagnostics/{model}/seed{seed}_{kind}.parquet"


def judged_labels(dataset: str) -> str:
    """The label judge's class for every reconstruction of the models on ``dataset``."""
    return f"{RESULTS}/tables/judged/{dataset}.parquet"


def inversion(model: str, seed, layer: str, t: str, tp: str) -> str:
    """``tp`` is an activation step label, or a control (``other_image``, ``cross_seed``)."""
    return f"{inversion_folder(model, seed, layer, t)}/{tp}.npz"


def inversion_folder(model: str, seed, layer: str, t: str) -> str:
    """The inversions of one (model, seed, layer, t): a chunked model's job writes the folder."""
    return f"{RESULTS}/inversions/{model}/seed{seed}/{layer}/{t}"


def checkpoint_dir(model: str, seed) -> str:
    """One training run's checkpoint folder (model, training seed): its training job's output."""
    return f"{RESULTS}/checkpoints/{model}/seed{seed}"


def figure(name: str, ext: str = "pdf") -> str:
    return f"{RESULTS}/figures/{name}.{ext}"


def log(rule: str, **wildcards: str) -> str:
    return "/".join(["logs", rule, *wildcards.values()]) + ".log"


def benchmark(rule: str, **wildcards: str) -> str:
    return "/".join(["benchmarks", rule, *wildcards.values()]) + ".tsv"


def table(name: str) -> str:
    return f"{RESULTS}/tables/{name}.parquet"


def norm_distances(model: str, seed, layer: str) -> str:
    return f"{RESULTS}/tables/norm_distances/{model}/seed{seed}/{layer}.parquet"


def augmentation(model: str, seed, part: str) -> str:
    """One seed's augmentation experiment: its ``outcome`` (every arm's evaluations) or its
    ``windows`` (each window's drift and retained similarity)."""
    return f"{RESULTS}/augmentation/{model}/seed{seed}/{part}.parquet"


def claims() -> str:
    return f"{RESULTS}/tables/claims.csv"


def claims_by_seed() -> str:
    """Each claim's effect per training seed (the forest plot's rows)."""
    return f"{RESULTS}/tables/claims_by_seed.parquet"


def images(model: str) -> str:
    """The prepared images every job of ``model`` inverts (see image_sets)."""
    return f"{RESULTS}/images/{model}.safetensors"
