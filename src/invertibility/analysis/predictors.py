"""What predicts invertibility: rank correlations across (model, seed, layer, t, tp).

A *unit* is one inverted (model, seed, layer, t, tp > t). Its invertibility is the mean of a
measure (default ``retained``) over its dataset images (photos and diverged inversions
excluded); its candidate predictors come from the diagnostics job (``similarity`` tables): how
far the layer's representation of the held-out pool moved (``norm_distance``, the paper's
Section 4 quantity; ``relative_distance``; ``cosine``; ``cka``), how far the weights up to the
layer moved (``drift``), and the gradient-norm ratio below the layer during training
(``grad_ratio_below``).

For each predictor: Spearman's rank correlation with the invertibility measure over the units,
with a 95% interval from a cluster bootstrap over training runs (model, seed): the units of one
run share a network, so runs, not units, are resampled. Pooled over models and layers, a
correlation can be a difference between models (one network both moves far and fails); so each
predictor also gets a *within* correlation: Spearman's rho inside each (model, layer) stratum,
averaged with weights the strata's unit counts (strata where either quantity is constant, e.g.
identification 1.0 at every step, carry no rank information and drop out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..core.atomic import atomic_path
from ..core.vocabulary import CONTROLS
from .measures import MEASURES
from .retention import retention_table
from .stats import LEVEL

PREDICTORS = (
    "norm_distance",
    "relative_distance",
    "cosine",
    "cka",
    "cka_debiased",
    "drift",
    "grad_ratio_below",
)
UNIT_KEYS = ["model", "seed", "layer", "t", "tp"]
STRATUM = ["model", "layer"]
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
    "rho_within": "float64",  # Spearman inside each (model, layer), weighted by its units
    "low_within": "float64",  # same bootstrap (training runs resampled)
    "high_within": "float64",
    "n_strata": "int64",  # (model, layer) strata with a defined rho
}


def predictor_units(
    table: pd.DataFrame, similarity: pd.DataFrame, measure: str = "retained"
) -> pd.DataFrame:
    """One row per unit: the measure over dataset images (a per-image measure's mean, or the
    seed's ``retained``), and every predictor."""
    if similarity.empty:
        return pd.DataFrame(columns=[*UNIT_KEYS, "p", *PREDICTORS, "invertibility", "n_images"])
    dataset = table[~table["photo"]]
    if MEASURES[measure].per_image:
        rows = dataset[~dataset["tp"].isin(CONTROLS)]
        rows = rows.assign(value=rows[measure].astype("float64"))
        measured = rows.groupby(UNIT_KEYS, observed=True).agg(
            invertibility=("value", "mean"), n_images=("value", "count")
        )
    else:
        retention = retention_table(dataset)
        retention = retention[~retention["tp"].isin(CONTROLS)]
        measured = retention.set_index(UNIT_KEYS)[[measure, "n_images"]]
        measured = measured.rename(columns={measure: "invertibility"})
    units = similarity.merge(measured.reset_index(), on=UNIT_KEYS)
    return units[units["p"] > 0].reset_index(drop=True)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (Pearson of average ranks) of the finite pairs; NaN when undefined."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


def within_strata(x: np.ndarray, y: np.ndarray, strata: np.ndarray) -> tuple[float, int]:
    """Spearman's rho inside each stratum, averaged with the strata's sizes as weights; and the
    number of strata with a defined rho."""
    rhos, weights = [], []
    for code in np.unique(strata):
        inside = strata == code
        rho = spearman(x[inside], y[inside])
        if np.isfinite(rho):
            rhos.append(rho)
            weights.append(inside.sum())
    return (float(np.average(rhos, weights=weights)) if rhos else float("nan")), len(rhos)


def run_bootstrap(
    units: pd.DataFrame, statistic, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """95% percentile intervals, shape (2, k), of the k values ``statistic(rows)`` returns for
    the units' row positions ``rows``, over resamples of training runs (a run drawn twice
    contributes its rows twice)."""
    runs = units.groupby(["model", "seed"], observed=True).indices
    members = [np.asarray(rows) for rows in runs.values()]
    k = len(statistic(np.arange(len(units))))
    if not members:
        return np.full((2, k), np.nan)
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            statistic(
                np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
            )
            for _ in range(n_resamples)
        ],
        dtype=float,
    )
    alpha = (1 - LEVEL) / 2
    bounds = np.full((2, k), np.nan)
    for j in range(k):
        if not np.isnan(draws[:, j]).all():
            bounds[:, j] = np.nanquantile(draws[:, j], [alpha, 1 - alpha])
    return bounds


def correlation(units: pd.DataFrame, predictor: str) -> dict:
    """Spearman's rho of ``predictor`` and the invertibility, pooled and within (model,
    layer), each with its run-bootstrap CI."""
    x = units[predictor].to_numpy(float)
    y = units["invertibility"].to_numpy(float)
    strata = units.groupby(STRATUM, observed=True).ngroup().to_numpy()

    def rhos(rows: np.ndarray) -> tuple[float, float]:
        return spearman(x[rows], y[rows]), within_strata(x[rows], y[rows], strata[rows])[0]

    (low, low_within), (high, high_within) = run_bootstrap(units, rhos)
    rho, (rho_within, n_strata) = spearman(x, y), within_strata(x, y, strata)
    usable = units[np.isfinite(x)]
    return {
        "predictor": predictor,
        "rho": rho,
        "low": low,
        "high": high,
        "n_units": len(usable),
        "n_runs": usable.groupby(["model", "seed"]).ngroups,
        "n_models": usable["model"].nunique(),
        "rho_within": rho_within,
        "low_within": low_within,
        "high_within": high_within,
        "n_strata": n_strata,
    }


def rank_correlations(units: pd.DataFrame, measure: str = "retained") -> pd.DataFrame:
    """One row per predictor, each with its own interval. None is singled out: picking the
    strongest of several correlations would need a correction for the choice, and the table
    is exploratory (a claim about one predictor is a ``predictor`` claim)."""
    frame = pd.DataFrame([correlation(units, name) for name in PREDICTORS])
    frame.insert(1, "measure", measure)
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
