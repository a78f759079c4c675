"""``trend`` (e.g. width, residual step): ``sides`` with numbers ``x``; per seed number (seed k
of each side's network: one replicate), Spearman's rank correlation between ``x`` and the sides'
values; the effect is its mean over seeds, with Student's t interval (the spread floored at
rho's resolution for ``k`` sides, ``12 / (k^3 - k)``). The p-value is a permutation test (under
no trend a seed's side values are exchangeable; :func:`invertibility.analysis.stats.
permutation_trend`), which holds its level for the few discrete values rho takes over a few
sides, where a t-test on them does not; on a measure limited to [0, 1] the raw ratio is tested
too (the larger p counts). Supported if the trend is increasing (``direction: increasing``,
default) or decreasing (``decreasing``) as claimed, contradicted if it goes the other way."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..measures import MEASURES
from ..predictors import spearman
from ..stats import permutation_trend
from .compare import combine
from .evidence import DEFAULT_MEASURE, Evidence, describe
from .kind import Kind, Row, seed_row


def side_values(evidence: Evidence, claim: dict, measure: str) -> pd.DataFrame:
    """``[seed, side]``: each side's value per seed number (seeds every side has)."""
    return pd.concat(
        [evidence.seed_values(side, measure) for side in claim["sides"]], axis=1
    ).dropna()


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    measure = claim.get("measure", DEFAULT_MEASURE)
    x = np.asarray(claim["x"], dtype=float)
    decreasing = claim.get("direction", "increasing") == "decreasing"
    names = [measure] + ([MEASURES[measure].raw] if MEASURES[measure].raw else [])
    tests = {}
    for name in names:
        up, down = permutation_trend(x, side_values(evidence, claim, name).to_numpy(float))
        tests[name] = (down, up) if decreasing else (up, down)
    p, p_reverse = combine(tests)
    values = side_values(evidence, claim, measure)
    effects = pd.Series(
        {seed: spearman(x, row.to_numpy(float)) for seed, row in values.iterrows()}, dtype=float
    ).dropna()
    means = ", ".join(
        f"{xi:g}: {m:.3f}" for xi, m in zip(x, values.mean(axis=0).to_numpy(), strict=False)
    )
    k = len(x)
    return [
        seed_row(
            claim["claim"],
            f"Spearman rank correlation of x and {measure}, per seed number",
            effects,
            p,
            p_reverse,
            resolution=12 / (k**3 - k) if k > 1 else 0.0,
            n_images=min(evidence.n_images(side) for side in claim["sides"]),
            detail=f"{claim.get('direction', 'increasing')} expected; permutation p "
            + "; ".join(f"{name} {value[0]:.3g}" for name, value in tests.items())
            + f"; mean {measure} by x: {means}; sides: "
            + "; ".join(describe(side) for side in claim["sides"]),
            sides=[(f"sides[{k}]", side) for k, side in enumerate(claim["sides"])],
            parts=tests,
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
