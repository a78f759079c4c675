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
        final_lr=5.0,
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


# --- the augmentation experiment's tables ---------------------------------------------------

AUGMENTATION_STEPS = (100, 200)  # head steps evaluated; the outcome is read at the last
AUGMENTATION_SPLITS = ("train", "validation", "held_out")


def augmentation_table(
    models: dict[str, dict[str, float]],
    seeds,
    arm_sd: float = 0.01,
    seed_sd: float = 0.05,
    base: float = 0.3,
    rng=None,
) -> pd.DataFrame:
    """The augmentation experiment's table for ``models``: ``{model: {arm reference: true
    offset}}``. A seed's held-out tempered cross-entropy of an arm at the last step is ``base``
    plus the seed's shift (shared by its arms, which pairing removes: ``seed_sd``) plus the arm's
    offset plus its own noise (``arm_sd``; a contrast of two arms has seed SD ``arm_sd *
    sqrt(2)``). Every other step and split reads a value of its own, uniform on [1, 2], so that
    reading one would show; the raw cross-entropy reads 0.05 above the tempered one."""
    from invertibility.analysis.claims.arm_contrast import parse

    rng = rng or np.random.default_rng(0)
    seeds = list(seeds)
    arms = [
        (model, *parse(reference), offset)
        for model, refs in models.items()
        for reference, offset in refs.items()
    ]
    cells = pd.DataFrame(arms, columns=["model", "layer", "window", "arm", "offset"])
    cells = cells.merge(pd.DataFrame({"seed": seeds}), how="cross")
    shift = pd.DataFrame(
        {
            "model": np.repeat(list(models), len(seeds)),
            "seed": np.tile(seeds, len(models)),
            "shift": seed_sd * rng.standard_normal(len(models) * len(seeds)),
        }
    )
    cells = cells.merge(shift, on=["model", "seed"])
    cells["value"] = (
        base + cells["shift"] + cells["offset"] + arm_sd * rng.standard_normal(len(cells))
    )
    grid = pd.DataFrame(
        [(step, split) for step in AUGMENTATION_STEPS for split in AUGMENTATION_SPLITS],
        columns=["step", "split"],
    )
    frame = cells.merge(grid, how="cross")
    read = (frame["step"] == AUGMENTATION_STEPS[-1]) & (frame["split"] == "held_out")
    tempered = frame["value"].where(read, 1.0 + rng.random(len(frame)))
    return pd.DataFrame(
        {
            "model": frame["model"].astype(str),
            "seed": frame["seed"].astype("int64"),
            "layer": frame["layer"].astype(str),
            "window": frame["window"].astype(str),
            "arm": frame["arm"].astype(str),
            "step": frame["step"].astype("int64"),
            "split": frame["split"].astype(str),
            "cross_entropy": tempered + 0.05,
            "cross_entropy_tempered": tempered,
            "temperature": 1.2,
            "accuracy": 0.9,
            "feature_norm": 10.0,
            "active_fraction": 0.5,
        }
    )


def augmentation_windows(
    models: dict[str, dict[tuple[str, str], float]], seeds, sd: float = 0.05, rng=None
) -> pd.DataFrame:
    """The experiment's windows table: ``{model: {(layer, window): true retained R}}``, each
    seed's R moved by its own noise (``sd``)."""
    rng = rng or np.random.default_rng(0)
    rows = [
        (model, seed, layer, window, value + sd * rng.standard_normal())
        for model, windows in models.items()
        for seed in seeds
        for (layer, window), value in windows.items()
    ]
    frame = pd.DataFrame(rows, columns=["model", "seed", "layer", "window", "retained"])
    return frame.assign(measurable=True, rms_drift=1.0, scale=1.0)
