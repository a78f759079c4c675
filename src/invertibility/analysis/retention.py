"""Per-seed means of the invertibility table and the primary measure built from them,
retained similarity ``R`` (see :mod:`invertibility.analysis.measures`), torch-free.

One row per (model, seed, layer, t, tp, images) where ``tp`` is an activation step or a control
and ``images`` is ``dataset`` or ``photos``: ``similarity`` (the seed's mean over its images of
each image's mean correlation), ``control`` (the same at ``tp = t``), ``null`` (at the
other-image control), ``margin = control - null`` (what the perfect target gains over an
unrelated one: the inversion works at all where it is above 0), ``retained = (similarity -
null) / margin`` (1 at ``tp = t``; at ``tp = cross_seed`` it is the cross-seed *floor*: how much
another seed's activations at ``t`` retain).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.vocabulary import OTHER_IMAGE

KEYS = ["model", "seed", "layer", "t", "images"]


def retained_ratio(similarity, control, null):
    """``(similarity - null) / (control - null)``: 1 where nothing is lost since ``t``, 0 where
    no closer to ``x_i`` than another image's reconstruction; NaN where the control has no
    margin. Works on numbers, arrays and Series alike (the calibration tests call it on
    simulated seed means)."""
    margin = control - null
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(margin != 0, (similarity - null) / np.where(margin != 0, margin, 1), np.nan)


def image_kind(table: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(table["photo"], "photos", "dataset"), index=table.index)


def seed_means(table: pd.DataFrame, measure: str) -> pd.Series:
    """``measure`` per (model, seed, layer, t, tp, images): each image's mean over its rows (the
    other-image partners), then the mean over the seed's images (NaN rows, diverged, left out)."""
    rows = table.assign(images=image_kind(table), v=table[measure].astype("float64"))
    per_image = rows.groupby([*KEYS, "tp", "image_id"], observed=True, sort=False)["v"].mean()
    return per_image.groupby(level=[*KEYS, "tp"], sort=False).mean()


def retention_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, seed, layer, t, tp, images): similarity, control, null, margin,
    retained, with the step's p, drift, accuracies and image count."""
    if table.empty:
        return pd.DataFrame(
            columns=[*KEYS, "tp", "similarity", "control", "null", "margin", "retained"]
        )
    rows = table.assign(images=image_kind(table))
    group = rows.groupby([*KEYS, "tp"], observed=True, sort=False)
    frame = group.agg(
        p=("p", "first"),
        drift=("drift", "first"),
        accuracy_t=("accuracy_t", "first"),
        accuracy_tp=("accuracy_tp", "first"),
        n_images=("image_id", "nunique"),
    )
    frame["similarity"] = seed_means(table, "similarity")
    frame = frame.reset_index()
    same = frame[frame["tp"] == frame["t"]].set_index(KEYS)["similarity"].rename("control")
    null = frame[frame["tp"] == OTHER_IMAGE].set_index(KEYS)["similarity"].rename("null")
    frame = frame.join(same, on=KEYS).join(null, on=KEYS)
    frame["margin"] = frame["control"] - frame["null"]
    frame["retained"] = retained_ratio(frame["similarity"], frame["control"], frame["null"])
    return frame
