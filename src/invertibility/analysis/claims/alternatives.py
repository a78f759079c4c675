"""The specification curve's alternatives, as a kind takes them: each function maps a claim to
its form under one :class:`~invertibility.analysis.claims.sensitivity.Specification` (a line, a
measure, a null, the activation or function steps), or to None where the specification does
not apply to it. A kind lists the ones it takes in ``Kind.alternatives``, by the
specification's dimension; the curve reads those declarations and never a kind's name.

Every alternative changes the *registered* form only: a claim whose config already names
another measure than ``retained`` takes none of the measure, null or step alternatives.
"""

from __future__ import annotations

import copy

import pandas as pd

from ...core.steps import parse_step
from ...core.vocabulary import CONTROLS
from ..measures import MEASURES
from .evidence import DEFAULT_MEASURE, Evidence


def on_retained(claim: dict) -> bool:
    return claim.get("measure", DEFAULT_MEASURE) == DEFAULT_MEASURE


def with_line(evidence: Evidence, claim: dict, spec) -> dict | None:
    """The claim at the specification's ``line`` (its level)."""
    if spec.line is None or not on_retained(claim):
        return None
    return {**claim, "level": spec.line}


def with_side_measure(ratio_only: bool = False):
    """The specification's side ``measure`` in place of ``retained``; ``ratio_only``: only a
    measure on R's scale (a kind whose line is a level of R)."""

    def change(evidence: Evidence, claim: dict, spec) -> dict | None:
        if spec.measure is None or not on_retained(claim):
            return None
        if ratio_only and not MEASURES[spec.measure].ratio:
            return None
        return {**claim, "measure": spec.measure}

    return change


def with_option(key: str, field: str):
    """The specification's ``field`` as the claim's own option ``key`` (a kind that takes an
    identification or an image measure of its own)."""

    def change(evidence: Evidence, claim: dict, spec) -> dict | None:
        value = getattr(spec, field)
        return None if value is None else {**claim, key: value}

    return change


def tested_after(evidence: Evidence, side: dict, t: str) -> list[str]:
    """The activation steps after ``t`` that every layer of the side inverted for every seed it
    inverted ``t`` for (a figure may invert extra steps for one seed), in order."""
    rows = evidence.table
    rows = rows[(rows["model"] == side["model"]) & rows["layer"].isin(side["layers"])]
    rows = rows[rows["t"] == t]
    seeds = rows.groupby("layer")["seed"].nunique()
    steps = rows[~rows["tp"].isin([*CONTROLS, t])]
    per_step = steps.groupby(["layer", "tp"])["seed"].nunique()
    common = None
    for layer in side["layers"]:
        found = per_step.get(layer, pd.Series(dtype=int))
        everywhere = set(found.index[found == seeds.get(layer, -1)])
        common = everywhere if common is None else common & everywhere
    return sorted(common or set(), key=parse_step)


def with_tp(roles: tuple[str, ...]):
    """Only the earliest (``spec.tp`` 0) or the latest (-1) of each side's activation steps,
    where every side (``roles``) pools more than one."""

    def change(evidence: Evidence, claim: dict, spec) -> dict | None:
        if spec.tp is None or not on_retained(claim):
            return None
        changed = copy.deepcopy(claim)
        for role in roles:
            side = changed[role]
            tps = sorted(side.get("tps") or tested_after(evidence, side, side["t"]), key=parse_step)
            if len(tps) < 2:
                return None
            side["tps"] = [tps[spec.tp]]
        return changed

    return change


def seeds_at(evidence: Evidence, side: dict, t: str) -> int:
    """How many seeds the side's layers were inverted for at function step ``t``."""
    rows = evidence.table
    rows = rows[(rows["model"] == side["model"]) & rows["layer"].isin(side["layers"])]
    return rows.loc[rows["t"] == t, "seed"].nunique()


def other_function_step(roles: tuple[str, ...]):
    """The latest other function step at which every side's (``roles``) layers were inverted
    for as many seeds as at the registered one, with every activation step tested after it."""

    def change(evidence: Evidence, claim: dict, spec) -> dict | None:
        if not spec.function_step or not on_retained(claim):
            return None
        common = None
        for role in roles:
            side = claim[role]
            rows = evidence.table[evidence.table["model"] == side["model"]]
            steps = {
                t
                for t in rows["t"].unique()
                if t != side["t"]
                and tested_after(evidence, side, t)
                and seeds_at(evidence, side, t) == seeds_at(evidence, side, side["t"])
            }
            common = steps if common is None else common & steps
        if not common:
            return None
        t = max(common, key=parse_step)
        changed = copy.deepcopy(claim)
        for role in roles:
            changed[role]["t"] = t
            changed[role].pop("tps", None)
        return changed

    return change
