"""Per-seed means of the invertibility table and the measures built from them (see
:mod:`invertibility.analysis.measures`), torch-free.

One row per (model, seed, layer, t, tp, images) where ``tp`` is an activation step or a control
and ``images`` is ``dataset`` or ``photos``: ``similarity`` (the seed's mean over its images of
each image's mean correlation), ``control`` (the same at ``tp = t``), ``null`` (at the
other-image control), ``margin = control - null`` (what the perfect target gains over an
unrelated one) with its standard error over images ``margin_se`` and ``measurable`` (the margin
is at least :data:`~invertibility.analysis.measures.MIN_MARGIN` and
:data:`~invertibility.analysis.measures.MIN_MARGIN_Z` standard errors), ``retained_raw =
(similarity - null) / margin`` and ``retained`` (the same limited to [0, 1]), both NaN where the
margin is not measurable; at ``tp = cross_seed`` ``retained`` is the cross-seed *floor*.
``excess = similarity - null`` with its standard error over images ``excess_se``, and
``retains``: the seed's reconstructions at ``tp`` are measurably closer to their images than
other images' are (a measurable margin, and ``excess`` above 0 by ``MIN_MARGIN_Z`` standard
errors). The same-class companions: ``similarity_class`` (the seed's mean
correlation of the reconstructions with the other held-out images of their class),
``identity_margin``, ``identity_measurable``, ``retained_identity(_raw)``.

Which images a unit measures (:func:`excluded`): an inversion that diverged is retried with a
smaller step (:func:`~invertibility.methods.inversion.invert_with_retry`). An image is measured
in its (model, seed, layer, t) only where every one of its inversions there converged from the
same step: its ``tp = t`` control, each ``tp``, the null's and the floor's. Otherwise the control
would scale a different optimization than the one it is compared with (or a different set of
images), so all the image's rows there are left out of every measure, and counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core.vocabulary import OTHER_IMAGE
from .measures import MIN_MARGIN, MIN_MARGIN_Z

KEYS = ["model", "seed", "layer", "t", "images"]


def retained_ratio(similarity, control, null):
    """``(similarity - null) / (control - null)``: 1 where nothing is lost since ``t``, 0 where
    no closer to ``x_i`` than another image's reconstruction; NaN where the control has no
    margin. Works on numbers, arrays and Series alike."""
    margin = control - null
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(margin != 0, (similarity - null) / np.where(margin != 0, margin, 1), np.nan)


def measurable(margin, margin_se):
    """Whether a seed's margin can carry a ratio: at least ``MIN_MARGIN`` and ``MIN_MARGIN_Z``
    standard errors over its images (a margin whose images agree exactly counts as measurable
    once it is large enough; one whose standard error is unknown, from a single image or no
    image with both the control and the null, does not)."""
    margin, margin_se = np.asarray(margin, dtype=float), np.asarray(margin_se, dtype=float)
    with np.errstate(invalid="ignore"):
        return (margin >= MIN_MARGIN) & (margin >= MIN_MARGIN_Z * margin_se)


def bounded(ratio):
    """A ratio limited to [0, 1] (NaN stays NaN): not invertible is one value."""
    return np.clip(np.asarray(ratio, dtype=float), 0.0, 1.0)


def image_kind(table: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(table["photo"], "photos", "dataset"), index=table.index)


def per_image_means(table: pd.DataFrame, measure: str) -> pd.Series:
    """``measure`` per (model, seed, layer, t, tp, images, image): the mean over an image's rows
    (its other-image partners; NaN rows, diverged, left out)."""
    if measure not in table:
        return pd.Series(np.nan, index=table.index).iloc[:0]
    rows = table.assign(images=image_kind(table), v=table[measure].astype("float64"))
    return rows.groupby([*KEYS, "tp", "image_id"], observed=True, sort=False)["v"].mean()


def seed_means(table: pd.DataFrame, measure: str) -> pd.Series:
    """``measure`` per (model, seed, layer, t, tp, images): each image's mean over its rows,
    then the mean over the seed's images."""
    return per_image_means(table, measure).groupby(level=[*KEYS, "tp"], sort=False).mean()


def _margin_se(images: pd.DataFrame, at_control: pd.Series, null_of: pd.Series) -> pd.Series:
    """Standard error over a seed's images of ``at_control - null_of`` per (seed, layer, t)."""
    gap = (at_control - null_of).dropna()
    grouped = gap.groupby(level=KEYS, sort=False)
    return (grouped.std(ddof=1) / np.sqrt(grouped.count())).rename("se")


def _excess_se(images: pd.Series, null_of: pd.Series) -> pd.Series:
    """Standard error over a seed's images of ``c_tp,i - c_null,i`` per (seed, layer, t, tp)."""
    flat = images.rename("v").reset_index()
    flat["gap"] = (
        flat["v"] - null_of.reindex(pd.MultiIndex.from_frame(flat[[*KEYS, "image_id"]])).to_numpy()
    )
    grouped = flat.dropna(subset=["gap"]).groupby([*KEYS, "tp"], sort=False)["gap"]
    return (grouped.std(ddof=1) / np.sqrt(grouped.count())).rename("excess_se")


def excluded(table: pd.DataFrame) -> pd.Series:
    """Per row: its image is not measured in its (model, seed, layer, t), because one of the
    image's inversions there diverged (after every retry) or they did not all keep an
    inversion from the same step (``final_lr``)."""
    unit = [key for key in KEYS if key != "images"] + ["image_id"]
    group = table.groupby(unit, observed=True, sort=False)
    diverged = group["diverged"].transform("any").astype(bool)
    steps = group["final_lr"].transform("nunique") > 1
    return (diverged | steps).rename("excluded")


def _controls(per_image: pd.Series, frame: pd.DataFrame, at: str) -> pd.Series:
    """Each image's value at ``at`` (``"t"``: the tp = t control, else a tp label) keyed by
    (model, seed, layer, t, images, image_id)."""
    flat = per_image.reset_index()
    chosen = flat[flat["tp"] == flat["t"]] if at == "t" else flat[flat["tp"] == at]
    return chosen.set_index([*KEYS, "image_id"])["v"]


EMPTY_COLUMNS = [
    "p",
    "drift",
    "accuracy_t",
    "accuracy_tp",
    "n_images",
    "similarity",
    "similarity_class",
    "control",
    "null",
    "margin_se",
    "margin",
    "measurable",
    "retained_raw",
    "retained",
    "excess",
    "excess_se",
    "retains",
    "identity_margin",
    "identity_measurable",
    "retained_identity_raw",
    "retained_identity",
]


def retention_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, seed, layer, t, tp, images): the columns of the module docstring,
    with the step's p, drift, accuracies and image count."""
    if table.empty:  # every column a table with rows has
        return pd.DataFrame(columns=[*KEYS, "tp", *EMPTY_COLUMNS])
    rows = table.assign(images=image_kind(table))
    group = rows.groupby([*KEYS, "tp"], observed=True, sort=False)
    frame = group.agg(
        p=("p", "first"),
        drift=("drift", "first"),
        accuracy_t=("accuracy_t", "first"),
        accuracy_tp=("accuracy_tp", "first"),
        n_images=("image_id", "nunique"),
    )
    images = per_image_means(table, "similarity")
    classmates = per_image_means(table, "similarity_class")
    frame["similarity"] = images.groupby(level=[*KEYS, "tp"], sort=False).mean()
    frame["similarity_class"] = (
        classmates.groupby(level=[*KEYS, "tp"], sort=False).mean() if len(classmates) else np.nan
    )
    frame = frame.reset_index()

    control_i = _controls(images.rename("v"), frame, "t")
    null_i = _controls(images.rename("v"), frame, OTHER_IMAGE)
    same = frame[frame["tp"] == frame["t"]].set_index(KEYS)
    null = frame[frame["tp"] == OTHER_IMAGE].set_index(KEYS)["similarity"].rename("null")
    frame = frame.join(same["similarity"].rename("control"), on=KEYS).join(null, on=KEYS)
    frame = frame.join(_margin_se(images, control_i, null_i).rename("margin_se"), on=KEYS)
    frame["margin"] = frame["control"] - frame["null"]
    frame["measurable"] = measurable(frame["margin"], frame["margin_se"])
    raw = retained_ratio(frame["similarity"], frame["control"], frame["null"])
    frame["retained_raw"] = np.where(frame["measurable"], raw, np.nan)
    frame["retained"] = bounded(frame["retained_raw"])
    frame["excess"] = np.where(frame["measurable"], frame["similarity"] - frame["null"], np.nan)
    frame = frame.join(_excess_se(images, null_i), on=[*KEYS, "tp"])
    with np.errstate(invalid="ignore"):
        frame["retains"] = (
            frame["measurable"]
            & (frame["excess"] > 0)
            & (frame["excess"] >= MIN_MARGIN_Z * frame["excess_se"])
        )

    # the same-class null: the reconstruction's correlation with x_i's classmates, at each tp
    if len(classmates):
        class_t = _controls(classmates.rename("v"), frame, "t")
        same_class = same["similarity_class"].rename("class_t")
        frame = frame.join(same_class, on=KEYS)
        frame["identity_margin"] = frame["control"] - frame["class_t"]
        se = _margin_se(images, control_i, class_t).rename("identity_margin_se")
        frame = frame.join(se, on=KEYS)
        frame["identity_measurable"] = measurable(
            frame["identity_margin"], frame["identity_margin_se"]
        )
        raw = retained_ratio(
            frame["similarity"] - frame["similarity_class"] + frame["class_t"],
            frame["control"],
            frame["class_t"],
        )
        frame["retained_identity_raw"] = np.where(frame["identity_measurable"], raw, np.nan)
        frame = frame.drop(columns=["class_t", "identity_margin_se"])
    else:
        frame["identity_margin"] = np.nan
        frame["identity_measurable"] = False
        frame["retained_identity_raw"] = np.nan
    frame["retained_identity"] = bounded(frame["retained_identity_raw"])
    return frame


WINDOW_COLUMNS = [
    "window",
    "steps",  # how many activation steps the window's R averages
    "retained",  # mean over the window's steps of the seed's bounded R (NaN: no measurable margin)
    "retained_raw",  # the same of the unlimited ratio
    "similarity",  # mean over the window's steps of c_tp
    "control",  # c_t, the tp = t control's
    "null",  # c_null, the other-image control's
    "margin",
    "margin_se",
    "measurable",
]


def window_retention(per_image: pd.DataFrame, windows: dict[str, Sequence]) -> pd.DataFrame:
    """Each window's retained similarity from per-image rows (one per (image, tp) and per
    (image, other-image partner): ``image_id``, ``t``, ``tp``, ``similarity``, ``diverged``,
    ``final_lr``, as
    :func:`invertibility.methods.window_retention.window_similarity` returns): the seed's ``R``
    at each of the window's steps (``windows``: name -> its activation steps), computed by
    :func:`retention_table` from the seed's image means exactly as for the paper's claims, then
    averaged over the steps (NaN if any step's is). One row per (model, seed, layer, t: those of
    the columns the rows carry) and window: those keys and :data:`WINDOW_COLUMNS`."""
    carried = [key for key in KEYS if key in per_image and key != "images"]
    table = per_image.assign(
        **{key: "" for key in ("model", "layer") if key not in per_image},
        **{key: 0 for key in ("seed",) if key not in per_image},
        **{key: False for key in ("photo",) if key not in per_image},
        **{
            key: np.nan
            for key in ("p", "drift", "accuracy_t", "accuracy_tp")
            if key not in per_image
        },
    )
    table.loc[excluded(table).to_numpy(), "similarity"] = np.nan  # as the paper's units
    steps = retention_table(table)
    every = pd.MultiIndex.from_frame(steps[KEYS].drop_duplicates())
    frames = []
    for name, window in windows.items():
        chosen = steps[steps["tp"].isin(list(window))]
        found = chosen.groupby(KEYS, sort=False)["tp"].nunique().reindex(every, fill_value=0)
        if (found < len(set(window))).any():
            raise ValueError(f"window {name!r}: not every step of {list(window)} has rows")
        frame = chosen.groupby(KEYS, sort=False).agg(
            steps=("tp", "nunique"),
            retained=("retained", lambda v: v.mean(skipna=False)),
            retained_raw=("retained_raw", lambda v: v.mean(skipna=False)),
            similarity=("similarity", lambda v: v.mean(skipna=False)),
            control=("control", "first"),
            null=("null", "first"),
            margin=("margin", "first"),
            margin_se=("margin_se", "first"),
            measurable=("measurable", "first"),
        )
        frames.append(frame.reset_index().assign(window=name))
    table = pd.concat(frames, ignore_index=True)
    return table[[*carried, *WINDOW_COLUMNS]]
