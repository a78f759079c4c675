"""The paper's claims as measurements with intervals, p-values and verdicts, over training seeds.

A claim is a config entry (``analyses.claims``) of a *kind*, one module each (see
:data:`KINDS`). Every kind reduces its data to one effect per training seed and tests it with
Student's t over the seeds (Welch across architectures; :mod:`invertibility.analysis.stats`);
images give
each seed's precision, never replication. The p-value is one-sided, in the claimed direction.

*Primary and exploratory.* The config's claims (``primary: true``, the default) are the primary
family, one row each: their p-values are Holm-adjusted over the family, and a verdict uses the
adjusted one. Per-(model, layer) expansions and claims with ``primary: false`` are exploratory
and uncorrected.

*Verdict.* "supported" when the (adjusted) p is below ``ALPHA`` = 0.025 (the 95% interval clears
the claim's line), "contradicted" when the p of the reverse direction is, else "inconclusive".
The data can void a verdict, and then it is "inconclusive" whatever its p, with the reason:
a side's ``tp = t`` control is not above the other-image null (the inversion fails before any
iteration); a side that claims a *loss* (``lesser``, ``below``) has a cross-seed floor that
leaves no room for one; more than ``MAX_DIVERGED`` of a side's inversions diverged; fewer than
``MIN_SEEDS`` seeds or ``MIN_IMAGES`` distinct images. A side that claims invertibility *holds*
is tested against the null, with its cross-seed floor reported beside it. Each row reports its
seeds, distinct images, the sides' held-out accuracy at ``t``, and, where inconclusive, the seed
count at which the interval would clear its line at the observed spread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...core.atomic import atomic_path
from ..stats import ALPHA, holm
from . import compare, distance, norm_predicts, predictor, threshold, trend
from .evidence import MIN_IMAGES, MIN_SEEDS, Evidence, accuracy_text
from .kind import Kind, Row

KINDS: dict[str, Kind] = {
    module.KIND.name: module.KIND
    for module in (compare, threshold, distance, norm_predicts, predictor, trend)
}
CLAIM_COLUMNS = [
    "claim",
    "kind",
    "family",
    "measure",
    "value",
    "low",
    "high",
    "null",
    "line",
    "p_value",
    "p_adjusted",
    "verdict",
    "reason",
    "n_seeds",
    "n_images",
    "seeds_to_decide",
    "accuracy_t",
    "same_sign_every_seed",
    "detail",
]


def same_sign(effects: dict, null: float) -> bool:
    signs = {np.sign(e - null) for e in effects.values() if np.isfinite(e)}
    return len(signs) == 1 and 0.0 not in signs


def verdict(p: float, p_reverse: float, notes: list[str], decide: float, line: str):
    if notes:
        return "inconclusive", "; ".join(notes)
    if p < ALPHA:
        return "supported", f"p {p:.3g} < {ALPHA:g}"
    if p_reverse < ALPHA:
        return "contradicted", f"p against the claim {p_reverse:.3g} < {ALPHA:g}"
    if np.isnan(p):
        return "inconclusive", "no effect could be computed"
    more = (
        f"; at the observed spread about {decide:.0f} seeds would clear it"
        if np.isfinite(decide)
        else ""
    )
    return "inconclusive", f"p {p:.3g} >= {ALPHA:g}: the interval reaches {line}{more}"


def evaluate_claims(
    claims: list[dict],
    table: pd.DataFrame,
    distances: pd.DataFrame | None = None,
    similarity: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims table and the per-seed effects behind it (the forest plot's dots);
    ``similarity``: the diagnostics jobs' tables (for ``predictor`` claims)."""
    evidence = Evidence(table, distances, similarity)
    evaluated: list[tuple[dict, Row]] = []
    for claim in claims:
        kind = KINDS[claim["kind"]]
        for row in kind.evaluate(evidence, claim):
            for role, side in row.sides:
                row.notes += evidence.gates(side, loss=role in kind.loss_roles)
            if row.n_seeds < MIN_SEEDS or row.n_images < MIN_IMAGES:
                row.notes.append(
                    f"rests on {row.n_seeds} seeds and {row.n_images} distinct images (a "
                    f"verdict needs {MIN_SEEDS} seeds and {MIN_IMAGES} images)"
                )
            row.notes = list(dict.fromkeys(row.notes))
            evaluated.append((claim, row))
    primary = [
        i
        for i, (claim, row) in enumerate(evaluated)
        if claim.get("primary", True) and not row.expansion
    ]
    adjusted = np.array([row.p for _, row in evaluated], dtype=float)
    adjusted_reverse = np.array([row.p_reverse for _, row in evaluated], dtype=float)
    adjusted[primary] = holm(adjusted[primary])
    adjusted_reverse[primary] = holm(adjusted_reverse[primary])
    records, seeds = [], []
    for i, (claim, row) in enumerate(evaluated):
        kind = KINDS[claim["kind"]]
        null = kind.null(claim)
        family = "primary" if i in primary else "exploratory"
        line = kind.line_of(claim)
        decided, reason = verdict(
            adjusted[i], adjusted_reverse[i], row.notes, row.seeds_to_decide, line
        )
        records.append(
            {
                "claim": row.claim,
                "kind": claim["kind"],
                "family": family,
                "measure": row.measure,
                "value": row.value,
                "low": row.low,
                "high": row.high,
                "null": null,
                "line": line,
                "p_value": row.p,
                "p_adjusted": adjusted[i] if family == "primary" else np.nan,
                "verdict": decided,
                "reason": reason,
                "n_seeds": row.n_seeds,
                "n_images": row.n_images,
                "seeds_to_decide": row.seeds_to_decide,
                "accuracy_t": accuracy_text(evidence, row.sides),
                "same_sign_every_seed": same_sign(row.effects, null),
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
    table: str,
    distances: list[str],
    similarity: list[str],
    output: str,
    by_seed: str,
) -> None:
    """Evaluate ``claims`` on the invertibility, norm-distance and similarity tables: the claims
    CSV and the per-seed effects (parquet)."""
    result, seeds = evaluate_claims(
        claims, pd.read_parquet(table), read_tables(distances), read_tables(similarity)
    )
    with atomic_path(output) as tmp:
        result.to_csv(tmp, index=False, float_format="%.4g")
    with atomic_path(by_seed) as tmp:
        seeds.to_parquet(tmp, index=False)
