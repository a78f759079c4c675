"""The statistics over seeds as result objects: every test's interval and one-sided p come from
one spread and agree at every level, intervals stay within the estimate's range, the spread
floor of a discrete effect, the permutation trend test and its interval, Holm, and the
seed-planning rules. Their calibration through the claims evaluator is in
``tests/test_calibration.py``."""

import numpy as np
import pandas as pd
import pytest

from invertibility.analysis.stats import (
    holm,
    one_sample,
    p_greater,
    p_less,
    permutation_trend,
    seeds_for_power,
    seeds_needed,
    t_interval,
    welch_test,
)


def test_a_discrete_effect_whose_seeds_agree_exactly_does_not_get_p_zero():
    """Three seeds that each keep 10 of 10 labels: with the spread floored at one image (0.1)
    the test still finds the effect, but with a finite p; without a floor p would be 0."""
    effects = np.array([1.0, 1.0, 1.0])
    assert p_greater(effects, 0.5) == 0.0  # no floor: the forbidden p = 0
    floored = p_greater(effects, 0.5, resolution=0.1)
    assert 0 < floored < 0.025
    assert p_greater(np.array([0.6, 0.6, 0.6]), 0.5, resolution=0.1) > 0.1
    result = welch_test(np.ones(3), np.zeros(3), resolution=0.1)
    assert 0 < result.p < 0.025 and 0 < result.confidence_interval()[0] < 1


def test_the_permutation_trend_test_is_exact_for_three_sides():
    """Over 3 sides Spearman takes 1, 0.5, -0.5, -1 with chances 1/6, 2/6, 2/6, 1/6 under no
    trend: three seeds all at 1 have p 1/216; two at 1 and one at 0.5, 1/216 + 3/108."""
    x = np.array([1.0, 2.0, 3.0])
    found = permutation_trend(x, np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3.0]]))
    assert found.p == pytest.approx(1 / 216, abs=0.002) and found.p_reverse == pytest.approx(1.0)
    assert found.estimate == pytest.approx(1.0) and found.design == "permutation"
    found = permutation_trend(x, np.array([[1, 2, 3], [1, 2, 3], [1, 3, 2.0]]))
    assert found.p == pytest.approx(1 / 216 + 3 / 108, abs=0.004)
    assert np.isnan(permutation_trend(x, np.ones((3, 3))).p)  # every side ties: no ranks


def random_tests(rng, n_cases=60):
    """One-sample, paired, Welch and permutation results on random seed effects."""
    for _ in range(n_cases):
        n = int(rng.integers(3, 9))
        shift = rng.normal(0, 1.5)
        effects = pd.Series(rng.normal(shift, 1, n), index=range(10, 10 + n))
        yield one_sample(effects, null=rng.normal(0, 0.3), resolution=0.05)
        yield one_sample(effects, design="paired", bounds=(-1.0, 1.0))
        yield welch_test(effects, pd.Series(rng.normal(0, 2, n + 2)), resolution=0.05)
        sides = rng.normal(size=(n, 4)) + shift * np.arange(4)
        yield permutation_trend(np.arange(4.0), sides, n_draws=2000, seed=int(rng.integers(99)))


@pytest.mark.parametrize("level", [0.95, 1 - 2 * 0.025 / 7, 0.999])
def test_every_tests_interval_clears_its_null_exactly_when_its_p_does(level):
    """The interval and the p of a result come from one spread (the trend's: one permutation
    null), so the verdict read from one is the verdict read from the other, at every level
    Holm may judge a claim at; the old trend interval was Student's t beside a permutation p."""
    alpha = (1 - level) / 2
    rng = np.random.default_rng(11)
    checked = 0
    for test in random_tests(rng):
        low, high = test.raw_interval(level)
        assert (low > test.null) == (test.p < alpha), test
        assert (high < test.null) == (test.p_reverse < alpha), test
        checked += (test.p < alpha) + (test.p_reverse < alpha)
    assert checked > 20  # the cases decide in both directions, not only "inconclusive"


def test_an_interval_stays_within_its_measures_range_and_says_when_it_was_clipped():
    """A difference of fractions near 1 (the default run printed 0.933 [0.804, 1.063]) is
    clipped to [-1, 1]; the clip is reported; an interval inside the range is untouched."""
    near_one = pd.Series([0.99, 0.8, 1.0])
    clipped = one_sample(near_one, bounds=(-1.0, 1.0))
    raw_low, raw_high = clipped.raw_interval()
    assert raw_high > 1 and clipped.confidence_interval() == (raw_low, 1.0)
    assert clipped.clipped() and not one_sample(near_one - 0.5, bounds=(-1, 1)).clipped()
    trend = permutation_trend(np.arange(3.0), np.array([[1, 2, 3.0]] * 4))
    assert trend.confidence_interval()[1] == 1.0 and trend.clipped()


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
    n = one_sample(effects).seeds_to_clear()
    assert n == seeds_needed(0.15, 0.1)
    assert one_sample(effects).seeds_to_clear(power=0.8) == seeds_for_power(0.15, 0.1)
    two = welch_test(effects, effects - 0.15)  # two sides of spread 0.1: sqrt(2) x 0.1 per side
    assert two.seed_sd == pytest.approx(np.hypot(0.1, 0.1))
    assert two.seeds_to_clear() == seeds_needed(0.15, np.hypot(0.1, 0.1))
    from scipy.stats import t

    assert t.ppf(0.975, n - 1) * 0.1 / np.sqrt(n) < 0.15
    assert t.ppf(0.975, n - 2) * 0.1 / np.sqrt(n - 1) >= 0.15
    assert np.isnan(one_sample([0.2, 0.2, 0.2]).seeds_to_clear())  # no spread: nothing to estimate


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


def test_seed_plan_reads_the_claims_tables_planned_seeds_and_refuses_an_old_table():
    """The planner reads the columns the claims rule wrote from each row's tests and notes
    (``seeds_for_power``, ``seed_sd``, ``gated``), parsing no line, reason or detail text."""
    from invertibility.analysis.seed_plan import PLAN_COLUMNS, plan_seeds
    from invertibility.core.errors import ConfigError

    claims = pd.DataFrame(
        {
            "claim": ["paired", "wrong side", "gated", "exploratory", "A1"],
            "family": ["primary"] * 3 + ["exploratory", "augmentation"],
            "verdict": ["inconclusive"] * 5,
            "n_seeds": [3] * 5,
            "seed_sd": [0.1, 0.1, 0.5, 0.1, 0.006],
            "seeds_for_power": [7.0, np.nan, 30.0, 5.0, 12.0],
            "gated": [False, False, True, False, False],
            "line": ["0", "0", "0", "0", "+-0.015"],
            # a reason that looks like a test's does not make a gated claim a test's
            "reason": ["p 0.2 >= 0.025"] * 5,
        }
    )
    plan = plan_seeds(claims)
    assert list(plan.columns) == PLAN_COLUMNS
    # every family's claims (the paper's, an experiment's), not the exploratory rows
    assert plan["claim"].tolist() == ["paired", "wrong side", "gated", "A1"]
    assert plan["family"].tolist() == ["primary"] * 3 + ["augmentation"]
    assert plan["seeds_for_power"].tolist()[::2] == [7.0, 30.0]
    assert plan["seeds_for_power"][3] == 12.0
    assert np.isnan(plan["seeds_for_power"][1])
    assert plan["gated"].tolist() == [False, False, True, False]
    with pytest.raises(ConfigError, match="seeds_for_power"):
        plan_seeds(claims.drop(columns="seeds_for_power"))
