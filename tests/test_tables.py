import numpy as np
import pandas as pd
import pytest

from invertibility.stats import bootstrap_ci
from invertibility.tables import horizon, horizons


def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    covered = 0
    for trial in range(200):
        sample = rng.normal(loc=3.0, scale=1.0, size=40)
        _, low, high = bootstrap_ci(sample, n_resamples=500, seed=trial)
        covered += low <= 3.0 <= high
    assert 0.88 <= covered / 200 <= 0.99


def test_bootstrap_estimate_ignores_nan_and_narrows_with_more_images():
    est, low, high = bootstrap_ci(np.array([1.0, 2.0, np.nan, 3.0]))
    assert est == pytest.approx(2.0) and low < 2.0 < high
    small = np.diff(bootstrap_ci(np.tile([0.0, 1.0], 10))[1:])[0]
    large = np.diff(bootstrap_ci(np.tile([0.0, 1.0], 500))[1:])[0]
    assert large < small / 4


def test_paired_bootstrap_of_a_constant_difference_has_zero_width():
    a = np.linspace(0, 1, 30)
    est, low, high = bootstrap_ci(
        np.stack([a + 0.2, a]), statistic=lambda v: (v[..., 0, :] - v[..., 1, :]).mean(axis=-1)
    )
    assert est == pytest.approx(0.2) and low == pytest.approx(0.2) and high == pytest.approx(0.2)


def test_horizon_of_a_constructed_curve():
    p = np.array([0, 10, 40, 81])
    # fraction invertible per step: 1.0, 0.75, 0.75, 0.25 -> last majority step p = 40
    invertible = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 1, 1], [0, 0, 1, 0]], dtype=float)
    assert horizon(p, invertible) == 40
    # a failure at p = 10 ends the horizon there even if later steps recover
    invertible[1] = [0, 0, 0, 1]
    assert horizon(p, invertible) == 0
    assert horizon(p, np.ones((4, 3))) == 81


def test_horizons_table_with_interval():
    rows = []
    for image in range(20):
        for p, tp in [(0, "0_10"), (40, "0_50"), (71, "1_10")]:
            invertible = p == 0 or (p == 40 and image < 15)  # 75% at 0_50, none at 1_10
            rows.append(
                {
                    "model": "mlp",
                    "layer": "fc1",
                    "t": "0_10",
                    "tp": tp,
                    "p": p,
                    "image_id": f"i{image}",
                    "invertible": invertible,
                }
            )
    table = pd.DataFrame(rows).astype({"invertible": "boolean"})
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 40 and result["horizon_tp"] == "0_50"
    assert result["last_tp_tested"] == "1_10"
    assert result["horizon_p_low"] <= 40 <= result["horizon_p_high"]


def test_norm_distances_on_known_representations():
    import torch

    from invertibility.distances import norm_distances

    reps = {
        "0_1": torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [9.0, 9.0]]),
        "0_2": torch.tensor([[0.0, 2.0], [3.0, 4.0], [0.0, 1.0], [9.0, 9.0]]),
    }
    labels = np.array([0, 1, 1, -1])  # the last is an unlabelled photo
    table = norm_distances("m", "l", {"0_1": ["0_2"]}, reps.__getitem__, list("abcd"), labels)
    other = table[table["kind"] == "other_class"]
    # pairs of labelled images of different classes only: (a,b), (a,c) and back
    assert sorted(zip(other["image_id"], other["other_image_id"], strict=True)) == [
        ("a", "b"),
        ("a", "c"),
        ("b", "a"),
        ("c", "a"),
    ]
    a_rows = other[other["image_id"] == "a"].set_index("other_image_id")
    assert a_rows.loc["b", "distance"] == 5.0 and a_rows.loc["c", "distance"] == 1.0
    assert bool(a_rows.loc["c", "nearest"]) and not bool(a_rows.loc["b", "nearest"])
    same = table[table["kind"] == "same_image"].set_index("image_id")
    assert same.loc["a", "distance"] == 2.0 and same.loc["b", "distance"] == 0.0
    assert same.loc["b", "relative_distance"] == 0.0
    assert np.isnan(same.loc["a", "relative_distance"])  # ||r(a)|| = 0: undefined, not inf
    assert str(table["distance"].dtype) == "float64" and str(table["kind"].dtype) == "category"


def synthetic_table(scores_by_layer, n=30, seed=0):
    """Rows for model m, t 0_1, tps 0_1 (p=0) and 0_5 (p=4), scores drawn around given means."""
    rng = np.random.default_rng(seed)
    rows = []
    for layer, mean in scores_by_layer.items():
        for image in range(n):
            for tp, p in (("0_1", 0), ("0_5", 4)):
                score = 1.0 if p == 0 else mean + rng.normal(0, 0.1)
                rows.append(
                    {
                        "model": "m",
                        "layer": layer,
                        "t": "0_1",
                        "tp": tp,
                        "p": p,
                        "image_id": f"i{image}",
                        "score": score,
                        "invertible": score > 0.5,
                        "label_kept": True,
                    }
                )
    return pd.DataFrame(rows).astype({"invertible": "boolean", "label_kept": "boolean"})


def side(layer):
    return {"model": "m", "layers": [layer], "t": "0_1"}


@pytest.mark.parametrize(
    "a, b, verdict",
    [(0.9, 0.3, "supported"), (0.3, 0.9, "contradicted"), (0.6, 0.6, "inconclusive")],
)
def test_compare_verdicts(a, b, verdict):
    from invertibility.claims import evaluate_claims

    table = synthetic_table({"l1": a, "l2": b})
    claim = {
        "claim": "l1 longer than l2",
        "kind": "compare",
        "measure": "score",
        "greater": side("l1"),
        "lesser": side("l2"),
    }
    result = evaluate_claims([claim], table, pd.DataFrame()).iloc[0]
    assert result["verdict"] == verdict
    assert result["low"] <= result["value"] <= result["high"]
    if verdict != "inconclusive":
        assert result["value"] == pytest.approx(a - b, abs=0.06)


@pytest.mark.parametrize(
    "a, b, verdict",
    [(0.9, 0.1, "supported"), (0.1, 0.1, "contradicted"), (0.5, 0.1, "inconclusive")],
)
def test_threshold_verdicts(a, b, verdict):
    from invertibility.claims import evaluate_claims

    table = synthetic_table({"low": a, "high": b})
    claim = {
        "claim": "low invertible, high not",
        "kind": "threshold",
        "measure": "invertible",
        "above": side("low"),
        "below": side("high"),
    }
    assert evaluate_claims([claim], table, pd.DataFrame()).iloc[0]["verdict"] == verdict


def test_distance_claim_counts_only_invertible_pairs():
    from invertibility.claims import evaluate_claims

    table = synthetic_table({"l1": 0.9}, n=20)
    rows = []
    for image in range(20):
        iid = f"i{image}"
        rows.append(
            {
                "model": "m",
                "layer": "l1",
                "t": "0_1",
                "tp": "0_1",
                "image_id": iid,
                "kind": "other_class",
                "nearest": True,
                "distance": 1.0,
            }
        )
        moved = 2.0 if image < 16 else 0.5  # 80% move further than the nearest other class
        rows.append(
            {
                "model": "m",
                "layer": "l1",
                "t": "0_1",
                "tp": "0_5",
                "image_id": iid,
                "kind": "same_image",
                "nearest": pd.NA,
                "distance": moved,
            }
        )
    distances = pd.DataFrame(rows).astype({"nearest": "boolean"})
    claim = {"claim": "moves further", "kind": "distance", "level": 0.5}
    result = evaluate_claims([claim], table, distances).iloc[0]
    assert result["value"] == pytest.approx(0.8)
    assert result["verdict"] == "supported"
