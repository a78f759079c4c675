"""The inversion file format (``results/inversions/{model}/{layer}/{t}/{tp}.npz``): writer and
reader side by side. Torch-free, so that tables and figures read it without torch.

Keys: ``reconstructions`` and ``originals`` (``[N, C, H, W]`` float32, pixel space; NaN where an
inversion diverged), the per-image arrays of :data:`METRIC_KEYS`, ``p`` (optimizer steps from
``t`` to ``tp``; -1 for the other-image control), ``loop_seconds`` (wall time of the
optimization loop) and ``settings`` (JSON: model, layer, module, t, tp, classifier step and every
hyper-parameter).
"""

from __future__ import annotations

import json

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
)
NO_P = -1  # the other-image control has no activation step, so no p


def save_inversion(
    path: str,
    settings: dict,
    reconstructions: np.ndarray,
    originals: np.ndarray,
    metrics: dict[str, np.ndarray],
    p: int | None,
    loop_seconds: float,
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
        **{key: np.asarray(metrics[key]) for key in METRIC_KEYS},
    )


def load_inversion(path: str, images: bool = True) -> dict:
    """Settings (model, layer, t, tp, hyper-parameters) merged with the per-image arrays, ``p``
    (None for the other-image control) and ``loop_seconds``; with ``images=False`` the
    reconstructions and originals are not decompressed (cheap to read)."""
    with np.load(path, allow_pickle=False) as npz:
        result = json.loads(str(npz["settings"]))
        for key in METRIC_KEYS:
            result[key] = npz[key]
        p = int(npz["p"])
        result["p"] = None if p == NO_P else p
        result["loop_seconds"] = float(npz["loop_seconds"])
        if images:
            result["reconstructions"] = npz["reconstructions"]
            result["originals"] = npz["originals"]
    return result
