"""Is a reconstruction still its image? Per-row measures against the held-out images, computed
on the analysis side from what the inversion files and the prepared image sets hold (torch-free).

Similarity is the Pearson correlation of pixels (unclipped): it ignores brightness and contrast,
which an inversion recovers poorly, and punishes no overshoot. For a reconstruction ``x*`` of
image ``x_i`` (row of an inversion file):

* ``similarity``: ``corr(x*, x_i)``; 0 for a constant reconstruction, NaN when diverged;
* ``rank``: held-out candidates at least as similar to ``x*`` as ``x_i`` is, among the image's
  ``K - 1`` drawn candidates (ties count against ``x_i``, so a constant reconstruction is never
  identified); ``rank_all``: the same among every held-out image (chance ``1 / n_all``);
  ``rank_class``: among the held-out images of ``x_i``'s own class (which "7"; chance
  ``1 / n_class``; NaN for a photo). A row's target image (an other-image partner ``x_j``) is
  never a candidate: its reconstruction is meant to look like ``x_j``, and counting it would
  push the other-image control below chance.
* ``similarity_class``: the mean of ``corr(x*, x_j)`` over the held-out images ``x_j`` of
  ``x_i``'s class (less ``x_i`` and the target): the same-class null, how much a reconstruction
  looks like any image of its class (NaN for a photo).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from safetensors import safe_open

from ..core.correlation import similarity, standardized


@dataclass
class Pool:
    """A model's held-out images in pixel space, standardized rows, and each inverted image's
    drawn identification candidates (pool indices)."""

    rows: np.ndarray  # [P, D]
    labels: np.ndarray  # [P]
    ids: np.ndarray  # [P]
    candidates: dict[str, np.ndarray]  # inverted image id -> [K - 1] pool indices


def load_pool(path: str) -> Pool:
    """The pool of a prepared image set (``results/images/{model}.safetensors``)."""
    with safe_open(str(path), framework="numpy") as archive:
        meta = json.loads(archive.metadata()["invertibility"])
        pool = archive.get_tensor("pool").astype(np.float64)
        labels = archive.get_tensor("pool_labels")
        candidates = archive.get_tensor("candidates")
    channels = pool.shape[1]
    mean = np.broadcast_to(np.asarray(meta["mean"]), (channels,)).reshape(1, -1, 1, 1)
    std = np.broadcast_to(np.asarray(meta["std"]), (channels,)).reshape(1, -1, 1, 1)
    return Pool(
        rows=standardized(pool * std + mean),
        labels=np.asarray(labels),
        ids=np.asarray(meta["pool_ids"]),
        candidates=dict(zip(meta["ids"], candidates, strict=True)),
    )


def row_measures(
    reconstructions: np.ndarray,
    originals: np.ndarray,
    image_ids,
    target_ids,
    labels,
    pool: Pool,
) -> dict[str, np.ndarray]:
    """``similarity``, ``rank``/``n_candidates``, ``rank_all``/``n_all``,
    ``rank_class``/``n_class`` and ``similarity_class`` per row (see the module docstring)."""
    n = len(reconstructions)
    finite = np.isfinite(np.asarray(reconstructions).reshape(n, -1)).all(axis=1)
    own = similarity(reconstructions, originals)  # NaN where not finite
    recon = standardized(np.nan_to_num(reconstructions))
    to_pool = recon @ pool.rows.T  # [n, P]
    out = {key: np.full(n, np.nan) for key in ("rank", "rank_all", "rank_class")}
    out |= {key: np.zeros(n, dtype=np.int64) for key in ("n_candidates", "n_all", "n_class")}
    out["similarity_class"] = np.full(n, np.nan)
    rows = zip(image_ids, target_ids, labels, strict=True)
    for row, (image_id, target_id, label) in enumerate(rows):
        allowed = (pool.ids != image_id) & (pool.ids != target_id)
        drawn = np.zeros(len(pool.ids), dtype=bool)
        drawn[pool.candidates[image_id]] = True
        beats = to_pool[row] >= own[row]
        classmates = allowed & (pool.labels == label)
        for key, chosen in (("", allowed & drawn), ("_all", allowed), ("_class", classmates)):
            count = "n_candidates" if key == "" else f"n{key}"
            out[count][row] = chosen.sum() + 1  # the candidates and x_i itself
            out[f"rank{key}"][row] = np.sum(beats & chosen)
        if label >= 0 and classmates.any():
            out["similarity_class"][row] = to_pool[row][classmates].mean()
    out["similarity"] = own
    for key in ("rank", "rank_all", "rank_class", "similarity_class"):
        out[key][~finite] = np.nan
    out["rank_class"][np.asarray(labels) < 0] = np.nan
    return out
