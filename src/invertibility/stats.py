"""Percentile bootstraps, seeded and vectorized over resamples: over images, and hierarchical
(training seeds, then images within each seed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

N_RESAMPLES = 2000
LEVEL = 0.95


def _interval(stats: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    stats = np.asarray(stats, dtype=float)
    if np.isnan(stats).all():
        return (np.nan, np.nan)
    low, high = np.nanquantile(stats, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_ci(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] = lambda v: v.mean(axis=-1),
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of ``statistic`` over the last axis of ``values`` (the images),
    resampling images with replacement. ``values`` may be ``[n]`` or ``[k, n]`` (paired: the
    same image indices are drawn for every row, and ``statistic`` maps ``[..., k, n] -> [...]``
    or ``[..., n] -> [...]``). NaN entries are dropped image-wise before resampling."""
    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values).reshape(-1, values.shape[-1]).any(axis=0)
    values = values[..., keep]
    n = values.shape[-1]
    if n == 0:
        return (np.nan, np.nan, np.nan)
    estimate = float(statistic(values))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_resamples, n))
    resampled = values[..., idx]  # [..., R, n]
    if values.ndim == 2:
        resampled = np.moveaxis(resampled, 0, 1)  # [R, k, n]
    return (estimate, *_interval(statistic(resampled), level))


def hierarchical_bootstrap(
    groups: Sequence[np.ndarray],
    reduce: Callable[[np.ndarray], np.ndarray] | None = None,
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(estimate, low, high)`` over training seeds and the images within them.

    ``groups``: one array per seed, ``[n_s]`` or ``[k, n_s]`` (the last axis: images; image
    columns with a NaN are dropped, then seeds with no image left). A resample draws seeds with
    replacement, then images with replacement within each drawn seed. The statistic: each seed's
    mean over its images (``[k]``), averaged over the drawn seeds with equal weight, then
    ``reduce`` (``[..., k] -> [...]``; default: the value itself, for ``[n_s]`` groups).
    With one seed this is the bootstrap over images."""
    rng = np.random.default_rng(seed)
    means, estimates = [], []
    for group in groups:
        group = np.asarray(group, dtype=float)
        group = group[..., ~np.isnan(group).reshape(-1, group.shape[-1]).any(axis=0)]
        n = group.shape[-1]
        if n == 0:
            continue
        idx = rng.integers(0, n, size=(n_resamples, n))
        resampled = group[..., idx].mean(axis=-1)  # [..., R]
        means.append(np.moveaxis(np.atleast_2d(resampled), -1, 0))  # [R, k]
        estimates.append(np.atleast_1d(group.mean(axis=-1)))
    if not means:
        return (np.nan, np.nan, np.nan)
    reduce = reduce or (lambda m: m[..., 0])
    per_seed = np.stack(means, axis=1)  # [R, S, k]
    drawn = rng.integers(0, len(means), size=(n_resamples, len(means)))
    pooled = np.take_along_axis(per_seed, drawn[..., None], axis=1).mean(axis=1)  # [R, k]
    estimate = float(reduce(np.mean(estimates, axis=0)))
    return (estimate, *_interval(reduce(pooled), level))
