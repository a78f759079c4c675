"""Norm distances between layer representations (the paper's Section 4, Figure 6).

For a (model, layer) and each function step ``t`` that config asks about:

* ``other_class``: ``||r_l^t(x_i) - r_l^t(x_j)||`` for every pair of labelled images of
  different classes (``nearest`` marks the closest ``x_j`` of each ``x_i``);
* ``same_image``: ``||r_l^t(x_i) - r_l^{tp}(x_i)||`` for every activation step ``tp``.

``relative_distance`` divides by ``||r_l^t(x_i)||``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

DISTANCE_COLUMNS = {
    "model": "string",
    "layer": "string",
    "t": "string",  # function step: the representation r_l^t(x_i) measured from
    "tp": "string",  # t for other_class rows; the activation step for same_image rows
    "image_id": "string",
    "label": "int64",
    "other_image_id": "string",  # x_j (other_class) or x_i itself (same_image)
    "other_label": "int64",
    "kind": "category",  # other_class | same_image
    "distance": "float64",  # L2 norm of the difference of the flattened activations
    "relative_distance": "float64",  # distance / ||r_l^t(x_i)||, NaN when that is 0
    "nearest": "boolean",  # other_class: x_j is the nearest other-class image of x_i
}


def relative(distance: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """distance / norm, NaN where the representation is all zero (a layer dead for that image)."""
    return np.divide(distance, norm, out=np.full_like(distance, np.nan), where=norm > 0)


def norm_distances(
    model: str,
    layer: str,
    steps: Mapping[str, Sequence[str]],
    representation: Callable[[str], torch.Tensor],
    image_ids: Sequence[str],
    labels: np.ndarray,
) -> pd.DataFrame:
    """``steps`` maps each function step ``t`` to its activation steps; ``representation(step)``
    returns ``r_l^step`` of every image, ``[n, ...]``."""
    cache: dict[str, np.ndarray] = {}

    def rep(step: str) -> np.ndarray:
        if step not in cache:
            cache[step] = representation(step).flatten(1).double().cpu().numpy()
        return cache[step]

    ids = np.asarray(image_ids)
    labels = np.asarray(labels)
    frames = []
    for t, tps in steps.items():
        base = rep(t)
        norms = np.linalg.norm(base, axis=1)
        pairwise = np.linalg.norm(base[:, None] - base[None], axis=-1)
        other = (labels[:, None] != labels[None]) & (labels[:, None] >= 0) & (labels[None] >= 0)
        masked = np.where(other, pairwise, np.inf)
        nearest = masked.argmin(axis=1)
        i, j = np.nonzero(other)
        frames.append(
            pd.DataFrame(
                {
                    "t": t,
                    "tp": t,
                    "image_id": ids[i],
                    "label": labels[i],
                    "other_image_id": ids[j],
                    "other_label": labels[j],
                    "kind": "other_class",
                    "distance": pairwise[i, j],
                    "relative_distance": relative(pairwise[i, j], norms[i]),
                    "nearest": nearest[i] == j,
                }
            )
        )
        for tp in tps:
            moved = np.linalg.norm(base - rep(tp), axis=1)
            frames.append(
                pd.DataFrame(
                    {
                        "t": t,
                        "tp": tp,
                        "image_id": ids,
                        "label": labels,
                        "other_image_id": ids,
                        "other_label": labels,
                        "kind": "same_image",
                        "distance": moved,
                        "relative_distance": relative(moved, norms),
                        "nearest": pd.NA,
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "layer", layer)
    table.insert(0, "model", model)
    return table[list(DISTANCE_COLUMNS)].astype(DISTANCE_COLUMNS)
