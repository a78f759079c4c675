"""Invertibility horizons: per (model, layer, t) and seed, the last ``p`` before the first
activation step whose retained similarity falls below
:data:`~invertibility.analysis.measures.INVERTIBLE` (censored, at least, where it is the last step
tested), and over seeds their median with a distribution-free order-statistic interval."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy.stats import binom

from ..core.vocabulary import CONTROLS
from .measures import INVERTIBLE
from .retention import retention_table
from .stats import LEVEL

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
