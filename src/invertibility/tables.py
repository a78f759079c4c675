"""The invertibility table: one row per (model, layer, t, tp, image), and its summaries.

Definition (also in the README). For image ``i``, layer ``l`` and function step ``t``:

* ``ssim``: SSIM between the reconstruction ``x*`` and the original ``x_i`` (pixel space).
* the controls: ``ssim_same`` is the SSIM of the ``tp = t`` inversion (a perfect target),
  ``ssim_other`` that of the other-image inversion (target ``r_l^t(x_j)``, ``x_j`` of another
  class), both against ``x_i``.
* ``score = (ssim - ssim_other) / (ssim_same - ssim_other)``: 1 = as good as a perfect target,
  0 = no better than another image's activations.
* ``invertible``: ``score > 0.5``, i.e. the similarity to ``x_i`` is closer to the ``tp = t``
  control than to the other-image control. Undefined (NaN / False) when the controls do not
  separate (``ssim_same <= ssim_other``) or the inversion diverged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pandas as pd
from skimage.metrics import structural_similarity

from .atomic import atomic_path
from .inversion_io import load_inversion
from .stats import bootstrap_ci
from .vocabulary import OTHER_IMAGE

INVERTIBILITY_COLUMNS = {
    "model": "string",
    "layer": "string",
    "t": "string",  # function step label
    "tp": "string",  # activation step label, or 'other_image' for that control
    "p": "Int64",  # optimizer steps from t to tp (NA for other_image)
    "image_id": "string",
    "label": "int64",  # true class, -1 for an unlabelled photo
    "feature_error": "float64",  # ||Phi0 - r_l^t(x*)|| / ||Phi0||
    "image_error": "float64",  # ||x* - x_i|| / ||x_i||, pixel space
    "ssim": "float64",  # SSIM(x*, x_i), pixel space, data range 1
    "ssim_same": "float64",  # SSIM of this image's tp = t control
    "ssim_other": "float64",  # SSIM of this image's other-image control
    "score": "float64",  # (ssim - ssim_other) / (ssim_same - ssim_other)
    "invertible": "boolean",  # score > 0.5
    "label_final": "int64",  # class the classifier-step network gives x* (-1: diverged)
    "label_kept": "boolean",  # label_final == label (NA for photos)
    "diverged": "bool",
}

INVERTIBLE_SCORE = 0.5


def ssim(reconstruction: np.ndarray, original: np.ndarray) -> float:
    """SSIM of two CHW images in [0, 1] (NaN for a diverged reconstruction)."""
    if not np.isfinite(reconstruction).all():
        return float("nan")
    recon = np.clip(reconstruction, 0, 1).transpose(1, 2, 0)
    orig = np.clip(original, 0, 1).transpose(1, 2, 0)
    win = min(7, *orig.shape[:2]) // 2 * 2 + 1 if min(orig.shape[:2]) < 7 else 7
    return float(structural_similarity(recon, orig, data_range=1.0, channel_axis=2, win_size=win))


def inversion_rows(path: str) -> pd.DataFrame:
    """One row per image of one inversion file (read once)."""
    r = load_inversion(path)
    n = len(r["image_id"])
    p = pd.NA if r["p"] is None else r["p"]
    return pd.DataFrame(
        {
            "model": r["model"],
            "layer": r["layer"],
            "t": r["t"],
            "tp": r["tp"],
            "p": [p] * n,
            "image_id": r["image_id"],
            "label": r["label"],
            "feature_error": r["feature_error"],
            "image_error": r["image_error"],
            "ssim": [ssim(r["reconstructions"][i], r["originals"][i]) for i in range(n)],
            "label_final": r["label_final"],
            "diverged": r["diverged"],
        }
    )


def invertibility_table(inversions: Iterable[str]) -> pd.DataFrame:
    """Rows of every inversion file, with the controls joined in and the score computed."""
    rows = pd.concat([inversion_rows(path) for path in inversions], ignore_index=True)
    keys = ["model", "layer", "t", "image_id"]
    same = rows[rows["tp"] == rows["t"]][keys + ["ssim"]].rename(columns={"ssim": "ssim_same"})
    other = rows[rows["tp"] == OTHER_IMAGE][keys + ["ssim"]].rename(columns={"ssim": "ssim_other"})
    table = rows.merge(same, on=keys, how="left").merge(other, on=keys, how="left")
    spread = table["ssim_same"] - table["ssim_other"]
    table["score"] = np.where(spread > 0, (table["ssim"] - table["ssim_other"]) / spread, np.nan)
    table["invertible"] = pd.array(
        np.where(np.isnan(table["score"]), None, table["score"] > INVERTIBLE_SCORE), dtype="boolean"
    )
    table["label_kept"] = pd.array(
        np.where(table["label"] < 0, None, table["label_final"] == table["label"]), dtype="boolean"
    )
    return table[list(INVERTIBILITY_COLUMNS)].astype(INVERTIBILITY_COLUMNS)


SUMMARY_MEASURES = ("ssim", "score", "invertible", "label_kept", "feature_error", "image_error")


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, t, tp): mean of each measure over images with a bootstrap 95% CI."""
    records = []
    for (model, layer, t, tp), group in table.groupby(["model", "layer", "t", "tp"], sort=False):
        record = {
            "model": model,
            "layer": layer,
            "t": t,
            "tp": tp,
            "p": group["p"].iloc[0],
            "n_images": len(group),
            "n_diverged": int(group["diverged"].sum()),
        }
        for measure in SUMMARY_MEASURES:
            values = group[measure].astype("float64").to_numpy()
            mean, low, high = bootstrap_ci(values)
            record.update({measure: mean, f"{measure}_low": low, f"{measure}_high": high})
        records.append(record)
    summary = pd.DataFrame(records)
    return summary.astype(
        {"model": "string", "layer": "string", "t": "string", "tp": "string", "p": "Int64"}
    )


def horizon(p: np.ndarray, invertible: np.ndarray) -> float:
    """The last ``p`` up to which the fraction of invertible images stays above one half.

    ``p``: ``[k]`` sorted step offsets (``p[0]`` = 0, the ``tp = t`` control); ``invertible``:
    ``[..., k, n]`` booleans. Returns ``[...]`` offsets (0 when even ``p[1]`` fails)."""
    majority = np.nanmean(invertible, axis=-1) > 0.5  # [..., k]
    failed = ~majority
    failed[..., 0] = False  # the control itself always counts as invertible
    first_fail = np.where(failed.any(axis=-1), failed.argmax(axis=-1), len(p))
    return np.asarray(p)[first_fail - 1]


def horizons(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, t): the invertibility horizon in optimizer steps and as a step label,
    with a bootstrap 95% CI over images."""
    records = []
    steps = table[table["tp"] != OTHER_IMAGE]
    for (model, layer, t), group in steps.groupby(["model", "layer", "t"], sort=False):
        wide = group.pivot_table(
            index="p", columns="image_id", values="invertible", aggfunc="first", observed=True
        ).sort_index()
        p = wide.index.to_numpy(dtype=int)
        matrix = wide.to_numpy(dtype=float)  # [k, n], NaN where undefined
        matrix = matrix[:, ~np.isnan(matrix).all(axis=0)]
        estimate, low, high = bootstrap_ci(
            np.nan_to_num(matrix, nan=0.0), statistic=functools.partial(horizon, p)
        )
        tp_of = dict(zip(group["p"].astype(int), group["tp"], strict=False))
        records.append(
            {
                "model": model,
                "layer": layer,
                "t": t,
                "horizon_p": estimate,
                "horizon_p_low": low,
                "horizon_p_high": high,
                "horizon_tp": tp_of.get(int(estimate), ""),
                "last_tp_tested": tp_of[int(p.max())],
                "n_images": matrix.shape[1],
            }
        )
    return pd.DataFrame(records)


def write_invertibility_tables(inversions: list[str], outputs: dict[str, str]) -> None:
    """The per-image table, its summary and the horizons, to ``outputs['table'|'summary'|
    'horizons']``."""
    table = invertibility_table(inversions)
    for key, frame in (
        ("table", table),
        ("summary", summarize(table)),
        ("horizons", horizons(table)),
    ):
        with atomic_path(outputs[key]) as tmp:
            frame.to_parquet(tmp, index=False)
