"""``threshold``: side ``above`` has the measure above ``level``, side ``below`` has it below
(Figure 2: AlexNet's low layers still invertible an epoch later, conv5 not). Each side's seeds
get a one-sample t-test against the level; the claim holds only if both parts do, so its p is
the larger of the two one-sided p-values (an intersection-union test). Contradicted when
either part is wrong: the smaller of the two reverse p-values, doubled. The default level is
:data:`invertibility.measures.INVERTIBLE`; the above side's cross-seed floor is reported beside
it, the below side (which claims a loss) is floor-gated."""

from __future__ import annotations

from ..measures import INVERTIBLE
from ..stats import p_greater, p_less, seeds_to_clear, t_interval
from .evidence import DEFAULT_MEASURE, Evidence, describe, fmt
from .kind import Kind, Row


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    measure, level = claim.get("measure", DEFAULT_MEASURE), claim.get("level", INVERTIBLE)
    above = evidence.seed_values(claim["above"], measure)
    below = evidence.seed_values(claim["below"], measure)
    value, low, high = t_interval(above)
    below_ci = t_interval(below)
    p = max(p_greater(above, level), p_less(below, level))
    p_reverse = min(1.0, 2 * min(p_less(above, level), p_greater(below, level)))
    decide = max(seeds_to_clear(above, level), seeds_to_clear(below, level))
    sides = [("above", claim["above"]), ("below", claim["below"])]
    return [
        Row(
            claim=claim["claim"],
            measure=f"{measure}, above side (level {level})",
            value=value,
            low=low,
            high=high,
            p=p,
            p_reverse=p_reverse,
            effects=above.to_dict(),
            n_seeds=int(min(len(above), len(below))),
            n_images=min(evidence.n_images(side) for _, side in sides),
            seeds_to_decide=decide,
            detail=f"above {level}: {describe(claim['above'])} = {fmt(value, low, high)} "
            f"(cross-seed floor {evidence.floor(claim['above']):.2f}); below {level}: "
            f"{describe(claim['below'])} = {fmt(*below_ci)}",
            sides=sides,
        )
    ]


KIND = Kind(
    name="threshold",
    evaluate=evaluate,
    null=lambda claim: claim.get("level", INVERTIBLE),
    needs=("above", "below"),
    roles=("above", "below"),
    loss_roles=("below",),
)
