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
from ..stats import ALPHA, one_sample
from .alternatives import with_line, with_side_measure
from .evidence import DEFAULT_MEASURE, Evidence, describe, fmt
from .kind import Kind, Part, Row, combine


def side_parts(evidence: Evidence, claim: dict, role: str, resolution: float) -> tuple[Part, ...]:
    """One side's one-sample tests against the level, on the measure and its raw version."""
    measure, level = claim.get("measure", DEFAULT_MEASURE), claim.get("level", INVERTIBLE)
    names = [measure] + ([MEASURES[measure].raw] if MEASURES[measure].raw else [])
    return tuple(
        Part(
            f"{role}, {name}",
            one_sample(
                evidence.seed_values(claim[role], name), level, resolution, MEASURES[name].bounds
            ),
            direction="greater" if role == "above" else "less",
        )
        for name in names
    )


def per_layer(evidence: Evidence, claim: dict, role: str, resolution: float) -> str:
    """Each layer of a side that pools several, read alone (post hoc: the claim registered the
    pooled side)."""
    side = claim[role]
    if len(side["layers"]) < 2:
        return ""
    readings = []
    for layer in side["layers"]:
        alone = {**claim, role: {**side, "layers": [layer]}}
        part = side_parts(evidence, alone, role, resolution)[0]
        readings.append(part.reading(1 - 2 * ALPHA, name=layer))
    return f"{role} side per layer (post hoc, 95%): " + "; ".join(readings)


def evaluate(evidence: Evidence, claim: dict, alpha: float = ALPHA) -> list[Row]:
    measure, level = claim.get("measure", DEFAULT_MEASURE), claim.get("level", INVERTIBLE)
    above_side, below_side = claim["above"], claim["below"]
    resolution = max(evidence.resolution(s, measure) for s in (above_side, below_side))
    above, below = (
        side_parts(evidence, claim, "above", resolution),
        side_parts(evidence, claim, "below", resolution),
    )
    p = combine(above + below)[0]
    # contradicted when either side is wrong: the smaller side's reverse p, doubled
    p_reverse = float(min(1.0, 2 * np.min([combine(above)[1], combine(below)[1]])))
    sides = [("above", above_side), ("below", below_side)]
    headline, below_test = above[0].test, below[0].test
    return [
        Row(
            claim=claim["claim"],
            measure=f"{measure}, above side (level {level})",
            test=headline,
            p=p,
            p_reverse=p_reverse,
            parts=above + below,
            effects=evidence.seed_values(above_side, measure).to_dict(),
            n_seeds=int(min(headline.n_seeds, below_test.n_seeds)),
            n_images=min(evidence.n_images(side) for _, side in sides),
            sides=sides,
            detail=f"above {level}: {describe(above_side)} (cross-seed floor "
            f"{evidence.floor(above_side):.2f}); below {level}: {describe(below_side)} = "
            f"{fmt(below_test.estimate, *below_test.confidence_interval(0.95))}",
            post_hoc="; ".join(
                text
                for role in ("above", "below")
                if (text := per_layer(evidence, claim, role, resolution))
            ),
        )
    ]


KIND = Kind(
    name="threshold",
    evaluate=evaluate,
    null=lambda claim: claim.get("level", INVERTIBLE),
    needs=("above", "below"),
    takes=("level",),
    roles=("above", "below"),
    loss_roles=("below",),
    alternatives={
        "line": with_line,
        # only measures on R's scale, where the level means the same
        "measure": with_side_measure(ratio_only=True),
        "null": with_side_measure(ratio_only=True),
    },
)
