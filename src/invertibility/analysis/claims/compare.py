"""``compare``: side ``greater`` has a larger measure than side ``lesser`` (Figures 1-5).

Sides of one network (same model) pair their seeds: the effect is the mean over seeds of each
seed's difference, with Student's t interval. Sides of two networks do not (seed numbers mean
nothing across architectures): the effect is the difference of the sides' seed means, with
Welch's interval. The p-value is one-sided (greater > lesser). ``two_sided: true`` (a change in
either direction is the finding, e.g. batch norm): twice the smaller one-sided p, with a 97.5%
interval so that the interval and the verdict agree. The detail gives the comparison with the
lesser side at the steps where its weights drifted as far, and where its network was as
accurate, as the greater side's (a difference at matched steps may be one of unmatched drift
or learning).
"""

from __future__ import annotations

import numpy as np

from ..stats import ALPHA, LEVEL, p_greater, p_less, seeds_needed, seeds_to_clear, t_interval, welch
from .evidence import DEFAULT_MEASURE, Evidence, describe, fmt, select
from .kind import Kind, Row


def difference(evidence: Evidence, claim: dict, lesser: dict | None = None) -> dict:
    measure = claim.get("measure", DEFAULT_MEASURE)
    greater_side, lesser_side = claim["greater"], lesser or claim["lesser"]
    greater = evidence.seed_values(greater_side, measure)
    other = evidence.seed_values(lesser_side, measure)
    two_sided = bool(claim.get("two_sided"))
    level = 1 - 2 * ALPHA if two_sided else LEVEL
    if greater_side["model"] == lesser_side["model"]:
        effects = (greater - other.reindex(greater.index)).dropna()
        value, low, high = t_interval(effects, level)
        p, p_reverse = p_greater(effects), p_less(effects)
        decide = seeds_to_clear(effects, 0.0, level)
        design = "paired by seed"
    else:
        result = welch(greater, other, level)
        value, low, high = result["value"], result["low"], result["high"]
        p, p_reverse = result["p"], result["p_reverse"]
        effects = greater - other.mean()  # each greater seed against the lesser side's mean
        pooled_sd = np.sqrt(np.nanvar(greater, ddof=1) + np.nanvar(other, ddof=1))
        decide = seeds_needed(abs(value), pooled_sd, level)
        design = "unpaired (Welch)"
    if two_sided:
        p = p_reverse = min(1.0, 2 * min(p, p_reverse))
    return {
        "value": value,
        "low": low,
        "high": high,
        "p": p,
        "p_reverse": np.nan if two_sided else p_reverse,
        "effects": effects.to_dict(),
        "n_seeds": int(min(len(greater), len(other))),
        "decide": decide,
        "design": design,
    }


def matched_tps(evidence: Evidence, claim: dict, key: str) -> list[str]:
    """The lesser side's tested steps (any tp > t) whose ``key`` (drift, accuracy_tp; mean over
    seeds) is nearest to each of the greater side's steps'."""
    lesser = select(evidence.retention, {**claim["lesser"], "tps": None})
    greater = select(evidence.retention, claim["greater"])
    of_lesser = lesser.groupby("tp")[key].mean().dropna()
    targets = greater.groupby("tp")[key].mean().dropna()
    if of_lesser.empty:
        return []
    return sorted({(of_lesser - value).abs().idxmin() for value in targets})


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
    measure = claim.get("measure", DEFAULT_MEASURE)
    result = difference(evidence, claim)
    matched = []
    for key, name in (("drift", "drift"), ("accuracy_tp", "held-out accuracy")):
        tps = matched_tps(evidence, claim, key)
        if tps:
            sub = difference(evidence, claim, {**claim["lesser"], "tps": tps})
            matched.append(
                f"at matched {name} (lesser at {', '.join(tps)}): "
                f"{fmt(sub['value'], sub['low'], sub['high'])}, one-sided p {sub['p']:.3g}"
            )
    drifts = " vs ".join(
        f"{select(evidence.retention, claim[role])['drift'].mean():.3g}"
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
    return [
        Row(
            claim=claim["claim"],
            measure=f"difference in {measure} ({result['design']})",
            value=result["value"],
            low=result["low"],
            high=result["high"],
            p=result["p"],
            p_reverse=result["p_reverse"],
            effects=result["effects"],
            n_seeds=result["n_seeds"],
            n_images=min(evidence.n_images(side) for _, side in sides),
            seeds_to_decide=result["decide"],
            detail=f"{describe(claim['greater'])} minus {describe(claim['lesser'])}; mean weight "
            f"drift D_l {drifts}; " + "; ".join(matched),
            sides=sides,
        )
    ]


KIND = Kind(
    name="compare",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=("greater", "lesser"),
    roles=("greater", "lesser"),
    loss_roles=("lesser",),
)
