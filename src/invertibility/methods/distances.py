"""Norm distances between layer representations (the paper's Section 4, Figure 6).

For a (model, seed, layer) and each function step ``t`` that config asks about:

* ``other_class``: ``||r_l^t(x_i) - r_l^t(x_j)||`` for every inverted labelled image ``x_i`` and
  every held-out pool image ``x_j`` of another class (``nearest`` marks the closest ``x_j`` of
  each ``x_i``: the nearest other-class image of the whole pool, as the paper means);
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
    "seed": "int64",
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
    seed: int,
    layer: str,
    steps: Mapping[str, Sequence[str]],
    representation: Callable[[str, str], torch.Tensor],
    images: tuple[Sequence[str], np.ndarray],
    pool: tuple[Sequence[str], np.ndarray],
) -> pd.DataFrame:
    """``steps`` maps each function step ``t`` to its activation steps;
    ``representation(step, which)`` returns ``r_l^step`` of every inverted image
    (``which = "images"``) or pool image (``"pool"``), ``[n, ...]``; ``images`` and ``pool``:
    (ids, labels)."""
    cache: dict[tuple[str, str], np.ndarray] = {}

    def rep(step: str, which: str = "images") -> np.ndarray:
        if (step, which) not in cache:
            cache[step, which] = representation(step, which).flatten(1).double().cpu().numpy()
        return cache[step, which]

    ids, labels = np.asarray(images[0]), np.asarray(images[1])
    pool_ids, pool_labels = np.asarray(pool[0]), np.asarray(pool[1])
    frames = []
    for t, tps in steps.items():
        base = rep(t)
        norms = np.linalg.norm(base, axis=1)
        pairwise = np.sqrt(
            np.maximum(
                (base**2).sum(1)[:, None]
                + (rep(t, "pool") ** 2).sum(1)[None]
                - 2 * base @ rep(t, "pool").T,
                0,
            )
        )
        other = (labels[:, None] != pool_labels[None]) & (labels[:, None] >= 0)
        nearest = np.where(other, pairwise, np.inf).argmin(axis=1)
        i, j = np.nonzero(other)
        frames.append(
            pd.DataFrame(
                {
                    "t": t,
                    "tp": t,
                    "image_id": ids[i],
                    "label": labels[i],
                    "other_image_id": pool_ids[j],
                    "other_label": pool_labels[j],
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
    table.insert(0, "seed", seed)
    table.insert(0, "model", model)
    return table[list(DISTANCE_COLUMNS)].astype(DISTANCE_COLUMNS)
