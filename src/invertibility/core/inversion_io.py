"""The inversion file format (``results/inversions/{model}/seed{seed}/{layer}/{t}/{tp}.npz``):
writer and reader side by side. Torch-free, so that tables and figures read it without torch.

Keys: ``reconstructions`` and ``originals`` (``[R, C, H, W]`` float32, pixel space; NaN where an
inversion diverged; one row per image, or per (image, partner) for the other-image control), the
per-row arrays of :data:`METRIC_KEYS`, ``p`` (optimizer steps from ``t`` to ``tp``; -1 for a
control), ``drift`` (``D_l``: relative change of the weights up to the layer between the function
and target networks; NaN for the other-image control), ``loop_seconds`` (wall time of the
optimization loop; a chunked job's, shared out by rows) and ``settings`` (JSON: model, seed,
layer, module, t, tp, classifier step, number of identification candidates and every
hyper-parameter). Measures against the held-out images (similarity, identification ranks) are
the analysis side's (:mod:`invertibility.analysis.recognition`), from the reconstructions.
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np

from .atomic import save_npz

METRIC_KEYS = (
    "image_id",
    "label",
    "target_image_id",
    "feature_error",
    "image_error",
    "diverged",
    "label_final",
    "retried",  # diverged at first and was retried alone with a smaller step
    "final_lr",  # the step the kept inversion started from (lr, or a retry's cut step)
)
NO_P = -1  # the controls have no activation step, so no p


def save_inversion(
    path: str,
    settings: dict,
    reconstructions: np.ndarray,
    originals: np.ndarray,
    metrics: dict[str, np.ndarray],
    p: int | None,
    loop_seconds: float,
    drift: float,
) -> None:
    missing = set(METRIC_KEYS) - set(metrics)
    if missing:
        raise ValueError(f"inversion metrics lack {sorted(missing)}")
    save_npz(
        path,
        reconstructions=np.asarray(reconstructions, dtype=np.float32),
        originals=np.asarray(originals, dtype=np.float32),
        settings=np.array(json.dumps(settings, sort_keys=True)),
        p=np.array(NO_P if p is None else int(p), dtype=np.int64),
        loop_seconds=np.array(float(loop_seconds)),
        drift=np.array(float(drift)),
        **{key: np.asarray(metrics[key]) for key in METRIC_KEYS},
    )


def inversion_files(inputs: list[str]) -> list[str]:
    """The inversion files of a rule's inputs: each file as it is, each chunk's folder as the
    files in it (sorted; a write's hidden temporary file is never one)."""
    files = []
    for path in inputs:
        files += (
            sorted(glob.glob(os.path.join(glob.escape(path), "*.npz")))
            if os.path.isdir(path)
            else [path]
        )
    return files


def load_inversion(path: str, images: bool = True) -> dict:
    """Settings (model, seed, layer, t, tp, hyper-parameters) merged with the per-row arrays,
    ``p`` (None for a control), ``drift`` and ``loop_seconds``; with ``images=False`` the
    reconstructions and originals are not decompressed (cheap to read)."""
    with np.load(path, allow_pickle=False) as npz:
        result = json.loads(str(npz["settings"]))
        for key in METRIC_KEYS:
            result[key] = npz[key]
        p = int(npz["p"])
        result["p"] = None if p == NO_P else p
        result["loop_seconds"] = float(npz["loop_seconds"])
        result["drift"] = float(npz["drift"])
        if images:
            result["reconstructions"] = npz["reconstructions"]
            result["originals"] = npz["originals"]
    return result


def array_difference(a: np.ndarray, b: np.ndarray) -> float:
    """How far two arrays are apart: infinite if their shapes differ; for a float ``a``, the
    largest absolute difference (NaN on exactly one side counts as infinite); otherwise the
    number of differing entries."""
    if a.shape != b.shape:
        return float("inf")
    if a.dtype.kind == "f":
        if (np.isnan(a) != np.isnan(b)).any():
            return float("inf")
        return float(np.abs(np.nan_to_num(a) - np.nan_to_num(b)).max(initial=0.0))
    return float((a != b).sum())


def largest_differences(ours: dict, theirs: dict) -> dict[str, float]:
    """How far two loaded inversion files of the same (model, seed, layer, t, tp) are apart,
    key by key: the largest absolute difference of a float or float array (NaN on exactly one
    side counts as infinite), the number of differing entries of any other array, and 0 or 1
    for other values. ``loop_seconds`` (a wall time) is left out; other keys must match."""
    if set(ours) != set(theirs):
        raise ValueError(f"inversion files differ in keys: {sorted(set(ours) ^ set(theirs))}")
    differences = {}
    for key in sorted(set(ours) - {"loop_seconds"}):
        a, b = ours[key], theirs[key]
        if isinstance(a, np.ndarray | float) and isinstance(b, np.ndarray | float):
            differences[key] = array_difference(np.asarray(a), np.asarray(b))
        else:
            differences[key] = 0.0 if a == b else 1.0
    return differences
