"""``trend`` (e.g. width, residual step): ``sides`` with numbers ``x``; per seed number (seed k
of each side's network: one replicate), Spearman's rank correlation between ``x`` and the sides'
values; then Student's t over the seeds. Supported if the mean correlation is above 0
(``direction: increasing``, default) or below it (``decreasing``), contradicted if it lies
on the other side."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictors import spearman
from ..stats import p_greater, p_less, seeds_to_clear
from .evidence import DEFAULT_MEASURE, Evidence, describe
from .kind import Kind, Row, seed_row


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    measure = claim.get("measure", DEFAULT_MEASURE)
    x = np.asarray(claim["x"], dtype=float)
    values = pd.concat(
        [evidence.seed_values(side, measure) for side in claim["sides"]], axis=1
    ).dropna()  # [seed, side]
    effects = pd.Series(
        {seed: spearman(x, row.to_numpy(float)) for seed, row in values.iterrows()}, dtype=float
    ).dropna()
    decreasing = claim.get("direction", "increasing") == "decreasing"
    p, p_reverse = p_greater(effects), p_less(effects)
    if decreasing:
        p, p_reverse = p_reverse, p
    means = ", ".join(
        f"{xi:g}: {m:.3f}" for xi, m in zip(x, values.mean(axis=0).to_numpy(), strict=False)
    )
    return [
        seed_row(
            claim["claim"],
            f"Spearman rank correlation of x and {measure}, per seed number",
            effects,
            p,
            p_reverse,
            n_images=min(evidence.n_images(side) for side in claim["sides"]),
            seeds_to_decide=seeds_to_clear(effects),
            detail=f"{claim.get('direction', 'increasing')} expected; mean {measure} by x: "
            f"{means}; sides: {'; '.join(describe(side) for side in claim['sides'])}",
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
    check=check,
)
