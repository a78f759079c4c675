"""The paper's claims as measurements with intervals, p-values and verdicts, over training seeds.

A claim is a config entry (``analyses.claims``) of a *kind*, one module each (see
:data:`KINDS`). Every kind reduces its data to one effect per training seed and tests it over
the seeds (Student's t, Welch across architectures, a permutation test for a trend;
:mod:`invertibility.analysis.stats`); images give each seed's precision, never replication. The
p-value is one-sided, in the claimed direction; where a claim needs several things at once (a
threshold's two sides; a limited measure and its raw ratio) it is the largest of their p-values
(an intersection-union test).

*Families and exploratory claims.* The config's claims (``primary: true``, the default) are
pre-registered, one row each, in the family their ``family`` key names: ``primary`` (the
default: the paper's claims) or an experiment's (``augmentation``, set by the planner for the
claims an experiment lists). Their p-values are Holm-adjusted within their own family, and a
verdict uses the adjusted one; the claims table's ``family`` column names it. Per-(model, layer)
expansions (of the distance claims, and of every side that pools layers) and claims with
``primary: false`` are exploratory (``family`` reads ``exploratory``), uncorrected, and say so in
their verdict ("exploratory: supported (unadjusted)").

*Verdict.* "supported" when the (adjusted) p is below ``ALPHA`` = 0.025, "contradicted" when the
p of the reverse direction is, else "inconclusive". The interval shown is at the level the claim
is judged at: 95% for an exploratory claim; for a family's claim, ``1 - 2 ALPHA p / p_adjusted``
(Holm's own level for it), so that it clears the line exactly when the adjusted p clears
``ALPHA``; ``seeds_to_decide`` is computed at the same level. The data can void a verdict, and
then it is "inconclusive" whatever its p, with the reason: fewer than ``MIN_SEEDS`` seeds of a
side pass its control gate at every layer (:mod:`.evidence`); a side that claims a *loss*
(``lesser``, ``below``) has a cross-seed floor that leaves no room for one; more than
``MAX_DIVERGED`` of a side's inversions diverged; fewer than ``MIN_SEEDS`` seeds or
``MIN_IMAGES`` distinct images; for a "does not predict" claim, a measure too unreliable to tell
no prediction from no measurement. Each row reports its seeds, distinct images, the sides'
held-out accuracy at ``t``, and, where inconclusive, the seed count at which the interval would
clear its line at the observed spread.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ...core.atomic import atomic_path
from ..stats import ALPHA, holm
from . import arm_contrast, compare, distance, norm_predicts, predictor, threshold, trend
from .evidence import DEFAULT_MEASURE, MIN_IMAGES, MIN_SEEDS, Evidence, accuracy_text
from .kind import Kind, Note, Row

# the power the claims table's seeds_for_power plans a family's claim's seeds for, at Holm's
# strictest level in its family (tools/plan_seeds.py reads it)
PLANNED_POWER = 0.8
PRIMARY, EXPLORATORY = "primary", "exploratory"  # the paper's family; the unadjusted rows

KINDS: dict[str, Kind] = {
    module.KIND.name: module.KIND
    for module in (compare, threshold, distance, norm_predicts, predictor, trend, arm_contrast)
}
CLAIM_COLUMNS = [
    "claim",
    "kind",
    "family",
    "measure",
    "value",
    "low",
    "high",
    "level",
    "null",
    "line",
    "p_value",
    "p_adjusted",
    "verdict",
    "reason",
    "n_seeds",
    "n_images",
    "seeds_to_decide",
    "seeds_for_power",
    "why_inconclusive",
    "margin",
    "design",
    "seed_sd",
    "gated",
    "accuracy_t",
    "same_sign_every_seed",
    "parts",
    "sub_verdict",
    "post_hoc",
    "detail",
]


def same_sign(effects: dict, null: float) -> bool:
    signs = {np.sign(e - null) for e in effects.values() if np.isfinite(e)}
    return len(signs) == 1 and 0.0 not in signs


def judged_alpha(p: float, p_adjusted: float) -> float:
    """The one-sided level a claim is judged at: ``ALPHA`` for an exploratory claim; for a
    primary one, the level Holm's step-down tests it at, ``ALPHA * p / p_adjusted`` with the
    *uncapped* adjusted p (so that its p clears it exactly when its adjusted p clears
    ``ALPHA``): ``ALPHA / m`` for the smallest p of ``m``, and so on down the steps (the capped
    value, 1, would loosen the level of a p whose step multiplies it past 1)."""
    if not (np.isfinite(p) and np.isfinite(p_adjusted)) or p <= 0 or p_adjusted <= 0:
        return ALPHA
    return ALPHA * min(1.0, p / p_adjusted)


def interval_level(alpha: float, two_sided: bool) -> float:
    """The two-sided level of an interval that clears a line exactly when a one-sided test at
    ``alpha`` does (a two-sided claim's p is already doubled: ``1 - alpha``)."""
    return 1 - alpha if two_sided else 1 - 2 * alpha


def verdict(row: Row, p: float, p_reverse: float, primary: bool, alpha: float, line: str):
    """The verdict and its reason: the p-value, Holm's adjusted one for a primary claim, what it
    is compared with, and the interval at the level the claim is judged at."""
    tag = "" if primary else "exploratory: "
    level = interval_level(alpha, row.two_sided)
    if row.notes:
        return f"{tag}inconclusive", "; ".join(row.notes)
    if np.isnan(p):
        return f"{tag}inconclusive", "no effect could be computed"
    shown = f"p {row.p:.3g}" + (f", Holm-adjusted {p:.3g}" if primary else " (unadjusted)")
    interval = f"the {level:.1%} interval" + (
        f" (clipped to [{row.test.bounds[0]:g}, {row.test.bounds[1]:g}])"
        if row.test.clipped(level)
        else ""
    )
    if p < ALPHA:
        return (
            f"{tag}supported" + ("" if primary else " (unadjusted)"),
            f"{shown} < {ALPHA:g}: {interval} clears {line}"
            + (" and so does every part's" if len(row.parts) > 1 else ""),
        )
    if p_reverse < ALPHA:
        against = f"p against the claim {row.p_reverse:.3g}" + (
            f", Holm-adjusted {p_reverse:.3g}" if primary else " (unadjusted)"
        )
        return f"{tag}contradicted" + ("" if primary else " (unadjusted)"), f"{against} < {ALPHA:g}"
    weakest = max(
        (part for part in row.parts if part.p is not None),
        key=lambda part: part.p if np.isfinite(part.p) else np.inf,
        default=None,
    )
    part = f" (its weakest part: {weakest.name})" if len(row.parts) > 1 and weakest else ""
    seeds = row.seeds_to_decide(level)
    more = (
        f"; at the observed spread about {seeds:.0f} seeds would clear it at this level"
        if np.isfinite(seeds) and seeds > row.n_seeds
        else ""
    )
    return (
        f"{tag}inconclusive",
        f"{shown} >= {ALPHA:g}{part}: {interval} reaches {line}{more}",
    )


def why_inconclusive(decided: str, row: Row) -> str:
    """A few words on why a row is inconclusive (empty where it is decided): its first note's
    short form, no effect, or an interval that reaches its line."""
    if not decided.endswith("inconclusive"):
        return ""
    if row.notes:
        return getattr(row.notes[0], "short", "gated")
    return "no effect" if np.isnan(row.p) else "CI reaches the line"


def per_layer(claim: dict, kind: Kind) -> list[dict]:
    """Exploratory copies of a claim, one per layer of each side that pools layers (so the
    table says which layer carries or breaks it)."""
    copies = []
    for role in kind.roles:
        side = claim[role]
        if len(side["layers"]) < 2:
            continue
        for layer in side["layers"]:
            copies.append(
                {
                    **claim,
                    role: {**side, "layers": [layer]},
                    "claim": f"{claim['claim']} [{role}: {side['model']} {layer}]",
                    "primary": False,
                }
            )
    return copies


def family_of(claim: dict) -> str:
    """The family a pre-registered (``primary``) claim is adjusted in: its ``family`` key, by
    default the paper's."""
    return claim.get("family", PRIMARY)


def evaluate_claims(
    claims: list[dict],
    table: pd.DataFrame,
    distances: pd.DataFrame | None = None,
    similarity: pd.DataFrame | None = None,
    experiments: dict[str, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims table and the per-seed effects behind it (the forest plot's dots);
    ``similarity``: the diagnostics jobs' tables (for ``predictor`` claims); ``experiments``: an
    experiment family's tables by name (``augmentation``, ``augmentation_windows``: for
    ``arm_contrast`` claims). ``table`` may be empty (a config that inverts nothing)."""
    return evaluate_on(Evidence(table, distances, similarity, experiments), claims)


def evaluate_on(
    evidence: Evidence, claims: list[dict], expand: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`evaluate_claims` on evidence already read (its caches shared between calls);
    ``expand=False`` leaves out the exploratory per-layer rows (every family is the same)."""
    family_size = Counter(family_of(claim) for claim in claims if claim.get("primary", True))
    evaluated: list[tuple[dict, Row]] = []
    for config_claim in claims:
        kind = KINDS[config_claim["kind"]]
        for claim in [config_claim, *(per_layer(config_claim, kind) if expand else [])]:
            measure = claim.get("measure", DEFAULT_MEASURE)
            # the level of a claim's own auxiliary bounds (a reliability's): fixed by its
            # family's size, not by the Holm step its p lands on
            is_primary = claim is config_claim and claim.get("primary", True)
            alpha = ALPHA / family_size[family_of(claim)] if is_primary else ALPHA
            for row in kind.evaluate(evidence, claim, alpha):
                row.expansion = row.expansion or claim is not config_claim
                for role, side in row.sides:
                    row.notes += evidence.gates(side, role in kind.loss_roles, measure)
                imaged = row.n_images is not None  # None: not measured on inverted images
                if row.n_seeds < MIN_SEEDS or (imaged and row.n_images < MIN_IMAGES):
                    row.notes.append(
                        Note(
                            f"rests on {row.n_seeds} seeds and {row.n_images} distinct images "
                            f"(a verdict needs {MIN_SEEDS} seeds and {MIN_IMAGES} images)",
                            "too few seeds/images",
                        )
                        if imaged
                        else Note(
                            f"rests on {row.n_seeds} seeds (a verdict needs {MIN_SEEDS})",
                            "too few seeds",
                        )
                    )
                row.notes = list(dict.fromkeys(row.notes))
                evaluated.append((claim, row))
    family: dict[int, str] = {  # the rows in a family (the others are exploratory)
        i: family_of(claim)
        for i, (claim, row) in enumerate(evaluated)
        if claim.get("primary", True) and not row.expansion
    }
    members: dict[str, list[int]] = {}
    for i, name in family.items():
        members.setdefault(name, []).append(i)
    adjusted = np.array([row.p for _, row in evaluated], dtype=float)
    adjusted_reverse = np.array([row.p_reverse for _, row in evaluated], dtype=float)
    uncapped, uncapped_reverse = adjusted.copy(), adjusted_reverse.copy()
    for rows in members.values():  # Holm within each family
        uncapped[rows] = holm(adjusted[rows], cap=False)
        uncapped_reverse[rows] = holm(adjusted_reverse[rows], cap=False)
        adjusted[rows] = np.minimum(uncapped[rows], 1.0)
        adjusted_reverse[rows] = np.minimum(uncapped_reverse[rows], 1.0)
    records, seeds = [], []
    for i, (claim, row) in enumerate(evaluated):
        kind = KINDS[claim["kind"]]
        null = kind.null(claim)
        is_primary = i in family
        line = row.line or kind.line_of(claim)
        contradicted = not row.notes and adjusted_reverse[i] < ALPHA and not adjusted[i] < ALPHA
        alpha = (
            judged_alpha(
                *((row.p_reverse, uncapped_reverse[i]) if contradicted else (row.p, uncapped[i]))
            )
            if is_primary
            else ALPHA
        )
        decided, reason = verdict(row, adjusted[i], adjusted_reverse[i], is_primary, alpha, line)
        level = interval_level(alpha, row.two_sided)
        low, high = row.interval(level)
        records.append(
            {
                "claim": row.claim,
                "kind": claim["kind"],
                "family": family[i] if is_primary else EXPLORATORY,
                "measure": row.measure,
                "value": row.value,
                "low": low,
                "high": high,
                "level": level,
                "null": null,
                "line": line,
                "p_value": row.p,
                "p_adjusted": adjusted[i] if is_primary else np.nan,
                "verdict": decided,
                "reason": reason,
                "n_seeds": row.n_seeds,
                "n_images": row.n_images,
                "seeds_to_decide": row.seeds_to_decide(level),
                # planned for: at Holm's strictest level in a family's claim's own family, 80%
                # power
                "seeds_for_power": row.seeds_to_decide(
                    interval_level(
                        ALPHA / len(members[family[i]]) if is_primary else ALPHA, row.two_sided
                    ),
                    PLANNED_POWER,
                ),
                "why_inconclusive": why_inconclusive(decided, row),
                "margin": row.margin,
                "design": row.test.design,
                "seed_sd": row.test.seed_sd,
                "gated": bool(row.notes),
                "accuracy_t": accuracy_text(evidence, row.sides),
                "same_sign_every_seed": same_sign(row.effects, null),
                "parts": row.readings(level),
                "sub_verdict": row.sub_verdict,
                "post_hoc": row.post_hoc,
                "detail": row.detail,
            }
        )
        seeds += [
            {"claim": row.claim, "seed": int(seed), "effect": float(effect)}
            for seed, effect in row.effects.items()
        ]
    return (
        pd.DataFrame(records, columns=CLAIM_COLUMNS),
        pd.DataFrame(seeds, columns=["claim", "seed", "effect"]),
    )


def read_tables(paths: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(path) for path in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_claims(
    claims: list[dict],
    table: str | None,
    distances: list[str],
    similarity: list[str],
    output: str,
    by_seed: str,
    experiments: dict[str, str] | None = None,
) -> None:
    """Evaluate ``claims`` on the invertibility (None: a config that inverts nothing),
    norm-distance and similarity tables and the experiment tables (``experiments``: name ->
    parquet path, e.g. ``{"augmentation": ..., "augmentation_windows": ...}``): the claims CSV
    and the per-seed effects (parquet)."""
    result, seeds = evaluate_claims(
        claims,
        pd.read_parquet(table) if table else pd.DataFrame(),
        read_tables(distances),
        read_tables(similarity),
        {name: pd.read_parquet(path) for name, path in (experiments or {}).items()},
    )
    with atomic_path(output) as tmp:
        result.to_csv(tmp, index=False, float_format="%.4g")
    with atomic_path(by_seed) as tmp:
        seeds.to_parquet(tmp, index=False)
