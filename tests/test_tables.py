import numpy as np
import pandas as pd
import pytest

from invertibility.analysis.horizons import (
    HORIZON_BY_SEED_COLUMNS,
    HORIZON_COLUMNS,
    horizon,
    horizons,
    horizons_by_seed,
    median_interval,
    order_statistic_k,
)
from invertibility.analysis.recognition import Pool, row_measures, standardized


def test_horizon_of_a_constructed_curve():
    p = np.array([0, 10, 40, 81])
    assert horizon(p, np.array([1.0, 0.8, 0.6, 0.2])) == 40  # R below 0.5 first at p = 81
    # a failure at p = 10 ends the horizon there even if later steps recover
    assert horizon(p, np.array([1.0, 0.3, 0.9, 0.9])) == 0
    assert horizon(p, np.array([1.0, 1.0, 1.0, 1.0])) == 81
    # a seed whose control has no margin has no R and no horizon
    assert np.isnan(horizon(p, np.array([np.nan] * 4)))


def horizon_rows(retained_at, seeds=(0, 1, 2), n=20, missing=(), control=None):
    """Similarity rows: control 0.8, null 0.1, each activation step retaining its fraction
    (a number, or ``{seed: fraction}``); ``control``: ``{seed: fraction}`` at ``tp = t``
    (default 1: 0 leaves the seed's control no margin over the null)."""
    rows = []
    control = control or {}
    drifts = {0: 0.0, 10: 0.1, 40: 0.2, 71: 0.4, 100: 0.6}
    for seed in seeds:
        steps = [(0, "0_10", control.get(seed, 1.0)), *retained_at, (None, "other_image", 0.0)]
        for image in range(n):
            for p, tp, kept in steps:
                kept = kept[seed] if isinstance(kept, dict) else kept
                similarity = 0.1 + kept * 0.7 + 0.01 * ((image * 7 + seed) % 5 - 2)
                rows.append(
                    {
                        "model": "mlp",
                        "seed": seed,
                        "layer": "fc1",
                        "t": "0_10",
                        "tp": tp,
                        "p": p,
                        "drift": drifts.get(p, 1.4) + 0.01 * seed * (p is not None),
                        "image_id": f"i{image}",
                        "photo": False,
                        "similarity": np.nan if (image, p) in missing else similarity,
                        "accuracy_t": 0.5,
                        "accuracy_tp": 0.6,
                    }
                )
    return pd.DataFrame(rows).astype({"p": "Int64"})


def test_horizons_table_with_interval_over_seeds_and_drift():
    table = horizon_rows([(40, "0_50", 0.75), (71, "1_10", 0.2)])
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 40 and result["horizon_tp"] == "0_50"
    assert result["horizon_drift"] == pytest.approx(0.21)  # the seeds' mean drift at p = 40
    assert result["last_tp_tested"] == "1_10"
    assert result["n_censored"] == 0 and not result["median_censored"]
    assert not result["high_censored"]
    assert result["horizon_p_low"] == result["horizon_p_high"] == 40  # every seed agrees
    assert result["interval_coverage"] == pytest.approx(0.75)  # min, max of 3: 1 - 2 / 8
    assert result["n_seeds"] == 3 and result["n_images"] == 20
    assert result["n_seeds_unmeasurable"] == 0
    assert list(horizons(table).columns) == list(HORIZON_COLUMNS)


def test_censored_seeds_make_the_median_a_lower_bound():
    """Two of three seeds never fail: their horizon is at least the last step tested, so the
    median (71) is only a lower bound, and so is the interval's upper end."""
    table = horizon_rows([(40, "0_50", 0.75), (71, "1_10", {0: 0.2, 1: 0.9, 2: 0.8})])
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 71 and result["horizon_tp"] == "1_10"
    assert result["n_censored"] == 2 and result["median_censored"]
    assert result["horizon_p_low"] == 40 and result["horizon_p_high"] == 71
    assert result["high_censored"] and result["interval_coverage"] == pytest.approx(0.75)
    assert result["horizon_drift_low"] == pytest.approx(0.21)
    assert result["horizon_drift_high"] == pytest.approx(0.41)
    by_seed = horizons_by_seed(table)
    assert list(by_seed.columns) == list(HORIZON_BY_SEED_COLUMNS)
    by_seed = by_seed.set_index("seed")
    assert by_seed["horizon_p"].tolist() == [40, 71, 71]
    assert by_seed["censored"].tolist() == [False, True, True]
    assert by_seed["horizon_tp"].tolist() == ["0_50", "1_10", "1_10"]
    assert by_seed["horizon_drift"].tolist() == pytest.approx([0.2, 0.41, 0.42])  # own drift
    assert (by_seed["last_tp_tested"] == "1_10").all() and (by_seed["n_images"] == 20).all()
    assert by_seed["measurable"].all()


def test_one_censored_seed_of_three_leaves_the_median_observed():
    table = horizon_rows([(40, "0_50", 0.75), (71, "1_10", {0: 0.2, 1: 0.3, 2: 0.9})])
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 40 and result["n_censored"] == 1
    assert not result["median_censored"] and result["high_censored"]


def test_five_seeds_get_min_and_max_with_their_coverage():
    """No order-statistic interval of five values reaches 95%: (min, max) covers the median
    with probability 1 - 2 / 32. A t interval would centre on the mean (32.2) instead."""
    fails_at = {0: 10, 1: 40, 2: 71, 3: 71, 4: 100}  # horizons 0, 10, 40, 40, 71
    steps = [
        (p, tp, {seed: 0.2 if fails_at[seed] == p else 0.9 for seed in fails_at})
        for p, tp in ((10, "0_20"), (40, "0_50"), (71, "1_10"), (100, "1_39"))
    ]
    table = horizon_rows(steps, seeds=tuple(fails_at), n=10)
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 40 and result["horizon_tp"] == "0_50"
    assert result["horizon_p_low"] == 0 and result["horizon_p_high"] == 71
    assert result["interval_coverage"] == pytest.approx(0.9375)
    assert result["n_censored"] == 0 and not result["median_censored"]
    assert not result["high_censored"] and result["last_tp_tested"] == "1_39"
    by_seed = horizons_by_seed(table)
    assert by_seed["horizon_p"].tolist() == [0, 10, 40, 40, 71]
    assert not by_seed["censored"].any()


def test_a_seed_whose_control_is_not_measurable_is_counted_not_used():
    table = horizon_rows([(40, "0_50", 0.75), (71, "1_10", 0.2)], control={1: 0.0})
    result = horizons(table).iloc[0]
    assert result["n_seeds"] == 2 and result["n_seeds_unmeasurable"] == 1
    assert result["horizon_p"] == 40 and result["interval_coverage"] == pytest.approx(0.5)
    by_seed = horizons_by_seed(table).set_index("seed")
    assert by_seed["measurable"].tolist() == [True, False, True]
    assert np.isnan(by_seed.loc[1, "horizon_p"]) and by_seed.loc[1, "horizon_tp"] == ""
    assert not by_seed.loc[1, "censored"]


def test_order_statistic_interval_for_the_median():
    assert order_statistic_k(3) == (1, pytest.approx(0.75))
    assert order_statistic_k(5) == (1, pytest.approx(0.9375))
    assert order_statistic_k(6) == (1, pytest.approx(1 - 2 / 64))
    assert order_statistic_k(10) == (2, pytest.approx(1 - 2 * 11 / 1024))  # k = 3: 0.89
    assert order_statistic_k(20)[0] == 6  # 1 - 2 BinomCDF(5; 20, 1/2) = 0.959
    got = median_interval([5, 1, 3, 9, 9], [False, False, False, True, True])
    assert (got["estimate"], got["low"], got["high"]) == (5, 1, 9)
    assert got["high_censored"] and not got["median_censored"] and got["n_censored"] == 2
    empty = median_interval([np.nan], [False])
    assert np.isnan(empty["estimate"]) and empty["n_censored"] == 0


def pool_of(images: np.ndarray, labels, ids, candidates) -> Pool:
    return Pool(standardized(images), np.asarray(labels), np.asarray(ids), candidates)


def test_ties_and_a_constant_reconstruction_count_against_the_original():
    rng = np.random.default_rng(0)
    held = rng.random((12, 1, 4, 4))
    ids = [f"h{j}" for j in range(12)]
    pool = pool_of(held, np.arange(12) % 3, ids, {"h0": np.arange(1, 12)})
    exact = row_measures(held[:1], held[:1], ["h0"], ["h0"], [0], pool)
    assert exact["rank"][0] == 0 and exact["similarity"][0] == pytest.approx(1.0)
    flat = row_measures(np.ones((1, 1, 4, 4)), held[:1], ["h0"], ["h0"], [0], pool)
    assert flat["similarity"][0] == 0 and flat["rank"][0] == 11  # tied with every candidate
    assert flat["rank_all"][0] == 11 and flat["rank_class"][0] == 3  # h3, h6, h9


def test_an_other_image_partner_is_never_a_candidate():
    """The other-image control inverts x_j's activations: its reconstruction looks like x_j,
    which must not be the one candidate that beats x_i."""
    rng = np.random.default_rng(1)
    held = rng.random((6, 1, 4, 4))
    ids = [f"h{j}" for j in range(6)]
    pool = pool_of(held, [0, 1, 0, 1, 0, 1], ids, {"h0": np.arange(1, 6)})
    measured = row_measures(held[1:2], held[:1], ["h0"], ["h1"], [0], pool)
    assert measured["n_candidates"][0] == 5  # h2..h5 and x_i itself
    assert measured["n_all"][0] == 5 and measured["n_class"][0] == 3  # h2, h4 and x_i


def test_identification_among_every_held_out_image_sits_at_chance():
    rng = np.random.default_rng(2)
    held = rng.random((101, 1, 6, 6))
    ids = [f"h{j}" for j in range(101)]
    candidates = {f"h{i}": np.delete(np.arange(101), i)[:20] for i in range(101)}
    pool = pool_of(held, np.arange(101) % 10, ids, candidates)
    measured = row_measures(rng.random((101, 1, 6, 6)), held, ids, ids, np.arange(101) % 10, pool)
    assert abs((measured["rank_all"] == 0).mean() - 1 / 101) < 0.03
    assert abs((measured["rank_class"] == 0).mean() - 1 / 10) < 0.08
    assert abs((measured["rank"] == 0).mean() - 1 / 21) < 0.05


def test_identification_of_random_reconstructions_sits_at_chance():
    rng = np.random.default_rng(0)
    held = rng.random((300, 1, 8, 8))
    ids = [f"h{j}" for j in range(300)]
    candidates = {ids[i]: np.delete(np.arange(300), i)[:99] for i in range(200)}
    pool = pool_of(held, np.zeros(300), ids, candidates)
    originals, rows = held[:200], (ids[:200], ids[:200], np.zeros(200))
    measured = row_measures(rng.random((200, 1, 8, 8)), originals, *rows, pool)
    assert abs((measured["rank"] == 0).mean() - 1 / 100) < 0.03  # top-1 chance: 1 / K
    score = 1 - measured["rank"] / (measured["n_candidates"] - 1)
    assert abs(score.mean() - 0.5) < 0.06  # mean score chance: 0.5
    # a reconstruction of the right image, whatever its brightness and contrast, ranks first
    exact = row_measures(0.3 * originals + 0.2, originals, *rows, pool)
    assert (exact["rank"] == 0).all()
    diverged = originals.copy()
    diverged[0] = np.nan
    assert np.isnan(row_measures(diverged, originals, *rows, pool)["rank"][0])


def test_norm_distances_on_known_representations():
    import torch

    from invertibility.methods.distances import norm_distances

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
    table = horizon_rows([(4, "0_5", 0.9)], seeds=(0,), n=10, missing={(0, 4)})
    result = horizons(table).iloc[0]
    assert result["horizon_p"] == 4 and result["n_images"] == 10
    assert result["n_censored"] == 1 and result["median_censored"]  # it never failed
    assert horizons_by_seed(table)["censored"].tolist() == [True]


def test_an_image_is_measured_only_where_its_inversions_converged_from_one_step():
    """Image i0 of seed 0: its tp = t control converged only after a retry cut its step. Its
    rows at that (seed, layer, t) are excluded from every measure, the control, the null and
    the activation step alike, so the seed's means cover the same images at every tp; the
    other images and seed 1 are measured as before. A diverged activation step excludes its
    image the same way."""
    from synthetic import T, invertibility, units_frame

    from invertibility.analysis.retention import excluded

    table = invertibility(units_frame({"m": {"l": [0.8]}}, seeds=(0, 1)), n_images=6)
    i0_seed0 = (table["image_id"] == "i0") & (table["seed"] == 0)
    expected = pd.Series(i0_seed0.to_numpy(), name="excluded")
    assert not excluded(table).any()
    control = table.assign(final_lr=np.where(i0_seed0 & (table["tp"] == T), 0.5, 5.0))
    assert excluded(control).equals(expected)
    # the same when the activation step, not the control, needed the smaller step
    later = table.assign(final_lr=np.where(i0_seed0 & (table["tp"] == "0_5"), 0.5, 5.0))
    assert excluded(later).equals(expected)
    diverged = table.assign(diverged=i0_seed0 & (table["tp"] == "0_5"))
    assert excluded(diverged).equals(expected)
