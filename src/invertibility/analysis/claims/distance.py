"""``distance`` (Figure 6): among the (image, tp) pairs where the image is identified, the
fraction whose same-image distance ``||r_l^t(x_i) - r_l^tp(x_i)||`` exceeds its nearest
other-class distance in the held-out pool (``invertible_by``: the identification that counts a
pair as invertible, ``identified`` among K candidates by default; the specification curve also
uses ``identified_all`` and ``identified_class``). Per seed, then Student's t over seeds against
``level`` (0.5), the spread floored at the fraction's resolution (one pair of a seed's typical
count), so that seeds that all read 0 or 1 do not give p = 0: supported if the fraction is above
the level."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import ALPHA, one_sample
from .alternatives import with_option
from .evidence import Evidence
from .kind import Kind, Row, Tested
from .pooled import pooled_rows


def identified(rows: pd.DataFrame, column: str = "identified") -> pd.DataFrame:
    return rows[rows[column].fillna(False).astype(bool)]


def evaluate(evidence: Evidence, claim: dict, alpha: float = ALPHA) -> list[Row]:
    level = claim.get("level", 0.5)
    by = claim.get("invertible_by", "identified")

    def per_seed(rows: pd.DataFrame) -> pd.Series:
        invertible = identified(rows, by)
        larger = invertible["distance"] > invertible["nearest_other"]
        return larger.groupby(invertible["seed"]).mean().astype(float)

    def test(effects: pd.Series, rows: pd.DataFrame, row_alpha: float) -> Tested:
        pairs = identified(rows, by).groupby(["model", "layer", "seed"]).size() if len(rows) else []
        entries = rows.groupby(["model", "layer"]).ngroups if len(rows) else 1
        # the pooled fraction is a mean over entries of fractions of about this many pairs
        resolution = 1.0 / (entries * float(np.median(pairs))) if len(pairs) else 0.0
        found = one_sample(effects, level, resolution, bounds=(0.0, 1.0))
        return Tested(found, found.p, found.p_reverse)

    def detail(rows: pd.DataFrame) -> str:
        found = len(identified(rows, by)) if len(rows) else 0
        return f"{found} (image, tp) pairs of {len(rows)} with {by}"

    return pooled_rows(
        evidence,
        claim,
        per_seed,
        test,
        f"fraction of (image, tp) with {by} whose same-image distance exceeds the nearest "
        "other-class distance in the held-out pool",
        detail,
        alpha,
    )


KIND = Kind(
    name="distance",
    evaluate=evaluate,
    null=lambda claim: claim.get("level", 0.5),
    takes=("level", "invertible_by"),
    alternatives={"measure": with_option("invertible_by", "identification")},
)
