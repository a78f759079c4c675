"""The invertibility table: one row per (model, seed, layer, t, tp, image), its summaries and
horizons. Definitions (also in docs/method.md; the measures in
:mod:`invertibility.analysis.measures`):

* per row, from the reconstruction and the prepared image set
  (:mod:`invertibility.analysis.recognition`): ``similarity`` (Pearson correlation with
  ``x_i``), ``identified``/``id_score`` (rank among ``x_i`` and ``K - 1`` drawn candidates;
  chance ``1 / K`` and 0.5), ``identified_all`` (among every held-out image) and
  ``identified_class`` (among ``x_i``'s own class); ties count against ``x_i`` and a row's own
  target image is never a candidate.
* controls of each (model, seed, layer, t): ``tp = t`` (a perfect target); ``other_image``
  (targets of held-out images of another class, several per image: the null); ``cross_seed``
  (the target ``r_l^t(x_i)`` of another training seed: the *floor*).
* the primary measure ``retained``, per seed (:mod:`invertibility.analysis.retention`).
* ``invertible``, per (model, layer, t, tp), over seeds: the mean ``retained`` is at least
  :data:`~invertibility.analysis.measures.INVERTIBLE` where the ``tp = t`` control is above the
  null (the lower bound of its seed interval above 0). The horizon is the last ``p`` before the
  first step whose ``retained`` falls below that level, per seed (censored, at least, where it
  is the last step tested), then its median over seeds with an order-statistic interval
  (:mod:`invertibility.analysis.horizons`).
* every other interval is Student's t over the seeds' means (:mod:`invertibility.analysis.stats`).
* ``ssim`` (secondary): SSIM of the unclipped reconstruction, pixel space; ``ssim_gain``: minus
  the mean SSIM of the image's other-image controls.
* an image is measured in a (model, seed, layer, t) only where all its inversions there
  converged from the same step (:func:`invertibility.analysis.retention.excluded`): else each of
  its rows there is excluded from every measure (all NaN / NA) and counted (``n_excluded``;
  ``n_diverged`` the diverged rows among them); photos (label -1) are reported on their own
  (``images = "photos"``), never in class statistics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
from skimage.metrics import structural_similarity

from ..core.atomic import atomic_path
from ..core.inversion_io import load_inversion
from ..core.vocabulary import CONTROLS, CROSS_SEED
from .horizons import horizons, horizons_by_seed
from .measures import INVERTIBLE, MEASURES, PER_IMAGE, PER_SEED
from .recognition import Pool, load_pool, row_measures
from .retention import KEYS, excluded, image_kind, retention_table, seed_means
from .stats import t_interval

log = logging.getLogger(__name__)

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
    "similarity": "float64",  # Pearson correlation of x* and x_i, pixel space
    "similarity_class": "float64",  # mean correlation of x* with x_i's held-out classmates
    "rank": "float64",  # drawn candidates at least as similar to x* as x_i
    "identified": "boolean",  # rank == 0
    "id_score": "float64",  # 1 - rank / (K - 1)
    "n_candidates": "int64",  # K (the drawn candidates, less the row's target, and x_i)
    "rank_all": "float64",  # every held-out image (less x_i and the target) as candidate
    "identified_all": "boolean",
    "n_all": "int64",
    "rank_class": "float64",  # the held-out images of x_i's class as candidates
    "identified_class": "boolean",
    "n_class": "int64",
    "ssim": "float64",  # SSIM(x*, x_i), unclipped, pixel space, data range 1
    "ssim_gain": "float64",  # ssim minus the mean SSIM of this image's other-image controls
    "label_final": "int64",  # class the classifier-step network gives x* (-1: diverged)
    "label_judge": "Int64",  # class the dataset's label judge gives x* (NA: no judge)
    "label_kept": "boolean",  # judge's class (else label_final) == label (NA: photo, diverged)
    "diverged": "bool",
    "retried": "bool",  # diverged once, retried alone with a smaller step
    "final_lr": "float64",  # the step the kept inversion started from
    "excluded": "bool",  # its image is not measured in this (seed, layer, t): see retention
    "accuracy_t": "float64",  # held-out accuracy of the network at t
    "accuracy_tp": "float64",  # ... at tp (NA for the controls)
}


def table_columns() -> dict[str, str]:
    """The invertibility table's columns: these, then any per-image measure the registry adds."""
    added = {
        name: m.dtype
        for name, m in MEASURES.items()
        if m.per_image and name not in INVERTIBILITY_COLUMNS
    }
    return INVERTIBILITY_COLUMNS | added


SUMMARY_MEASURES = (*PER_IMAGE, *PER_SEED)


def ssim(reconstruction: np.ndarray, original: np.ndarray) -> float:
    """SSIM of two CHW pixel images, the reconstruction unclipped (NaN if it diverged)."""
    if not np.isfinite(reconstruction).all():
        return float("nan")
    recon = reconstruction.transpose(1, 2, 0).astype(np.float64)
    orig = original.transpose(1, 2, 0).astype(np.float64)
    win = min(7, min(orig.shape[:2]) // 2 * 2 + 1)
    return float(structural_similarity(recon, orig, data_range=1.0, channel_axis=2, win_size=win))


def inversion_rows(path: str, pools: dict[str, Pool]) -> pd.DataFrame:
    """One row per inversion of one file (read once), measured against its model's pool."""
    r = load_inversion(path)
    n = len(r["image_id"])
    measured = row_measures(
        r["reconstructions"],
        r["originals"],
        r["image_id"],
        r["target_image_id"],
        r["label"],
        pools[r["model"]],
    )
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
            **measured,
            "ssim": [ssim(r["reconstructions"][i], r["originals"][i]) for i in range(n)],
            "label_final": r["label_final"],
            "diverged": r["diverged"],
            "retried": r["retried"],
            "final_lr": r["final_lr"],
        }
    )


def derive_measures(rows: pd.DataFrame) -> pd.DataFrame:
    """The measures the registry derives from a table's other columns, after the rows of an
    image not measured in its unit (:func:`~invertibility.analysis.retention.excluded`: a
    diverged inversion, or inversions kept from different steps) are blanked (every column a
    registered measure is read from)."""
    rows["excluded"] = excluded(rows)
    bad = rows["excluded"].to_numpy(dtype=bool)
    blank = dict.fromkeys(column for m in MEASURES.values() for column in m.blank)
    rows.loc[bad, list(blank)] = np.nan
    for measure in MEASURES.values():
        if measure.derive is not None:
            rows[measure.name] = measure.derive(rows)
    return rows


def invertibility_table(
    inversions: Iterable[str],
    accuracy: pd.DataFrame,
    pools: dict[str, str],
    judged: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows of every inversion file, diverged rows blanked, controls and accuracy joined in.
    ``accuracy``: (model, seed, step, holdout_accuracy) of every checkpoint; ``pools``: each
    model's prepared image set (its held-out images); ``judged``: the label judges' classes
    (:mod:`invertibility.jobs.judge_job`), which decide ``label_kept`` where present."""
    loaded = {model: load_pool(path) for model, path in pools.items()}
    rows = pd.concat([inversion_rows(path, loaded) for path in inversions], ignore_index=True)
    rows["photo"] = rows["label"] < 0
    row_keys = ["model", "seed", "layer", "t", "tp", "image_id", "target_image_id"]
    if judged is not None and len(judged):
        rows = rows.join(judged.set_index(row_keys)["label_judge"], on=row_keys)
    else:
        rows["label_judge"] = pd.NA
    rows = derive_measures(rows)
    by_step = accuracy.set_index(["model", "seed", "step"])["holdout_accuracy"]
    rows = rows.join(by_step.rename("accuracy_t"), on=["model", "seed", "t"])
    rows = rows.join(by_step.rename("accuracy_tp"), on=["model", "seed", "tp"])
    columns = table_columns()
    return rows[list(columns)].astype(columns)


def per_image(rows: pd.DataFrame, measure: str) -> pd.Series:
    """``measure`` per image, averaged over an image's rows (the other-image partners)."""
    return rows.assign(v=rows[measure].astype("float64")).groupby("image_id", sort=True)["v"].mean()


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, t, tp) and image kind (dataset images, photos): each measure's mean
    over seeds (each seed's mean over its images, seeds weighted equally) with Student's t 95%
    interval over the seeds; ``retained`` and the control's margin likewise."""
    step_keys = ["model", "layer", "t", "tp", "images"]
    table = table.assign(images=image_kind(table))
    per_seed = retention_table(table).set_index([*KEYS, "tp"])
    for measure in PER_IMAGE:
        per_seed[measure] = seed_means(table, measure)
    by_step = dict(list(per_seed.reset_index().groupby(step_keys, sort=False)))
    records = []
    for key, group in table.groupby(step_keys, sort=False):
        seeds = by_step[key]
        record = dict(zip(step_keys, key, strict=True))
        record.update(
            {
                "p": group["p"].iloc[0],
                "n_seeds": group["seed"].nunique(),
                "n_images": group["image_id"].nunique(),
                "n_inversions": len(group),
                "n_diverged": int(group["diverged"].sum()),
                "n_retried": int(group["retried"].sum()),
                "n_excluded": int(group["excluded"].sum()),
                "drift": seeds["drift"].mean(),
                "accuracy_t": seeds["accuracy_t"].mean(),
                "accuracy_tp": seeds["accuracy_tp"].mean(),
            }
        )
        record["n_measurable"] = int(seeds["measurable"].sum())
        for measure in (*SUMMARY_MEASURES, "margin"):
            mean, low, high = t_interval(seeds[measure])
            record.update({measure: mean, f"{measure}_low": low, f"{measure}_high": high})
        records.append(record)
    summary = pd.DataFrame(records)
    summary = summary.astype({k: "string" for k in step_keys} | {"p": "Int64"})
    return add_invertible(summary)


def add_invertible(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's ``floor`` (cross-seed ``retained``) and ``invertible`` columns, per (model,
    layer, t, images): invertible where the mean ``retained`` (over the seeds whose margin is
    measurable) is at least ``INVERTIBLE``, defined where most seeds' margins are measurable."""
    keys = ["model", "layer", "t", "images"]
    floor = summary[summary["tp"] == CROSS_SEED].set_index(keys)["retained"].rename("floor")
    at_t = summary[summary["tp"] == summary["t"]].set_index(keys)
    works = at_t["n_measurable"] > at_t["n_seeds"] / 2
    summary = summary.join(floor, on=keys).join(works.rename("control_works"), on=keys)
    keeps = summary["retained"] >= INVERTIBLE
    defined = summary["control_works"].fillna(False).astype(bool) & ~summary["tp"].isin(CONTROLS)
    summary["invertible"] = pd.array(np.where(defined, keeps, None), dtype="boolean")
    return summary.drop(columns="control_works")


def report_failures(table: pd.DataFrame) -> None:
    """Log, per training run (model, seed), its inversions that were retried with a smaller
    step, that stayed diverged after every retry, and the rows left out because their image's
    inversions in a (layer, t) did not all converge from one step."""
    runs = table.groupby(["model", "seed"], sort=True)
    for (model, seed), rows in runs:
        diverged = int(rows["diverged"].sum())
        (log.warning if diverged else log.info)(
            "%s seed %d: %d inversions, %d retried with a smaller step, %d still diverged after "
            "every retry, %d rows excluded (their image's inversions in a layer and t did not "
            "all converge from one step)",
            model,
            seed,
            len(rows),
            int(rows["retried"].sum()),
            diverged,
            int(rows["excluded"].sum()),
        )


def write_invertibility_tables(
    inversions: list[str],
    accuracy: list[str],
    pools: dict[str, str],
    judged: list[str],
    outputs: dict[str, str],
) -> None:
    """The per-image table, its summary, the horizons and each seed's horizon, to
    ``outputs['table'|'summary'|'horizons'|'horizons_by_seed']``; ``accuracy``: the
    checkpoint-accuracy tables of every run; ``pools``: each model's prepared image set;
    ``judged``: the label judges' tables."""
    table = invertibility_table(
        inversions,
        pd.concat([pd.read_parquet(path) for path in accuracy], ignore_index=True),
        pools,
        pd.concat([pd.read_parquet(path) for path in judged]) if judged else None,
    )
    report_failures(table)
    for key, frame in (
        ("table", table),
        ("summary", summarize(table)),
        ("horizons", horizons(table)),
        ("horizons_by_seed", horizons_by_seed(table)),
    ):
        with atomic_path(outputs[key]) as tmp:
            frame.to_parquet(tmp, index=False)
