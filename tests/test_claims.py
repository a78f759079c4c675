"""Claims over seeds: effects per seed, intervals and p-values, the gates by direction, Holm's
family, and the one rule for diverged images and photos."""

import numpy as np
import pandas as pd
import pytest

from invertibility.analysis.claims import evaluate_claims
from invertibility.analysis.claims.kind import Kind, Part, Row, combine, seed_row
from invertibility.analysis.retention import retention_table
from invertibility.analysis.stats import holm, one_sample, seeds_for_power, t_interval
from invertibility.analysis.tables import invertibility_table, summarize
from invertibility.core.inversion_io import save_inversion

CONTROL, NULL = 0.8, 0.1  # mean similarity of the tp = t and other-image controls


def synthetic_table(
    retained_by_layer,
    n=30,
    seeds=(0, 1, 2),
    floor=0.0,
    accuracy=0.9,
    control=CONTROL,
    image_sd=0.05,
    seed_sd=0.02,
    rng_seed=0,
    model="m",
):
    """Rows of ``model``, function 0_1: tp 0_1 (p = 0, similarity ``control``), 0_5 (p = 4,
    retaining the layer's fraction of the margin), the other-image control (``NULL``) and the
    cross-seed control (retaining ``floor``); each seed's retained fraction varies by
    ``seed_sd``, each image by ``image_sd``."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for seed in seeds:
        for layer, retained in retained_by_layer.items():
            kept = retained + seed_sd * rng.standard_normal()
            levels = {
                "0_1": (0, control),
                "0_5": (4, NULL + kept * (control - NULL)),
                "other_image": (None, NULL),
                "cross_seed": (None, NULL + floor * (control - NULL)),
            }
            for image in range(n):
                for tp, (p, level) in levels.items():
                    similarity = level + image_sd * rng.standard_normal()
                    rows.append(
                        {
                            "model": model,
                            "seed": seed,
                            "layer": layer,
                            "t": "0_1",
                            "tp": tp,
                            "p": p,
                            "drift": {0: 0.0, 4: 0.1}.get(p, 1.4),
                            "image_id": f"i{image}",
                            "label": image % 10,
                            "photo": False,
                            "similarity": similarity,
                            "identified": similarity > 0.45,
                            "id_score": similarity,
                            "label_kept": similarity > 0.45,
                            "diverged": False,
                            "final_lr": 5.0,
                            "accuracy_t": accuracy,
                            "accuracy_tp": accuracy,
                        }
                    )
    return pd.DataFrame(rows).astype(
        {"identified": "boolean", "label_kept": "boolean", "p": "Int64"}
    )


def side(layer, model="m"):
    return {"model": model, "layers": [layer], "t": "0_1"}


def compare_claim(**extra):
    return {
        "claim": "l1 longer",
        "kind": "compare",
        "greater": side("l1"),
        "lesser": side("l2"),
        **extra,
    }


def first(claims, table, **kwargs):
    return evaluate_claims(claims, table, pd.DataFrame(), **kwargs)[0].iloc[0]


def test_retained_similarity_is_one_at_the_control_and_zero_at_the_null():
    table = synthetic_table({"l1": 1.0, "l2": 0.0}, image_sd=0.0, seed_sd=0.0)
    retention = retention_table(table).set_index(["layer", "tp", "seed"]).sort_index()["retained"]
    assert retention.loc[("l1", "0_5")].to_numpy() == pytest.approx(1.0)
    assert retention.loc[("l2", "0_5")].to_numpy() == pytest.approx(0.0, abs=1e-12)
    assert retention.loc[("l1", "0_1")].to_numpy() == pytest.approx(1.0)
    assert retention.loc[("l1", "other_image")].to_numpy() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "a, b, verdict",
    [(0.9, 0.3, "supported"), (0.3, 0.9, "contradicted"), (0.6, 0.6, "inconclusive")],
)
def test_compare_verdicts_over_seeds(a, b, verdict):
    result = first([compare_claim()], synthetic_table({"l1": a, "l2": b}))
    assert result["verdict"] == verdict, result.to_dict()
    # the interval is Student's t over the per-seed effects at the row's own level
    effects = evaluate_claims([compare_claim()], synthetic_table({"l1": a, "l2": b}))[1]
    mean, low, high = t_interval(effects["effect"], result["level"])
    assert (result["value"], result["low"], result["high"]) == pytest.approx((mean, low, high))
    assert result["n_seeds"] == 3
    assert result["n_images"] == 30  # distinct images, not image x seed pairs
    assert "paired by seed" in result["measure"]
    if verdict != "inconclusive":
        assert result["value"] == pytest.approx(a - b, abs=0.05)
        assert result["same_sign_every_seed"]
    else:
        assert "about" in result["reason"] or "reaches" in result["reason"]


def test_per_seed_effects_are_reported_for_the_forest_plot():
    _, by_seed = evaluate_claims(
        [compare_claim()], synthetic_table({"l1": 0.9, "l2": 0.3}), pd.DataFrame()
    )
    assert by_seed["seed"].tolist() == [0, 1, 2]
    assert (by_seed["effect"] > 0.5).all()


def test_sides_of_two_networks_are_compared_unpaired():
    """Seed numbers mean nothing across architectures: Welch over the two sets of seeds."""
    table = pd.concat(
        [
            synthetic_table({"l": 0.9}, model="resnet", rng_seed=1),
            synthetic_table({"l": 0.4}, model="alexnet", seeds=(3, 4, 5), rng_seed=2),
        ]
    )
    claim = compare_claim(greater=side("l", "resnet"), lesser=side("l", "alexnet"))
    result = first([claim], table)
    assert "Welch" in result["measure"] and result["verdict"] == "supported"
    assert result["value"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(
    "a, b, floor, verdict",
    [
        (0.9, 0.1, 0.0, "supported"),
        (0.1, 0.1, 0.0, "contradicted"),
        (0.5, 0.1, 0.0, "inconclusive"),
        (0.9, 0.1, 0.95, "inconclusive"),  # the below side's floor leaves no room for a loss
    ],
)
def test_threshold_verdicts_need_the_level_and_the_floor(a, b, floor, verdict):
    table = synthetic_table({"low": a, "high": b}, floor=floor)
    claim = {"claim": "low holds, high not", "kind": "threshold"}
    claim |= {"above": side("low"), "below": side("high")}
    assert first([claim], table)["verdict"] == verdict


def test_the_floor_gates_only_the_side_that_claims_a_loss():
    """Another seed's activations invert too: that voids a loss (the lesser side), not a
    holding (the greater side), whose floor is reported beside it instead."""
    table = synthetic_table({"l1": 1.0, "l2": 0.2})
    high_floor = (table["layer"] == "l1") & (table["tp"] == "cross_seed")
    table.loc[high_floor, "similarity"] = CONTROL
    assert first([compare_claim()], table)["verdict"] == "supported"
    swapped = compare_claim(greater=side("l2"), lesser=side("l1"))
    result = first([swapped], table)
    assert result["verdict"] == "inconclusive"
    assert "cross-seed floor" in result["reason"]


def test_a_side_whose_perfect_target_does_not_invert_is_inconclusive():
    table = synthetic_table({"l1": 0.0, "l2": 0.0}, control=NULL)
    claim = {"claim": "t", "kind": "threshold", "above": side("l1"), "below": side("l2")}
    result = first([claim], table)
    assert result["verdict"] == "inconclusive"
    assert "0 of 3 seeds pass the control (a measurable margin" in result["reason"]


def test_a_network_near_chance_keeps_its_verdict_and_reports_its_accuracy():
    """The paper's function steps are early on purpose: no near-chance override."""
    result = first([compare_claim()], synthetic_table({"l1": 0.9, "l2": 0.3}, accuracy=0.12))
    assert result["verdict"] == "supported"
    assert "greater 0.12" in result["accuracy_t"]


def test_too_many_diverged_inversions_make_the_verdict_inconclusive():
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    diverged = (table["layer"] == "l2") & (table["tp"] == "0_5") & (table["image_id"] < "i2")
    table.loc[diverged, ["diverged", "similarity"]] = [True, np.nan]
    result = first([compare_claim()], table)
    assert result["verdict"] == "inconclusive" and "diverged" in result["reason"]


def test_a_step_only_one_seed_inverted_never_enters_a_claim():
    """A figure inverts seed 0 only: its extra step is not exchangeable across seeds."""
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    before = first([compare_claim()], table)["value"]
    extra = table[(table["seed"] == 0) & (table["tp"] == "0_5")].assign(tp="0_9", p=8)
    extra.loc[extra["layer"] == "l1", "similarity"] = NULL  # would pull seed 0's effect down
    after = first([compare_claim()], pd.concat([table, extra], ignore_index=True))["value"]
    assert after == before


def test_photos_never_enter_a_claim():
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    before = first([compare_claim()], table)["value"]
    photo = table[table["image_id"] == "i0"].assign(image_id="photo:coffee", label=-1, photo=True)
    photo.loc[photo["layer"] == "l2", "similarity"] = 1.0  # would pull the difference down
    after = first([compare_claim()], pd.concat([table, photo], ignore_index=True))["value"]
    assert after == before


def test_primary_claims_are_holm_adjusted_and_exploratory_ones_are_not():
    table = synthetic_table({"l1": 0.62, "l2": 0.6, "l3": 0.9}, seed_sd=0.01, image_sd=0.01)
    claims = [
        compare_claim(claim="weak"),
        compare_claim(claim="strong", lesser=side("l3"), greater=side("l1")),
        compare_claim(claim="weak, exploratory", primary=False),
    ]
    result = evaluate_claims(claims, table, pd.DataFrame())[0].set_index("claim")
    assert list(result["family"]) == ["primary", "primary", "exploratory"]
    weak = result.loc["weak"]
    family = result.loc[["weak", "strong"], "p_value"].to_numpy()
    assert weak["p_adjusted"] == pytest.approx(holm(family)[0])
    assert weak["p_adjusted"] > weak["p_value"]  # two primary claims: the weak one is adjusted
    assert np.isnan(result.loc["weak, exploratory", "p_adjusted"])
    assert result.loc["strong", "verdict"] == "contradicted"


def test_seeds_to_decide_plans_every_part_on_the_side_it_claims():
    """Seeds for 80% power at a level: the largest need of the parts the verdict rests on; NaN
    where an estimate lies on the wrong side (no number of seeds helps) or one seed leaves the
    spread unknown (not 0)."""
    up = one_sample(pd.Series([0.3, 0.1, 0.2]))  # 0.2, seed SD 0.1
    weak = one_sample(pd.Series([0.05, 0.15, 0.1]))  # 0.1, seed SD 0.05
    down = one_sample(pd.Series([-0.3, -0.1, -0.2]))
    alpha = 0.025 / 4
    level = 1 - 2 * alpha

    def need(test, *parts, power=0.8):
        return Row("c", "m", test, 0.5, 0.5, parts=parts).seeds_to_decide(level, power)

    assert need(up) == seeds_for_power(0.2, 0.1, alpha, 0.8)
    assert np.isnan(need(down))  # a greater claim whose estimate is below its null
    assert need(down, Part("m", down, "less")) == seeds_for_power(0.2, 0.1, alpha, 0.8)
    assert need(up, Part("a", up), Part("b", weak)) == max(
        seeds_for_power(0.2, 0.1, alpha, 0.8), seeds_for_power(0.1, 0.05, alpha, 0.8)
    )
    assert np.isnan(need(up, Part("a", up), Part("b", down)))
    one_seed = one_sample(pd.Series([0.4]))
    assert np.isnan(need(one_seed)) and np.isnan(need(one_seed, power=None))
    # a two-sided claim: every part on the side its headline lies
    row = Row("c", "m", down, 0.5, 0.5, parts=(Part("a", down), Part("b", weak)), two_sided=True)
    assert np.isnan(row.seeds_to_decide(level, 0.8))  # its parts disagree in sign
    both_down = one_sample(pd.Series([-0.05, -0.15, -0.1]))
    parts = (Part("a", down), Part("b", both_down))
    row = Row("c", "m", down, 0.5, 0.5, parts=parts, two_sided=True)
    assert row.seeds_to_decide(level, 0.8) == max(
        seeds_for_power(0.2, 0.1, alpha, 0.8), seeds_for_power(0.1, 0.05, alpha, 0.8)
    )


def test_a_note_keeps_its_short_form_when_copied_or_pickled():
    import copy
    import pickle

    from invertibility.analysis.claims.kind import Note

    note = Note("m l: 1 of 3 seeds pass", "control fails")
    for again in (copy.copy(note), copy.deepcopy(note), pickle.loads(pickle.dumps(note))):
        assert again == note and again.short == "control fails"


def test_the_claims_table_plans_seeds_at_holms_strictest_level_and_says_why_inconclusive():
    table = synthetic_table({"l1": 0.62, "l2": 0.6, "l3": 0.9}, seed_sd=0.01, image_sd=0.01)
    claims = [
        compare_claim(claim="weak"),
        compare_claim(claim="strong", lesser=side("l3"), greater=side("l1")),
    ]
    result = evaluate_claims(claims[:2], table, pd.DataFrame())[0].set_index("claim")
    weak, strong = result.loc["weak"], result.loc["strong"]
    assert weak["verdict"] == "inconclusive" and weak["why_inconclusive"] == "CI reaches the line"
    assert strong["verdict"] == "contradicted" and strong["why_inconclusive"] == ""
    assert np.isnan(strong["seeds_for_power"])  # on the wrong side: seeds cannot help
    assert np.isnan(weak["margin"])
    effects = evaluate_claims(claims[:1], table, pd.DataFrame())[1]
    gap, sd = effects["effect"].mean(), effects["effect"].std(ddof=1)
    assert weak["seeds_for_power"] == pytest.approx(seeds_for_power(gap, sd, 0.025 / 2, 0.8))
    few = synthetic_table({"l1": 0.62, "l2": 0.6}, seeds=(0, 1))
    gated = first(claims[:1], few)
    assert gated["gated"] and gated["why_inconclusive"] == "too few seeds"


def test_a_claim_whose_holm_step_passes_one_is_judged_at_that_step_not_at_the_cap():
    """p = (0.3, 0.5, 0.6, 0.9): the smallest is Holm's first step, judged at 0.025 / 4; its
    adjusted p, capped at 1, would have put it at 0.025 * 0.3."""
    from invertibility.analysis.claims import judged_alpha

    p = np.array([0.3, 0.5, 0.6, 0.9])
    uncapped = holm(p, cap=False)
    assert uncapped[0] == pytest.approx(1.2) and holm(p)[0] == 1.0
    assert judged_alpha(p[0], uncapped[0]) == pytest.approx(0.025 / 4)
    assert (holm(p) == np.minimum(uncapped, 1.0)).all()


def write_pool(path, n_images=4, n_others=20, labels=(0, 1, 2, -1)):
    """A prepared image set's pool: the inverted images (ids i0, ...; the same pixels as
    :func:`write_inversion`'s originals) and ``n_others`` random held-out images, 9 candidates
    drawn per image."""
    import json

    from safetensors.numpy import save_file

    originals = np.random.default_rng(0).random((n_images, 1, 8, 8)).astype(np.float32)
    others = np.random.default_rng(1).random((n_others, 1, 8, 8)).astype(np.float32)
    pool = np.concatenate([originals, others])
    pool_labels = np.concatenate([np.maximum(np.array(labels), 0), np.arange(n_others) % 3])
    candidates = np.stack([np.arange(n_images, n_images + 9) for _ in range(n_images)])
    ids = [f"i{i}" for i in range(n_images)]
    meta = {
        "ids": ids,
        "pool_ids": ids + [f"h{j}" for j in range(n_others)],
        "mean": [0.0],
        "std": [1.0],
        "fingerprint": "test",
    }
    tensors = {
        "pool": pool,
        "pool_labels": pool_labels.astype(np.int64),
        "candidates": candidates.astype(np.int64),
    }
    save_file(tensors, str(path), metadata={"invertibility": json.dumps(meta)})
    return str(path)


def write_inversion(path, tp, p, diverged, labels=(0, 1, 2, -1)):
    n = len(labels)
    rng = np.random.default_rng(0)
    originals = rng.random((n, 1, 8, 8)).astype(np.float32)
    recon = originals + 0.01
    recon[np.asarray(diverged)] = np.nan
    settings = {"model": "m", "seed": 0, "layer": "l", "t": "0_1", "tp": tp, "n_candidates": 10}
    metrics = {
        "image_id": np.array([f"i{i}" for i in range(n)]),
        "label": np.array(labels),
        "target_image_id": np.array([f"i{i}" for i in range(n)]),
        "feature_error": np.where(diverged, np.nan, 0.1),
        "image_error": np.where(diverged, np.nan, 0.05),
        "diverged": np.array(diverged),
        "label_final": np.where(diverged, -1, np.array(labels)),
        "rank": np.where(diverged, np.nan, 0.0),
        "retried": np.array(diverged),
        "final_lr": np.where(diverged, 0.5, 5.0),
    }
    save_inversion(str(path), settings, recon, originals, metrics, p, 1.0, 0.1)
    return str(path)


def table_with_one_diverged(tmp_path) -> pd.DataFrame:
    """Image i1 diverged at 0_5 (its control at 0_1 and its null converged)."""
    files = [
        write_inversion(tmp_path / "a.npz", "0_1", 0, [False] * 4),
        write_inversion(tmp_path / "b.npz", "0_5", 4, [False, True, False, False]),
        write_inversion(tmp_path / "c.npz", "other_image", None, [False] * 4),
    ]
    accuracy = pd.DataFrame(
        {"model": "m", "seed": 0, "step": ["0_1", "0_5"], "holdout_accuracy": [0.5, 0.8]}
    )
    table = invertibility_table(files, accuracy, {"m": write_pool(tmp_path / "pool.safetensors")})
    return table


def test_a_diverged_image_is_excluded_from_every_measure_and_counted(tmp_path):
    table = table_with_one_diverged(tmp_path)
    gone = table[(table["tp"] == "0_5") & (table["image_id"] == "i1")].iloc[0]
    from invertibility.analysis.measures import MEASURES, PER_IMAGE

    kept = table[(table["tp"] == "0_5") & (table["image_id"] == "i0")].iloc[0]
    for measure in PER_IMAGE:  # the registry's contract: each measure, a column of its dtype,
        assert str(table[measure].dtype) == MEASURES[measure].dtype, measure
        assert pd.isna(gone[measure]), measure  # undefined where the inversion diverged
        assert measure == "similarity_class" or pd.notna(kept[measure]), measure
    assert gone["retried"] and gone["accuracy_t"] == 0.5 and gone["accuracy_tp"] == 0.8
    # its image is not measured at that (seed, layer, t) at all: its control is blanked too
    its_control = table[(table["tp"] == "0_1") & (table["image_id"] == "i1")].iloc[0]
    assert its_control["excluded"] and pd.isna(its_control["similarity"])
    assert pd.isna(its_control["label_kept"])  # every measure, the label's too
    assert not kept["excluded"]
    summary = summarize(table)
    row = summary[(summary["tp"] == "0_5") & (summary["images"] == "dataset")].iloc[0]
    assert row["n_diverged"] == 1 and row["n_retried"] == 1 and row["n_images"] == 3
    assert row["identified"] == 1.0  # the two other dataset images, not dragged down by i1
    photos = summary[(summary["tp"] == "0_5") & (summary["images"] == "photos")].iloc[0]
    assert photos["n_images"] == 1  # the photo, reported on its own


def test_a_claim_on_fewer_than_three_seeds_is_inconclusive():
    result = first([compare_claim()], synthetic_table({"l1": 0.9, "l2": 0.3}, seeds=(0, 1)))
    assert result["low"] > 0 and result["verdict"] == "inconclusive"
    assert "rests on 2 seeds" in result["reason"]


def test_compare_reports_the_comparison_at_matched_drift():
    """l1 drifts slowly and l2 fast; at matched drift l2's step where it drifted as little as
    l1 counts (its early step, which keeps everything)."""
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    early = table[(table["layer"] == "l2") & (table["tp"] == "0_5")].assign(tp="0_2", p=1)
    early["similarity"] = CONTROL
    table = pd.concat([table, early], ignore_index=True)
    drift = {("l1", "0_5"): 0.1, ("l2", "0_5"): 1.0, ("l2", "0_2"): 0.12}
    pairs = zip(table["layer"], table["tp"], strict=True)
    table["drift"] = [drift.get(pair, 0.0) for pair in pairs]
    claim = compare_claim(greater={**side("l1"), "tps": ["0_5"]})
    claim["lesser"] = {**side("l2"), "tps": ["0_5"]}
    result = first([claim], table)
    assert result["verdict"] == "supported"  # at matched steps
    assert "at matched drift (lesser at 0_2): -0.09" in result["detail"]  # R limited to 1


def test_seed_stability_measures_each_seed_against_the_spread_and_flags_flips():
    from invertibility.analysis.stability import seed_stability

    first = pd.DataFrame(
        {"claim": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2, "effect": [1, 2, 3, 0, 0.1, 0.2]}
    )
    second = first.copy()
    second.loc[second["claim"] == "a", "effect"] += [0.5, -0.5, 0.0]
    second.loc[second["claim"] == "b", "effect"] -= 0.3
    claims_1 = pd.DataFrame({"claim": ["a", "b"], "verdict": ["supported", "supported"]})
    claims_2 = pd.DataFrame({"claim": ["a", "b"], "verdict": ["supported", "contradicted"]})
    table = seed_stability(first, second, claims_1, claims_2).set_index("claim")
    assert table.loc["a", "moved_max"] == pytest.approx(0.5)
    assert table.loc["a", "spread"] == pytest.approx(1.0)
    assert table.loc["a", "moved_over_spread"] == pytest.approx(0.5)
    assert not table.loc["a", "changed"] and not table.loc["a", "flipped"]
    assert table.loc["b", "moved_over_spread"] == pytest.approx(3.0)
    assert table.loc["b", "changed"] and table.loc["b", "flipped"]


def test_a_true_correlation_inside_the_level_is_never_contradicted_by_the_shrunk_bound():
    """Correlations of 0.25 (inside +-0.3) seen through a measure of reliability 0.6: the
    support bounds shrink to +-0.3 * sqrt(lower bound); "contradicted" must be tested against
    the unshrunk level, or a true "no prediction" reads as contradicted."""
    from invertibility.analysis.claims.equivalence import reliable_equivalence

    seeds = pd.RangeIndex(10)
    effects = pd.Series(0.25 + 0.005 * np.sin(np.arange(10)), index=seeds)
    reliability = pd.Series(0.6 + 0.01 * np.cos(np.arange(10)), index=seeds)
    found = reliable_equivalence(effects, reliability, 0.3)
    assert found.line.startswith("+-0.23")  # the support bound did shrink
    assert found.p_reverse > 0.5
    beyond = reliable_equivalence(effects + 0.2, reliability, 0.3)  # 0.45: beyond the level
    assert beyond.p_reverse < 0.001


def test_the_reliability_bound_is_taken_at_the_familys_fixed_level():
    """The lower bound on reliability that shrinks an equivalence claim's bounds is taken at
    ALPHA / (number of primary claims), handed to every kind by the evaluator, not at 97.5%
    whatever the claim's Holm step (which depends on its p, which depends on the bound)."""
    from scipy.stats import t

    from invertibility.analysis import claims as claims_module
    from invertibility.analysis.claims.equivalence import reliable_equivalence
    from invertibility.analysis.claims.kind import Kind, seed_row
    from invertibility.analysis.stats import ALPHA

    seeds = pd.RangeIndex(5)
    reliability = pd.Series([0.5, 0.6, 0.7, 0.6, 0.55], index=seeds)
    effects = pd.Series(0.0, index=seeds) + 0.01 * np.arange(5)
    alpha = ALPHA / 7
    low = reliability.mean() - t.ppf(1 - alpha, 4) * reliability.std(ddof=1) / np.sqrt(5)
    found = reliable_equivalence(effects, reliability, 0.3, alpha)
    assert found.line == f"+-{0.3 * np.sqrt(low):.3g}"
    assert found.line != reliable_equivalence(effects, reliability, 0.3).line

    handed = []

    def evaluate(evidence, claim, alpha):
        handed.append((claim["claim"], alpha))
        return [seed_row(claim["claim"], "m", pd.Series([0.1, 0.2, 0.3]))]

    kind = Kind(name="probe", evaluate=evaluate, null=lambda claim: 0.0, alternatives={})
    original = dict(claims_module.KINDS)
    claims_module.KINDS["probe"] = kind
    try:
        listed = [{"claim": f"c{i}", "kind": "probe"} for i in range(3)]
        listed.append({"claim": "x", "kind": "probe", "primary": False})
        claims_module.evaluate_on(EMPTY_EVIDENCE(), listed)
    finally:
        claims_module.KINDS.clear()
        claims_module.KINDS.update(original)
    assert handed == [("c0", ALPHA / 3), ("c1", ALPHA / 3), ("c2", ALPHA / 3), ("x", ALPHA)]


def EMPTY_EVIDENCE():
    from invertibility.analysis.claims.evidence import Evidence

    columns = ["model", "seed", "layer", "t", "tp", "p", "image_id", "photo", "label"]
    return Evidence(pd.DataFrame({c: [] for c in columns}).astype({"photo": bool}))


def test_a_margin_of_unknown_spread_is_not_measurable():
    from invertibility.analysis.retention import measurable

    assert measurable([0.5, 0.5, 0.5, 0.05], [0.0, np.nan, 0.2, 0.0]).tolist() == [
        True,
        False,
        False,
        False,
    ]


def probe_rows(monkeypatch, evaluate, claims):
    """Claims of a probe kind whose ``evaluate`` is given: the evaluator's rows for them."""
    from invertibility.analysis import claims as claims_module

    kind = Kind(name="probe", evaluate=evaluate, null=lambda claim: 0.0, alternatives={})
    monkeypatch.setitem(claims_module.KINDS, "probe", kind)
    return claims_module.evaluate_on(EMPTY_EVIDENCE(), claims)[0]


def test_an_intersection_union_row_shows_every_part_and_its_verdict_follows_the_weaker(
    monkeypatch,
):
    """A claim that needs two tests: the headline clears its line, the other part does not.
    The verdict is the weaker part's (inconclusive, naming it), and the row shows both parts'
    intervals at the level it is judged at, not only the headline's."""

    def evaluate(evidence, claim, alpha):
        strong = one_sample(pd.Series([0.5, 0.52, 0.48, 0.51]))
        weak = one_sample(pd.Series([0.05, -0.1, 0.2, 0.0]))
        parts = (Part("strong", strong), Part("weak", weak))
        return [Row(claim["claim"], "m", strong, *combine(parts), parts=parts, n_images=10)]

    row = probe_rows(monkeypatch, evaluate, [{"claim": "both", "kind": "probe"}]).iloc[0]
    assert row["low"] > 0 and row["verdict"] == "inconclusive"
    assert "its weakest part: weak" in row["reason"]
    strong_low, _ = one_sample(pd.Series([0.5, 0.52, 0.48, 0.51])).confidence_interval(row["level"])
    weak_low, weak_high = one_sample(pd.Series([0.05, -0.1, 0.2, 0.0])).confidence_interval(
        row["level"]
    )
    assert f"strong 0.502 [{strong_low:.3f}," in row["parts"]
    assert f"weak 0.038 [{weak_low:.3f}, {weak_high:.3f}]" in row["parts"]


def test_an_interval_beyond_the_measures_range_is_clipped_and_the_reason_says_so(monkeypatch):
    """Three seeds of a fraction near 1 (the default run printed 0.933 [0.804, 1.063] for a
    difference of fractions): the interval stops at the range's end, and the reason says so."""

    def evaluate(evidence, claim, alpha):
        effects = pd.Series([1.0, 0.8, 1.0, 0.9])
        return [seed_row(claim["claim"], "m", effects, bounds=(0.0, 1.0), n_images=10)]

    row = probe_rows(monkeypatch, evaluate, [{"claim": "near one", "kind": "probe"}]).iloc[0]
    assert row["high"] == 1.0 and 0 < row["low"] < row["value"] < 1
    assert "interval (clipped to [0, 1])" in row["reason"]


def test_a_threshold_side_over_several_layers_shows_each_layer_beside_the_pooled_reading():
    """The registered claim pools its above side's layers (the verdict stays the pooled one);
    the row shows each layer's reading too, labelled post hoc: here one layer holds and the
    other does not, which the pooled mean hides."""
    table = synthetic_table({"a": 0.95, "b": 0.15, "c": 0.05})
    claim = {"claim": "a and b hold, c not", "kind": "threshold"}
    claim |= {"above": {**side("a"), "layers": ["a", "b"]}, "below": side("c")}
    result = evaluate_claims([claim], table)[0]
    row = result.iloc[0]
    assert row["value"] == pytest.approx(0.55, abs=0.05)  # the pooled side, as registered
    assert row["post_hoc"].startswith("above side per layer (post hoc")
    assert "a 0.9" in row["post_hoc"] and "b 0.1" in row["post_hoc"]
    alone = result.set_index("claim").loc[f"{claim['claim']} [above: m a]"]
    assert f"a {alone['value']:.3f}" in row["post_hoc"]


def test_the_label_gate_takes_chance_from_each_models_own_labels():
    """Two datasets in one table, ten classes and two: a control that keeps the label 40% of
    the time is above the ten-class model's chance and below the two-class model's; one over
    every label in the table (ten) would let the two-class control through."""
    from invertibility.analysis.claims.evidence import Evidence

    ten = synthetic_table({"l": 0.9}, model="ten")
    two = synthetic_table({"l": 0.9}, model="two", rng_seed=1)
    two["label"] = two["image_id"].str[1:].astype(int) % 2
    for table in (ten, two):  # 2 of every 5 images keep their label: 12 of 30
        kept = table["image_id"].str[1:].astype(int) % 5 < 2
        table["label_kept"] = pd.array(kept, dtype="boolean")
    evidence = Evidence(pd.concat([ten, two], ignore_index=True))
    assert evidence.label_chance().to_dict() == {"ten": 0.1, "two": 0.5}
    gate = evidence.controls_pass["label_ok"].groupby("model").mean()
    assert gate["ten"] == 1.0 and gate["two"] == 0.0


def test_the_predictors_split_half_reliability_uses_the_same_units_in_both_halves():
    """A unit with a value in one half only (its margin measurable on half the images) must
    leave both halves' residuals: residualizing each half over its own units would correlate
    residuals taken against different fits."""
    from invertibility.analysis.claims.predictor import (
        per_seed_correlation,
        residuals,
        split_half_reliability,
    )

    rng = np.random.default_rng(5)
    n = 24
    used = pd.DataFrame(
        {
            "model": "m",
            "layer": "l",
            "seed": np.repeat([0, 1], n // 2),
            "p": np.tile(np.arange(1, n // 2 + 1), 2),
        }
    )
    truth = rng.normal(size=n)
    used["half_a"] = truth + 0.3 * rng.normal(size=n)
    used["half_b"] = truth + 0.3 * rng.normal(size=n)
    used.loc[[1, 5, 14], "half_b"] = np.nan  # no value in one half
    used.loc[[3, 20], "half_a"] = np.nan
    found = split_half_reliability(used)
    both = used.dropna(subset=["half_a", "half_b"]).reset_index(drop=True)
    expected = per_seed_correlation(
        residuals(both, ["half_a", "half_b"]).join(both[["seed"]]), "half_a", "half_b"
    )
    pd.testing.assert_series_equal(found, 2 * expected / (1 + expected))
    separately = per_seed_correlation(
        residuals(used, ["half_a", "half_b"]).join(used[["seed"]]), "half_a", "half_b"
    )
    assert not np.allclose(found, 2 * separately / (1 + separately))


def test_a_pooled_claims_own_row_takes_the_familys_level_and_its_entries_the_exploratory_one(
    monkeypatch,
):
    """The pooled row of a primary norm claim bounds its reliability at ALPHA / m; its
    per-entry rows are exploratory and take ALPHA, as any exploratory claim does."""
    from test_calibration import world_with_distances

    from invertibility.analysis.claims import norm_predicts
    from invertibility.analysis.stats import ALPHA

    seen = []
    real = norm_predicts.reliable_equivalence

    def spy(effects, reliability, level, alpha):
        seen.append(alpha)
        return real(effects, reliability, level, alpha)

    monkeypatch.setattr(norm_predicts, "reliable_equivalence", spy)
    frame, distances, similarity = world_with_distances(
        5, np.random.default_rng(0), lambda s, g: g.uniform(0.5, 1.5, len(s))
    )
    claims = [{"claim": "norm", "kind": "norm_predicts"}, {"claim": "d", "kind": "distance"}]
    evaluate_claims(claims, frame, distances, similarity)
    assert seen == [ALPHA / 2, ALPHA, ALPHA]  # the pooled row, then the entries l1 and l2


def test_the_tables_log_counts_the_retried_the_still_diverged_and_the_excluded(tmp_path, caplog):
    from invertibility.analysis.tables import report_failures

    table = table_with_one_diverged(tmp_path)
    with caplog.at_level("INFO"):
        report_failures(table)
    assert "m seed 0: 12 inversions, 1 retried with a smaller step, 1 still diverged" in caplog.text
    assert "3 rows excluded" in caplog.text  # i1's control, its step and its null
