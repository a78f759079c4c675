"""Intervals and tests over training seeds, the unit of replication (torch-free, vectorized).

Every claim and summary reduces its images to one *effect per seed* first (images give a seed's
precision, never extra replication); the interval is Student's t over those effects, which
covers its nominal level for any mix of seed and image variance once the seed effects are
roughly normal (``tests/test_stats.py`` measures it on the claims' own statistics). Seeds pair
two sides only within one network (fc1 and fc2 of one MLP run); across architectures seed numbers
mean nothing, and the difference of two sides' means gets Welch's interval.

P-values are one-sided in the claimed direction: ``p < ALPHA`` is the same event as the 95%
interval clearing the line, so "supported" under a null effect comes up 2.5% of the time. Holm's
step-down adjustment holds that rate over the primary family of claims.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.95
ALPHA = (1 - LEVEL) / 2  # one-sided: p < ALPHA exactly when the 95% interval clears the line


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def t_interval(effects, level: float = LEVEL) -> tuple[float, float, float]:
    """``(mean, low, high)`` of per-seed effects, Student's t with ``n - 1`` degrees of freedom
    (NaN effects dropped; NaN bounds with fewer than two seeds, a zero-width interval when every
    seed agrees exactly)."""
    effects = _finite(effects)
    n = len(effects)
    if n == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(effects.mean())
    if n < 2:
        return (mean, np.nan, np.nan)
    half = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * effects.std(ddof=1) / np.sqrt(n)
    return (mean, float(mean - half), float(mean + half))


def t_intervals(effects: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, ...]:
    """:func:`t_interval` over the last axis of ``[..., n]`` (no NaN): mean, low, high arrays."""
    n = effects.shape[-1]
    mean = effects.mean(axis=-1)
    half = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * effects.std(axis=-1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def p_greater(effects, null: float = 0.0) -> float:
    """One-sided one-sample t-test p-value for ``mean(effects) > null``."""
    effects = _finite(effects)
    if len(effects) < 2:
        return np.nan
    sd = effects.std(ddof=1)
    if sd == 0:
        return 0.0 if effects.mean() > null else 1.0
    t = (effects.mean() - null) / (sd / np.sqrt(len(effects)))
    return float(scipy_stats.t.sf(t, len(effects) - 1))


def p_less(effects, null: float = 0.0) -> float:
    """One-sided p-value for ``mean(effects) < null``."""
    return p_greater(-_finite(effects), -null)


def welch(a, b, level: float = LEVEL) -> dict:
    """Difference of the means of two independent sets of seed effects: ``value``, Welch's
    ``low``/``high`` and the one-sided ``p`` for ``mean(a) > mean(b)`` (``p_reverse``: for <)."""
    a, b = _finite(a), _finite(b)
    value = float(a.mean() - b.mean()) if len(a) and len(b) else np.nan
    if len(a) < 2 or len(b) < 2:
        return {"value": value, "low": np.nan, "high": np.nan, "p": np.nan, "p_reverse": np.nan}
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
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
    }


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


def seeds_to_clear(effects, null: float = 0.0, level: float = LEVEL) -> float:
    """The number of seeds at which the interval of the observed mean would clear ``null`` if
    the seeds kept their observed spread (NaN: no spread or no effect to find)."""
    effects = _finite(effects)
    if len(effects) < 2:
        return np.nan
    return seeds_needed(abs(effects.mean() - null), effects.std(ddof=1), level)


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
