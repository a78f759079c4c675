"""How much each primary claim's verdict owes to its definitions: a specification curve.

Each :data:`SPECIFICATIONS` entry changes **one** choice of the registered analysis (the line
that counts as invertible, the measure, the null, the activation or function steps) and the
whole primary family is evaluated again under it, Holm over the same claims: the changed form of
every claim the choice applies to, the registered form of the others. A claim the choice does
not apply to gets no verdict under it (``applies`` false, verdict ``n/a``), not a copy of its
registered one. The set and where each applies were fixed before the verdict-grade run
(``docs/analysis_plan.md``); :func:`robustness` says, per claim, whether its verdict holds
across the alternatives and which specifications flip it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...core.atomic import atomic_path
from ...core.vocabulary import CONTROLS
from . import evaluate_on, read_tables
from .evidence import DEFAULT_MEASURE, Evidence

COLUMNS = [
    "claim",
    "order",
    "specification",
    "dimension",
    "choice",
    "applies",
    "measure",
    "value",
    "low",
    "high",
    "p_value",
    "p_adjusted",
    "verdict",
    "registered_verdict",
    "flips",
    "n_seeds",
    "reason",
]

DERIVED = ("registered_verdict", "flips")  # computed from the other columns
# (evidence, claim) -> the claim under the specification, or None where it does not apply
Change = Callable[[Evidence, dict], "dict | None"]


@dataclass(frozen=True)
class Specification:
    name: str
    dimension: str  # line, measure, null, activation steps, function step
    choice: str  # the choice it makes, in words
    change: Change


def on_retained(claim: dict) -> bool:
    return claim.get("measure", DEFAULT_MEASURE) == DEFAULT_MEASURE


def with_line(level: float) -> Change:
    def change(evidence: Evidence, claim: dict) -> dict | None:
        if claim["kind"] != "threshold" or not on_retained(claim):
            return None
        return {**claim, "level": level}

    return change


def with_measure(
    measure: str,
    kinds: tuple[str, ...],
    distance_by: str | None = None,
    image_measure: str | None = None,
) -> Change:
    """The measure ``measure`` for the claims on ``retained`` of ``kinds``; for a ``distance``
    claim, ``distance_by`` counts a pair invertible; for a ``norm_predicts`` claim,
    ``image_measure`` is correlated with the norm distance."""

    def change(evidence: Evidence, claim: dict) -> dict | None:
        if claim["kind"] == "distance" and distance_by:
            return {**claim, "invertible_by": distance_by}
        if claim["kind"] == "norm_predicts" and image_measure:
            return {**claim, "image_measure": image_measure}
        if claim["kind"] in kinds and on_retained(claim):
            return {**claim, "measure": measure}
        return None

    return change


def step_key(label: str) -> tuple[int, ...]:
    return tuple(int(part) for part in label.split("_"))


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
    return sorted(common or set(), key=step_key)


def with_tp(which: int) -> Change:
    """Only the earliest (``which`` 0) or the latest (-1) of each side's activation steps, where
    every side pools more than one."""

    def change(evidence: Evidence, claim: dict) -> dict | None:
        if claim["kind"] != "compare" or not on_retained(claim):
            return None
        changed = copy.deepcopy(claim)
        for role in ("greater", "lesser"):
            side = changed[role]
            tps = sorted(side.get("tps") or tested_after(evidence, side, side["t"]), key=step_key)
            if len(tps) < 2:
                return None
            side["tps"] = [tps[which]]
        return changed

    return change


def seeds_at(evidence: Evidence, side: dict, t: str) -> int:
    """How many seeds the side's layers were inverted for at function step ``t``."""
    rows = evidence.table
    rows = rows[(rows["model"] == side["model"]) & rows["layer"].isin(side["layers"])]
    return rows.loc[rows["t"] == t, "seed"].nunique()


def other_function_step(evidence: Evidence, claim: dict) -> dict | None:
    """The latest other function step at which every side's layers were inverted for as many
    seeds as at the registered one, with every activation step tested after it."""
    if claim["kind"] != "compare" or not on_retained(claim):
        return None
    common = None
    for role in ("greater", "lesser"):
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
    t = max(common, key=step_key)
    changed = copy.deepcopy(claim)
    for role in ("greater", "lesser"):
        changed[role]["t"] = t
        changed[role].pop("tps", None)
    return changed


PER_UNIT_KINDS = ("compare", "threshold", "predictor")
# named after the step it takes where every claim it applies to takes the same one
# ("function step 4_100" in the default config)
FUNCTION_STEP = "other function step"
SPECIFICATIONS: tuple[Specification, ...] = (
    Specification("registered", "registered", "as in the config", lambda ev, claim: claim),
    Specification("line 0.25", "line", "invertible at R >= 0.25", with_line(0.25)),
    Specification("line 0.75", "line", "invertible at R >= 0.75", with_line(0.75)),
    Specification(
        "excess",
        "measure",
        "excess similarity E = c_tp - c_null",
        with_measure("excess", ("compare", "predictor")),
    ),
    Specification(
        "identified (whole pool)",
        "measure",
        "top-1 among every held-out image",
        with_measure("identified_all", PER_UNIT_KINDS, distance_by="identified_all"),
    ),
    Specification(
        "identified (within class)",
        "measure",
        "top-1 among the held-out images of its class",
        with_measure("identified_class", PER_UNIT_KINDS, distance_by="identified_class"),
    ),
    Specification(
        "SSIM",
        "measure",
        "SSIM over the other-image controls' (ssim_gain); SSIM for the norm distance",
        with_measure("ssim_gain", ("compare", "predictor"), image_measure="ssim"),
    ),
    Specification(
        "same-class null",
        "null",
        "retained similarity against the image's classmates",
        with_measure("retained_identity", PER_UNIT_KINDS),
    ),
    Specification("first tp only", "activation steps", "the earliest tp after t", with_tp(0)),
    Specification("last tp only", "activation steps", "the latest tp after t", with_tp(-1)),
    Specification(
        FUNCTION_STEP,
        "function step",
        "the latest other function step inverted for every seed",
        other_function_step,
    ),
)


def function_step_of(changed: dict) -> str:
    return changed["greater"]["t"] if "greater" in changed else ""


def claims_sensitivity(
    claims: list[dict],
    evidence: Evidence,
    specifications: tuple[Specification, ...] = SPECIFICATIONS,
) -> pd.DataFrame:
    """One row per (primary claim, specification): its value, interval, p, Holm-adjusted p over
    the family and verdict under the specification (``applies`` false and verdict ``n/a`` where
    the specification does not apply), and whether the verdict differs from the registered
    one (``flips``)."""
    primary = [claim for claim in claims if claim.get("primary", True)]
    records = []
    for spec in specifications:
        changed = [spec.change(evidence, claim) for claim in primary]
        family = [
            new if new is not None else old for new, old in zip(changed, primary, strict=True)
        ]
        result, _ = evaluate_on(evidence, family, expand=False)
        result = result[result["family"] == "primary"].reset_index(drop=True)
        for order, (claim, new, row) in enumerate(
            zip(primary, changed, result.itertuples(), strict=True)
        ):
            applies = new is not None
            choice = spec.choice
            if applies and spec.dimension == "function step":
                choice = f"t = {function_step_of(new)}"
            records.append(
                {
                    "claim": claim["claim"],
                    "order": order,
                    "specification": spec.name,
                    "dimension": spec.dimension,
                    "choice": choice,
                    "applies": applies,
                    "measure": row.measure if applies else "",
                    "value": row.value if applies else np.nan,
                    "low": row.low if applies else np.nan,
                    "high": row.high if applies else np.nan,
                    "p_value": row.p_value if applies else np.nan,
                    "p_adjusted": row.p_adjusted if applies else np.nan,
                    "verdict": row.verdict if applies else "n/a",
                    "reason": row.reason if applies else "",
                    "n_seeds": row.n_seeds if applies else 0,
                }
            )
    frame = pd.DataFrame(records, columns=[c for c in COLUMNS if c not in DERIVED])
    steps = frame.loc[(frame["specification"] == FUNCTION_STEP) & frame["applies"], "choice"]
    if steps.nunique() == 1:
        name = f"function step {steps.iloc[0].removeprefix('t = ')}"
        frame.loc[frame["specification"] == FUNCTION_STEP, "specification"] = name
    registered = frame[frame["specification"] == specifications[0].name]
    frame["registered_verdict"] = frame["claim"].map(registered.set_index("claim")["verdict"])
    frame["flips"] = frame["applies"] & (frame["verdict"] != frame["registered_verdict"])
    return frame[COLUMNS]


def robustness(frame: pd.DataFrame) -> pd.DataFrame:
    """Per claim: its registered verdict, how many specifications apply, and which flip it."""
    rows = []
    for claim, group in frame.sort_values("order", kind="stable").groupby("claim", sort=False):
        flipped = group[group["flips"]]
        rows.append(
            {
                "claim": claim,
                "registered_verdict": group["registered_verdict"].iloc[0],
                "alternatives": int(group["applies"].sum()) - 1,
                "holds": flipped.empty,
                "flipped_by": "; ".join(
                    f"{r.specification} ({r.verdict})" for r in flipped.itertuples()
                ),
            }
        )
    return pd.DataFrame(rows)


def write_sensitivity(
    claims: list[dict], table: str, distances: list[str], similarity: list[str], output: str
) -> pd.DataFrame:
    """The specification curve of ``claims`` on the run's tables, written to ``output``; returns
    :func:`robustness` (the log prints it)."""
    evidence = Evidence(pd.read_parquet(table), read_tables(distances), read_tables(similarity))
    frame = claims_sensitivity(claims, evidence)
    with atomic_path(output) as tmp:
        frame.to_parquet(tmp, index=False)
    return robustness(frame)
