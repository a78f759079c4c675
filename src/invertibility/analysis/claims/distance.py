"""``distance`` (Figure 6): among the (image, tp) pairs where the image is identified, the
fraction whose same-image distance ``||r_l^t(x_i) - r_l^tp(x_i)||`` exceeds its nearest
other-class distance in the held-out pool. Per seed, then Student's t over seeds against
``level`` (0.5): supported if the fraction is above it."""

from __future__ import annotations

import pandas as pd

from ..stats import p_greater, p_less, seeds_to_clear
from .evidence import Evidence
from .kind import Kind, Row
from .pooled import pooled_rows


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    level = claim.get("level", 0.5)

    def per_seed(rows: pd.DataFrame) -> pd.Series:
        invertible = rows[rows["identified"].fillna(False).astype(bool)]
        larger = invertible["distance"] > invertible["nearest_other"]
        return larger.groupby(invertible["seed"]).mean().astype(float)

    def test(effects: pd.Series):
        return p_greater(effects, level), p_less(effects, level), seeds_to_clear(effects, level)

    def detail(rows: pd.DataFrame) -> str:
        identified = int(rows["identified"].fillna(False).astype(bool).sum()) if len(rows) else 0
        return f"{identified} identified (image, tp) pairs of {len(rows)}"

    return pooled_rows(
        evidence,
        claim,
        per_seed,
        test,
        "fraction of identified (image, tp) whose same-image distance exceeds the nearest "
        "other-class distance in the held-out pool",
        detail,
    )


KIND = Kind(name="distance", evaluate=evaluate, null=lambda claim: claim.get("level", 0.5))
