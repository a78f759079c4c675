"""``norm_predicts`` (Section 4), per ``analyses.distances`` entry and pooled over them: the
relative norm distance ``||r_l^t(x_i) - r_l^tp(x_i)|| / ||r_l^t(x_i)||`` does not predict
invertibility. Per seed, Spearman's rank correlation between an image's relative same-image
distance and its reconstruction's similarity to ``x_i``, *within* each (t, tp) (pooling steps
would correlate anything that grows with p with a decaying measure), averaged over the steps;
then the equivalence test over seeds (:mod:`invertibility.analysis.claims.equivalence`, bounds
``+-level``, default 0.3, shrunk by the similarity's reliability).

The reliability of an image's similarity is its test-retest correlation: Spearman's rho over
the images between the similarity at one activation step and at the next (within seed, layer
and t), averaged over the step pairs. A measure that is noise reads about 0 and gates the
claim; one whose images keep their order from step to step reads near 1."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictors import spearman
from .equivalence import bounds, reliable_equivalence
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


def test_retest(rows: pd.DataFrame) -> float:
    """Mean over consecutive activation steps of Spearman's rho over images of the similarity
    (one seed of one entry)."""
    rhos = []
    for _, by_t in rows.groupby("t"):
        wide = by_t.pivot_table(index="image_id", columns="p", values="similarity")
        wide = wide.reindex(columns=sorted(wide.columns))
        for first, second in zip(wide.columns[:-1], wide.columns[1:], strict=True):
            rho = spearman(wide[first].to_numpy(float), wide[second].to_numpy(float))
            if np.isfinite(rho):
                rhos.append(rho)
    return float(np.mean(rhos)) if rhos else np.nan


def per_seed_mean(rows: pd.DataFrame, statistic) -> pd.Series:
    """``statistic`` per seed, averaged over the rows' (model, layer) entries."""
    if rows.empty:
        return pd.Series(dtype=float)
    values = rows.groupby(["model", "layer", "seed"]).apply(statistic, include_groups=False)
    return values.groupby("seed").mean().dropna()


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    level = claim.get("level", 0.3)
    return pooled_rows(
        evidence,
        claim,
        lambda rows: per_seed_mean(rows, within_steps),
        lambda effects, rows: reliable_equivalence(
            effects, per_seed_mean(rows, test_retest), level
        ),
        "Spearman rank correlation of relative same-image distance and similarity, within "
        "each (t, tp), per seed",
        lambda rows: f"|rho| < {level} counts as no prediction; {len(rows)} (image, tp) pairs",
    )


KIND = Kind(name="norm_predicts", evaluate=evaluate, null=lambda claim: 0.0, line=bounds)
