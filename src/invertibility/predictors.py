"""What predicts invertibility: rank correlations across (model, seed, layer, t, tp).

A *unit* is one inverted (model, seed, layer, t, tp > t). Its invertibility is the mean of a
measure (default ``identified``) over its dataset images (photos and diverged inversions
excluded); its candidate predictors come from the diagnostics job (``similarity`` tables): how
far the layer's representation of the held-out pool moved (``norm_distance``, the paper's
Section 4 quantity; ``relative_distance``; ``cosine``; ``cka``), how far the weights up to the
layer moved (``drift``), and the gradient-norm ratio below the layer during training
(``grad_ratio_below``).

For each predictor: Spearman's rank correlation with the invertibility measure over the units,
with a 95% interval from a cluster bootstrap over training runs (model, seed): the units of one
run share a network, so runs, not units, are resampled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .atomic import atomic_path
from .stats import LEVEL
from .vocabulary import CONTROLS

PREDICTORS = ("norm_distance", "relative_distance", "cosine", "cka", "drift", "grad_ratio_below")
UNIT_KEYS = ["model", "seed", "layer", "t", "tp"]
N_RESAMPLES = 1000
PREDICTOR_COLUMNS = {
    "predictor": "string",
    "measure": "string",
    "rho": "float64",  # Spearman over the units
    "low": "float64",  # cluster-bootstrap 95% CI (training runs resampled)
    "high": "float64",
    "n_units": "int64",
    "n_runs": "int64",  # (model, seed) training runs behind the units
    "n_models": "int64",
    "best": "bool",  # the largest |rho| whose CI excludes 0
}


def predictor_units(
    table: pd.DataFrame, similarity: pd.DataFrame, measure: str = "identified"
) -> pd.DataFrame:
    """One row per unit: the measure's mean over dataset images, and every predictor."""
    if similarity.empty:
        return pd.DataFrame(columns=[*UNIT_KEYS, "p", *PREDICTORS, "invertibility", "n_images"])
    rows = table[~table["photo"] & ~table["tp"].isin(CONTROLS)]
    rows = rows.assign(value=rows[measure].astype("float64"))
    measured = rows.groupby(UNIT_KEYS, observed=True).agg(
        invertibility=("value", "mean"), n_images=("value", "count")
    )
    units = similarity.merge(measured.reset_index(), on=UNIT_KEYS)
    return units[units["p"] > 0].reset_index(drop=True)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def run_bootstrap(
    units: pd.DataFrame,
    statistic,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile interval of ``statistic(frame)`` over resamples of training runs."""
    runs = [frame for _, frame in units.groupby(["model", "seed"], observed=True)]
    if not runs:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    draws = [
        statistic(pd.concat([runs[i] for i in rng.integers(0, len(runs), len(runs))]))
        for _ in range(n_resamples)
    ]
    if np.isnan(draws).all():
        return (np.nan, np.nan)
    alpha = (1 - LEVEL) / 2
    low, high = np.nanquantile(draws, [alpha, 1 - alpha])
    return float(low), float(high)


def correlation(units: pd.DataFrame, predictor: str) -> dict:
    """Spearman's rho of ``predictor`` and the invertibility, with its run-bootstrap CI."""

    def rho(frame: pd.DataFrame) -> float:
        return spearman(frame[predictor].to_numpy(float), frame["invertibility"].to_numpy(float))

    low, high = run_bootstrap(units, rho)
    usable = units[np.isfinite(units[predictor].to_numpy(float))]
    return {
        "predictor": predictor,
        "rho": rho(units),
        "low": low,
        "high": high,
        "n_units": len(usable),
        "n_runs": usable.groupby(["model", "seed"]).ngroups,
        "n_models": usable["model"].nunique(),
    }


def rank_correlations(units: pd.DataFrame, measure: str = "identified") -> pd.DataFrame:
    """One row per predictor; ``best`` marks the strongest one whose interval excludes 0."""
    frame = pd.DataFrame([correlation(units, name) for name in PREDICTORS])
    frame.insert(1, "measure", measure)
    excludes_zero = (frame["low"] > 0) | (frame["high"] < 0)
    strength = frame["rho"].abs().where(excludes_zero)
    frame["best"] = False
    if strength.notna().any():
        frame.loc[strength.idxmax(), "best"] = True
    return frame[list(PREDICTOR_COLUMNS)].astype(PREDICTOR_COLUMNS)


def write_predictors(
    table: str, similarity: list[str], measure: str, output: str, units_output: str
) -> None:
    """The predictors table and the units behind it (parquet)."""
    frames = [pd.read_parquet(path) for path in similarity]
    units = predictor_units(pd.read_parquet(table), pd.concat(frames, ignore_index=True), measure)
    for path, frame in ((output, rank_correlations(units, measure)), (units_output, units)):
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
