"""The augmentation experiment's claims (kind ``arm_contrast``) on synthetic experiment tables
with a known truth, and Holm's adjustment within each family (the paper's, the experiment's)."""

import re

import numpy as np
import pandas as pd
import pytest
from synthetic import augmentation_table, augmentation_windows
from test_claims import compare_claim, side, synthetic_table

from invertibility.analysis.claims import evaluate_claims, evaluate_on
from invertibility.analysis.claims.arm_contrast import arm_references, check, window_references
from invertibility.analysis.claims.evidence import Evidence
from invertibility.analysis.stats import ALPHA, holm, one_sample
from invertibility.core.errors import ConfigError

A1 = [{"plus": ["fc1/early/drift"], "minus": ["fc1/static"]}]
CONTROL = [{"plus": ["fc1/shifted"], "minus": ["fc1/static"]}]
WINDOWS = {"layer": "fc1", "invertible": "early", "past": "late"}


def arms(drift=-0.1, shifted=-0.2, **more) -> dict[str, float]:
    return {"fc1/static": 0.0, "fc1/early/drift": drift, "fc1/shifted": shifted, **more}


def claim(name="A1", contrasts=A1, **rest) -> dict:
    return {
        "claim": name,
        "kind": "arm_contrast",
        "family": "augmentation",
        "contrasts": contrasts,
        **rest,
    }


def evaluate(claims, offsets=None, seeds=range(5), windows=None, rng_seed=0, **table):
    rng = np.random.default_rng(rng_seed)
    experiments = {
        "augmentation": augmentation_table({"m": offsets or arms()}, seeds, rng=rng, **table)
    }
    if windows is not None:
        experiments["augmentation_windows"] = augmentation_windows({"m": windows}, seeds, rng=rng)
    return evaluate_claims(claims, pd.DataFrame(), experiments=experiments)


def row_of(claims, **kwargs) -> pd.Series:
    return evaluate(claims, **kwargs)[0].iloc[0]


@pytest.mark.parametrize("drift, verdict", [(-0.1, "supported"), (0.1, "contradicted")])
def test_drift_below_static_is_supported_and_above_it_contradicted(drift, verdict):
    rng = np.random.default_rng(1)
    table = augmentation_table({"m": arms(drift)}, range(5), rng=rng)
    result, by_seed = evaluate_claims(
        [claim(controls=CONTROL)], pd.DataFrame(), experiments={"augmentation": table}
    )
    row = result.iloc[0]
    assert row["verdict"] == verdict, row.to_dict()
    assert row["family"] == "augmentation" and row["design"] == "paired"
    assert row["n_seeds"] == 5 and row["value"] == pytest.approx(drift, abs=0.03)
    # the effect per seed is the held-out outcome at each arm's last step, paired by seed
    read = table[(table["split"] == "held_out") & (table["step"] == table["step"].max())]
    outcome = read.set_index(["arm", "seed"])["cross_entropy_tempered"]
    expected = outcome["drift"] - outcome["static"]
    effects = by_seed.set_index("seed")["effect"]
    pd.testing.assert_series_equal(effects, expected, check_names=False)
    low, high = one_sample(expected).confidence_interval(row["level"])
    assert (row["low"], row["high"]) == pytest.approx((low, high))
    assert row["p_value"] == pytest.approx(one_sample(expected).p_reverse)  # claimed: below 0


def test_the_claims_measure_picks_the_outcome_column():
    rng = np.random.default_rng(2)
    table = augmentation_table({"m": arms(-0.1)}, range(5), rng=rng)
    table.loc[table["arm"] == "drift", "cross_entropy"] += 0.5  # the raw outcome: drift worse
    experiments = {"augmentation": table}
    tempered = evaluate_claims([claim()], pd.DataFrame(), experiments=experiments)[0]
    raw = evaluate_claims([claim(measure="cross_entropy")], pd.DataFrame(), experiments=experiments)
    assert tempered.iloc[0]["verdict"] == "supported"
    assert raw[0].iloc[0]["verdict"] == "contradicted"
    assert raw[0].iloc[0]["measure"].startswith("cross_entropy:")


def test_a_failed_positive_control_gates_the_row_with_a_note():
    passed = row_of([claim(controls=CONTROL)], offsets=arms(shifted=-0.2))
    assert passed["verdict"] == "supported" and not passed["gated"]
    failed = row_of([claim(controls=CONTROL)], offsets=arms(shifted=0.0))
    assert failed["verdict"] == "inconclusive" and failed["gated"]
    assert failed["why_inconclusive"] == "positive control fails"
    assert "positive control fc1/shifted - fc1/static" in failed["reason"]
    assert "one-sided p" in failed["reason"]
    assert failed["p_value"] < ALPHA  # the contrast itself would have been supported


@pytest.mark.parametrize(
    "early, late, passes",
    [
        (0.7, 0.3, True),
        (0.6, 0.6, False),  # no difference
        (0.45, 0.2, False),  # differ, but the early window is not invertible
        (0.9, 0.6, False),  # differ, but the late window is not past the horizon
    ],
)
def test_the_windows_gate_needs_r_to_differ_and_to_straddle_one_half(early, late, passes):
    windows = {("fc1", "early"): early, ("fc1", "late"): late}
    row = row_of([claim(windows_differ=WINDOWS)], windows=windows)
    assert row["gated"] != passes, row["reason"]
    assert row["verdict"] == ("supported" if passes else "inconclusive")
    if not passes:
        assert row["why_inconclusive"] == "windows do not differ"
        assert "retained similarity of fc1" in row["reason"]


def test_without_the_windows_table_the_windows_gate_holds_the_claim():
    row = row_of([claim(windows_differ=WINDOWS)])
    assert row["gated"] and row["why_inconclusive"] == "windows do not differ"


@pytest.mark.parametrize(
    "drift, verdict",
    [(0.0, "supported"), (0.015, "inconclusive"), (0.06, "contradicted")],
)
def test_no_practical_effect_is_an_equivalence_within_the_margin(drift, verdict):
    row = row_of([claim(margin=0.015)], offsets=arms(drift), seeds=range(12), arm_sd=0.002)
    assert row["verdict"] == verdict, row.to_dict()
    assert row["line"] == "+-0.015" and row["margin"] == 0.015
    assert "above -0.015" in row["parts"] and "below +0.015" in row["parts"]


def test_a_claim_of_two_contrasts_follows_the_weaker():
    strong = {"plus": ["fc1/early/drift"], "minus": ["fc1/static"]}
    weak = {"plus": ["fc1/early/drift"], "minus": ["fc1/early/permuted"]}
    offsets = arms(-0.1, **{"fc1/early/permuted": -0.105})
    rows = {}
    for order in ([strong, weak], [weak, strong]):
        rows[len(rows)] = row_of([claim(contrasts=order)], offsets=offsets, arm_sd=0.01)
    for row in rows.values():
        assert row["verdict"] == "inconclusive"
        assert "its weakest part: fc1/early/drift - fc1/early/permuted" in row["reason"]
    assert rows[0]["p_value"] == pytest.approx(rows[1]["p_value"])  # the larger p, either way
    assert rows[0]["value"] == pytest.approx(-0.1, abs=0.03)  # the headline is the first
    # both strong: supported
    offsets = arms(-0.1, **{"fc1/early/permuted": 0.0})
    assert row_of([claim(contrasts=[strong, weak])], offsets=offsets)["verdict"] == "supported"


def test_a_contrast_of_contrasts_sums_its_arms():
    """A3's form: (C - E) early minus (C - E) late, per seed."""
    offsets = {
        "fc1/early/drift": -0.1,
        "fc1/early/permuted": 0.0,
        "fc1/late/drift": 0.0,
        "fc1/late/permuted": 0.0,
    }
    contrast = [
        {
            "plus": ["fc1/early/drift", "fc1/late/permuted"],
            "minus": ["fc1/early/permuted", "fc1/late/drift"],
        }
    ]
    row = row_of([claim(contrasts=contrast)], offsets=offsets)
    assert row["verdict"] == "supported" and row["value"] == pytest.approx(-0.1, abs=0.03)


def test_an_arm_missing_from_the_table_gives_no_effect_not_a_crash():
    contrast = [{"plus": ["fc1/early/noise"], "minus": ["fc1/static"]}]
    row = row_of([claim(contrasts=contrast)])
    assert row["verdict"] == "inconclusive" and np.isnan(row["p_value"])
    assert row["why_inconclusive"] == "arm missing" and "fc1/early/noise" in row["reason"]
    # no experiment table at all
    result = evaluate_claims([claim()], pd.DataFrame())[0]
    assert result.iloc[0]["verdict"] == "inconclusive" and result.iloc[0]["gated"]


def test_a_claim_names_its_model_where_the_table_holds_several():
    rng = np.random.default_rng(3)
    table = augmentation_table({"a": arms(-0.1), "b": arms(0.1)}, range(5), rng=rng)
    experiments = {"augmentation": table}
    claims = [claim("a", model="a"), claim("b", model="b"), claim("unnamed")]
    result = evaluate_claims(claims, pd.DataFrame(), experiments=experiments)[0]
    verdicts = result.set_index("claim")["verdict"].to_dict()
    assert verdicts == {"a": "supported", "b": "contradicted", "unnamed": "inconclusive"}
    assert result.iloc[2]["why_inconclusive"] == "model not named"


def test_a_seed_missing_an_arm_is_left_out_and_said():
    rng = np.random.default_rng(4)
    table = augmentation_table({"m": arms()}, range(5), rng=rng)
    table = table[~((table["seed"] == 2) & (table["arm"] == "drift"))]
    row = evaluate_claims([claim()], pd.DataFrame(), experiments={"augmentation": table})[0]
    assert row.iloc[0]["n_seeds"] == 4
    assert "left out: [2]" in row.iloc[0]["detail"]


def test_too_few_seeds_gate_an_arm_contrast_without_counting_images():
    row = row_of([claim()], seeds=range(2))
    assert row["gated"] and row["why_inconclusive"] == "too few seeds"
    assert "rests on 2 seeds (a verdict needs 3)" in row["reason"]
    assert pd.isna(row["n_images"])


# --- families ---------------------------------------------------------------------------------


def paper_claims():
    return [
        compare_claim(claim="weak"),
        compare_claim(claim="strong", lesser=side("l3"), greater=side("l1")),
        compare_claim(claim="middle", lesser=side("l2"), greater=side("l3")),
    ]


def augmentation_claims():
    return [
        claim("A1", A1),
        claim("A2", [{"plus": ["fc1/early/drift"], "minus": ["fc1/early/permuted"]}]),
        claim("A5", A1, margin=0.015),
        claim("exploratory", A1, primary=False),
    ]


def both_families(paper=True, augmentation=True):
    table = synthetic_table({"l1": 0.62, "l2": 0.6, "l3": 0.9}, seed_sd=0.01, image_sd=0.01)
    offsets = arms(-0.1, **{"fc1/early/permuted": -0.09})
    experiments = {
        "augmentation": augmentation_table({"m": offsets}, range(5), rng=np.random.default_rng(5))
    }
    claims = (paper_claims() if paper else []) + (augmentation_claims() if augmentation else [])
    result = evaluate_claims(claims, table, pd.DataFrame(), experiments=experiments)[0]
    return result[~result["claim"].str.contains(r"\[")].set_index("claim")


def test_holm_runs_within_each_family_and_the_family_column_names_it():
    both = both_families()
    assert both["family"].to_dict() == {
        "weak": "primary",
        "strong": "primary",
        "middle": "primary",
        "A1": "augmentation",
        "A2": "augmentation",
        "A5": "augmentation",
        "exploratory": "exploratory",
    }
    paper, augmentation = both_families(augmentation=False), both_families(paper=False)
    for alone in (paper, augmentation):
        members = alone[alone["family"] != "exploratory"]
        # each family's adjustment is Holm over its own claims, whatever the other family holds
        np.testing.assert_allclose(members["p_adjusted"], holm(members["p_value"].to_numpy()))
        columns = ["p_adjusted", "level", "verdict", "seeds_for_power"]
        pd.testing.assert_frame_equal(both.loc[members.index, columns], members[columns])
    # the strongest claim of each family is judged at ALPHA over its own family's size
    assert both.loc["A1", "level"] == pytest.approx(1 - 2 * ALPHA / 3)
    assert both.loc["strong", "level"] == pytest.approx(1 - 2 * ALPHA / 3)
    assert np.isnan(both.loc["exploratory", "p_adjusted"])
    assert both.loc["exploratory", "verdict"] == "exploratory: supported (unadjusted)"


def test_the_auxiliary_bound_level_is_the_claims_own_familys(monkeypatch):
    """A kind is handed ALPHA over the size of its claim's own family."""
    from invertibility.analysis import claims as claims_module
    from invertibility.analysis.claims.kind import Kind, seed_row

    handed = []

    def probe(evidence, claim, alpha):
        handed.append((claim["claim"], alpha))
        return [seed_row(claim["claim"], "m", pd.Series([0.1, 0.2, 0.3]), n_images=10)]

    kind = Kind(name="probe", evaluate=probe, null=lambda claim: 0.0, alternatives={})
    monkeypatch.setitem(claims_module.KINDS, "probe", kind)
    listed = [{"claim": f"p{i}", "kind": "probe"} for i in range(3)]
    listed += [{"claim": f"a{i}", "kind": "probe", "family": "augmentation"} for i in range(2)]
    listed.append({"claim": "x", "kind": "probe", "family": "augmentation", "primary": False})
    result = evaluate_on(Evidence(pd.DataFrame()), listed)[0]
    assert handed == [
        *[(f"p{i}", ALPHA / 3) for i in range(3)],
        *[(f"a{i}", ALPHA / 2) for i in range(2)],
        ("x", ALPHA),
    ]
    assert result["family"].tolist() == ["primary"] * 3 + ["augmentation"] * 2 + ["exploratory"]


def test_evidence_without_an_invertibility_table_still_judges_every_kind():
    """A config that runs only the experiment: an empty table (no columns) reads as one with
    no rows; a paper claim on it is inconclusive, nothing inverted, not a crash."""
    result = evaluate([claim(), compare_claim(claim="paper"), {"claim": "d", "kind": "distance"}])[
        0
    ].set_index("claim")
    assert result.loc["A1", "verdict"] == "supported"
    assert result.loc["paper", "why_inconclusive"] == "nothing inverted"
    assert result.loc["d", "verdict"] == "inconclusive"


def test_the_specification_curve_adjusts_each_family_as_the_claims_table_does():
    from invertibility.analysis.claims.sensitivity import SPECIFICATIONS, claims_sensitivity

    specs = [s for s in SPECIFICATIONS if s.name in ("registered", "excess", "last tp only")]

    table = synthetic_table({"l1": 0.62, "l2": 0.6, "l3": 0.9}, seed_sd=0.01, image_sd=0.01)
    experiments = {
        "augmentation": augmentation_table({"m": arms()}, range(5), rng=np.random.default_rng(6))
    }
    claims = [*paper_claims(), claim("A1"), claim("A5", margin=0.015)]
    evidence = Evidence(table, pd.DataFrame(), pd.DataFrame(), experiments)
    curve = claims_sensitivity(claims, evidence, specs)
    registered = curve[curve["specification"] == "registered"].set_index("claim")
    listed = evaluate_claims(claims, table, pd.DataFrame(), experiments=experiments)[0]
    listed = listed[listed["family"] != "exploratory"].set_index("claim")
    for column in ("verdict", "p_adjusted"):
        assert registered[column].tolist() == listed.loc[registered.index, column].tolist()
    alone = claims_sensitivity(paper_claims(), evidence, specs)
    paper = curve[curve["claim"].isin(alone["claim"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(paper.drop(columns="order"), alone.drop(columns="order"))
    # the experiment's claims take no alternative: n/a beside their registered verdict
    experiment = curve[curve["claim"].isin(["A1", "A5"])]
    assert (experiment["applies"] == (experiment["specification"] == "registered")).all()


# --- the config check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, key",
    [
        ({"contrasts": [{"plus": ["fc1/early/static"], "minus": ["fc1/static"]}]}, "plus[0]"),
        ({"contrasts": [{"plus": ["fc1/drift"], "minus": ["fc1/static"]}]}, "plus[0]"),
        ({"contrasts": [{"plus": ["fc1/early/drift"], "minus": ["fc1/a/b/c"]}]}, "minus[0]"),
        ({"contrasts": [{"plus": ["fc1/early/bogus"], "minus": ["fc1/static"]}]}, "plus[0]"),
        ({"contrasts": [{"plus": ["fc1/early/drift"], "minus": []}]}, "minus"),
        (
            {"contrasts": [{"plus": ["fc1/early/drift", "fc1/shifted"], "minus": ["fc1/static"]}]},
            "contrasts[0]",
        ),
        ({"contrasts": [{"plus": ["fc1/static"], "minus": ["fc1/static"]}]}, "contrasts[0]"),
        ({"contrasts": []}, "contrasts"),
        ({"controls": [{"plus": ["fc1/shifted"]}]}, "controls[0]"),
        ({"windows_differ": {"layer": "fc1", "invertible": "early", "past": "early"}}, "windows"),
        ({"windows_differ": {"layer": "fc1", "invertible": "early"}}, "windows_differ"),
        ({"margin": 0}, "margin"),
        ({"margin": True}, "margin"),
        ({"measure": "retained"}, "measure"),
    ],
)
def test_a_malformed_claim_is_refused_naming_its_key(change, key):
    with pytest.raises(ConfigError, match=r"claims\[0\]\.\S*" + re.escape(key)):
        check({**claim(controls=CONTROL), **change}, "claims[0]")


def test_a_well_formed_claim_passes_and_lists_the_arms_and_windows_it_needs():
    a3 = claim(
        contrasts=[
            {
                "plus": ["fc1/early/drift", "fc1/late/permuted"],
                "minus": ["fc1/early/permuted", "fc1/late/drift"],
            }
        ],
        controls=CONTROL,
        windows_differ=WINDOWS,
    )
    check(a3, "claims[0]")
    assert arm_references(a3) == {
        ("fc1", "early", "drift"),
        ("fc1", "late", "permuted"),
        ("fc1", "early", "permuted"),
        ("fc1", "late", "drift"),
        ("fc1", "", "shifted"),
        ("fc1", "", "static"),
    }
    assert window_references(a3) == {("fc1", "early"), ("fc1", "late")}


def test_the_windows_gate_holds_its_level_where_the_means_straddle_one_half():
    """Means on either side of 0.5 are not enough: the difference must clear a one-sided paired
    t at 0.025 (here p is about 0.2: gated)."""
    windows = augmentation_windows(
        {"m": {("fc1", "early"): 0.0, ("fc1", "late"): 0.0}}, range(3), sd=0.0
    )
    windows.loc[windows["window"] == "early", "retained"] = [0.9, 0.2, 0.9]
    windows.loc[windows["window"] == "late", "retained"] = [0.3, 0.6, 0.1]
    table = augmentation_table({"m": arms()}, range(3), rng=np.random.default_rng(0))
    result, _ = evaluate_claims(
        [claim(windows_differ=WINDOWS)],
        pd.DataFrame(),
        experiments={"augmentation": table, "augmentation_windows": windows},
    )
    row = result.iloc[0]
    assert row["gated"] and row["why_inconclusive"] == "windows do not differ", row["reason"]


def test_a_seed_missing_an_outcome_gates_the_claim_rather_than_leaving_the_seed_out():
    table = augmentation_table({"m": arms()}, range(4), rng=np.random.default_rng(0))
    last = table["step"] == table["step"].max()
    table.loc[last & (table["seed"] == 2) & (table["arm"] == "drift"), "cross_entropy_tempered"] = (
        np.nan
    )
    result, _ = evaluate_claims([claim()], pd.DataFrame(), experiments={"augmentation": table})
    row = result.iloc[0]
    assert row["gated"] and row["why_inconclusive"] == "seed incomplete", row["reason"]
    assert "[2]" in row["reason"]
