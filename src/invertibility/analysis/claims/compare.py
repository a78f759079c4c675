"""``compare``: side ``greater`` has a larger measure than side ``lesser`` (Figures 1-5).

Sides of one network (same model) pair their seeds: the effect is the mean over seeds of each
seed's difference, with Student's t interval. Sides of two networks do not (seed numbers mean
nothing across architectures): the effect is the difference of the sides' seed means, with
Welch's interval. The p-value is one-sided (greater > lesser).

On a measure limited to [0, 1] (``retained``) the claim is an intersection-union test of three
parts, each of which must hold: the difference on the limited measure (a failed side counts as
0, however unlike its garbage), the same difference on the raw ratio (so the limit's bias cannot
make a difference), and the greater side retaining something at all (its raw ratio above 0: a
comparison of two failures is not "stays invertible longer"); ``p`` is the largest of the three.
Against the claim, the same three with the sides swapped.

``two_sided: true`` (a change in either direction is the finding, e.g. batch norm): twice the
smaller one-sided p, so its interval is at level ``1 - alpha`` (97.5% for a claim judged at
0.025) and the interval and the verdict agree. Where the two sides' control margins differ by
more than :data:`~invertibility.analysis.measures.MARGIN_RATIO`, the excess similarity
``E = c_tp - c_null`` (no division) gets its own verdict beside R's (``sub_verdict``). The detail
gives the comparison with the lesser side at the steps where its weights drifted as far, and
where its network was as accurate, as the greater side's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..measures import MARGIN_RATIO, MEASURES
from ..stats import ALPHA, SeedTest, one_sample, welch_test
from .alternatives import other_function_step, with_side_measure, with_tp
from .evidence import DEFAULT_MEASURE, Evidence, describe, fmt
from .kind import Kind, Part, Row, combine


def difference(
    evidence: Evidence, claim: dict, lesser: dict | None = None, measure=None
) -> tuple[SeedTest, pd.Series]:
    """The greater side's measure minus the lesser's: paired by seed within one network, Welch
    across two; with the per-seed effects (Welch: each greater seed against the lesser side's
    mean)."""
    measure = measure or claim.get("measure", DEFAULT_MEASURE)
    greater_side, lesser_side = claim["greater"], lesser or claim["lesser"]
    greater = evidence.seed_values(greater_side, measure)
    other = evidence.seed_values(lesser_side, measure)
    resolution = max(
        evidence.resolution(greater_side, measure), evidence.resolution(lesser_side, measure)
    )
    bounds = MEASURES[measure].difference_bounds()
    if greater_side["model"] == lesser_side["model"]:
        effects = (greater - other.reindex(greater.index)).dropna()
        return one_sample(effects, 0.0, resolution, bounds, design="paired"), effects
    return welch_test(greater, other, resolution, bounds), greater - other.mean()


def parts(
    evidence: Evidence, claim: dict, measure: str, lesser: dict | None = None
) -> tuple[Part, ...]:
    """The intersection-union parts of the claim: the difference on the measure, on its raw
    version, and each side's raw measure above the value at which nothing is retained (the
    greater side's for the claim, the lesser side's against it)."""
    found = [Part(measure, difference(evidence, claim, lesser, measure)[0])]
    info = MEASURES[measure]
    if info.raw:
        found.append(Part(info.raw, difference(evidence, claim, lesser, info.raw)[0]))
    if info.retains_above is not None:
        name = info.raw or measure
        bounds = MEASURES[name].bounds
        greater = evidence.seed_values(claim["greater"], name)
        other = evidence.seed_values(lesser or claim["lesser"], name)
        found.append(
            Part(
                "greater side retains",
                one_sample(greater, info.retains_above, bounds=bounds),
                against=False,
            )
        )
        found.append(
            Part(
                "lesser side retains",
                one_sample(other, info.retains_above, bounds=bounds),
                direction="less",
                for_claim=False,
            )
        )
    return tuple(found)


def margins(evidence: Evidence, side: dict) -> float:
    rows = evidence.retention_rows(side, [side["t"]])
    return float(rows["margin"].mean()) if len(rows) else np.nan


def word(p: float, p_reverse: float) -> str:
    if p < ALPHA:
        return "supported"
    if p_reverse < ALPHA:
        return "contradicted"
    return "inconclusive"


def evaluate(evidence: Evidence, claim: dict, alpha: float = ALPHA) -> list[Row]:
    measure = claim.get("measure", DEFAULT_MEASURE)
    tests = parts(evidence, claim, measure)
    headline, effects = difference(evidence, claim, measure=measure)
    p, p_reverse = combine(tests)
    two_sided = bool(claim.get("two_sided"))
    if two_sided:
        p = p_reverse = min(1.0, 2 * min(p, p_reverse))
    matched = []
    for key, name in (("drift", "drift"), ("accuracy_tp", "held-out accuracy")):
        tps = matched_tps(evidence, claim, key)
        if tps:
            sub = difference(evidence, claim, {**claim["lesser"], "tps": tps})[0]
            matched.append(
                f"at matched {name} (lesser at {', '.join(tps)}): "
                f"{fmt(sub.estimate, *sub.confidence_interval(0.95))}, one-sided p {sub.p:.3g}"
            )
    drifts = " vs ".join(
        f"{evidence.retention_rows(claim[role])['drift'].mean():.3g}"
        for role in ("greater", "lesser")
    )
    sides = [("greater", claim["greater"]), ("lesser", claim["lesser"])]
    if measure == "label_kept":
        judged = [evidence.rows(side)["label_judge"].notna().all() for _, side in sides]
        matched.append(
            "labels judged by the dataset's label judge (one network for both sides)"
            if all(judged)
            else "labels judged by each network's own classifier step (no label judge)"
        )
    sub_verdict = ""
    if MEASURES[measure].margin_gated and measure != "excess":
        m_greater, m_lesser = (
            margins(evidence, claim["greater"]),
            margins(evidence, claim["lesser"]),
        )
        ratio = max(m_greater, m_lesser) / min(m_greater, m_lesser)
        if np.isfinite(ratio) and ratio > MARGIN_RATIO:
            excess = difference(evidence, claim, measure="excess")[0]
            ex_p, ex_rev = combine(parts(evidence, claim, "excess"))
            sub_verdict = (
                f"margins differ {ratio:.1f}x ({m_greater:.3f} vs {m_lesser:.3f}): on excess "
                f"similarity E {fmt(excess.estimate, *excess.confidence_interval(0.95))}, p "
                f"{ex_p:.3g}: {word(ex_p, ex_rev)} (unadjusted)"
            )
    design = "paired by seed" if headline.design == "paired" else "unpaired (Welch)"
    return [
        Row(
            claim=claim["claim"],
            measure=f"difference in {measure} ({design})",
            test=headline,
            p=p,
            p_reverse=np.nan if two_sided else p_reverse,
            parts=tests,
            effects=effects.to_dict(),
            n_seeds=headline.n_seeds
            if headline.design == "paired"
            else int(min(headline.n_seeds, len(evidence.seed_values(claim["lesser"], measure)))),
            n_images=min(evidence.n_images(side) for _, side in sides),
            detail=f"{describe(claim['greater'])} minus {describe(claim['lesser'])}; mean "
            f"weight drift D_l {drifts}" + "".join(f"; {text}" for text in matched),
            sides=sides,
            two_sided=two_sided,
            sub_verdict=sub_verdict,
        )
    ]


def matched_tps(evidence: Evidence, claim: dict, key: str) -> list[str]:
    """The lesser side's tested steps (any tp > t) whose ``key`` (drift, accuracy_tp; mean over
    seeds) is nearest to each of the greater side's steps'."""
    lesser = evidence.retention_rows({**claim["lesser"], "tps": None})
    greater = evidence.retention_rows(claim["greater"])
    of_lesser = lesser.groupby("tp")[key].mean().dropna()
    targets = greater.groupby("tp")[key].mean().dropna()
    if of_lesser.empty:
        return []
    return sorted({(of_lesser - value).abs().idxmin() for value in targets})


SIDES = ("greater", "lesser")
KIND = Kind(
    name="compare",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=SIDES,
    takes=("two_sided",),
    roles=SIDES,
    loss_roles=("lesser",),
    alternatives={
        "measure": with_side_measure(),
        "null": with_side_measure(),
        "activation steps": with_tp(SIDES),
        "function step": other_function_step(SIDES),
    },
)
