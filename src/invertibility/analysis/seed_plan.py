"""How many seeds each primary claim needs for a verdict that comes 80% of the time, planned
from a finished run's claims table: its effect, the line it must clear, its test's per-seed
spread (``seed_sd``: for a Welch claim the root sum of the two sides' squares, the count per
side), and whether a gate voided it (``gated``: seeds do not lift a gate)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.errors import ConfigError
from .stats import ALPHA, seeds_for_power

PLAN_COLUMNS = ["claim", "verdict", "n_seeds", "gap", "seed_sd", "seeds_for_power", "gated"]
READS = ("family", "claim", "verdict", "n_seeds", "value", "line", "seed_sd", "gated")


def _gap(value: float, line: str) -> float:
    """Distance of the effect from what the claim must clear: its line, or for an equivalence
    claim (``+-margin``) the nearer margin."""
    if line.startswith("+-"):
        return float(line[2:]) - abs(value)
    return abs(value - float(line))


def plan_seeds(claims: pd.DataFrame, power: float = 0.8) -> pd.DataFrame:
    """One row per primary claim, at Holm's strictest level, alpha / (number of primary
    claims)."""
    missing = [column for column in READS if column not in claims]
    if missing:
        raise ConfigError(
            f"the claims table has no {', '.join(missing)} column(s): it was written by an older "
            f"version of the claims rule; rerun it (snakemake --forcerun claims)"
        )
    primary = claims[claims["family"] == "primary"]
    alpha = ALPHA / max(len(primary), 1)
    rows = []
    for _, claim in primary.iterrows():
        gap = _gap(claim["value"], str(claim["line"]))
        sd = float(claim["seed_sd"])
        rows.append(
            (
                claim["claim"],
                claim["verdict"],
                int(claim["n_seeds"]),
                gap,
                sd,
                seeds_for_power(gap, sd, alpha, power) if gap > 0 else np.nan,
                bool(claim["gated"]),
            )
        )
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)
