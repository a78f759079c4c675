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
tell no prediction from no measurement.

The two one-sided tests (:func:`equivalence_parts`) and the test beyond the bounds
(:func:`beyond`) take any per-seed effect and its range: the augmentation experiment's "no
practical effect" (:mod:`.arm_contrast`) uses them on a fixed margin, with no reliability to
shrink it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..measures import MIN_RELIABILITY
from ..stats import ALPHA, one_sample
from .kind import Note, Part, Tested

CORRELATION = (-1.0, 1.0)


def bounds(claim: dict) -> str:
    return f"+-{claim.get('level', 0.3):g}"


def equivalence_parts(
    effects: pd.Series,
    level: float,
    bounds: tuple[float, float] = CORRELATION,
    name: str = "",
    design: str = "one-sample",
) -> tuple[Part, Part]:
    """The two one-sided tests of "|mean effect| < level": above ``-level`` and below
    ``level`` (each counts for the claim only); ``bounds``: the range the effect lives in (a
    correlation's, by default); ``name``: what the parts' names begin with (the effect, where a
    claim tests several)."""
    return (
        Part(
            f"{name}above -{level:.3g}",
            one_sample(effects, -level, bounds=bounds, design=design),
            against=False,
        ),
        Part(
            f"{name}below +{level:.3g}",
            one_sample(effects, level, bounds=bounds, design=design),
            direction="less",
            against=False,
        ),
    )


def beyond(effects: pd.Series, level: float) -> float:
    """The p-value for "|mean effect| > level" (beyond either bound: the smaller one-sided p,
    doubled)."""
    below, above = one_sample(effects, -level), one_sample(effects, level)
    return float(min(1.0, 2 * np.min([below.p_reverse, above.p])))  # NaN stays NaN


def reliable_equivalence(
    effects: pd.Series, reliability: pd.Series, level: float, alpha: float = ALPHA
) -> Tested:
    """The equivalence test with its bounds shrunk by the measure's reliability (per seed,
    aligned with ``effects``), whose lower confidence bound is taken at the fixed one-sided
    ``alpha`` the claim's family is judged at (the evaluator's: ``ALPHA`` over the number of
    claims in its family, for a family's claim), not at a level that depends on the claim's own
    p."""
    reliability = reliability.reindex(effects.index).dropna()
    low = one_sample(reliability).confidence_interval(1 - 2 * alpha)[0]
    mean = float(reliability.mean()) if len(reliability) else np.nan
    shrunk = level * np.sqrt(max(low, 0.0)) if np.isfinite(low) else 0.0
    notes = []
    if not (np.isfinite(low) and low >= MIN_RELIABILITY):
        notes.append(
            Note(
                f"the measure's reliability {mean:.2f} (lower bound {low:.2f} over "
                f"{len(reliability)} seeds) is below {MIN_RELIABILITY:g}: no prediction cannot be "
                f"told from no measurement",
                "measure unreliable",
            )
        )
    parts = equivalence_parts(effects, shrunk)
    p = max(part.p for part in parts) if shrunk > 0 else np.nan
    # contradiction against the unshrunk level: an observed correlation beyond it means a true
    # one beyond it whatever the reliability (attenuation only shrinks it), while the bound
    # shrunk by a lower confidence bound would contradict true no-predictions
    return Tested(
        one_sample(effects, bounds=CORRELATION),
        p,
        beyond(effects, level),
        parts,
        line=f"+-{shrunk:.3g}",
        margin=shrunk,
        notes=tuple(notes),
        text=f"reliability {mean:.2f} (lower bound {low:.2f}, one-sided {1 - alpha:.2%}): "
        f"bounds +-{level:g} on the true correlation are +-{shrunk:.3f} on the observed one",
    )
