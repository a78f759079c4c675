"""The test behind "does not predict" (Section 4): an equivalence test (two one-sided tests) on
per-seed correlations, supported when their mean lies inside ``(-bound, bound)`` (its p is the
larger of the two one-sided p-values), contradicted when it lies beyond one of the bounds.

Noise pulls a correlation toward 0, so a measure that cannot be measured again would make "no
prediction" easy to support. The bounds are therefore set on the scale the correlation is
observed on: ``level * sqrt(reliability)`` (the correlation a true ``level`` shows through a
measure of that reliability; the predictor is measured without noise), with the reliability's
one-sided lower confidence bound over seeds. "Contradicted" (a correlation beyond the bounds)
is tested against the unshrunk ``level``, which attenuation can only make harder to pass. Below
:data:`~invertibility.analysis.measures.MIN_RELIABILITY` the claim is gated: the data cannot
tell no prediction from no measurement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..measures import MIN_RELIABILITY
from ..stats import ALPHA, p_greater, p_less, seeds_to_clear, t_interval


def bounds(claim: dict) -> str:
    return f"+-{claim.get('level', 0.3):g}"


def equivalence(effects: pd.Series, level: float) -> tuple[float, float]:
    """``(p, p_reverse)`` for "|mean correlation| < level"."""
    p = float(np.max([p_greater(effects, -level), p_less(effects, level)]))  # NaN stays NaN
    p_reverse = float(min(1.0, 2 * np.min([p_less(effects, -level), p_greater(effects, level)])))
    return p, p_reverse


def reliable_equivalence(effects: pd.Series, reliability: pd.Series, level: float) -> dict:
    """The equivalence test with its bounds shrunk by the measure's reliability (per seed,
    aligned with ``effects``): the pooled rows' ``test`` result."""
    reliability = reliability.reindex(effects.index).dropna()
    low = t_interval(reliability, 1 - 2 * ALPHA)[1] if len(reliability) >= 2 else np.nan
    mean = float(reliability.mean()) if len(reliability) else np.nan
    shrunk = level * np.sqrt(max(low, 0.0)) if np.isfinite(low) else 0.0
    notes = []
    if not (np.isfinite(low) and low >= MIN_RELIABILITY):
        notes.append(
            f"the measure's reliability {mean:.2f} (lower bound {low:.2f} over "
            f"{len(reliability)} seeds) is below {MIN_RELIABILITY:g}: no prediction cannot be "
            f"told from no measurement"
        )
    p = equivalence(effects, shrunk)[0] if shrunk > 0 else np.nan
    # contradiction against the unshrunk level: an observed correlation beyond it means a true
    # one beyond it whatever the reliability (attenuation only shrinks it), while the bound
    # shrunk by a lower confidence bound would contradict true no-predictions
    p_reverse = equivalence(effects, level)[1]
    nearest = -shrunk if len(effects.dropna()) and effects.mean() < 0 else shrunk
    return {
        "p": p,
        "p_reverse": p_reverse,
        "decide": lambda lvl: seeds_to_clear(effects, nearest, lvl),
        "line": f"+-{shrunk:.3g}",
        "notes": notes,
        "text": f"reliability {mean:.2f} (lower bound {low:.2f}): bounds +-{level:g} on the true "
        f"correlation are +-{shrunk:.3f} on the observed one",
    }
