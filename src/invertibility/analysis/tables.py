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
  is the last step tested), then its median over seeds with an order-statistic interval.
* every other interval is Student's t over the seeds' means (:mod:`invertibility.analysis.stats`).
* ``ssim`` (secondary): SSIM of the unclipped reconstruction, pixel space; ``ssim_gain``: minus
  the mean SSIM of the image's other-image controls.
* a diverged inversion is excluded from every measure (all NaN / NA) and counted
  (``n_diverged``); photos (label -1) are reported on their own (``images = "photos"``), never in
  class statistics.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import binom
from skimage.metrics import structural_similarity

from ..core.atomic import atomic_path
from ..core.inversion_io import load_inversion
from ..core.vocabulary import CONTROLS, CROSS_SEED, OTHER_IMAGE
from .measures import INVERTIBLE, PER_IMAGE, PER_SEED
from .recognition import Pool, load_pool, row_measures
from .retention import KEYS, image_kind, retention_table, seed_means
from .stats import LEVEL, t_interval

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
    "accuracy_t": "float64",  # held-out accuracy of the network at t
    "accuracy_tp": "float64",  # ... at tp (NA for the controls)
}
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
        }
    )


def _identified(rank: pd.Series) -> pd.arrays.BooleanArray:
    rank = rank.to_numpy(dtype=float)
    return pd.array(np.where(np.isnan(rank), None, rank == 0), dtype="boolean")


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
    bad = rows["diverged"].to_numpy(dtype=bool)
    for column in (
        "feature_error",
        "image_error",
        "similarity",
        "similarity_class",
        "rank",
        "ssim",
    ):
        rows.loc[bad, column] = np.nan
    rows.loc[bad, ["rank_all", "rank_class"]] = np.nan
    rows["photo"] = rows["label"] < 0
    rows["id_score"] = 1.0 - rows["rank"] / (rows["n_candidates"] - 1)
    for suffix in ("", "_all", "_class"):
        rows[f"identified{suffix}"] = _identified(rows[f"rank{suffix}"])
    row_keys = ["model", "seed", "layer", "t", "tp", "image_id", "target_image_id"]
    if judged is not None and len(judged):
        rows = rows.join(judged.set_index(row_keys)["label_judge"], on=row_keys)
    else:
        rows["label_judge"] = pd.NA
    judge = rows["label_judge"].astype("Int64")
    decided = judge.fillna(rows["label_final"]).astype("int64")
    kept = decided == rows["label"]
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


HORIZON_BY_SEED_COLUMNS = {
    "model": "string",
    "layer": "string",
    "t": "string",
    "seed": "int64",
    "horizon_p": "float64",  # last p before the first not-invertible step (NaN: no horizon)
    "horizon_tp": "string",  # its activation step label ("" where there is no horizon)
    "horizon_drift": "float64",  # the seed's weight drift D_l at its horizon
    "censored": "bool",  # the horizon is the last step tested: it is at least that
    "measurable": "bool",  # the seed's tp = t control has a measurable margin
    "last_tp_tested": "string",
    "n_images": "int64",
}
HORIZON_COLUMNS = {
    "model": "string",
    "layer": "string",
    "t": "string",
    "horizon_p": "float64",  # median over the seeds with a horizon (censored seeds as tested)
    "horizon_p_low": "float64",  # order-statistic interval for the median: x_(k)
    "horizon_p_high": "float64",  # ... x_(n-k+1)
    "horizon_drift": "float64",  # the seeds' mean drift, interpolated at those steps
    "horizon_drift_low": "float64",
    "horizon_drift_high": "float64",
    "horizon_tp": "string",  # the median's step label ("" between two tested steps)
    "last_tp_tested": "string",
    "n_censored": "int64",  # seeds whose horizon is the last step tested
    "median_censored": "bool",  # half or more censored: the median is a lower bound
    "high_censored": "bool",  # x_(n-k+1) is censored: the upper bound is a lower bound
    "interval_coverage": "float64",  # the interval's exact coverage of the median
    "n_seeds": "int64",  # seeds with a horizon
    "n_seeds_unmeasurable": "int64",  # seeds whose control's margin is not measurable
    "n_images": "int64",
}


def horizon(p: np.ndarray, retained: np.ndarray) -> np.ndarray:
    """The last ``p`` before the first activation step that is not invertible.

    ``p``: ``[k]`` sorted offsets, ``p[0] = 0`` (the ``tp = t`` control); ``retained``:
    ``[..., k]`` retained similarity at each ``p`` (NaN where the control has no margin, which
    makes the horizon NaN). Returns ``[...]``; a horizon equal to ``p[-1]`` is censored (the
    seed never failed: its horizon is at least that)."""
    retained = np.asarray(retained, dtype=float)
    failed = retained < INVERTIBLE
    failed[..., 0] = False
    first_fail = np.where(failed.any(axis=-1), failed.argmax(axis=-1), len(p))
    result = np.asarray(p, dtype=float)[first_fail - 1]
    return np.where(np.isnan(retained).any(axis=-1), np.nan, result)


def order_statistic_k(n: int, level: float = LEVEL) -> tuple[int, float]:
    """The largest ``k`` whose interval ``[x_(k), x_(n-k+1)]`` covers the median of ``n``
    values with probability ``1 - 2 BinomCDF(k - 1; n, 1/2)`` at least ``level``, and that
    coverage; where no ``k`` reaches it (``n < 6`` at 95%), ``k = 1`` (min, max) with its
    actual, lower coverage (0.75 at 3 values, 0.9375 at 5). Distribution-free: it holds for
    discrete values and ties too, conservatively."""
    if n < 1:
        return 0, float("nan")
    k_all = np.arange(1, (n + 1) // 2 + 1)
    coverage = 1.0 - 2.0 * binom.cdf(k_all - 1, n, 0.5)
    reaching = k_all[coverage >= level - 1e-12]
    k = int(reaching.max()) if len(reaching) else 1
    return k, float(coverage[k - 1])


def median_interval(values, censored, level: float = LEVEL) -> dict:
    """Median of ``values`` with its order-statistic interval (:func:`order_statistic_k`),
    each value flagged ``censored`` (it is a lower bound: the true value is at least it).
    Censored values are the largest tested, so they sort last: the median is a lower bound
    when half or more are censored, and the interval's upper end when ``x_(n-k+1)`` is."""
    values = np.asarray(values, dtype=float)
    censored = np.asarray(censored, dtype=bool)
    keep = np.isfinite(values)
    values, censored = values[keep], censored[keep]
    n = len(values)
    k, coverage = order_statistic_k(n, level)
    if n == 0:
        return {
            "estimate": np.nan,
            "low": np.nan,
            "high": np.nan,
            "n_censored": 0,
            "median_censored": False,
            "high_censored": False,
            "coverage": coverage,
        }
    order = np.lexsort((censored, values))  # a censored value after an equal observed one
    values, censored = values[order], censored[order]
    n_censored = int(censored.sum())
    return {
        "estimate": float(np.median(values)),
        "low": float(values[k - 1]),
        "high": float(values[n - k]),
        "n_censored": n_censored,
        "median_censored": 2 * n_censored >= n,
        "high_censored": bool(censored[n - k]),
        "coverage": coverage,
    }


def drift_at(p: np.ndarray, drift: np.ndarray, value: float) -> float:
    """The weight drift ``drift`` (one seed's, or the seeds' mean) at step offset ``value``,
    interpolated between tested steps."""
    return float(np.interp(value, p, drift)) if np.isfinite(value) else np.nan


def _horizon_groups(table: pd.DataFrame):
    """Per (model, layer, t) over dataset images: the tested steps every seed inverted and
    each seed's horizon on them. Yields ``(key, p, tp_of, drift, seeds)``: ``p`` the sorted
    offsets, ``tp_of`` their labels, ``drift`` ``[seeds, k]`` each seed's drift, and
    ``seeds`` one row per seed (``seed``, ``horizon_p``, ``measurable``, ``n_images``)."""
    retention = retention_table(table[~table["photo"]])
    for key, group in retention.groupby(["model", "layer", "t"], sort=False):
        steps = group[~group["tp"].isin(CONTROLS)]
        # the steps every seed inverted (a figure may add steps for one seed only)
        n_seeds = group["seed"].nunique()
        shared = steps.groupby("tp")["seed"].nunique()
        steps = steps[steps["tp"].isin(shared[shared == n_seeds].index)]
        if steps.empty:
            continue
        order = steps.drop_duplicates("tp").sort_values("p")
        p = order["p"].to_numpy(dtype=int)
        tps = list(order["tp"])

        def wide(values, steps=steps, tps=tps):
            frame = steps.pivot_table(index="seed", columns="tp", values=values, dropna=False)
            return frame.reindex(columns=tps)

        retained = wide("retained")
        control = group[group["tp"] == group["t"]].set_index("seed")["measurable"]
        works = control.reindex(retained.index).fillna(False).astype(bool).to_numpy()
        values = retained.to_numpy(dtype=float, copy=True)
        values[~works] = np.nan
        seeds = pd.DataFrame(
            {
                "seed": retained.index.to_numpy(dtype=int),
                "horizon_p": horizon(p, values),
                "measurable": works,
                "n_images": steps.groupby("seed")["n_images"]
                .max()
                .reindex(retained.index)
                .to_numpy(),
            }
        )
        drift = wide("drift").reindex(retained.index).to_numpy(dtype=float)
        tp_of = {int(step): label for step, label in zip(p, tps, strict=True)}
        yield key, p, tp_of, drift, seeds


def horizons_by_seed(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, layer, t, seed) over dataset images: the seed's horizon from its
    ``retained`` curve (:func:`horizon`), in steps and in its own weight drift; ``censored``
    where it is the last activation step tested (the seed never failed: at least that); NaN
    where the seed's ``tp = t`` control has no measurable margin (``measurable`` False)."""
    records = []
    for (model, layer, t), p, tp_of, drift, seeds in _horizon_groups(table):
        for i, row in enumerate(seeds.itertuples(index=False)):
            value = row.horizon_p
            finite = bool(np.isfinite(value))
            records.append(
                {
                    "model": model,
                    "layer": layer,
                    "t": t,
                    "seed": row.seed,
                    "horizon_p": value,
                    "horizon_tp": tp_of[int(value)] if finite else "",
                    "horizon_drift": drift_at(p, drift[i], value),
                    "censored": finite and value == p.max(),
                    "measurable": bool(row.measurable),
                    "last_tp_tested": tp_of[int(p.max())],
                    "n_images": int(row.n_images),
                }
            )
    by_seed = pd.DataFrame(records, columns=list(HORIZON_BY_SEED_COLUMNS))
    return by_seed.astype(HORIZON_BY_SEED_COLUMNS)  # columns even when there is none


def horizons(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, t) over dataset images: the invertibility horizon in optimizer steps
    and in weight drift. Each seed's horizon comes from its ``retained`` curve
    (:func:`horizons_by_seed`); they are discrete and right-censored (a seed that never failed
    has at least the last step tested), so the estimate is their median, with the
    distribution-free order-statistic interval of :func:`median_interval` (its exact coverage
    in ``interval_coverage``, below 95% under 6 seeds), not a t interval. A censored seed
    counts as its last tested step: ``median_censored`` marks a median that is only a lower
    bound, ``high_censored`` an upper end that is. Seeds whose control's margin is not
    measurable have no horizon and are counted (``n_seeds_unmeasurable``), not used."""
    records = []
    for (model, layer, t), p, tp_of, drift, seeds in _horizon_groups(table):
        values = seeds["horizon_p"].to_numpy(dtype=float)
        censored = np.isfinite(values) & (values == p.max())
        median = median_interval(values, censored)
        mean_drift = np.nanmean(drift, axis=0) if len(drift) else np.full(len(p), np.nan)
        in_drift = functools.partial(drift_at, p, mean_drift)
        estimate = median["estimate"]
        records.append(
            {
                "model": model,
                "layer": layer,
                "t": t,
                "horizon_p": estimate,
                "horizon_p_low": median["low"],
                "horizon_p_high": median["high"],
                "horizon_drift": in_drift(estimate),
                "horizon_drift_low": in_drift(median["low"]),
                "horizon_drift_high": in_drift(median["high"]),
                "horizon_tp": tp_of.get(estimate, "") if np.isfinite(estimate) else "",
                "last_tp_tested": tp_of[int(p.max())],
                "n_censored": median["n_censored"],
                "median_censored": median["median_censored"],
                "high_censored": median["high_censored"],
                "interval_coverage": median["coverage"],
                "n_seeds": int(np.isfinite(values).sum()),
                "n_seeds_unmeasurable": int((~seeds["measurable"]).sum()),
                "n_images": int(seeds["n_images"].min()),
            }
        )
    summary = pd.DataFrame(records, columns=list(HORIZON_COLUMNS))
    return summary.astype(HORIZON_COLUMNS)  # columns even when there is none


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
    for key, frame in (
        ("table", table),
        ("summary", summarize(table)),
        ("horizons", horizons(table)),
        ("horizons_by_seed", horizons_by_seed(table)),
    ):
        with atomic_path(outputs[key]) as tmp:
            frame.to_parquet(tmp, index=False)
