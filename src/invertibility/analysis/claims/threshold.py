"""``threshold``: side ``above`` has the measure above ``level``, side ``below`` has it below
(Figure 2: AlexNet's low layers still invertible an epoch later, conv5 not). Each side's seeds
get a one-sample t-test against the level; the claim holds only if both parts do, so its p is
the larger of the two one-sided p-values (an intersection-union test). Contradicted when
either part is wrong: the smaller of the two reverse p-values, doubled. The default level is
:data:`invertibility.analysis.measures.INVERTIBLE`; the above side's cross-seed floor is reported
beside
it, the below side (which claims a loss) is floor-gated."""

from __future__ import annotations

import numpy as np

from ..measures import INVERTIBLE
from ..stats import p_greater, p_less, seeds_to_clear, t_interval
from .evidence import DEFAULT_MEASURE, Evidence, describe, fmt
from .kind import Kind, Row, seed_row


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    measure, level = claim.get("measure", DEFAULT_MEASURE), claim.get("level", INVERTIBLE)
    above = evidence.seed_values(claim["above"], measure)
    below = evidence.seed_values(claim["below"], measure)
    below_ci = t_interval(below)
    p = float(np.max([p_greater(above, level), p_less(below, level)]))  # NaN stays NaN
    p_reverse = float(min(1.0, 2 * np.min([p_less(above, level), p_greater(below, level)])))
    decide = float(np.fmax(seeds_to_clear(above, level), seeds_to_clear(below, level)))
    sides = [("above", claim["above"]), ("below", claim["below"])]
    row = seed_row(
        claim["claim"],
        f"{measure}, above side (level {level})",
        above,
        p,
        p_reverse,
        n_images=min(evidence.n_images(side) for _, side in sides),
        seeds_to_decide=decide,
        sides=sides,
    )
    row.n_seeds = int(min(len(above), len(below)))
    row.detail = (
        f"above {level}: {describe(claim['above'])} = {fmt(row.value, row.low, row.high)} "
        f"(cross-seed floor {evidence.floor(claim['above']):.2f}); below {level}: "
        f"{describe(claim['below'])} = {fmt(*below_ci)}"
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
