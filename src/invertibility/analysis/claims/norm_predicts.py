"""``norm_predicts`` (Section 4), per ``analyses.distances`` entry and pooled over them: the
relative norm distance ``||r_l^t(x_i) - r_l^tp(x_i)|| / ||r_l^t(x_i)||`` does not predict
invertibility. Per seed, Spearman's rank correlation between an image's relative same-image
distance and its reconstruction's similarity to ``x_i``, *within* each (t, tp) (pooling steps
would correlate anything that grows with p with a decaying measure), averaged over the steps
whose reconstructions still retain something (``retains``: a step where the inversion failed
has no invertibility to predict, and its correlation of 0 would only dilute the mean);
then the equivalence test over seeds (:mod:`invertibility.analysis.claims.equivalence`, bounds
``+-level``, default 0.3, shrunk by the similarity's reliability).

The reliability of an image's similarity is its test-retest correlation: Spearman's rho over
the images between the similarity at one activation step and at the next (within seed, layer
and t), averaged over the step pairs. A measure that is noise reads about 0 and gates the
claim; one whose images keep their order from step to step reads near 1. ``image_measure``
(default ``similarity``; the specification curve also uses ``ssim``) names the per-image measure
correlated and tested for reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictors import spearman
from ..stats import ALPHA
from .alternatives import with_option
from .equivalence import bounds, reliable_equivalence
from .evidence import Evidence
from .kind import Kind, Row
from .pooled import pooled_rows


def within_steps(rows: pd.DataFrame, column: str = "similarity") -> float:
    """Mean over (t, tp) of Spearman(relative distance, ``column``) over the step's images."""
    rhos = [
        spearman(step["relative_distance"].to_numpy(float), step[column].to_numpy(float))
        for _, step in rows.groupby(["t", "tp"])
    ]
    rhos = [rho for rho in rhos if np.isfinite(rho)]
    return float(np.mean(rhos)) if rhos else np.nan


def test_retest(rows: pd.DataFrame, column: str = "similarity") -> float:
    """Mean over consecutive activation steps of Spearman's rho over images of ``column`` (one
    seed of one entry)."""
    rhos = []
    for _, by_t in rows.groupby("t"):
        wide = by_t.pivot_table(index="image_id", columns="p", values=column)
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


def retaining(evidence: Evidence, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the (model, seed, layer, t, tp) whose reconstructions still retain something
    (``retains`` of the retention table): where an inversion has failed, every image's
    similarity is noise, and its correlation with anything is 0 whatever the norm distance
    does, which would pull the mean toward "no prediction"."""
    if rows.empty:
        return rows
    retention = evidence.retention
    keys = ["model", "seed", "layer", "t", "tp"]
    works = retention[(retention["images"] == "dataset") & retention["retains"].astype(bool)]
    found = pd.MultiIndex.from_frame(rows[keys]).isin(pd.MultiIndex.from_frame(works[keys]))
    return rows[found]


def evaluate(evidence: Evidence, claim: dict, alpha: float = ALPHA) -> list[Row]:
    level, column = claim.get("level", 0.3), claim.get("image_measure", "similarity")

    def detail(rows: pd.DataFrame) -> str:
        kept = retaining(evidence, rows)
        return (
            f"|rho| < {level} counts as no prediction; {len(kept)} of {len(rows)} (image, tp) "
            "pairs at steps whose reconstructions retain something"
        )

    return pooled_rows(
        evidence,
        claim,
        lambda rows: per_seed_mean(
            retaining(evidence, rows), lambda entry: within_steps(entry, column)
        ),
        lambda effects, rows, row_alpha: reliable_equivalence(
            effects,
            per_seed_mean(retaining(evidence, rows), lambda entry: test_retest(entry, column)),
            level,
            row_alpha,
        ),
        f"Spearman rank correlation of relative same-image distance and {column}, within "
        "each (t, tp) whose reconstructions retain something, per seed",
        detail,
        alpha,
    )


KIND = Kind(
    name="norm_predicts",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    takes=("level", "image_measure"),
    line=bounds,
    alternatives={"measure": with_option("image_measure", "image_measure")},
)
