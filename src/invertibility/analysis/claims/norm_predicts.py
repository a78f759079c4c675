"""``norm_predicts`` (Section 4), per ``analyses.distances`` entry and pooled over them: the
norm distance does not predict invertibility. Per seed, Spearman's rank correlation between an
image's relative same-image distance and its reconstruction's similarity to ``x_i``, *within*
each (t, tp) (pooling steps would correlate anything that grows with p with a decaying
measure), averaged over the steps; then the equivalence test over seeds
(:mod:`invertibility.analysis.claims.equivalence`, bounds ``+-level``, default 0.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictors import spearman
from .equivalence import bounds, equivalence
from .evidence import Evidence
from .kind import Kind, Row
from .pooled import pooled_rows


def within_steps(rows: pd.DataFrame) -> float:
    """Mean over (t, tp) of Spearman(relative distance, similarity) over the step's images."""
    rhos = [
        spearman(step["relative_distance"].to_numpy(float), step["similarity"].to_numpy(float))
        for _, step in rows.groupby(["t", "tp"])
    ]
    rhos = [rho for rho in rhos if np.isfinite(rho)]
    return float(np.mean(rhos)) if rhos else np.nan


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    level = claim.get("level", 0.3)
    return pooled_rows(
        evidence,
        claim,
        lambda rows: rows.groupby("seed").apply(within_steps, include_groups=False).dropna(),
        lambda effects: equivalence(effects, level),
        "Spearman rank correlation of relative same-image distance and similarity, within "
        "each (t, tp), per seed",
        lambda rows: f"|rho| < {level} counts as no prediction; {len(rows)} (image, tp) pairs",
    )


KIND = Kind(name="norm_predicts", evaluate=evaluate, null=lambda claim: 0.0, line=bounds)
