"""``predictor`` (Section 4, across networks): a candidate (a column of
:mod:`invertibility.analysis.predictors`, e.g. ``norm_distance``, the mean norm distance of the
held-out pool's representations between ``t`` and ``tp``) does not predict invertibility.

The units are every inverted (model, seed, layer, t, tp > t) whose control passes the gate
(:mod:`.pooled`). Steps are not comparable across models (71 against 282 iterations per epoch),
so ``p`` is partialled out *within* each (model, layer): the ranks of the predictor, of the
unit's measure and of ``p`` are taken inside the stratum, over its seeds, and the first two are
residualized on the third there. Per seed number (seed k of every model: one replicate of
independent trainings), the Pearson correlation of the two residuals over the seed's units; then
the equivalence test over the seeds, its bounds shrunk by the measure's split-half reliability
(:mod:`.equivalence`): each unit's measure computed from half of its images and from the other
half, over the same units in both halves (those the full data chose, with a value in each
half), residualized the same way, correlated over the seed's units, and stepped up by
Spearman-Brown (``2r / (1 + r)``). The pooled, run-bootstrapped correlations of the predictors
table are in the detail."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..predictors import UNIT_KEYS, correlation, predictor_units
from ..stats import ALPHA
from .alternatives import with_side_measure
from .equivalence import bounds, reliable_equivalence
from .evidence import DEFAULT_MEASURE, Evidence, gate_column
from .kind import Kind, Row
from .pooled import gate_rows

STRATUM = ["model", "layer"]


def residuals(units: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Each column's ranks inside its (model, layer) stratum residualized on the rank of ``p``
    there (least squares with an intercept); NaN where the stratum has too few units, or where
    the column is constant in it (no rank information: its residuals of 0 would pull every
    correlation toward 0, "no prediction")."""
    out = pd.DataFrame(index=units.index, columns=columns, dtype=float)
    for _, stratum in units.groupby(STRATUM):
        if len(stratum) < 3:
            continue
        z = rankdata(stratum["p"].to_numpy(float))
        design = np.column_stack([np.ones(len(z)), z])
        for column in columns:
            values = stratum[column].to_numpy(float)
            keep = np.isfinite(values)
            if keep.sum() < 3 or np.ptp(values[keep]) == 0:
                continue
            ranks = rankdata(values[keep])
            coef = np.linalg.lstsq(design[keep], ranks, rcond=None)[0]
            out.loc[stratum.index[keep], column] = ranks - design[keep] @ coef
    return out


def per_seed_correlation(units: pd.DataFrame, first: str, second: str) -> pd.Series:
    """Per seed, Pearson's r of two residual columns over the seed's units."""
    found = {}
    for seed, rows in units.groupby("seed"):
        pair = rows[[first, second]].dropna()
        if len(pair) >= 4 and pair.std().min() > 1e-12:
            found[seed] = float(np.corrcoef(pair[first], pair[second])[0, 1])
    return pd.Series(found, dtype=float)


def halves(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table's rows split by image: alternate images (by id) within each (model, seed)."""
    order = table.groupby(["model", "seed"])["image_id"].rank(method="dense").astype(int)
    return table[order % 2 == 0], table[order % 2 == 1]


def split_half_reliability(used: pd.DataFrame) -> pd.Series:
    """Per seed, the Spearman-Brown stepped-up correlation of the two halves' residualized
    measure over the same units: those of ``used`` (chosen on the full data) with a value in
    both halves, so that neither half's residuals come from units the other lacks."""
    both = used.dropna(subset=["half_a", "half_b"]).reset_index(drop=True)
    if both.empty:
        return pd.Series(dtype=float)
    found = residuals(both, ["half_a", "half_b"]).join(both[["seed"]])
    split = per_seed_correlation(found, "half_a", "half_b")
    return 2 * split / (1 + split)


def evaluate(evidence: Evidence, claim: dict, alpha: float = ALPHA) -> list[Row]:
    level, name = claim.get("level", 0.3), claim["predictor"]
    measure = claim.get("measure", DEFAULT_MEASURE)
    table = evidence.table.assign(photo=False)
    units = predictor_units(table, evidence.similarity, measure)
    units, left_out = (
        gate_rows(evidence, units, gate_column(measure)) if len(units) else (units, [])
    )
    used = units[np.isfinite(units[name].to_numpy(float))].reset_index(drop=True)
    if len(used):
        for column, half in zip(("half_a", "half_b"), halves(table), strict=True):
            measured = predictor_units(half, evidence.similarity, measure)
            used = used.merge(
                measured[[*UNIT_KEYS, "invertibility"]].rename(columns={"invertibility": column}),
                on=UNIT_KEYS,
                how="left",
            )
        found = residuals(used, [name, "invertibility"])
        used = used.join(found.add_suffix("_residual"))
        effects = per_seed_correlation(used, f"{name}_residual", "invertibility_residual")
        reliability = split_half_reliability(used)
    else:
        effects = reliability = pd.Series(dtype=float)
    found = reliable_equivalence(effects, reliability, level, alpha)
    pooled = correlation(units, name) if len(units) else {}
    detail = (
        f"|rho| < {level} counts as no prediction; {len(used)} units from "
        f"{used.groupby(['model', 'seed']).ngroups} training runs of {used['model'].nunique()} "
        f"models; {found.text}; pooled over steps (not partial, runs resampled): rho "
        f"{pooled['rho']:.2f} [{pooled['low']:.2f}, {pooled['high']:.2f}]"
        if pooled and len(used)
        else "no units"
    )
    return [
        Row(
            claim=claim["claim"],
            measure=f"correlation of {name} and {measure}, ranks residualized on p within "
            f"(model, layer), per seed number",
            test=found.test,
            p=found.p,
            p_reverse=found.p_reverse,
            parts=found.parts,
            effects=effects.dropna().to_dict(),
            n_images=int(used["n_images"].min()) if len(used) else 0,
            detail=detail + "".join(f"; {note}" for note in left_out),
            notes=list(found.notes),
            line=found.line,
            margin=found.margin,
        )
    ]


KIND = Kind(
    name="predictor",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=("predictor",),
    takes=("level",),
    line=bounds,
    alternatives={"measure": with_side_measure(), "null": with_side_measure()},
)
