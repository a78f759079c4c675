"""Synthetic invertibility, distance and similarity tables with a known truth, built vectorized
(one numpy draw per quantity), for the calibration tests that run the real claims evaluator.

A *unit* is one (model, seed, layer, t, tp > t) with its true retained similarity ``retained``
(the seed's own value: the caller draws seed-to-seed variation). Each image's similarity at the
unit is ``null + retained * (control - null)`` plus an image effect that the image keeps at
every step of its (seed, layer, t) (``image_effect_sd``: what makes a per-image measure
reliable) and fresh noise (``image_sd``). The controls: ``tp = t`` at ``control``, one
other-image partner at ``null``, the cross-seed floor at ``null + floor * margin``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

T = "0_1"


def step_label(p: int) -> str:
    return f"0_{int(p) + 1}"


def units_frame(
    models: dict[str, dict[str, list[float]]], seeds, p=(4,), retained_sd=0.0, rng=None
) -> pd.DataFrame:
    """Units of ``models``: ``{model: {layer: [R at each p]}}`` for every seed, each seed's R
    moved by ``retained_sd`` (one draw per seed and layer, shared by its steps)."""
    rng = rng or np.random.default_rng(0)
    rows = []
    for model, layers in models.items():
        for seed in seeds:
            for layer, values in layers.items():
                shift = retained_sd * rng.standard_normal()
                for step, value in zip(p, values, strict=True):
                    rows.append((model, seed, layer, T, step_label(step), step, value + shift))
    return pd.DataFrame(rows, columns=["model", "seed", "layer", "t", "tp", "p", "retained"])


def invertibility(
    units: pd.DataFrame,
    n_images: int = 10,
    image_sd: float = 0.1,
    image_effect_sd: float = 0.0,
    control: float = 0.7,
    null: float = 0.1,
    floor: float = 0.0,
    label_rate: float = 0.9,
    rng=None,
) -> pd.DataFrame:
    """The invertibility table of ``units`` (the columns the claims read)."""
    rng = rng or np.random.default_rng(0)
    groups = units.drop_duplicates(["model", "seed", "layer", "t"])[["model", "seed", "layer", "t"]]
    n_groups = len(groups)
    effect = image_effect_sd * rng.standard_normal((n_groups, n_images))
    key = pd.MultiIndex.from_frame(groups)
    position = pd.Series(np.arange(n_groups), index=key)

    def block(group_index, tp, p, level):
        k = len(group_index)
        similarity = (
            np.asarray(level, dtype=float)[:, None]
            + effect[group_index]
            + image_sd * rng.standard_normal((k, n_images))
        )
        return {
            "group": np.repeat(group_index, n_images),
            "tp": np.repeat(np.asarray(tp, dtype=object), n_images),
            "p": np.repeat(np.asarray(p, dtype=object), n_images),
            "image": np.tile(np.arange(n_images), k),
            "similarity": similarity.ravel(),
        }

    every = np.arange(n_groups)
    margin = control - null
    unit_groups = position.reindex(pd.MultiIndex.from_frame(units[groups.columns])).to_numpy()
    blocks = [
        block(every, [T] * n_groups, [0] * n_groups, [control] * n_groups),
        block(every, ["other_image"] * n_groups, [None] * n_groups, [null] * n_groups),
        block(
            every, ["cross_seed"] * n_groups, [None] * n_groups, [null + floor * margin] * n_groups
        ),
        block(unit_groups, units["tp"], units["p"], null + units["retained"].to_numpy() * margin),
    ]
    data = {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}
    n = len(data["group"])
    frame = groups.reset_index(drop=True).iloc[data["group"]].reset_index(drop=True)
    similarity = data["similarity"]
    frame = frame.assign(
        tp=data["tp"],
        p=pd.array(data["p"], dtype="Int64"),
        image_id=[f"i{i}" for i in data["image"]],
        label=data["image"] % 10,
        photo=False,
        target_image_id=[f"i{i}" for i in data["image"]],
        similarity=similarity,
        similarity_class=null + image_sd * rng.standard_normal(n),
        identified=pd.array(similarity > (control + null) / 2, dtype="boolean"),
        id_score=similarity,
        label_kept=pd.array(rng.random(n) < label_rate, dtype="boolean"),
        label_judge=pd.array([pd.NA] * n, dtype="Int64"),
        diverged=False,
        accuracy_t=0.9,
        accuracy_tp=0.9,
    )
    frame["drift"] = frame["p"].astype("float64").fillna(1.0) / 10
    frame.loc[frame["tp"] == "cross_seed", "drift"] = 1.4
    return frame


def similarity_table(units: pd.DataFrame, norm_distance: np.ndarray) -> pd.DataFrame:
    """The diagnostics' similarity table of ``units``, with the given ``norm_distance``."""
    frame = units[["model", "seed", "layer", "t", "tp", "p"]].copy()
    for name in ("cka", "cka_debiased", "cosine", "relative_distance", "drift", "grad_ratio_below"):
        frame[name] = 0.0
    frame["norm_distance"] = norm_distance
    return frame


def distance_table(
    table: pd.DataFrame, same_image: np.ndarray, nearest: float = 1.0
) -> pd.DataFrame:
    """Figure 6's distances of the table's activation-step rows: each (image, tp) at
    ``same_image`` (aligned with those rows), every image's nearest other-class image at
    ``nearest``."""
    steps = table[table["p"].fillna(0).astype(int) > 0]
    keys = ["model", "seed", "layer", "t", "image_id"]
    same = steps[[*keys, "tp"]].assign(
        kind="same_image", distance=same_image, relative_distance=same_image, nearest=pd.NA
    )
    other = (
        steps[keys]
        .drop_duplicates()
        .assign(
            tp=lambda f: f["t"],
            kind="other_class",
            distance=nearest,
            relative_distance=nearest,
            nearest=True,
        )
    )
    frame = pd.concat([same, other], ignore_index=True)
    frame["nearest"] = frame["nearest"].astype("boolean")
    return frame
