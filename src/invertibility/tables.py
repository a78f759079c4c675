"""The invertibility table: one row per (model, seed, layer, t, tp, image), its summaries and
horizons. Definitions (also in the README):

* ``identified``: the original ``x_i`` is the most similar to the reconstruction ``x*`` of the
  ``K`` images it is ranked among (itself and ``K - 1`` held-out candidates; see
  identification.py); ``id_score = 1 - rank / (K - 1)``. Chance: ``1 / K`` and 0.5.
* controls of each (model, seed, layer, t): ``tp = t`` (a perfect target); ``other_image``
  (targets of held-out images of another class, several per image); ``cross_seed`` (the target
  ``r_l^t(x_i)`` of another training seed: how invertible an unrelated but similar network is;
  the *floor*).
* ``invertible`` (summary, per (model, layer, t, tp), over seeds): the identification rate
  keeps at least half of its margin over the floor,
  ``identified(tp) - floor >= 0.5 * (identified(t) - floor)``, and that margin exists
  (``identified(t) - floor >= MIN_MARGIN``). The horizon is the last ``p`` (and its weight drift)
  before the first step that is not invertible.
* ``ssim`` (secondary): SSIM of the unclipped reconstruction, pixel space; ``ssim_gain``: minus
  the mean SSIM of the image's other-image controls.
* a diverged inversion is excluded from every measure (all NaN / NA) and counted (``n_diverged``);
  photos (label -1) are reported on their own (``images = "photos"``), never in class statistics.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pandas as pd
from skimage.metrics import structural_similarity

from .atomic import atomic_path
from .identification import identification_score
from .inversion_io import load_inversion
from .stats import hierarchical_bootstrap
from .vocabulary import CONTROLS, CROSS_SEED, OTHER_IMAGE

INVERTIBILITY_COLUMNS = {
    "model": "string",
    "seed": "int64",  # training seed
    "layer": "string",
    "t": "string",  # function step label
    "tp": "string",  # activation step label, or a control: other_image, cross_seed
    "p": "Int64",  # optimizer steps from t to tp (NA for the controls)
    "drift": "float64",  # D_l: relative weight change up to l from t to tp (or across seeds)
    "image_id": "string",
    "label": "int64",  # true class, -1 for an unlabelled photo
    "photo": "bool",
    "target_image_id": "string",  # the image whose activations were the target
    "feature_error": "float64",  # ||Phi0 - r_l^t(x*)|| / ||Phi0||
    "image_error": "float64",  # ||x* - x_i|| / ||x_i||, pixel space
    "rank": "float64",  # candidates more similar to x* than x_i
    "identified": "boolean",  # rank == 0
    "id_score": "float64",  # 1 - rank / (K - 1)
    "n_candidates": "int64",  # K
    "ssim": "float64",  # SSIM(x*, x_i), unclipped, pixel space, data range 1
    "ssim_gain": "float64",  # ssim minus the mean SSIM of this image's other-image controls
    "label_final": "int64",  # class the classifier-step network gives x* (-1: diverged)
    "label_kept": "boolean",  # label_final == label (NA for photos and diverged)
    "diverged": "bool",
    "retried": "bool",  # diverged once, retried alone with a smaller step
    "accuracy_t": "float64",  # held-out accuracy of the network at t
    "accuracy_tp": "float64",  # ... at tp (NA for the controls)
}
MEASURES = ("identified", "id_score", "ssim", "ssim_gain", "label_kept", "image_error")
INVERTIBLE_FRACTION = 0.5  # of the margin over the floor that tp must keep
MIN_MARGIN = 0.2  # the tp = t control must beat the floor by this much for a verdict


def ssim(reconstruction: np.ndarray, original: np.ndarray) -> float:
    """SSIM of two CHW pixel images, the reconstruction unclipped (NaN if it diverged)."""
    if not np.isfinite(reconstruction).all():
        return float("nan")
    recon = reconstruction.transpose(1, 2, 0).astype(np.float64)
    orig = original.transpose(1, 2, 0).astype(np.float64)
    win = min(7, min(orig.shape[:2]) // 2 * 2 + 1)
    return float(structural_similarity(recon, orig, data_range=1.0, channel_axis=2, win_size=win))


def inversion_rows(path: str) -> pd.DataFrame:
    """One row per inversion of one file (read once)."""
    r = load_inversion(path)
    n = len(r["image_id"])
    return pd.DataFrame(
        {
            "model": r["model"],
            "seed": r["seed"],
            "layer": r["layer"],
            "t": r["t"],
            "tp": r["tp"],
            "p": [pd.NA if r["p"] is None else r["p"]] * n,
            "drift": r["drift"],
            "image_id": r["image_id"],
            "label": r["label"],
            "target_image_id": r["target_image_id"],
            "feature_error": r["feature_error"],
            "image_error": r["image_error"],
            "rank": r["rank"],
            "n_candidates": r["n_candidates"],
            "ssim": [ssim(r["reconstructions"][i], r["originals"][i]) for i in range(n)],
            "label_final": r["label_final"],
            "diverged": r["diverged"],
            "retried": r["retried"],
        }
    )


def invertibility_table(inversions: Iterable[str], accuracy: pd.DataFrame) -> pd.DataFrame:
    """Rows of every inversion file, diverged rows blanked, controls and accuracy joined in.
    ``accuracy``: (model, seed, step, holdout_accuracy) of every checkpoint."""
    rows = pd.concat([inversion_rows(path) for path in inversions], ignore_index=True)
    bad = rows["diverged"].to_numpy(dtype=bool)
    for column in ("feature_error", "image_error", "rank", "ssim"):
        rows.loc[bad, column] = np.nan
    rows["photo"] = rows["label"] < 0
    rows["id_score"] = identification_score(rows["rank"], rows["n_candidates"])
    rank = rows["rank"].to_numpy()
    rows["identified"] = pd.array(np.where(np.isnan(rank), None, rank == 0), dtype="boolean")
    kept = rows["label_final"] == rows["label"]
    rows["label_kept"] = pd.array(np.where(rows["photo"] | bad, None, kept), dtype="boolean")
    keys = ["model", "seed", "layer", "t", "image_id"]
    other = rows[rows["tp"] == OTHER_IMAGE].groupby(keys)["ssim"].mean().rename("ssim_other")
    rows = rows.join(other, on=keys)
    rows["ssim_gain"] = rows["ssim"] - rows["ssim_other"]
    by_step = accuracy.set_index(["model", "seed", "step"])["holdout_accuracy"]
    rows = rows.join(by_step.rename("accuracy_t"), on=["model", "seed", "t"])
    rows = rows.join(by_step.rename("accuracy_tp"), on=["model", "seed", "tp"])
    return rows[list(INVERTIBILITY_COLUMNS)].astype(INVERTIBILITY_COLUMNS)


def per_image(rows: pd.DataFrame, measure: str) -> pd.Series:
    """``measure`` per image, averaged over an image's rows (the other-image partners)."""
    return rows.assign(v=rows[measure].astype("float64")).groupby("image_id", sort=True)["v"].mean()


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, t, tp) and image kind (dataset images, photos): each measure's mean
    over seeds (each seed weighted equally) with a hierarchical bootstrap 95% CI."""
    records = []
    table = table.assign(images=np.where(table["photo"], "photos", "dataset"))
    keys = ["model", "layer", "t", "tp", "images"]
    for key, group in table.groupby(keys, sort=False):
        seeds = [rows for _, rows in group.groupby("seed")]
        record = dict(zip(keys, key, strict=True))
        record.update(
            {
                "p": group["p"].iloc[0],
                "n_seeds": len(seeds),
                "n_images": group["image_id"].nunique(),
                "n_inversions": len(group),
                "n_diverged": int(group["diverged"].sum()),
                "n_retried": int(group["retried"].sum()),
                "drift": group.groupby("seed")["drift"].first().mean(),
                "accuracy_t": group.groupby("seed")["accuracy_t"].first().mean(),
                "accuracy_tp": group.groupby("seed")["accuracy_tp"].first().mean(),
            }
        )
        for measure in MEASURES:
            mean, low, high = hierarchical_bootstrap([per_image(s, measure) for s in seeds])
            record.update({measure: mean, f"{measure}_low": low, f"{measure}_high": high})
        records.append(record)
    summary = pd.DataFrame(records)
    summary = summary.astype({k: "string" for k in keys} | {"p": "Int64"})
    return add_invertible(summary)


def add_invertible(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's ``floor`` (cross-seed identification), ``same`` (tp = t) and
    ``invertible`` columns, per (model, layer, t, images)."""
    keys = ["model", "layer", "t", "images"]
    floor = summary[summary["tp"] == CROSS_SEED].set_index(keys)["identified"].rename("floor")
    same = summary[summary["tp"] == summary["t"]].set_index(keys)["identified"].rename("same")
    summary = summary.join(floor, on=keys).join(same, on=keys)
    margin = summary["same"] - summary["floor"]
    keeps = summary["identified"] - summary["floor"] >= INVERTIBLE_FRACTION * margin
    defined = (margin >= MIN_MARGIN) & ~summary["tp"].isin(CONTROLS)
    summary["invertible"] = pd.array(np.where(defined, keeps, None), dtype="boolean")
    return summary


HORIZON_COLUMNS = [
    "model",
    "layer",
    "t",
    "horizon_p",
    "horizon_p_low",
    "horizon_p_high",
    "horizon_drift",
    "horizon_drift_low",
    "horizon_drift_high",
    "horizon_tp",
    "last_tp_tested",
    "censored",
    "n_seeds",
    "n_images",
]


def horizon(p: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The last ``p`` before the first activation step that is not invertible.

    ``p``: ``[k]`` sorted offsets, ``p[0] = 0`` (the ``tp = t`` control); ``fractions``:
    ``[..., k + 1]`` identification rates at each ``p``, then the floor (last). Returns
    ``[...]``: NaN where the control does not beat the floor by ``MIN_MARGIN``."""
    floor = fractions[..., -1:]
    rates = fractions[..., :-1]
    margin = rates[..., :1] - floor
    failed = rates - floor < INVERTIBLE_FRACTION * margin
    failed[..., 0] = False
    first_fail = np.where(failed.any(axis=-1), failed.argmax(axis=-1), len(p))
    result = np.asarray(p, dtype=float)[first_fail - 1]
    return np.where(margin[..., 0] >= MIN_MARGIN, result, np.nan)


def drift_at(p: np.ndarray, drift: np.ndarray, value: float) -> float:
    """The mean weight drift at step offset ``value`` (interpolated between tested steps)."""
    return float(np.interp(value, p, drift)) if np.isfinite(value) else np.nan


def horizons(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, t) over dataset images: the invertibility horizon in optimizer steps
    and in weight drift, with a hierarchical bootstrap 95% CI (seeds, then images)."""
    records = []
    dataset = table[~table["photo"]]
    for (model, layer, t), group in dataset.groupby(["model", "layer", "t"], sort=False):
        steps = group[~group["tp"].isin(CONTROLS)]
        # the steps every seed inverted (a figure may add steps for one seed only)
        n_seeds = group["seed"].nunique()
        shared = steps.groupby("tp")["seed"].nunique()
        steps = steps[steps["tp"].isin(shared[shared == n_seeds].index)]
        if not (group["tp"] == CROSS_SEED).any() or steps.empty:
            continue
        order = steps.drop_duplicates("tp").sort_values("p")
        p = order["p"].to_numpy(dtype=int)
        columns = [*order["tp"], CROSS_SEED]
        seeds = []
        for _, rows in group.groupby("seed"):
            rows = rows.assign(v=rows["identified"].astype("float64"))  # NA (diverged): NaN
            wide = rows.pivot_table(
                index="tp", columns="image_id", values="v", aggfunc="first", dropna=False
            )
            seeds.append(wide.reindex(columns).to_numpy(dtype=float))  # [k + 1, n]
        estimate, low, high = hierarchical_bootstrap(seeds, reduce=functools.partial(horizon, p))
        drift = steps.groupby("p")["drift"].mean().reindex(p).to_numpy()
        tp_of = dict(zip(p, order["tp"], strict=True))
        in_drift = functools.partial(drift_at, p, drift)

        records.append(
            {
                "model": model,
                "layer": layer,
                "t": t,
                "horizon_p": estimate,
                "horizon_p_low": low,
                "horizon_p_high": high,
                "horizon_drift": in_drift(estimate),
                "horizon_drift_low": in_drift(low),
                "horizon_drift_high": in_drift(high),
                "horizon_tp": tp_of.get(int(estimate), "") if np.isfinite(estimate) else "",
                "last_tp_tested": tp_of[p.max()],
                "censored": bool(np.isfinite(estimate) and estimate == p.max()),
                "n_seeds": len(seeds),
                "n_images": group["image_id"].nunique(),
            }
        )
    return pd.DataFrame(records, columns=HORIZON_COLUMNS)  # columns even when there is none


def write_invertibility_tables(
    inversions: list[str], accuracy: list[str], outputs: dict[str, str]
) -> None:
    """The per-image table, its summary and the horizons, to ``outputs['table'|'summary'|
    'horizons']``; ``accuracy``: the checkpoint-accuracy tables of every run."""
    table = invertibility_table(
        inversions, pd.concat([pd.read_parquet(path) for path in accuracy], ignore_index=True)
    )
    for key, frame in (
        ("table", table),
        ("summary", summarize(table)),
        ("horizons", horizons(table)),
    ):
        with atomic_path(outputs[key]) as tmp:
            frame.to_parquet(tmp, index=False)
