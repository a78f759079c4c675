"""The statistics over seeds as functions: intervals and one-sided p agree, the spread floor of a
discrete effect, the permutation trend test, Holm, and the seed-planning rules. Their calibration
through the claims evaluator is in ``tests/test_calibration.py``."""

import numpy as np
import pytest

from invertibility.analysis.stats import (
    holm,
    p_greater,
    p_less,
    permutation_trend,
    seeds_for_power,
    seeds_needed,
    seeds_to_clear,
    t_interval,
    welch,
)


def test_a_discrete_effect_whose_seeds_agree_exactly_does_not_get_p_zero():
    """Three seeds that each keep 10 of 10 labels: with the spread floored at one image (0.1)
    the test still finds the effect, but with a finite p; without a floor p would be 0."""
    effects = np.array([1.0, 1.0, 1.0])
    assert p_greater(effects, 0.5) == 0.0  # no floor: the forbidden p = 0
    floored = p_greater(effects, 0.5, resolution=0.1)
    assert 0 < floored < 0.025
    assert p_greater(np.array([0.6, 0.6, 0.6]), 0.5, resolution=0.1) > 0.1
    result = welch(np.ones(3), np.zeros(3), resolution=0.1)
    assert 0 < result["p"] < 0.025 and np.isfinite(result["low"]) and result["low"] < 1


def test_the_permutation_trend_test_is_exact_for_three_sides():
    """Over 3 sides Spearman takes 1, 0.5, -0.5, -1 with chances 1/6, 2/6, 2/6, 1/6 under no
    trend: three seeds all at 1 have p 1/216; two at 1 and one at 0.5, 1/216 + 3/108."""
    x = np.array([1.0, 2.0, 3.0])
    p_up, p_down = permutation_trend(x, np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3.0]]))
    assert p_up == pytest.approx(1 / 216, abs=0.002) and p_down == pytest.approx(1.0)
    p_up, _ = permutation_trend(x, np.array([[1, 2, 3], [1, 2, 3], [1, 3, 2.0]]))
    assert p_up == pytest.approx(1 / 216 + 3 / 108, abs=0.004)
    assert np.isnan(permutation_trend(x, np.ones((3, 3)))[0])  # every side ties: no ranks


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
