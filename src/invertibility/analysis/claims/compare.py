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

from ..measures import MARGIN_RATIO, MEASURES
from ..stats import (
    ALPHA,
    floored_sd,
    p_greater,
    p_less,
    seeds_needed,
    seeds_to_clear,
    t_interval,
    welch,
)
from .evidence import DEFAULT_MEASURE, Evidence, describe, fmt
from .kind import Kind, Row


def difference(evidence: Evidence, claim: dict, lesser: dict | None = None, measure=None) -> dict:
    measure = measure or claim.get("measure", DEFAULT_MEASURE)
    greater_side, lesser_side = claim["greater"], lesser or claim["lesser"]
    greater = evidence.seed_values(greater_side, measure)
    other = evidence.seed_values(lesser_side, measure)
    resolution = max(
        evidence.resolution(greater_side, measure), evidence.resolution(lesser_side, measure)
    )
    if greater_side["model"] == lesser_side["model"]:
        effects = (greater - other.reindex(greater.index)).dropna()
        value = t_interval(effects, resolution=resolution)[0]
        p = p_greater(effects, resolution=resolution)
        p_reverse = p_less(effects, resolution=resolution)

        def interval(level):
            return t_interval(effects, level, resolution)[1:]

        def decide(level):
            return seeds_to_clear(effects, 0.0, level, resolution)

        design = "paired by seed"
        n_seeds = len(effects)
    else:
        result = welch(greater, other, resolution=resolution)
        value, p, p_reverse = result["value"], result["p"], result["p_reverse"]
        effects = greater - other.mean()  # each greater seed against the lesser side's mean

        def interval(level):
            found = welch(greater, other, level, resolution)
            return found["low"], found["high"]

        def decide(level):
            spread = np.hypot(floored_sd(greater, resolution), floored_sd(other, resolution))
            return seeds_needed(abs(value), spread, level)

        design = "unpaired (Welch)"
        n_seeds = int(min(len(greater), len(other)))
    return {
        "value": value,
        "p": p,
        "p_reverse": p_reverse,
        "effects": effects,
        "n_seeds": n_seeds,
        "interval": interval,
        "decide": decide,
        "design": design,
    }


def parts(evidence: Evidence, claim: dict, measure: str, lesser: dict | None = None) -> dict:
    """The intersection-union parts of the claim: name -> (p, p_reverse)."""
    found = difference(evidence, claim, lesser, measure)
    tests = {measure: (found["p"], found["p_reverse"])}
    info = MEASURES[measure]
    if info.raw:
        raw = difference(evidence, claim, lesser, info.raw)
        tests[info.raw] = (raw["p"], raw["p_reverse"])
    if info.retains_above is not None:
        name = info.raw or measure
        greater = evidence.seed_values(claim["greater"], name)
        other = evidence.seed_values(lesser or claim["lesser"], name)
        tests["greater side retains"] = (p_greater(greater, info.retains_above), None)
        tests["lesser side retains"] = (None, p_greater(other, info.retains_above))
    return found | {"parts": tests}


def combine(tests: dict) -> tuple[float, float]:
    """The intersection-union p-values: the largest part for, the largest part against (a part
    that does not apply in a direction is None; an undefined one, NaN, makes the whole NaN)."""
    p = [value[0] for value in tests.values() if value[0] is not None]
    p_reverse = [value[1] for value in tests.values() if value[1] is not None]
    return float(np.max(p)) if p else np.nan, float(np.max(p_reverse)) if p_reverse else np.nan


def margins(evidence: Evidence, side: dict) -> float:
    rows = evidence.retention_rows(side, [side["t"]])
    return float(rows["margin"].mean()) if len(rows) else np.nan


def word(p: float, p_reverse: float) -> str:
    if p < ALPHA:
        return "supported"
    if p_reverse < ALPHA:
        return "contradicted"
    return "inconclusive"


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    measure = claim.get("measure", DEFAULT_MEASURE)
    result = parts(evidence, claim, measure)
    p, p_reverse = combine(result["parts"])
    two_sided = bool(claim.get("two_sided"))
    if two_sided:
        p = p_reverse = min(1.0, 2 * min(p, p_reverse))
    matched = []
    for key, name in (("drift", "drift"), ("accuracy_tp", "held-out accuracy")):
        tps = matched_tps(evidence, claim, key)
        if tps:
            sub = difference(evidence, claim, {**claim["lesser"], "tps": tps})
            low, high = sub["interval"](0.95)
            matched.append(
                f"at matched {name} (lesser at {', '.join(tps)}): "
                f"{fmt(sub['value'], low, high)}, one-sided p {sub['p']:.3g}"
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
    if MEASURES[measure].gate == "margin" and measure != "excess":
        m_greater, m_lesser = (
            margins(evidence, claim["greater"]),
            margins(evidence, claim["lesser"]),
        )
        ratio = max(m_greater, m_lesser) / min(m_greater, m_lesser)
        if np.isfinite(ratio) and ratio > MARGIN_RATIO:
            excess = parts(evidence, claim, "excess")
            ex_p, ex_rev = combine(excess["parts"])
            low, high = excess["interval"](0.95)
            sub_verdict = (
                f"margins differ {ratio:.1f}x ({m_greater:.3f} vs {m_lesser:.3f}): on excess "
                f"similarity E {fmt(excess['value'], low, high)}, p {ex_p:.3g}: "
                f"{word(ex_p, ex_rev)} (unadjusted)"
            )
    tested = "; ".join(
        f"{name} p {value[0]:.3g}"
        for name, value in result["parts"].items()
        if value[0] is not None
    )
    low, high = result["interval"](0.95)
    return [
        Row(
            claim=claim["claim"],
            measure=f"difference in {measure} ({result['design']})",
            value=result["value"],
            low=low,
            high=high,
            p=p,
            p_reverse=np.nan if two_sided else p_reverse,
            effects=result["effects"].to_dict(),
            n_seeds=result["n_seeds"],
            n_images=min(evidence.n_images(side) for _, side in sides),
            detail=f"{describe(claim['greater'])} minus {describe(claim['lesser'])}; parts: "
            f"{tested}; mean weight drift D_l {drifts}; " + "; ".join(matched),
            sides=sides,
            interval=result["interval"],
            decide=result["decide"],
            two_sided=two_sided,
            parts=result["parts"],
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


KIND = Kind(
    name="compare",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=("greater", "lesser"),
    roles=("greater", "lesser"),
    loss_roles=("lesser",),
)
