"""The paper's claims as measurements with intervals and verdicts computed from this run.

A claim is a config entry (``analyses.claims``) of one of three kinds:

* ``compare``: side ``greater`` has a larger ``measure`` than side ``lesser``. A side is
  ``{model, layers, t, tps}``; its value per image is the mean of ``measure`` over its layers
  and activation steps (default: every tested ``tp`` after ``t``). The value is the mean paired
  difference over images both sides inverted, with a bootstrap 95% CI. Verdict: supported if
  the CI lies above 0, contradicted if below 0, else inconclusive.
* ``threshold``: side ``above`` has ``measure`` above ``level`` and side ``below`` has it below
  (e.g. the fraction of invertible images above / below one half). Supported if both CIs lie on
  their side of ``level``, contradicted if either CI lies wholly on the wrong side.
* ``distance``: among (image, tp) pairs where the image is still invertible, the fraction whose
  same-image distance ``||r_l^t(x_i) - r_l^tp(x_i)||`` exceeds the nearest other-class distance
  ``min_j ||r_l^t(x_i) - r_l^t(x_j)||``. Supported if the CI lies above ``level`` (0.5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .stats import bootstrap_ci
from .vocabulary import OTHER_IMAGE

CLAIM_COLUMNS = ["claim", "kind", "measure", "value", "low", "high", "verdict", "detail"]


def side_values(table: pd.DataFrame, side: dict, measure: str) -> pd.Series:
    """Per image, the mean of ``measure`` over the side's layers and activation steps."""
    rows = table[
        (table["model"] == side["model"])
        & table["layer"].isin(side["layers"])
        & (table["t"] == side["t"])
        & (table["tp"] != OTHER_IMAGE)
    ]
    rows = rows[rows["tp"].isin(side["tps"])] if side.get("tps") else rows[rows["p"] > 0]
    if rows.empty:
        raise ValueError(f"no inversions for claim side {side}")
    return rows.assign(v=rows[measure].astype("float64")).groupby("image_id")["v"].mean()


def describe(side: dict) -> str:
    tps = ",".join(side.get("tps") or ["all tp>t"])
    return f"{side['model']}:{'+'.join(side['layers'])} t={side['t']} tp={tps}"


def verdict_above(low: float, high: float, level: float) -> str:
    if np.isnan(low):
        return "inconclusive"
    return "supported" if low > level else "contradicted" if high < level else "inconclusive"


def compare(table: pd.DataFrame, claim: dict) -> dict:
    measure = claim.get("measure", "score")
    greater = side_values(table, claim["greater"], measure)
    lesser = side_values(table, claim["lesser"], measure)
    paired = pd.concat([greater, lesser], axis=1, join="inner").dropna().to_numpy().T
    value, low, high = bootstrap_ci(
        paired, statistic=lambda v: (v[..., 0, :] - v[..., 1, :]).mean(axis=-1)
    )
    return {
        "measure": f"mean paired difference in {measure}",
        "value": value,
        "low": low,
        "high": high,
        "verdict": verdict_above(low, high, 0.0),
        "detail": f"{describe(claim['greater'])} minus {describe(claim['lesser'])}; "
        f"{paired.shape[1]} images",
    }


def threshold(table: pd.DataFrame, claim: dict) -> dict:
    measure, level = claim.get("measure", "invertible"), claim.get("level", 0.5)
    above = bootstrap_ci(side_values(table, claim["above"], measure).to_numpy())
    below = bootstrap_ci(side_values(table, claim["below"], measure).to_numpy())
    if np.isnan(above[1]) or np.isnan(below[1]):
        verdict = "inconclusive"
    elif above[1] > level and below[2] < level:
        verdict = "supported"
    elif above[2] < level or below[1] > level:
        verdict = "contradicted"
    else:
        verdict = "inconclusive"
    return {
        "measure": f"{measure} (above side; below side: "
        f"{below[0]:.3f} [{below[1]:.3f}, {below[2]:.3f}])",
        "value": above[0],
        "low": above[1],
        "high": above[2],
        "verdict": verdict,
        "detail": f"above {level}: {describe(claim['above'])}; "
        f"below {level}: {describe(claim['below'])}",
    }


def distance(table: pd.DataFrame, distances: pd.DataFrame, claim: dict) -> dict:
    level = claim.get("level", 0.5)
    other = distances[(distances["kind"] == "other_class") & distances["nearest"].fillna(False)]
    nearest = other.set_index(["model", "layer", "t", "image_id"])["distance"]
    same = distances[(distances["kind"] == "same_image") & (distances["tp"] != distances["t"])]
    same = same.join(nearest.rename("nearest_other"), on=["model", "layer", "t", "image_id"])
    invertible = table[table["invertible"].fillna(False)][["model", "layer", "t", "tp", "image_id"]]
    pairs = same.merge(invertible, on=["model", "layer", "t", "tp", "image_id"])
    pairs = pairs.dropna(subset=["nearest_other"])
    larger = (pairs["distance"] > pairs["nearest_other"]).to_numpy(dtype=float)
    value, low, high = bootstrap_ci(larger)
    return {
        "measure": "fraction of invertible (image, tp) whose same-image distance exceeds "
        "the nearest other-class distance",
        "value": value,
        "low": low,
        "high": high,
        "verdict": verdict_above(low, high, level),
        "detail": f"{len(pairs)} invertible (image, tp) pairs over "
        f"{pairs[['model', 'layer']].drop_duplicates().shape[0]} (model, layer)",
    }


def evaluate_claims(
    claims: list[dict], table: pd.DataFrame, distances: pd.DataFrame
) -> pd.DataFrame:
    records = []
    for claim in claims:
        kind = claim["kind"]
        try:
            if kind == "compare":
                result = compare(table, claim)
            elif kind == "threshold":
                result = threshold(table, claim)
            else:
                result = distance(table, distances, claim)
        except ValueError as error:
            result = {
                "measure": "",
                "value": np.nan,
                "low": np.nan,
                "high": np.nan,
                "verdict": "inconclusive",
                "detail": str(error),
            }
        records.append({"claim": claim["claim"], "kind": kind, **result})
    return pd.DataFrame(records, columns=CLAIM_COLUMNS)


def write_claims(claims: list[dict], table: str, distances: list[str], output: str) -> None:
    """Evaluate ``claims`` on the invertibility table and the norm-distance tables; CSV out."""
    frames = [pd.read_parquet(path) for path in distances]
    distance_table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    result = evaluate_claims(claims, pd.read_parquet(table), distance_table)
    with atomic_path(output) as tmp:
        result.to_csv(tmp, index=False, float_format="%.4g")
