"""How far the claims move between two runs of the same config that differ only in how the
arithmetic is ordered (another thread count, another optimizer kernel): the conv nets'
trajectories part after a few steps, so each seed's effect moves; the question is whether it
moves more than seeds differ from one another, and whether a verdict changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

STABILITY_COLUMNS = [
    "claim",
    "n_seeds",  # seeds in both runs
    "moved_median",  # |effect in the second run - effect in the first|, median over seeds
    "moved_max",
    "spread",  # standard deviation of the first run's seed effects
    "moved_over_spread",  # moved_max / spread: below 1, a seed moves less than seeds differ
    "verdict_first",
    "verdict_second",
    "changed",
    "flipped",  # supported <-> contradicted: must never happen
]


def seed_stability(
    first_seeds: pd.DataFrame,
    second_seeds: pd.DataFrame,
    first_claims: pd.DataFrame,
    second_claims: pd.DataFrame,
) -> pd.DataFrame:
    """One row per claim of the first run: ``*_seeds`` are the claims-by-seed tables (claim,
    seed, effect), ``*_claims`` the claims tables (claim, verdict)."""
    both = first_seeds.merge(second_seeds, on=["claim", "seed"], suffixes=("_1", "_2"))
    verdicts = first_claims.set_index("claim")["verdict"]
    later = second_claims.set_index("claim")["verdict"]
    rows = []
    for claim in first_claims["claim"]:
        seeds = both[both["claim"] == claim].dropna(subset=["effect_1", "effect_2"])
        moved = (seeds["effect_2"] - seeds["effect_1"]).abs()
        spread = seeds["effect_1"].std(ddof=1) if len(seeds) > 1 else np.nan
        first, second = verdicts[claim], later.get(claim, "missing")
        rows.append(
            (
                claim,
                len(seeds),
                moved.median() if len(moved) else np.nan,
                moved.max() if len(moved) else np.nan,
                spread,
                moved.max() / spread if len(moved) and spread > 0 else np.nan,
                first,
                second,
                first != second,
                {first, second} == {"supported", "contradicted"},
            )
        )
    return pd.DataFrame(rows, columns=STABILITY_COLUMNS)
