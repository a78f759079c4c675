"""How many seeds each claim of a family (the paper's, an experiment's) needs, read from a
finished run's claims table: ``seeds_for_power``, which the claims rule computes from each
claim's tests (the most that any part the verdict needs asks for to be found 80% of the time, on
the side the claim states, at Holm's strictest level in the claim's own family, alpha / the
number of its claims; NaN where an estimate lies on the wrong side or the spread is unknown; a
claim that needs several parts at once is decided less often than each part is found), beside
the test's per-seed spread (``seed_sd``: for a Welch claim the root sum of the two sides'
squares, the count per side) and whether a gate voided it (``gated``: seeds do not lift a
gate)."""

from __future__ import annotations

import pandas as pd

from ..core.errors import ConfigError
from .claims import EXPLORATORY

PLAN_COLUMNS = ["claim", "family", "verdict", "n_seeds", "seed_sd", "seeds_for_power", "gated"]
READS = PLAN_COLUMNS


def plan_seeds(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim of a family, exploratory rows left out (:data:`PLAN_COLUMNS`)."""
    missing = [column for column in READS if column not in claims]
    if missing:
        raise ConfigError(
            f"the claims table has no {', '.join(missing)} column(s): it was written by an older "
            f"version of the claims rule; rerun it (snakemake --forcerun claims)"
        )
    registered = claims[claims["family"] != EXPLORATORY]
    return registered[PLAN_COLUMNS].astype({"gated": bool}).reset_index(drop=True)
