"""Calibration of the claims' statistics: simulated seeds and images with a known answer, the
project's own per-seed statistic (retained similarity from image means, a difference of seeds,
Welch across networks) and its interval. Fixed RNG, 4,000 simulations per case: the coverage
estimate's standard error is 0.0034, so [0.93, 0.97] holds with a margin of 6 of them."""

import numpy as np
import pytest

from invertibility.analysis.retention import retained_ratio
from invertibility.analysis.stats import (
    holm,
    p_greater,
    p_less,
    seeds_for_power,
    seeds_needed,
    seeds_to_clear,
    t_interval,
    t_intervals,
    welch,
)

N_SIMS, N_IMAGES = 4000, 10
REGIMES = [  # (seed sd, image sd): seeds dominate, then images dominate
    (0.2, 0.1),
    (0.4, 0.1),
    (0.05, 0.3),
    (0.0, 0.3),
]


def simulated_retained(rng, n_seeds, seed_sd, image_sd, retained=0.6, n_sims=N_SIMS):
    """Per simulation and seed, the seed's retained similarity from 10 images' correlations
    (bounded in [-1, 1]): each seed's true R varies by ``seed_sd``, each image by ``image_sd``."""
    shape = (n_sims, n_seeds)
    true_r = retained + seed_sd * rng.standard_normal(shape)
    null = 0.1 + 0.1 * seed_sd * rng.standard_normal(shape)
    control = 0.7 + 0.1 * seed_sd * rng.standard_normal(shape)
    target = null + true_r * (control - null)

    def image_mean(mean):
        noise = image_sd * rng.standard_normal((*shape, N_IMAGES))
        return np.clip(mean[..., None] + noise, -1, 1).mean(axis=-1)

    return retained_ratio(image_mean(target), image_mean(control), image_mean(null))


def coverage(effects, truth):
    _, low, high = t_intervals(effects)
    return float(np.mean((low <= truth) & (truth <= high))), float(np.mean(low > truth))


@pytest.mark.parametrize("seed_sd, image_sd", REGIMES)
@pytest.mark.parametrize("n_seeds", [3, 5, 10])
def test_paired_difference_of_retained_similarity_covers_and_rarely_supports_a_null(
    n_seeds, seed_sd, image_sd
):
    """fc1 vs fc2 of one network (paired by seed), no true difference."""
    rng = np.random.default_rng(n_seeds * 100 + int(seed_sd * 10) + int(image_sd * 100))
    first = simulated_retained(rng, n_seeds, seed_sd, image_sd)
    second = simulated_retained(rng, n_seeds, seed_sd, image_sd)
    covered, supported = coverage(first - second, 0.0)
    assert 0.93 <= covered <= 0.97
    assert supported <= 0.03


@pytest.mark.parametrize("seed_sd, image_sd", REGIMES)
@pytest.mark.parametrize("n_seeds", [3, 5, 10])
def test_one_side_retained_similarity_covers_its_expectation(n_seeds, seed_sd, image_sd):
    """A threshold side: the interval covers the expected seed value (measured on 200,000
    simulated seeds) and calls a side at the level "above" at most 3% of the time (20,000
    simulations: the one-tailed rate, about 2.6% at 3 seeds, has a standard error of 0.0011)."""
    rng = np.random.default_rng(7 + n_seeds)
    truth = float(simulated_retained(rng, 1, seed_sd, image_sd, n_sims=200_000).mean())
    effects = simulated_retained(rng, n_seeds, seed_sd, image_sd, n_sims=5 * N_SIMS)
    covered, above = coverage(effects, truth)
    assert 0.93 <= covered <= 0.97
    assert above <= 0.03


@pytest.mark.parametrize("n_seeds", [3, 5, 10])
def test_welch_across_networks_covers_with_unequal_spreads(n_seeds):
    """ResNet vs AlexNet: independent seeds, one network's seeds four times as variable."""
    rng = np.random.default_rng(n_seeds)
    a = simulated_retained(rng, n_seeds, 0.4, 0.1, retained=0.7)
    b = simulated_retained(rng, n_seeds, 0.1, 0.1, retained=0.7)
    truth = float(
        simulated_retained(rng, 1, 0.4, 0.1, 0.7, 400_000).mean()
        - simulated_retained(rng, 1, 0.1, 0.1, 0.7, 400_000).mean()
    )
    results = [welch(a[i], b[i]) for i in range(1000)]
    covered = np.mean([r["low"] <= truth <= r["high"] for r in results])
    supported = np.mean([r["p"] < 0.025 for r in results])
    assert 0.93 <= covered <= 0.97
    assert supported <= 0.03 + 0.01  # 1,000 simulations: standard error 0.005


@pytest.mark.parametrize("n_seeds", [3, 5, 10])
def test_identification_rate_differences_cover_with_seed_variation(n_seeds):
    """Per-image 0/1 identification, 10 images per seed, seeds' rates spread around 0.5."""
    rng = np.random.default_rng(50 + n_seeds)
    rates = 0.5 + 0.15 * rng.standard_normal((2, N_SIMS, n_seeds))
    hits = rng.random((2, N_SIMS, n_seeds, N_IMAGES)) < np.clip(rates, 0, 1)[..., None]
    effects = hits[0].mean(-1) - hits[1].mean(-1)
    covered, supported = coverage(effects, 0.0)
    assert 0.93 <= covered <= 0.97
    assert supported <= 0.03


def test_t_interval_and_one_sided_p_agree():
    effects = np.array([0.1, 0.3, 0.2, 0.25])
    mean, low, high = t_interval(effects)
    assert mean == pytest.approx(0.2125)
    assert (low > 0) == (p_greater(effects) < 0.025)
    assert p_less(effects) == pytest.approx(1 - p_greater(effects))
    assert np.isnan(t_interval([0.5])[1])  # one seed: no interval
    assert t_interval([0.5, 0.5, np.nan]) == (0.5, 0.5, 0.5)


def test_holm_on_a_known_set():
    adjusted = holm([0.01, 0.04, 0.03, 0.005, np.nan])
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])
    assert list(holm([0.5, 0.9])) == [1.0, 1.0]  # capped at 1, never below an earlier one


def test_seeds_needed_clears_the_line_at_the_observed_spread():
    effects = np.array([0.05, 0.15, 0.25])  # mean 0.15, sd 0.1: t(2) * 0.1 / sqrt(3) > 0.15
    n = seeds_to_clear(effects)
    assert n == seeds_needed(0.15, 0.1)
    from scipy.stats import t

    assert t.ppf(0.975, n - 1) * 0.1 / np.sqrt(n) < 0.15
    assert t.ppf(0.975, n - 2) * 0.1 / np.sqrt(n - 1) >= 0.15
    assert np.isnan(seeds_to_clear([0.2, 0.2, 0.2]))  # no spread: nothing to estimate


@pytest.mark.parametrize("gap, sd, alpha", [(0.3, 0.12, 0.025 / 9), (0.11, 0.05, 0.025)])
def test_seeds_for_power_find_the_effect_that_often_by_simulation(gap, sd, alpha):
    """At the planned n, the one-sided t test at alpha rejects in about ``power`` of the runs
    (normal seed effects, 20,000 simulated experiments, fixed RNG); at n - 1, less often."""
    from scipy.stats import t

    n = int(seeds_for_power(gap, sd, alpha, power=0.8))
    rng = np.random.default_rng(7)

    def rejection_rate(seeds: int) -> float:
        effects = rng.normal(gap, sd, size=(20_000, seeds))
        statistic = effects.mean(1) / (effects.std(1, ddof=1) / np.sqrt(seeds))
        return float((statistic > t.ppf(1 - alpha, seeds - 1)).mean())

    assert 0.78 <= rejection_rate(n) <= 0.88
    assert rejection_rate(n - 1) < 0.8
    assert np.isnan(seeds_for_power(0.0, 0.1)) and np.isnan(seeds_for_power(0.1, 0.0))


def test_seed_plan_recovers_the_spread_from_the_interval_and_marks_gates():
    import pandas as pd
    from scipy.stats import t

    from invertibility.analysis.seed_plan import plan_seeds

    half = t.ppf(0.975, 2) * 0.1 / np.sqrt(3)  # 3 seeds of spread 0.1 around 0.2
    welch_half = t.ppf(0.975, 4) * 0.1 / np.sqrt(3)
    claims = pd.DataFrame(
        {
            "claim": ["paired", "welch", "gated", "equivalence", "exploratory"],
            "family": ["primary"] * 4 + ["exploratory"],
            "kind": ["compare", "compare", "compare", "norm_predicts", "compare"],
            "detail": ["m:fc1 t=0 minus m:fc2", "a:c t=0 minus b:c", "a:c minus b:c", "", ""],
            "value": [0.2, 0.2, 0.0, -0.1, 0.2],
            "low": [0.2 - half, 0.2 - welch_half, -0.5, -0.1 - half, 0.0],
            "high": [0.2 + half, 0.2 + welch_half, 0.5, -0.1 + half, 0.4],
            "line": ["0", "0", "0", "+-0.3", "0"],
            "n_seeds": [3] * 5,
            "verdict": ["inconclusive"] * 5,
            "reason": ["p 0.03 >= 0.025: the interval reaches 0"] * 2
            + ["a:c at 4_100: the tp = t control is not above the other-image null"]
            + ["p 0.2 >= 0.025"] * 2,
        }
    )
    plan = plan_seeds(claims).set_index("claim")
    assert list(plan.index) == ["paired", "welch", "gated", "equivalence"]  # primary only
    np.testing.assert_allclose(plan.loc[["paired", "welch"], "seed_sd"], 0.1)
    assert plan.loc["equivalence", "gap"] == pytest.approx(0.2)  # the nearer margin
    assert plan.loc["paired", "seeds_for_power"] == seeds_for_power(0.2, 0.1, 0.025 / 4)
    assert plan.loc["gated", "gated"] and not plan.loc["paired", "gated"]
