import numpy as np
import pandas as pd
import pytest

from invertibility.identification import identification_ranks, identification_score
from invertibility.stats import bootstrap_ci, hierarchical_bootstrap
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


def test_hierarchical_bootstrap_weights_seeds_equally_and_sees_their_spread():
    rng = np.random.default_rng(0)
    # three seeds whose true means differ (0, 1, 2); the grand mean is 1
    groups = [rng.normal(mean, 0.1, size=n) for mean, n in ((0.0, 50), (1.0, 10), (2.0, 10))]
    estimate, low, high = hierarchical_bootstrap(groups)
    assert estimate == pytest.approx(np.mean([g.mean() for g in groups]))  # not the pooled mean
    # resampling images alone would give a narrow interval around the pooled mean (~0.57)
    _, pooled_low, pooled_high = bootstrap_ci(np.concatenate(groups))
    assert high - low > 5 * (pooled_high - pooled_low)
    assert low < 1.0 < high


def test_hierarchical_bootstrap_covers_a_known_mean():
    rng = np.random.default_rng(2)
    covered = 0
    for trial in range(100):
        seed_means = rng.normal(0.5, 0.2, size=8)
        groups = [rng.normal(m, 0.3, size=20) for m in seed_means]
        _, low, high = hierarchical_bootstrap(groups, n_resamples=500, seed=trial)
        covered += low <= 0.5 <= high
    assert 0.75 <= covered / 100 <= 1.0  # percentile intervals over 8 seeds undercover a little


def test_hierarchical_bootstrap_of_one_seed_is_the_image_bootstrap():
    values = np.linspace(0, 1, 25)
    assert hierarchical_bootstrap([values]) == pytest.approx(bootstrap_ci(values), abs=0.02)


def test_horizon_of_a_constructed_curve():
    p = np.array([0, 10, 40, 81])
    # identification rates per step, then the floor (0.1): margin 0.9, half of it kept above 0.55
    rates = np.array([1.0, 0.8, 0.6, 0.2, 0.1])
    assert horizon(p, rates) == 40
    # a failure at p = 10 ends the horizon there even if later steps recover
    assert horizon(p, np.array([1.0, 0.3, 0.9, 0.9, 0.1])) == 0
    assert horizon(p, np.array([1.0, 1.0, 1.0, 1.0, 0.1])) == 81
    # the tp = t control barely beats the floor: no horizon can be read
    assert np.isnan(horizon(p, np.array([0.25, 0.2, 0.2, 0.2, 0.1])))


def test_horizons_table_with_interval_over_seeds_and_drift():
    rows = []
    for seed in (0, 1, 2):
        for image in range(20):
            for p, tp in [(0, "0_10"), (40, "0_50"), (71, "1_10"), (None, "cross_seed")]:
                identified = p == 0 or (p == 40 and image < 15)  # 75% at 0_50, none later
                rows.append(
                    {
                        "model": "mlp",
                        "seed": seed,
                        "layer": "fc1",
                        "t": "0_10",
                        "tp": tp,
                        "p": p,
                        "drift": {0: 0.0, 40: 0.2, 71: 0.4}.get(p, 1.4),
                        "image_id": f"i{image}",
                        "photo": False,
                        "identified": identified,
                    }
                )
    table = pd.DataFrame(rows).astype({"identified": "boolean", "p": "Int64"})
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 40 and result["horizon_tp"] == "0_50"
    assert result["horizon_drift"] == pytest.approx(0.2)
    assert result["last_tp_tested"] == "1_10" and not result["censored"]
    assert result["horizon_p_low"] <= 40 <= result["horizon_p_high"]
    assert result["n_seeds"] == 3 and result["n_images"] == 20


def test_identification_of_random_reconstructions_sits_at_chance():
    rng = np.random.default_rng(0)
    pool = rng.random((300, 1, 8, 8))
    originals = pool[:200]
    candidates = np.stack([np.delete(np.arange(300), i)[:99] for i in range(200)])
    ranks = identification_ranks(rng.random((200, 1, 8, 8)), originals, pool, candidates)
    assert abs((ranks == 0).mean() - 1 / 100) < 0.03  # top-1 chance: 1 / K
    assert abs(identification_score(ranks, 100).mean() - 0.5) < 0.06  # mean score chance: 0.5
    # a reconstruction of the right image, whatever its brightness and contrast, ranks first
    exact = identification_ranks(0.3 * originals + 0.2, originals, pool, candidates)
    assert (exact == 0).all()
    diverged = originals.copy()
    diverged[0] = np.nan
    assert np.isnan(identification_ranks(diverged, originals, pool, candidates)[0])


def test_norm_distances_on_known_representations():
    import torch

    from invertibility.distances import norm_distances

    reps = {  # inverted images a (class 0), b (class 1), d (a photo)
        ("0_1", "images"): torch.tensor([[0.0, 0.0], [3.0, 4.0], [9.0, 9.0]]),
        ("0_2", "images"): torch.tensor([[0.0, 2.0], [3.0, 4.0], [9.0, 9.0]]),
        # the held-out pool: a and b themselves, and p (class 1), q (class 0)
        ("0_1", "pool"): torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0], [3.0, 3.0]]),
    }
    images = (list("abd"), np.array([0, 1, -1]))
    pool = (list("abpq"), np.array([0, 1, 1, 0]))
    table = norm_distances("m", 0, "l", {"0_1": ["0_2"]}, lambda s, w: reps[s, w], images, pool)
    other = table[table["kind"] == "other_class"]
    # each labelled image against every pool image of another class; never the photo
    assert sorted(zip(other["image_id"], other["other_image_id"], strict=True)) == [
        ("a", "b"),
        ("a", "p"),
        ("b", "a"),
        ("b", "q"),
    ]
    a_rows = other[other["image_id"] == "a"].set_index("other_image_id")
    assert a_rows.loc["b", "distance"] == pytest.approx(5.0)
    assert bool(a_rows.loc["p", "nearest"]) and not bool(a_rows.loc["b", "nearest"])
    b_rows = other[other["image_id"] == "b"].set_index("other_image_id")
    assert bool(b_rows.loc["q", "nearest"])  # the nearest comes from the whole pool
    same = table[table["kind"] == "same_image"].set_index("image_id")
    assert same.loc["a", "distance"] == 2.0 and same.loc["b", "distance"] == 0.0
    assert same.loc["b", "relative_distance"] == 0.0
    assert np.isnan(same.loc["a", "relative_distance"])  # ||r(a)|| = 0: undefined, not inf
    assert (table["seed"] == 0).all()
    assert str(table["distance"].dtype) == "float64" and str(table["kind"].dtype) == "category"


def test_a_diverged_image_leaves_the_horizon_computable():
    rows = []
    for image in range(10):
        for p, tp in [(0, "0_1"), (4, "0_5"), (None, "cross_seed")]:
            rows.append(
                {
                    "model": "m",
                    "seed": 0,
                    "layer": "l",
                    "t": "0_1",
                    "tp": tp,
                    "p": p,
                    "drift": 0.1,
                    "image_id": f"i{image}",
                    "photo": False,
                    "identified": pd.NA if (image == 0 and p == 4) else p is not None,
                }
            )
    table = pd.DataFrame(rows).astype({"identified": "boolean", "p": "Int64"})
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 4 and result["n_images"] == 10
