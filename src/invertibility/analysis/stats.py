"""Intervals and tests over training seeds, the unit of replication (torch-free, vectorized).

Every claim and summary reduces its images to one *effect per seed* first (images give a seed's
precision, never extra replication); the interval is Student's t over those effects, which
covers its nominal level for any mix of seed and image variance once the seed effects are
roughly normal (``tests/test_stats.py`` measures it on the claims' own statistics). Seeds pair
two sides only within one network (fc1 and fc2 of one MLP run); across architectures seed numbers
mean nothing, and the difference of two sides' means gets Welch's interval.

P-values are one-sided in the claimed direction: ``p < ALPHA`` is the same event as the 95%
interval clearing the line, so "supported" under a null effect comes up 2.5% of the time. Holm's
step-down adjustment holds that rate over the primary family of claims. A discrete effect (a
fraction of a few images) has its spread floored at its resolution, and a trend over a few sides
gets a permutation test, so that seeds agreeing exactly never give p = 0.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.95
ALPHA = (1 - LEVEL) / 2  # one-sided: p < ALPHA exactly when the 95% interval clears the line


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def floored_sd(effects, resolution: float = 0.0) -> float:
    """The seeds' standard deviation (NaN effects dropped), never below the measure's
    ``resolution`` (a fraction of 10 images moves in steps of 0.1: seeds that agree exactly
    would otherwise give p = 0)."""
    return float(max(_finite(effects).std(ddof=1), resolution))


def t_interval(
    effects, level: float = LEVEL, resolution: float = 0.0
) -> tuple[float, float, float]:
    """``(mean, low, high)`` of per-seed effects, Student's t with ``n - 1`` degrees of freedom
    (NaN effects dropped; NaN bounds with fewer than two seeds; the spread floored at
    ``resolution``)."""
    effects = _finite(effects)
    n = len(effects)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(effects.mean())
    if n < 2:
        return (mean, np.nan, np.nan)
    half = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * floored_sd(effects, resolution) / np.sqrt(n)
    return (mean, float(mean - half), float(mean + half))


def t_intervals(effects: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, ...]:
    """:func:`t_interval` over the last axis of ``[..., n]`` (no NaN): mean, low, high arrays."""
    n = effects.shape[-1]
    mean = effects.mean(axis=-1)
    half = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * effects.std(axis=-1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def p_greater(effects, null: float = 0.0, resolution: float = 0.0) -> float:
    """One-sided one-sample t-test p-value for ``mean(effects) > null`` (the spread floored at
    ``resolution``; a zero spread of a continuous effect gives 0 or 1)."""
    effects = _finite(effects)
    if len(effects) < 2:
        return np.nan
    sd = floored_sd(effects, resolution)
    if sd == 0:
        return 0.0 if effects.mean() > null else 1.0
    t = (effects.mean() - null) / (sd / np.sqrt(len(effects)))
    return float(scipy_stats.t.sf(t, len(effects) - 1))


def p_less(effects, null: float = 0.0, resolution: float = 0.0) -> float:
    """One-sided p-value for ``mean(effects) < null``."""
    return p_greater(-_finite(effects), -null, resolution)


def welch(a, b, level: float = LEVEL, resolution: float = 0.0) -> dict:
    """Difference of the means of two independent sets of seed effects: ``value``, Welch's
    ``low``/``high`` and the one-sided ``p`` for ``mean(a) > mean(b)`` (``p_reverse``: for <);
    each side's spread floored at ``resolution``."""
    a, b = _finite(a), _finite(b)
    value = float(a.mean() - b.mean()) if len(a) and len(b) else np.nan
    if len(a) < 2 or len(b) < 2:
        return {"value": value, "low": np.nan, "high": np.nan, "p": np.nan, "p_reverse": np.nan}
    va, vb = floored_sd(a, resolution) ** 2 / len(a), floored_sd(b, resolution) ** 2 / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return {
            "value": value,
            "low": value,
            "high": value,
            "p": 0.0 if value > 0 else 1.0,
            "p_reverse": 0.0 if value < 0 else 1.0,
        }
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = scipy_stats.t.ppf(0.5 + level / 2, df) * se
    return {
        "value": value,
        "low": value - half,
        "high": value + half,
        "p": float(scipy_stats.t.sf(value / se, df)),
        "p_reverse": float(scipy_stats.t.cdf(value / se, df)),
        "df": float(df),
        "se": float(se),
    }


def permutation_trend(
    x: np.ndarray, values: np.ndarray, n_draws: int = 20000, seed: int = 0
) -> tuple[float, float]:
    """One-sided p-values ``(increasing, decreasing)`` of the mean over seeds of Spearman's rho
    between ``x`` and each seed's side values (``values``: ``[seed, side]``), from the
    permutation null: under no trend a seed's values are exchangeable across its sides, so each
    seed's values are shuffled independently (Page's trend test, by Monte Carlo with the
    observed value counted among the draws; exact for discrete rho, ties included)."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or len(values) < 1 or values.shape[1] < 3:
        return np.nan, np.nan
    x_rank = rankdata(x)
    x_centred = (x_rank - x_rank.mean()) / np.linalg.norm(x_rank - x_rank.mean())
    ranks = rankdata(values, axis=1)
    centred = ranks - ranks.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    usable = norms > 0  # a seed whose sides all tie carries no rank information
    if not usable.any():
        return np.nan, np.nan
    centred = centred[usable] / norms[usable, None]
    observed = float((centred @ x_centred).mean())
    rng = np.random.default_rng(seed)
    order = rng.random((n_draws, *centred.shape)).argsort(axis=-1)
    shuffled = np.take_along_axis(np.broadcast_to(centred, order.shape), order, axis=-1)
    draws = (shuffled @ x_centred).mean(axis=-1)
    tol = 1e-12
    p_up = (1 + np.sum(draws >= observed - tol)) / (n_draws + 1)
    p_down = (1 + np.sum(draws <= observed + tol)) / (n_draws + 1)
    return float(p_up), float(p_down)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count in the family)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    known = np.flatnonzero(np.isfinite(p))
    order = known[np.argsort(p[known], kind="stable")]
    m = len(order)
    running = 0.0
    for k, index in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[index]))
        adjusted[index] = running
    return adjusted


def seeds_to_clear(
    effects, null: float = 0.0, level: float = LEVEL, resolution: float = 0.0
) -> float:
    """The number of seeds at which the interval (at ``level``) of the observed mean would clear
    ``null`` if the seeds kept their observed spread (NaN: no spread or no effect to find)."""
    effects = _finite(effects)
    if len(effects) < 2:
        return np.nan
    return seeds_needed(abs(effects.mean() - null), floored_sd(effects, resolution), level)


def seeds_needed(gap: float, sd: float, level: float = LEVEL, most: int = 1000) -> float:
    """The smallest ``n`` with ``t(n - 1) * sd / sqrt(n) < gap``: seeds (per side, for two
    independent sides with ``sd = sqrt(sd_a^2 + sd_b^2)``) for an interval of spread ``sd`` to
    clear a line ``gap`` from its mean; NaN when there is nothing to clear or ``most`` is not
    enough."""
    if not (np.isfinite(gap) and np.isfinite(sd)) or gap == 0 or sd < 1e-12:
        return np.nan
    n = np.arange(2, most + 1)
    clears = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n) < gap
    return float(n[clears.argmax()]) if clears.any() else np.nan


def seeds_for_power(
    gap: float, sd: float, alpha: float = ALPHA, power: float = 0.8, most: int = 1000
) -> float:
    """The smallest ``n`` at which a one-sided t test at ``alpha`` over ``n`` seed effects of
    spread ``sd`` finds a true effect ``gap`` from its line with probability ``power``:
    ``t(1 - alpha, n - 1) + t(power, n - 1) <= gap * sqrt(n) / sd`` (the usual normal-theory
    planning rule with t quantiles; for two independent sides, ``n`` per side and ``sd`` the
    root sum of their squares). Unlike :func:`seeds_needed` (the interval at the observed mean
    just clears: power about one half), this plans for a verdict that comes ``power`` of the
    time. NaN when there is nothing to find or ``most`` is not enough."""
    if not (np.isfinite(gap) and np.isfinite(sd)) or gap == 0 or sd < 1e-12:
        return np.nan
    n = np.arange(2, most + 1)
    reach = scipy_stats.t.ppf(1 - alpha, n - 1) + scipy_stats.t.ppf(power, n - 1)
    enough = reach <= abs(gap) * np.sqrt(n) / sd
    return float(n[enough.argmax()]) if enough.any() else np.nan
