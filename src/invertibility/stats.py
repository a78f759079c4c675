"""Percentile bootstrap over images, seeded, vectorized over resamples."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

N_RESAMPLES = 2000
LEVEL = 0.95


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
    stats = np.asarray(statistic(resampled), dtype=float)
    alpha = (1 - level) / 2
    low, high = np.nanquantile(stats, [alpha, 1 - alpha])
    return (estimate, float(low), float(high))
