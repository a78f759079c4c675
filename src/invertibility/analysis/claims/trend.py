"""``trend`` (e.g. width, residual step): ``sides`` with numbers ``x``; per seed number (seed k
of each side's network: one replicate), Spearman's rank correlation between ``x`` and the sides'
values; the effect is its mean over seeds. The p-value is a permutation test (under no trend a
seed's side values are exchangeable; :func:`invertibility.analysis.stats.permutation_trend`),
which holds its level for the few discrete values rho takes over a few sides, where a t-test on
them does not, and the interval inverts the same test (it clears 0 exactly when p does). On a
measure limited to [0, 1] the raw ratio is tested too (the larger p counts). Supported if the
trend is increasing (``direction: increasing``, default) or decreasing (``decreasing``) as
claimed, contradicted if it goes the other way."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..measures import MEASURES
from ..predictors import spearman
from ..stats import ALPHA, permutation_trend
from .evidence import DEFAULT_MEASURE, Evidence, describe
from .kind import Kind, Part, Row, combine


def side_values(evidence: Evidence, claim: dict, measure: str) -> pd.DataFrame:
    """``[seed, side]``: each side's value per seed number (seeds every side has)."""
    return pd.concat(
        [evidence.seed_values(side, measure) for side in claim["sides"]], axis=1
    ).dropna()


def evaluate(evidence: Evidence, claim: dict, alpha: float = ALPHA) -> list[Row]:
    measure = claim.get("measure", DEFAULT_MEASURE)
    x = np.asarray(claim["x"], dtype=float)
    direction = "less" if claim.get("direction", "increasing") == "decreasing" else "greater"
    names = [measure] + ([MEASURES[measure].raw] if MEASURES[measure].raw else [])
    parts = []
    for name in names:
        values = side_values(evidence, claim, name)
        test = permutation_trend(x, values.to_numpy(float), seeds=tuple(values.index))
        parts.append(Part(name, test, direction))
    p, p_reverse = combine(parts)
    values = side_values(evidence, claim, measure)
    means = ", ".join(
        f"{xi:g}: {m:.3f}" for xi, m in zip(x, values.mean(axis=0).to_numpy(), strict=False)
    )
    effects = pd.Series(
        {seed: spearman(x, row.to_numpy(float)) for seed, row in values.iterrows()}, dtype=float
    ).dropna()
    return [
        Row(
            claim=claim["claim"],
            measure=f"Spearman rank correlation of x and {measure}, mean over seed numbers "
            f"(permutation test and interval)",
            test=parts[0].test,
            p=p,
            p_reverse=p_reverse,
            parts=tuple(parts),
            effects=effects.to_dict(),
            n_images=min(evidence.n_images(side) for side in claim["sides"]),
            detail=f"{claim.get('direction', 'increasing')} expected; mean {measure} by x: "
            f"{means}; sides: " + "; ".join(describe(side) for side in claim["sides"]),
            sides=[(f"sides[{k}]", side) for k, side in enumerate(claim["sides"])],
        )
    ]


def check(claim: dict, where: str) -> None:
    from ...core.errors import ConfigError

    if len(claim["x"]) != len(claim["sides"]):
        raise ConfigError(
            f"{where}.x: {len(claim['x'])} numbers for {len(claim['sides'])} sides; give one x "
            f"per side"
        )


KIND = Kind(
    name="trend",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=("sides", "x"),
    takes=("direction",),
    check=check,
    alternatives={},  # the registered trends are on the registered measure only
)
