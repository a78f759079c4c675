"""``threshold``: side ``above`` has the measure above ``level``, side ``below`` has it below
(Figure 2: AlexNet's low layers still invertible an epoch later, conv5 not). Each side's seeds
get a one-sample t-test against the level; the claim holds only if every part does, so its p is
the largest of the one-sided p-values (an intersection-union test; on a measure limited to
[0, 1] each side is also tested on the raw ratio, see :mod:`.compare`). Contradicted when
either side is wrong: the smaller of the two sides' reverse p-values, doubled. The default level
is :data:`invertibility.analysis.measures.INVERTIBLE`; the above side's cross-seed floor is
reported beside it, the below side (which claims a loss) is floor-gated."""

from __future__ import annotations

import numpy as np

from ..measures import INVERTIBLE, MEASURES
from ..stats import p_greater, p_less, seeds_to_clear, t_interval
from .compare import combine
from .evidence import DEFAULT_MEASURE, Evidence, describe, fmt
from .kind import Kind, Row, seed_row


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    measure, level = claim.get("measure", DEFAULT_MEASURE), claim.get("level", INVERTIBLE)
    names = [measure] + ([MEASURES[measure].raw] if MEASURES[measure].raw else [])
    above_side, below_side = claim["above"], claim["below"]
    resolution = max(evidence.resolution(s, measure) for s in (above_side, below_side))
    above = {name: evidence.seed_values(above_side, name) for name in names}
    below = {name: evidence.seed_values(below_side, name) for name in names}
    parts_above = {
        f"above, {name}": (
            p_greater(above[name], level, resolution),
            p_less(above[name], level, resolution),
        )
        for name in names
    }
    parts_below = {
        f"below, {name}": (
            p_less(below[name], level, resolution),
            p_greater(below[name], level, resolution),
        )
        for name in names
    }
    p = combine(parts_above | parts_below)[0]
    against = [combine(parts_above)[1], combine(parts_below)[1]]
    p_reverse = float(min(1.0, 2 * np.min(against)))  # NaN stays NaN
    sides = [("above", above_side), ("below", below_side)]

    def decide(alpha_level):
        return float(
            np.fmax(
                seeds_to_clear(above[measure], level, alpha_level, resolution),
                seeds_to_clear(below[measure], level, alpha_level, resolution),
            )
        )

    row = seed_row(
        claim["claim"],
        f"{measure}, above side (level {level})",
        above[measure],
        p,
        p_reverse,
        line=level,
        resolution=resolution,
        n_images=min(evidence.n_images(side) for _, side in sides),
        sides=sides,
        decide=decide,
        parts=parts_above | parts_below,
    )
    row.n_seeds = int(min(len(above[measure]), len(below[measure])))
    tested = "; ".join(f"{name} p {value[0]:.3g}" for name, value in row.parts.items())
    row.detail = (
        f"above {level}: {describe(above_side)} = {fmt(row.value, row.low, row.high)} "
        f"(cross-seed floor {evidence.floor(above_side):.2f}); below {level}: "
        f"{describe(below_side)} = {fmt(*t_interval(below[measure], resolution=resolution))}; "
        f"parts: {tested}"
    )
    return [row]


KIND = Kind(
    name="threshold",
    evaluate=evaluate,
    null=lambda claim: claim.get("level", INVERTIBLE),
    needs=("above", "below"),
    roles=("above", "below"),
    loss_roles=("below",),
)
