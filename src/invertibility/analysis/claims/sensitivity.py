"""How much each pre-registered claim's verdict owes to its definitions: a specification curve.

Each :data:`SPECIFICATIONS` entry changes **one** choice of the registered analysis (the line
that counts as invertible, the measure, the null, the activation or function steps) and every
family of the claims it is given (the paper's, an experiment's; ``primary: false`` claims are
left out) is evaluated again under it, Holm within each family over the same claims as the
claims table: the changed form of every claim the choice applies to, the registered form of the
others. A kind that takes no alternative (``alternatives={}``, e.g. an experiment's
``arm_contrast``) has its registered verdict and ``n/a`` beside it. A claim the choice does
not apply to gets no verdict under it (``applies`` false, verdict ``n/a``), not a copy of its
registered one. Where a specification applies is each kind's own declaration
(``Kind.alternatives``, by dimension; :mod:`.alternatives`): this module never names a kind, and
refuses one that declares nothing. The set and where each applies were fixed before the
verdict-grade run (``docs/analysis_plan.md``); :func:`robustness` says, per claim, whether its
verdict holds across the alternatives and which specifications flip it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...core.atomic import atomic_path
from ...core.errors import ConfigError
from . import EXPLORATORY, KINDS, evaluate_on, read_tables
from .evidence import Evidence

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
    "gated",
    "reason",
]

DERIVED = ("registered_verdict", "flips")  # computed from the other columns
DIMENSIONS = ("registered", "line", "measure", "null", "activation steps", "function step")


@dataclass(frozen=True)
class Specification:
    """One choice of the registered analysis changed. A kind takes it through its declared
    alternative for ``dimension`` (:mod:`.alternatives`), which reads the fields it needs:
    ``line`` (a threshold's level), ``measure`` (a side's measure), ``identification`` (what
    counts a distance pair as invertible), ``image_measure`` (what the norm distance is
    correlated with), ``tp`` (0: the earliest activation step, -1: the latest),
    ``function_step`` (the latest other function step)."""

    name: str
    dimension: str
    choice: str  # the choice it makes, in words
    line: float | None = None
    measure: str | None = None
    identification: str | None = None
    image_measure: str | None = None
    tp: int | None = None
    function_step: bool = False


def change(spec: Specification, evidence: Evidence, claim: dict) -> dict | None:
    """The claim under ``spec`` as its kind declares it, or None where it does not apply; a
    kind that declares no alternatives is refused (it would read "n/a" everywhere)."""
    kind = KINDS[claim["kind"]]
    if kind.alternatives is None:
        raise ConfigError(
            f"claim {claim['claim']!r}: kind {kind.name!r} declares no specification-curve "
            f"alternatives (Kind.alternatives); declare the ones it takes, or {{}} for none"
        )
    if spec.dimension == "registered":
        return claim
    alternative = kind.alternatives.get(spec.dimension)
    return alternative(evidence, claim, spec) if alternative else None


# named after the step it takes where every claim it applies to takes the same one
# ("function step 4_100" in the default config)
FUNCTION_STEP = "other function step"
SPECIFICATIONS: tuple[Specification, ...] = (
    Specification("registered", "registered", "as in the config"),
    Specification("line 0.25", "line", "invertible at R >= 0.25", line=0.25),
    Specification("line 0.75", "line", "invertible at R >= 0.75", line=0.75),
    Specification("excess", "measure", "excess similarity E = c_tp - c_null", measure="excess"),
    Specification(
        "identified (whole pool)",
        "measure",
        "top-1 among every held-out image",
        measure="identified_all",
        identification="identified_all",
    ),
    Specification(
        "identified (within class)",
        "measure",
        "top-1 among the held-out images of its class",
        measure="identified_class",
        identification="identified_class",
    ),
    Specification(
        "SSIM",
        "measure",
        "SSIM over the other-image controls' (ssim_gain); SSIM for the norm distance",
        measure="ssim_gain",
        image_measure="ssim",
    ),
    Specification(
        "same-class null",
        "null",
        "retained similarity against the image's classmates",
        measure="retained_identity",
    ),
    Specification("first tp only", "activation steps", "the earliest tp after t", tp=0),
    Specification("last tp only", "activation steps", "the latest tp after t", tp=-1),
    Specification(
        FUNCTION_STEP,
        "function step",
        "the latest other function step inverted for every seed",
        function_step=True,
    ),
)


def function_step_of(changed: dict) -> str:
    """The function step a changed claim takes: its first side's."""
    roles = KINDS[changed["kind"]].roles
    return changed[roles[0]]["t"] if roles else ""


def claims_sensitivity(
    claims: list[dict],
    evidence: Evidence,
    specifications: tuple[Specification, ...] = SPECIFICATIONS,
) -> pd.DataFrame:
    """One row per (claim of a family, specification): its value, interval, p, Holm-adjusted p
    within its family and verdict under the specification (``applies`` false and verdict
    ``n/a`` where the specification does not apply), and whether the verdict differs from the
    registered one (``flips``)."""
    primary = [claim for claim in claims if claim.get("primary", True)]
    records = []
    for spec in specifications:
        changed = [change(spec, evidence, claim) for claim in primary]
        family = [
            new if new is not None else old for new, old in zip(changed, primary, strict=True)
        ]
        result, _ = evaluate_on(evidence, family, expand=False)
        # the claims' own rows, in order (a pooled kind adds its exploratory entries)
        result = result[result["family"] != EXPLORATORY].reset_index(drop=True)
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
                    "gated": bool(row.gated) if applies else False,
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
    claims: list[dict],
    table: str,
    distances: list[str],
    similarity: list[str],
    output: str,
    experiments: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The specification curve of ``claims`` on the run's tables (``experiments``: an experiment
    family's tables by name, as the claims rule reads them), written to ``output``; returns
    :func:`robustness` (the log prints it)."""
    evidence = Evidence(
        pd.read_parquet(table),
        read_tables(distances),
        read_tables(similarity),
        {name: pd.read_parquet(path) for name, path in (experiments or {}).items()},
    )
    frame = claims_sensitivity(claims, evidence)
    with atomic_path(output) as tmp:
        frame.to_parquet(tmp, index=False)
    return robustness(frame)
