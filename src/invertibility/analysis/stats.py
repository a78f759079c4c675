"""Intervals and tests over training seeds, the unit of replication (torch-free, vectorized).

Every claim and summary reduces its images to one *effect per seed* first (images give a seed's
precision, never extra replication); the interval is Student's t over those effects, which
covers its nominal level for any mix of seed and image variance once the seed effects are
roughly normal (``tests/test_stats.py`` measures it on the claims' own statistics). Seeds pair
two sides only within one network (fc1 and fc2 of one MLP run); across architectures seed numbers
mean nothing, and the difference of two sides' means gets Welch's interval.

P-values are one-sided in the claimed direction: ``p < ALPHA`` is the same event as the 95%
interval clearing the line, so "supported" under a null effect comes up 2.5% of the time. Holm's
step-down adjustment holds that rate within each family of claims (the paper's, each
experiment's). A discrete effect (a fraction of a few images) has its spread floored at its
resolution, and a trend over a few sides gets a permutation test, so that seeds agreeing exactly
never give p = 0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as scipy_stats

LEVEL = 0.95
ALPHA = (1 - LEVEL) / 2  # one-sided: p < ALPHA exactly when the 95% interval clears the line


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


UNBOUNDED = (-np.inf, np.inf)


@dataclass(frozen=True)
class SeedTest:
    """One test over training seeds, in the way of scipy's ``TtestResult``: the estimate, its
    one-sided p-values in both directions, and the interval from the same spread (so that the
    interval at ``1 - 2 alpha`` clears ``null`` exactly when ``p < alpha``).

    ``design``: ``one-sample`` (per-seed values against a line), ``paired`` (per-seed
    differences within one network), ``welch`` (two independent sets of seeds) or
    ``permutation`` (a trend's mean rank correlation against its permutation null).
    ``seed_sd``: the per-seed spread a planner extrapolates (Welch: the root sum of the two
    sides' squares, per side); ``bounds``: the range the estimate lives in (an interval is
    clipped to it, and :meth:`clipped` says so)."""

    design: str
    estimate: float
    null: float
    se: float
    df: float
    p: float  # one-sided: estimate > null
    p_reverse: float  # one-sided: estimate < null
    seeds: tuple = ()
    seed_sd: float = np.nan
    bounds: tuple[float, float] = UNBOUNDED
    null_draws: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def statistic(self) -> float:
        return (self.estimate - self.null) / self.se if self.se > 0 else np.nan

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def raw_interval(self, level: float = LEVEL) -> tuple[float, float]:
        """The interval before it is clipped to :attr:`bounds`: Student's t (Welch's df for
        ``welch``); for ``permutation``, the test inverted under a shift of its null (the
        estimate minus the null's upper and lower critical values)."""
        alpha = (1 - level) / 2
        if self.null_draws is not None:
            upper, lower = _permutation_critical(self.null_draws, alpha)
            return float(self.estimate - upper), float(self.estimate - lower)
        if not (np.isfinite(self.se) and np.isfinite(self.df)):
            return np.nan, np.nan
        half = float(scipy_stats.t.ppf(1 - alpha, self.df) * self.se)
        return float(self.estimate - half), float(self.estimate + half)

    def confidence_interval(self, level: float = LEVEL) -> tuple[float, float]:
        """The two-sided interval at ``level``, clipped to the estimate's range (a true value
        lies inside it, so clipping cannot lower coverage)."""
        low, high = self.raw_interval(level)
        lo, hi = self.bounds
        return (
            (float(np.clip(low, lo, hi)), float(np.clip(high, lo, hi)))
            if np.isfinite(low)
            else (low, high)
        )

    def clipped(self, level: float = LEVEL) -> bool:
        low, high = self.raw_interval(level)
        return bool(low < self.bounds[0] or high > self.bounds[1])

    def seeds_to_clear(
        self, line: float | None = None, level: float = LEVEL, power: float | None = None
    ) -> float:
        """Seeds (per side, for Welch) at which the interval at ``level`` would clear ``line``
        (default: the null) at the observed estimate and spread; with ``power``, the seeds at
        which a one-sided test at ``(1 - level) / 2`` finds the observed gap that often. NaN
        where there is no spread or nothing to find."""
        gap = abs(self.estimate - (self.null if line is None else line))
        if power is None:
            return seeds_needed(gap, self.seed_sd, level)
        return seeds_for_power(gap, self.seed_sd, (1 - level) / 2, power)


def floored_sd(effects, resolution: float = 0.0) -> float:
    """The seeds' standard deviation (NaN effects dropped), never below the measure's
    ``resolution`` (a fraction of 10 images moves in steps of 0.1: seeds that agree exactly
    would otherwise give p = 0)."""
    return float(max(_finite(effects).std(ddof=1), resolution))


def one_sample(
    effects,
    null: float = 0.0,
    resolution: float = 0.0,
    bounds: tuple[float, float] = UNBOUNDED,
    design: str = "one-sample",
) -> SeedTest:
    """Student's t over per-seed ``effects`` (index: seed, where a Series; NaN dropped) against
    ``null``, the spread floored at ``resolution``; ``design="paired"`` for per-seed
    differences. With fewer than two seeds p and the interval are NaN; a zero spread of a
    continuous effect gives p 0 or 1 and a zero-width interval."""
    seeds = tuple(effects.dropna().index) if hasattr(effects, "dropna") else ()
    values = _finite(effects)
    n = len(values)
    seeds = seeds or tuple(range(n))
    mean = float(values.mean()) if n else np.nan
    if n < 2:
        return SeedTest(design, mean, null, np.nan, np.nan, np.nan, np.nan, seeds, np.nan, bounds)
    sd = floored_sd(values, resolution)
    se = sd / np.sqrt(n)
    if se == 0:
        p = 0.0 if mean > null else 1.0
        p_reverse = 0.0 if mean < null else 1.0
    else:
        t = (mean - null) / se
        p, p_reverse = float(scipy_stats.t.sf(t, n - 1)), float(scipy_stats.t.cdf(t, n - 1))
    return SeedTest(design, mean, null, float(se), float(n - 1), p, p_reverse, seeds, sd, bounds)


def welch_test(a, b, resolution: float = 0.0, bounds: tuple[float, float] = UNBOUNDED) -> SeedTest:
    """``mean(a) - mean(b)`` of two independent sets of seed effects (NaN dropped), Welch's
    test and interval; each side's spread floored at ``resolution``. ``seeds``: ``a``'s."""
    seeds = tuple(a.dropna().index) if hasattr(a, "dropna") else ()
    a, b = _finite(a), _finite(b)
    seeds = seeds or tuple(range(len(a)))
    value = float(a.mean() - b.mean()) if len(a) and len(b) else np.nan
    if len(a) < 2 or len(b) < 2:
        return SeedTest("welch", value, 0.0, np.nan, np.nan, np.nan, np.nan, seeds, np.nan, bounds)
    sd_a, sd_b = floored_sd(a, resolution), floored_sd(b, resolution)
    va, vb = sd_a**2 / len(a), sd_b**2 / len(b)
    se = float(np.sqrt(va + vb))
    spread = float(np.hypot(sd_a, sd_b))
    if se == 0:
        p, p_reverse = (0.0 if value > 0 else 1.0), (0.0 if value < 0 else 1.0)
        return SeedTest("welch", value, 0.0, 0.0, np.inf, p, p_reverse, seeds, spread, bounds)
    df = float((va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)))
    p, p_reverse = float(scipy_stats.t.sf(value / se, df)), float(scipy_stats.t.cdf(value / se, df))
    return SeedTest("welch", value, 0.0, se, df, p, p_reverse, seeds, spread, bounds)


def t_interval(
    effects, level: float = LEVEL, resolution: float = 0.0
) -> tuple[float, float, float]:
    """``(mean, low, high)`` of per-seed effects, Student's t with ``n - 1`` degrees of freedom
    (NaN effects dropped; NaN bounds with fewer than two seeds; the spread floored at
    ``resolution``)."""
    test = one_sample(effects, resolution=resolution)
    return (test.estimate, *test.confidence_interval(level))


def t_intervals(effects: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, ...]:
    """:func:`t_interval` over the last axis of ``[..., n]`` (no NaN): mean, low, high arrays."""
    n = effects.shape[-1]
    mean = effects.mean(axis=-1)
    half = scipy_stats.t.ppf(0.5 + level / 2, n - 1) * effects.std(axis=-1, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def p_greater(effects, null: float = 0.0, resolution: float = 0.0) -> float:
    """One-sided one-sample t-test p-value for ``mean(effects) > null`` (the spread floored at
    ``resolution``; a zero spread of a continuous effect gives 0 or 1)."""
    return one_sample(effects, null, resolution).p


def p_less(effects, null: float = 0.0, resolution: float = 0.0) -> float:
    """One-sided p-value for ``mean(effects) < null``."""
    return one_sample(effects, null, resolution).p_reverse


TIE = 1e-12  # a draw this close to the observed value counts as reaching it


def _permutation_critical(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    """The upper and lower critical values of a permutation null: the observed value clears the
    upper one exactly when its Monte-Carlo p, ``(1 + #{draws >= observed - TIE}) / (N + 1)``, is
    below ``alpha`` (the ``(K + 1)``-th largest draw, ``K`` the most draws at or above the
    observed value that still give ``p < alpha``), and the lower one likewise."""
    most = int(np.ceil(alpha * (len(draws) + 1) - 1)) - 1  # K: (1 + K) / (N + 1) < alpha
    if most < 0:
        return np.inf, -np.inf  # too few draws for this level: nothing clears
    ordered = np.sort(draws)
    k = min(most, len(draws) - 1)
    return float(ordered[-1 - k] + TIE), float(ordered[k] - TIE)


def permutation_trend(
    x: np.ndarray, values: np.ndarray, n_draws: int = 20000, seed: int = 0, seeds: tuple = ()
) -> SeedTest:
    """The mean over seeds of Spearman's rho between ``x`` and each seed's side values
    (``values``: ``[seed, side]``), tested against its permutation null: under no trend a
    seed's values are exchangeable across its sides, so each seed's values are shuffled
    independently (Page's trend test, by Monte Carlo with the observed value counted among the
    draws; exact for discrete rho, ties included). The interval inverts the same test under a
    shift of its null, clipped to [-1, 1]: it clears 0 exactly when ``p`` or ``p_reverse`` is
    below its level. A seed whose sides all tie carries no rank information and is left out."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=float)
    seeds = tuple(seeds) or tuple(range(len(values)))
    empty = SeedTest(
        "permutation", np.nan, 0.0, np.nan, np.nan, np.nan, np.nan, (), np.nan, (-1, 1)
    )
    if values.ndim != 2 or len(values) < 1 or values.shape[1] < 3:
        return empty
    x_rank = rankdata(x)
    x_centred = (x_rank - x_rank.mean()) / np.linalg.norm(x_rank - x_rank.mean())
    ranks = rankdata(values, axis=1)
    centred = ranks - ranks.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    usable = norms > 0
    if not usable.any():
        return empty
    centred = centred[usable] / norms[usable, None]
    observed = float((centred @ x_centred).mean())
    rng = np.random.default_rng(seed)
    order = rng.random((n_draws, *centred.shape)).argsort(axis=-1)
    shuffled = np.take_along_axis(np.broadcast_to(centred, order.shape), order, axis=-1)
    draws = (shuffled @ x_centred).mean(axis=-1)
    p_up = float((1 + np.sum(draws >= observed - TIE)) / (n_draws + 1))
    p_down = float((1 + np.sum(draws <= observed + TIE)) / (n_draws + 1))
    n = int(usable.sum())
    se = float(draws.std())
    return SeedTest(
        "permutation",
        observed,
        0.0,
        se,
        np.nan,
        p_up,
        p_down,
        tuple(np.asarray(seeds)[usable].tolist()),
        se * np.sqrt(n),  # a planner's normal approximation of one seed's spread
        (-1.0, 1.0),
        draws,
    )


def holm(p_values, cap: bool = True) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count in the family);
    ``cap=False`` leaves them above 1 (the factor ``adjusted / p`` is then each p's step level
    ``ALPHA * p / adjusted`` even where the capped value would hide it)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    known = np.flatnonzero(np.isfinite(p))
    order = known[np.argsort(p[known], kind="stable")]
    m = len(order)
    running = 0.0
    for k, index in enumerate(order):
        running = max(running, (m - k) * p[index])
        running = min(1.0, running) if cap else running
        adjusted[index] = running
    return adjusted


@functools.lru_cache(maxsize=64)
def _t_quantiles(q: float, most: int) -> np.ndarray:
    """Student's t quantile ``q`` at ``n - 1`` degrees of freedom for ``n`` = 2 .. ``most``
    (computed once per ``q``: the claims table plans seeds for every row at a few levels)."""
    quantiles = scipy_stats.t.ppf(q, np.arange(1, most))
    quantiles.flags.writeable = False
    return quantiles


def seeds_needed(gap: float, sd: float, level: float = LEVEL, most: int = 1000) -> float:
    """The smallest ``n`` with ``t(n - 1) * sd / sqrt(n) < gap``: seeds (per side, for two
    independent sides with ``sd = sqrt(sd_a^2 + sd_b^2)``) for an interval of spread ``sd`` to
    clear a line ``gap`` from its mean; NaN when there is nothing to clear or ``most`` is not
    enough."""
    if not (np.isfinite(gap) and np.isfinite(sd)) or gap == 0 or sd < 1e-12:
        return np.nan
    n = np.arange(2, most + 1)
    clears = _t_quantiles(0.5 + level / 2, most) * sd / np.sqrt(n) < gap
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
    reach = _t_quantiles(1 - alpha, most) + _t_quantiles(power, most)
    enough = reach <= abs(gap) * np.sqrt(n) / sd
    return float(n[enough.argmax()]) if enough.any() else np.nan
