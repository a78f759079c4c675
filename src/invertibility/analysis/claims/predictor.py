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
half, residualized the same way, correlated over the seed's units, and stepped up by
Spearman-Brown (``2r / (1 + r)``). The pooled, run-bootstrapped correlations of the predictors
table are in the detail."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..predictors import UNIT_KEYS, correlation, predictor_units
from .equivalence import bounds, reliable_equivalence
from .evidence import DEFAULT_MEASURE, Evidence, gate_column
from .kind import Kind, Row, seed_row
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


def evaluate(evidence: Evidence, claim: dict) -> list[Row]:
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
        found = residuals(used, [name, "invertibility", "half_a", "half_b"])
        used = used.join(found.add_suffix("_residual"))
        effects = per_seed_correlation(used, f"{name}_residual", "invertibility_residual")
        split = per_seed_correlation(used, "half_a_residual", "half_b_residual")
        reliability = 2 * split / (1 + split)
    else:
        effects = reliability = pd.Series(dtype=float)
    found = reliable_equivalence(effects, reliability, level)
    pooled = correlation(units, name) if len(units) else {}
    detail = (
        f"|rho| < {level} counts as no prediction; {len(used)} units from "
        f"{used.groupby(['model', 'seed']).ngroups} training runs of {used['model'].nunique()} "
        f"models; {found['text']}; pooled over steps (not partial, runs resampled): rho "
        f"{pooled['rho']:.2f} [{pooled['low']:.2f}, {pooled['high']:.2f}]"
        if pooled and len(used)
        else "no units"
    )
    row = seed_row(
        claim["claim"],
        f"correlation of {name} and {measure}, ranks residualized on p within (model, layer), "
        f"per seed number",
        effects,
        found["p"],
        found["p_reverse"],
        n_images=int(used["n_images"].min()) if len(used) else 0,
        decide=found["decide"],
        detail=detail + "".join(f"; {note}" for note in left_out),
    )
    row.notes += found["notes"]
    row.line = found["line"]
    return [row]


KIND = Kind(
    name="predictor",
    evaluate=evaluate,
    null=lambda claim: 0.0,
    needs=("predictor",),
    line=bounds,
)
