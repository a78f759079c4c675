"""``predictor`` (Section 4, across networks): a candidate (a column of
:mod:`invertibility.analysis.predictors`, e.g. ``norm_distance``) does not predict invertibility.
The
units are every inverted (model, seed, layer, t, tp > t); per seed number (seed k of every model:
one replicate of independent trainings), Spearman's rank correlation of the predictor and the
unit's measure with ``p`` partialled out (anything that grows with ``p`` correlates with a
decaying measure); then the equivalence test over the seeds. The pooled, run-bootstrapped
correlations of the predictors table are in the detail."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictors import correlation, partial_spearman, predictor_units
from .equivalence import bounds, equivalence
from .evidence import DEFAULT_MEASURE, Evidence
from .kind import Kind, Row, seed_row


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    level, name = claim.get("level", 0.3), claim["predictor"]
    measure = claim.get("measure", DEFAULT_MEASURE)
    units = predictor_units(evidence.table.assign(photo=False), evidence.similarity, measure)
    used = units[np.isfinite(units[name].to_numpy(float))] if len(units) else units
    effects = pd.Series(
        {
            seed: partial_spearman(
                u[name].to_numpy(float), u["invertibility"].to_numpy(float), u["p"].to_numpy(float)
            )
            for seed, u in used.groupby("seed")
        },
        dtype=float,
    ).dropna()
    p, p_reverse, decide = equivalence(effects, level)
    pooled = correlation(units, name) if len(units) else {}
    detail = (
        f"|rho| < {level} counts as no prediction; {len(used)} units from "
        f"{used.groupby(['model', 'seed']).ngroups} training runs of {used['model'].nunique()} "
        f"models; pooled over steps (not partial, runs resampled): rho {pooled['rho']:.2f} "
        f"[{pooled['low']:.2f}, {pooled['high']:.2f}]"
        if pooled
        else "no units"
    )
    return [
        seed_row(
            claim["claim"],
            f"Spearman rank correlation of {name} and {measure}, p partialled out, per seed number",
            effects,
            p,
            p_reverse,
            n_images=int(used["n_images"].min()) if len(used) else 0,
            seeds_to_decide=decide,
            detail=detail,
        )
    ]


KIND = Kind(
    name="predictor",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=("predictor",),
    line=bounds,
)
