"""What predicts invertibility (rank correlations over units, runs resampled) and the claims
built on it: predictor, trend over a variant's number (width, h), two-sided compare."""

import numpy as np
import pandas as pd
import pytest
from test_claims import compare_claim, synthetic_table

from invertibility.analysis.claims import evaluate_claims
from invertibility.analysis.predictors import (
    PREDICTORS,
    predictor_units,
    rank_correlations,
    spearman,
)


def units_where(invertibility_of, n_runs=6, per_run=5, seed=0):
    """Units whose invertibility is a given function of their norm distance (and noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        for k in range(per_run):
            distance = rng.uniform(0, 10)
            row = {name: rng.normal() for name in PREDICTORS}
            row.update(
                model=f"m{run % 3}",
                seed=run,
                layer="l",
                t="0_1",
                tp=f"0_{k + 2}",
                p=k + 1,
                norm_distance=distance,
                invertibility=invertibility_of(distance, rng),
                n_images=20,
            )
            rows.append(row)
    return pd.DataFrame(rows)


def test_a_perfect_predictor_is_found():
    units = units_where(lambda d, rng: 1 - d / 10)
    table = rank_correlations(units).set_index("predictor")
    assert table.loc["norm_distance", "rho"] == pytest.approx(-1.0)
    assert table.loc["norm_distance", "high"] == pytest.approx(-1.0)
    assert table.loc["norm_distance", "n_runs"] == 6 and table.loc["norm_distance", "n_units"] == 30


def test_no_relation_gives_an_interval_around_zero():
    units = units_where(lambda d, rng: rng.uniform(), n_runs=12, per_run=8)
    table = rank_correlations(units)
    row = table.set_index("predictor").loc["norm_distance"]
    assert row["low"] < 0 < row["high"] and abs(row["rho"]) < 0.3


def test_within_correlation_sees_through_a_difference_between_models():
    """Simpson's paradox: inside each model, moving farther means less invertible; across
    models, the model that moves more is the more invertible one. The pooled rho is positive,
    the within (model, layer) rho is -1, with an interval below 0."""
    rows = []
    for model, offset in (("near", 0.0), ("far", 10.0)):
        for seed in range(4):
            for k in range(5):
                row = {name: float(k) for name in PREDICTORS}
                row.update(
                    model=model,
                    seed=seed,
                    layer="l",
                    t="0_1",
                    tp=f"0_{k + 2}",
                    p=k + 1,
                    norm_distance=offset + k + 0.1 * seed,
                    invertibility=offset / 20 + 0.4 - 0.05 * k - 0.001 * seed,
                    n_images=10,
                )
                rows.append(row)
    # a stratum where identification never changes carries no rank information
    flat = [dict(r, layer="flat", invertibility=1.0) for r in rows if r["model"] == "far"]
    table = rank_correlations(pd.DataFrame(rows + flat)).set_index("predictor")
    row = table.loc["norm_distance"]
    assert row["rho"] > 0.5
    assert row["rho_within"] == pytest.approx(-1.0)
    assert row["high_within"] == pytest.approx(-1.0)
    assert row["n_strata"] == 2


def test_units_average_dataset_images_and_skip_controls_photos_and_p0():
    table = synthetic_table({"l1": 0.5}, seeds=(0,), n=10)
    table = pd.concat([table, table.iloc[:3].assign(photo=True, identified=True)])
    similarity = pd.DataFrame(
        [
            {
                "model": "m",
                "seed": 0,
                "layer": "l1",
                "t": "0_1",
                "tp": tp,
                "p": p,
                **{name: 1.0 for name in PREDICTORS},
            }
            for tp, p in (("0_1", 0), ("0_5", 4))
        ]
    )
    units = predictor_units(table, similarity, "identified")
    assert units["tp"].tolist() == ["0_5"]  # p = 0 and the controls are not units
    expected = table[(table["tp"] == "0_5") & ~table["photo"]]["identified"].astype(float).mean()
    assert units["invertibility"].iloc[0] == pytest.approx(expected)
    assert units["n_images"].iloc[0] == 10


def trend_table(rates, direction_x=(1, 2, 4), **kwargs):
    """One model per side (``w1``, ``w2``, ...), each the synthetic table's layer ``l``."""
    frames = []
    for x, rate in zip(direction_x, rates, strict=True):
        frames.append(synthetic_table({"l": rate}, rng_seed=x, **kwargs).assign(model=f"w{x}"))
    return pd.concat(frames, ignore_index=True)


def trend_claim(x=(1, 2, 4), direction="increasing"):
    return {
        "claim": "wider stays invertible longer",
        "kind": "trend",
        "x": list(x),
        "direction": direction,
        "sides": [{"model": f"w{v}", "layers": ["l"], "t": "0_1"} for v in x],
    }


@pytest.mark.parametrize(
    "rates, direction, verdict",
    [
        ((0.2, 0.5, 0.9), "increasing", "supported"),
        ((0.9, 0.5, 0.2), "increasing", "contradicted"),
        ((0.9, 0.5, 0.2), "decreasing", "supported"),
        ((0.5, 0.5, 0.5), "increasing", "inconclusive"),
    ],
)
def test_trend_verdicts(rates, direction, verdict):
    table = trend_table(rates, n=40)
    result, by_seed = evaluate_claims([trend_claim(direction=direction)], table, pd.DataFrame())
    row = result.iloc[0]
    assert row["verdict"] == verdict, row.to_dict()
    # the interval clears 0 on the claimed side exactly when the permutation p does
    clears = row["low"] > 0 if direction == "increasing" else row["high"] < 0
    assert row["n_seeds"] == 3 and clears == (row["p_value"] < 0.025)
    assert len(by_seed) == 3
    if verdict == "supported":
        assert abs(row["value"]) == pytest.approx(1.0)


def test_a_trend_side_whose_control_fails_is_inconclusive():
    frames = [
        synthetic_table({"l": r}, n=40, control=c).assign(model=f"w{x}")
        for x, r, c in ((1, 0.2, 0.1), (2, 0.5, 0.8), (4, 0.9, 0.8))
    ]
    result = evaluate_claims([trend_claim()], pd.concat(frames), pd.DataFrame())[0].iloc[0]
    assert result["verdict"] == "inconclusive" and "seeds pass the control" in result["reason"]


def test_partial_correlation_removes_a_correlation_that_p_alone_induces():
    """Distance grows with p and the measure decays with p, independently otherwise: pooled
    over steps they correlate strongly, with p partialled out (the predictor claim's ranks
    residualized within the (model, layer) stratum) they do not."""
    from invertibility.analysis.claims.predictor import residuals

    rng = np.random.default_rng(0)
    p = np.repeat(np.arange(1, 9), 25).astype(float)
    distance = p + rng.normal(0, 0.5, len(p))
    measure = -p + rng.normal(0, 0.5, len(p))
    driven = -distance + rng.normal(0, 0.1, len(p))  # the measure follows the distance itself
    units = pd.DataFrame(
        {"model": "m", "layer": "l", "p": p, "d": distance, "y": measure, "driven": driven}
    )
    found = residuals(units, ["d", "y", "driven"])

    def r(a, b):
        return np.corrcoef(found[a], found[b])[0, 1]

    assert spearman(distance, measure) < -0.8
    assert abs(r("d", "y")) < 0.1
    assert r("d", "driven") < -0.5


@pytest.mark.parametrize("a, b", [(0.9, 0.3), (0.3, 0.9)])
def test_two_sided_compare_supports_a_change_in_either_direction(a, b):
    table = synthetic_table({"l1": a, "l2": b})
    claim = {**compare_claim(), "two_sided": True}
    assert evaluate_claims([claim], table, pd.DataFrame())[0].iloc[0]["verdict"] == "supported"
    same = synthetic_table({"l1": 0.6, "l2": 0.6})
    assert evaluate_claims([claim], same, pd.DataFrame())[0].iloc[0]["verdict"] == "inconclusive"
