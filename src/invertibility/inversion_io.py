"""Read an inversion output (``results/inversions/...npz``) into plain arrays."""

from __future__ import annotations

import json

import numpy as np

METRIC_KEYS = (
    "image_id",
    "label",
    "target_image_id",
    "feature_error",
    "image_error",
    "diverged",
    "label_at_tp",
    "label_final",
)


def load_inversion(path: str, images: bool = True) -> dict:
    """Settings (model, layer, t, tp, hyper-parameters) merged with the per-image arrays; with
    ``images=False`` the reconstructions and originals are not decompressed (cheap to read)."""
    with np.load(path, allow_pickle=False) as npz:
        result = json.loads(str(npz["settings"]))
        for key in METRIC_KEYS:
            result[key] = npz[key]
        if images:
            result["reconstructions"] = npz["reconstructions"]
            result["originals"] = npz["originals"]
    return result
