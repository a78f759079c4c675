"""The test behind "does not predict" (Section 4): an equivalence test (two one-sided tests) on
per-seed correlations, supported when their mean lies inside ``(-level, level)`` (its p is the
larger of the two one-sided p-values), contradicted when it lies beyond one of the bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import p_greater, p_less, seeds_to_clear


def bounds(claim: dict) -> str:
    return f"+-{claim.get('level', 0.3):g}"


def equivalence(effects: pd.Series, level: float) -> tuple[float, float, float]:
    """``(p, p_reverse, seeds to decide)`` for "|mean correlation| < level"."""
    p = float(np.max([p_greater(effects, -level), p_less(effects, level)]))  # NaN stays NaN
    p_reverse = float(min(1.0, 2 * np.min([p_less(effects, -level), p_greater(effects, level)])))
    mean = float(np.nanmean(effects)) if len(effects) else np.nan
    nearest = -level if mean < 0 else level
    return p, p_reverse, seeds_to_clear(effects, nearest)
