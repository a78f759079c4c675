"""Claims over seeds: verdicts, caveats, and the one rule for diverged images and photos."""

import numpy as np
import pandas as pd
import pytest

from invertibility.claims import evaluate_claims
from invertibility.inversion_io import save_inversion
from invertibility.tables import invertibility_table, summarize


def synthetic_table(
    rates_by_layer, n=30, seeds=(0, 1, 2), floor=0.0, accuracy=0.9, same=1.0, rng_seed=0
):
    """Rows of model m, function 0_1: tp 0_1 (p = 0, identified), 0_5 (p = 4, identified with the
    layer's rate) and the cross-seed control (identified with rate ``floor``)."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for seed in seeds:
        for layer, rate in rates_by_layer.items():
            for image in range(n):
                steps = (("0_1", 0, same), ("0_5", 4, rate), ("cross_seed", None, floor))
                for tp, p, chance in steps:
                    identified = bool(rng.random() < chance)
                    rows.append(
                        {
                            "model": "m",
                            "seed": seed,
                            "layer": layer,
                            "t": "0_1",
                            "tp": tp,
                            "p": p,
                            "drift": {0: 0.0, 4: 0.1}.get(p, 1.4),
                            "image_id": f"i{image}",
                            "label": image % 10,
                            "photo": False,
                            "identified": identified,
                            "id_score": float(identified),
                            "label_kept": identified,
                            "diverged": False,
                            "accuracy_t": accuracy,
                        }
                    )
    return pd.DataFrame(rows).astype(
        {"identified": "boolean", "label_kept": "boolean", "p": "Int64"}
    )


def side(layer):
    return {"model": "m", "layers": [layer], "t": "0_1"}


def compare_claim():
    return {"claim": "l1 longer", "kind": "compare", "greater": side("l1"), "lesser": side("l2")}


@pytest.mark.parametrize(
    "a, b, verdict",
    [(0.9, 0.3, "supported"), (0.3, 0.9, "contradicted"), (0.6, 0.6, "inconclusive")],
)
def test_compare_verdicts_over_seeds(a, b, verdict):
    table = synthetic_table({"l1": a, "l2": b})
    result = evaluate_claims([compare_claim()], table, pd.DataFrame())[0].iloc[0]
    assert result["verdict"] == verdict
    assert result["low"] <= result["value"] <= result["high"]
    assert result["n_seeds"] == 3 and result["n_images"] == 90
    if verdict != "inconclusive":
        assert result["value"] == pytest.approx(a - b, abs=0.12)
        assert result["same_sign_every_seed"]


def test_per_seed_effects_are_reported_for_the_forest_plot():
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    _, by_seed = evaluate_claims([compare_claim()], table, pd.DataFrame())
    assert by_seed["seed"].tolist() == [0, 1, 2]
    assert (by_seed["effect"] > 0.3).all()


@pytest.mark.parametrize(
    "a, b, floor, verdict",
    [
        (0.9, 0.1, 0.0, "supported"),
        (0.1, 0.1, 0.0, "contradicted"),
        (0.5, 0.1, 0.0, "inconclusive"),
        (0.9, 0.1, 0.95, "inconclusive"),  # above the level, but no better than the floor
    ],
)
def test_threshold_verdicts_need_the_level_and_the_floor(a, b, floor, verdict):
    table = synthetic_table({"low": a, "high": b}, floor=floor)
    claim = {
        "claim": "low invertible, high not",
        "kind": "threshold",
        "above": side("low"),
        "below": side("high"),
    }
    assert evaluate_claims([claim], table, pd.DataFrame())[0].iloc[0]["verdict"] == verdict


def test_a_network_near_chance_makes_the_verdict_inconclusive():
    table = synthetic_table({"l1": 0.9, "l2": 0.3}, accuracy=0.12)
    result = evaluate_claims([compare_claim()], table, pd.DataFrame())[0].iloc[0]
    assert result["low"] > 0 and result["verdict"] == "inconclusive"
    assert "near chance" in result["caveat"]


def test_a_side_whose_perfect_target_does_not_invert_is_inconclusive():
    table = synthetic_table({"l1": 0.0, "l2": 0.0}, same=0.1)
    claim = {"claim": "t", "kind": "threshold", "above": side("l1"), "below": side("l2")}
    result = evaluate_claims([claim], table, pd.DataFrame())[0].iloc[0]
    assert result["verdict"] == "inconclusive"  # would be "contradicted" on the values alone
    assert "the inversion fails before any iteration" in result["caveat"]


def test_a_side_whose_cross_seed_floor_is_as_high_as_its_control_is_inconclusive():
    """A layer that passes its input on (ResNet's block at h = 0.1): another seed's activations
    are identified too, so no loss across iterations can show, whatever the values say."""
    table = synthetic_table({"l1": 1.0, "l2": 0.2}, floor=0.9)
    result = evaluate_claims([compare_claim()], table, pd.DataFrame())[0].iloc[0]
    assert result["low"] > 0 and result["verdict"] == "inconclusive"
    assert "another seed's activations identify the image as well" in result["caveat"]
    assert "fails before any iteration" not in result["caveat"]


def test_too_many_diverged_inversions_make_the_verdict_inconclusive():
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    diverged = (table["layer"] == "l2") & (table["tp"] == "0_5") & (table["image_id"] < "i2")
    table.loc[diverged, ["diverged", "identified"]] = [True, pd.NA]
    result = evaluate_claims([compare_claim()], table, pd.DataFrame())[0].iloc[0]
    assert result["verdict"] == "inconclusive" and "diverged" in result["caveat"]
    assert result["n_images"] < 90  # the diverged images are out of the measure


def test_photos_never_enter_a_claim():
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    before = evaluate_claims([compare_claim()], table, pd.DataFrame())[0].iloc[0]["value"]
    photo = table[table["image_id"] == "i0"].assign(
        image_id="photo:coffee", label=-1, photo=True, identified=False
    )
    photo.loc[photo["layer"] == "l2", "identified"] = True  # would pull the difference down
    with_photo = pd.concat([table, photo], ignore_index=True)
    after = evaluate_claims([compare_claim()], with_photo, pd.DataFrame())[0].iloc[0]["value"]
    assert after == before


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
    }
    save_inversion(str(path), settings, recon, originals, metrics, p, 1.0, 0.1)
    return str(path)


def test_a_diverged_image_is_excluded_from_every_measure_and_counted(tmp_path):
    files = [
        write_inversion(tmp_path / "a.npz", "0_1", 0, [False] * 4),
        write_inversion(tmp_path / "b.npz", "0_5", 4, [False, True, False, False]),
        write_inversion(tmp_path / "c.npz", "other_image", None, [False] * 4),
    ]
    accuracy = pd.DataFrame(
        {"model": "m", "seed": 0, "step": ["0_1", "0_5"], "holdout_accuracy": [0.5, 0.8]}
    )
    table = invertibility_table(files, accuracy)
    gone = table[(table["tp"] == "0_5") & (table["image_id"] == "i1")].iloc[0]
    for measure in ("identified", "id_score", "ssim", "ssim_gain", "label_kept", "image_error"):
        assert pd.isna(gone[measure]), measure
    assert gone["retried"] and gone["accuracy_t"] == 0.5 and gone["accuracy_tp"] == 0.8
    summary = summarize(table)
    row = summary[(summary["tp"] == "0_5") & (summary["images"] == "dataset")].iloc[0]
    assert row["n_diverged"] == 1 and row["n_retried"] == 1 and row["n_images"] == 3
    assert row["identified"] == 1.0  # the two other dataset images, not dragged down by i1
    photos = summary[(summary["tp"] == "0_5") & (summary["images"] == "photos")].iloc[0]
    assert photos["n_images"] == 1  # the photo, reported on its own


def test_a_claim_on_fewer_than_three_seeds_is_inconclusive():
    table = synthetic_table({"l1": 0.9, "l2": 0.3}, seeds=(0, 1))
    result = evaluate_claims([compare_claim()], table, pd.DataFrame())[0].iloc[0]
    assert result["low"] > 0 and result["verdict"] == "inconclusive"
    assert "rests on 2 seeds" in result["caveat"]


def test_compare_reports_the_verdict_at_matched_drift():
    """l1 drifts slowly (0.1 per step offset 4) and l2 fast; at matched drift l2's rate at the
    step where it drifted as little as l1 counts (here its early step, rate 0.9)."""
    table = synthetic_table({"l1": 0.9, "l2": 0.3})
    early = table[(table["layer"] == "l2") & (table["tp"] == "0_5")].assign(tp="0_2", p=1)
    early["identified"] = True
    table = pd.concat([table, early], ignore_index=True)
    drift = {("l1", "0_5"): 0.1, ("l2", "0_5"): 1.0, ("l2", "0_2"): 0.12}
    pairs = zip(table["layer"], table["tp"], strict=True)
    table["drift"] = [drift.get(pair, 0.0) for pair in pairs]
    claim = {**compare_claim(), "greater": {**side("l1"), "tps": ["0_5"]}}
    claim["lesser"] = {**side("l2"), "tps": ["0_5"]}
    result = evaluate_claims([claim], table, pd.DataFrame())[0].iloc[0]
    assert result["verdict"] == "supported"  # at matched steps
    assert "lesser side at 0_2" in result["detail"]
    assert "(inconclusive;" in result["detail"] or "(contradicted;" in result["detail"]
