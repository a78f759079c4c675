"""How many seeds each primary claim needs for a verdict that comes 80% of the time, planned
from a finished run's claims table (its effect, interval and seed count)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from .stats import ALPHA, LEVEL, seeds_for_power

PLAN_COLUMNS = ["claim", "verdict", "n_seeds", "gap", "seed_sd", "seeds_for_power", "gated"]


def _gap(value: float, line: str) -> float:
    """Distance of the effect from what the claim must clear: its line, or for an equivalence
    claim (``+-margin``) the nearer margin."""
    if line.startswith("+-"):
        return float(line[2:]) - abs(value)
    return abs(value - float(line))


def _across_models(claim: pd.Series) -> bool:
    """A compare claim whose sides are two networks (Welch's interval: unpaired)."""
    detail = str(claim["detail"])
    if claim["kind"] != "compare" or " minus " not in detail:
        return False
    greater, lesser = detail.split(" minus ", 1)
    return greater.split(":", 1)[0] != lesser.split(":", 1)[0]


def plan_seeds(claims: pd.DataFrame, power: float = 0.8) -> pd.DataFrame:
    """One row per primary claim. The seed spread comes back out of the interval (half-width /
    t(df) x sqrt(n), at the interval's ``level``; for a Welch claim, the root sum of the two
    sides' spreads with Welch's largest df, 2(n - 1), which makes the spread no smaller than it
    is, and the count is per side); the level is Holm's strictest, alpha / (number of primary
    claims). A claim voided by a gate (``gated``) is not decided by seeds but by the gate's
    reason."""
    primary = claims[claims["family"] == "primary"]
    alpha = ALPHA / max(len(primary), 1)
    rows = []
    for _, claim in primary.iterrows():
        n = int(claim["n_seeds"])
        df = 2 * (n - 1) if _across_models(claim) else n - 1
        level = float(claim["level"]) if "level" in claim and np.isfinite(claim["level"]) else LEVEL
        t = scipy_stats.t.ppf(0.5 + level / 2, df) if n > 1 else np.nan
        sd = (claim["high"] - claim["low"]) / 2 / t * np.sqrt(n)
        gap = _gap(claim["value"], str(claim["line"]))
        # a verdict from the test says "p ..."; any other reason of an inconclusive claim is a gate
        gated = claim["verdict"] == "inconclusive" and not str(claim["reason"]).startswith("p ")
        rows.append(
            (
                claim["claim"],
                claim["verdict"],
                n,
                gap,
                sd,
                seeds_for_power(gap, sd, alpha, power) if gap > 0 else np.nan,
                gated,
            )
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)
