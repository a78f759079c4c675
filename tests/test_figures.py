"""Image-grid figures: rows and cells follow the config; a diverged image is marked, not drawn."""

import numpy as np
import pandas as pd
import pytest

from invertibility.figures import image_grid


def fake_result(tp, diverged):
    rng = np.random.default_rng(0)
    return {
        "image_id": np.array(["a", "b"]),
        "originals": rng.random((2, 1, 4, 4), dtype=np.float32),
        "reconstructions": np.where(
            np.array(diverged)[:, None, None, None], np.nan, rng.random((2, 1, 4, 4))
        ),
        "diverged": np.array(diverged),
        "tp": tp,
    }


PANEL = {
    "model": "m",
    "seed": 1,
    "layers": ["fc2", "fc1"],
    "function": "0_1",
    "activations": ["0_1", "0_2"],
}


def by_key():
    results = {
        ("m", 1, layer, "0_1", tp): fake_result(tp, [False, tp == "0_2" and layer == "fc1"])
        for layer in ("fc1", "fc2")
        for tp in ("0_1", "0_2")
    }
    # another seed's files: never shown in a panel that names seed 1
    return results | {("m", 0, *key[2:]): fake_result(key[-1], [True, True]) for key in results}


def test_rows_follow_the_panel_and_diverged_cells_are_marked():
    rows = list(image_grid._panel_rows(PANEL, by_key()))
    assert [label for label, _ in rows] == ["fc2\na", "fc2\nb", "fc1\na", "fc1\nb"]
    assert all(len(cells) == 3 for _, cells in rows)  # original + two activation steps
    diverged = [(label, i) for label, cells in rows for i, c in enumerate(cells) if c is None]
    assert diverged == [("fc1\nb", 2)]


def test_contrast_stretch_maps_percentiles_to_the_full_range():
    image = np.linspace(0.4, 0.6, 3 * 10 * 10).reshape(3, 10, 10)
    shown = image_grid.for_display(image, contrast=True)
    assert shown.shape == (10, 10, 3)
    assert shown.min() == pytest.approx(0.0) and shown.max() == pytest.approx(1.0)
    assert image_grid.for_display(image, contrast=False).max() == pytest.approx(0.6)


def test_forest_plot_labels_keep_the_model_and_layer():
    from invertibility.figures.claims_forest import short_label

    long = "The same-image distance across invertible steps exceeds the nearest one [mlp fc2]"
    assert short_label(long, width=50).endswith("[mlp fc2]")
    assert len(short_label(long, width=50)) <= 50
    assert short_label("Short claim") == "Short claim"


def test_forest_plot_draws_every_familys_claims_black_and_exploratory_rows_grey():
    from invertibility.figures.claims_forest import family_color

    assert family_color("primary") == family_color("augmentation") == "black"
    assert family_color("exploratory") == "0.5"


def test_forest_plot_says_why_from_the_claims_columns_not_the_reason_text():
    from invertibility.figures.claims_forest import why_short

    row = {
        "verdict": "inconclusive",
        "why_inconclusive": "CI reaches the line",
        "seeds_to_decide": 7.0,
        "n_seeds": 3,
        "gated": False,
        # words that a text match took for a gate: the columns decide
        "reason": "p 0.2 >= 0.025: the measure's reliability reaches the cross-seed floor",
    }
    assert why_short(row) == "inconclusive: CI reaches the line (~7 seeds)"
    gated = {**row, "gated": True, "why_inconclusive": "floor too high"}
    assert why_short(gated) == "inconclusive: floor too high"  # seeds do not lift a gate
    assert why_short({**row, "seeds_to_decide": np.nan}) == "inconclusive: CI reaches the line"
    decided = {**row, "verdict": "exploratory: supported (unadjusted)"}
    assert why_short(decided) == "exploratory: supported"


# A figure that a page holds: no more than 2.2 times as wide as tall or as tall as wide, so that
# scaled to a page (or a laptop screen) in either orientation its labels keep a readable size.
PAGE_ASPECTS = (1 / 2.2, 2.2)


def aspect(png) -> float:
    from PIL import Image

    with Image.open(png) as image:
        return image.width / image.height


def curves_summary(groups: int) -> pd.DataFrame:
    """A summary table with ``groups`` (model, t) groups of three layers and four steps."""
    rows = []
    for group in range(groups):
        for layer in ("conv1", "conv2", "conv5"):
            for p, tp in enumerate(("0_1", "0_2", "0_3", "0_4", "cross_seed")):
                value = 1 - 0.2 * p
                rows.append(
                    {
                        "images": "dataset",
                        "model": f"model{group}",
                        "t": "0_1",
                        "tp": tp,
                        "layer": layer,
                        "p": p,
                        "drift": 0.1 * p,
                        **{
                            f"{m}{s}": value + d
                            for m in ("retained", "excess")
                            for s, d in (("", 0), ("_low", -0.1), ("_high", 0.1))
                        },
                    }
                )
    return pd.DataFrame(rows)


def test_figure_7_is_a_grid_a_page_holds_however_many_models(tmp_path):
    from invertibility.figures.invertibility_curves import draw_invertibility_curves

    for groups in (1, 6):
        png = tmp_path / f"curves{groups}.png"
        draw_invertibility_curves(curves_summary(groups), str(tmp_path / "c.pdf"), str(png))
        assert PAGE_ASPECTS[0] <= aspect(png) <= PAGE_ASPECTS[1], (groups, aspect(png))


def test_every_figure_kind_is_drawn_by_an_end_to_end_run():
    """The registry's contract: each figure kind appears in config/test.yaml or
    config/test_ablations.yaml, whose end-to-end tests assert every planned figure file; a kind
    added without a figure there fails here."""
    import yaml
    from conftest import ROOT

    from invertibility.figures import KINDS
    from invertibility.planning.plan import Plan

    drawn = set()
    for name in ("test.yaml", "test_ablations.yaml"):
        config = yaml.safe_load((ROOT / "config" / name).read_text())
        drawn |= {figure["kind"] for figure in Plan(config).config["figures"].values()}
    assert drawn == set(KINDS), set(KINDS) ^ drawn


ARM_SHIFT = {"static": 0.0, "drift": -0.02, "rescaled": -0.01, "permuted": 0.01, "noise": 0.02}


def augmentation_table(seeds=(0, 1, 2), steps=(0, 50, 100, 150)) -> pd.DataFrame:
    """An augmentation table: fc1 and fc2, early and late windows, every arm and split, a
    per-seed offset and noise (so that a difference's mean differs from its arms' means')."""
    rng = np.random.default_rng(0)
    rows = []
    for layer in ("fc1", "fc2"):
        for seed in seeds:
            runs = [("", "static"), ("", "shifted")] + [
                (window, arm)
                for window in ("early", "late")
                for arm in ("drift", "rescaled", "permuted", "noise")
            ]
            for window, arm in runs:
                effect = -0.15 if arm == "shifted" else ARM_SHIFT[arm]
                for step in steps:
                    for split in ("train", "validation", "held_out"):
                        value = 1.0 / (1 + step / 50) + 0.1 * seed + effect + rng.normal(0, 0.01)
                        rows.append(
                            {
                                "model": "mlp",
                                "seed": seed,
                                "layer": layer,
                                "window": window,
                                "arm": arm,
                                "step": step,
                                "split": split,
                                "cross_entropy": value + 0.05,
                                "cross_entropy_tempered": value,
                                "temperature": 1.1,
                                "accuracy": 0.9 - value / 10,
                                "feature_norm": 5.0,
                                "active_fraction": 0.5,
                            }
                        )
    frame = pd.DataFrame(rows)
    return frame.astype({"seed": "int64", "step": "int64"})


def test_augmentation_figure_draws_a_page_from_the_table(tmp_path):
    from invertibility.figures import KINDS

    table = augmentation_table()
    table.to_parquet(tmp_path / "augmentation.parquet")
    for measure in ("cross_entropy_tempered", "accuracy"):
        pdf, png = tmp_path / f"{measure}.pdf", tmp_path / f"{measure}.png"
        KINDS["augmentation"].draw(
            {"table": str(tmp_path / "augmentation.parquet")},
            {"title": "Augmentation", "measure": measure},
            str(pdf),
            str(png),
        )
        assert pdf.stat().st_size > 0 and png.stat().st_size > 0
        assert PAGE_ASPECTS[0] <= aspect(png) <= PAGE_ASPECTS[1], (measure, aspect(png))
    kind = KINDS["augmentation"]
    assert kind.inputs(None, "fig") == {"table": "results/tables/augmentation.parquet"}
    assert "``fig``" in kind.caption_of("fig")


def test_augmentation_paired_differences_are_the_tables_own():
    from invertibility.analysis.stats import t_interval
    from invertibility.figures.augmentation import difference_intervals, paired_differences

    table = augmentation_table()
    differences = paired_differences(table)
    held = table[(table["split"] == "held_out") & (table["step"] == 150)]
    static = held[held["arm"] == "static"].set_index(["layer", "seed"])["cross_entropy_tempered"]
    # each (layer, window, arm) but static, in the figure's order: shifted (no window) first
    expected_keys = [
        (layer, window, arm)
        for layer in ("fc1", "fc2")
        for window, arms in (
            ("", ["shifted"]),
            ("early", list(ARM_SHIFT)[1:]),
            ("late", list(ARM_SHIFT)[1:]),
        )
        for arm in arms
    ]
    keys = list(
        dict.fromkeys(differences[["layer", "window", "arm"]].itertuples(index=False, name=None))
    )
    assert keys == expected_keys
    assert len(differences) == len(expected_keys) * 3 and set(differences["step"]) == {150}
    for row in differences.itertuples(index=False):
        arm = held[
            (held["layer"] == row.layer)
            & (held["window"] == row.window)
            & (held["arm"] == row.arm)
            & (held["seed"] == row.seed)
        ]["cross_entropy_tempered"]
        assert row.difference == pytest.approx(arm.item() - static[(row.layer, row.seed)])
    intervals = difference_intervals(differences)
    fc1_shift = differences[(differences["layer"] == "fc1") & (differences["arm"] == "shifted")]
    expected = t_interval(fc1_shift["difference"].to_numpy())
    got = intervals[(intervals["layer"] == "fc1") & (intervals["arm"] == "shifted")].iloc[0]
    assert (got["mean"], got["low"], got["high"]) == pytest.approx(expected)
    assert got["mean"] == pytest.approx(-0.15, abs=0.03) and got["n_seeds"] == 3


def test_augmentation_curves_put_the_window_free_arms_in_each_window():
    from invertibility.core.augmentation_settings import ARMS
    from invertibility.figures.augmentation import LABELS, curves, panels

    assert list(LABELS) == list(ARMS)  # every arm has its display name, in the plan's order

    table = augmentation_table()
    assert panels(table) == [
        ("mlp", layer, window) for layer in ("fc1", "fc2") for window in ("early", "late")
    ]
    lines = curves(table, measure="cross_entropy")
    late = lines[(lines["layer"] == "fc2") & (lines["window"] == "late")]
    assert list(dict.fromkeys(late["arm"])) == [
        "static",
        "drift",
        "rescaled",
        "permuted",
        "noise",
        "shifted",
    ]
    held = table[(table["split"] == "held_out") & (table["layer"] == "fc2")]
    static = held[(held["arm"] == "static") & (held["step"] == 50)]["cross_entropy"]
    row = late[(late["arm"] == "static") & (late["step"] == 50)].iloc[0]
    assert row["mean"] == pytest.approx(static.mean()) and row["n_seeds"] == 3
    assert row["low"] < row["mean"] < row["high"]


def test_augmentation_figure_needs_the_experiment_and_one_of_its_measures():
    from types import SimpleNamespace

    from invertibility.core.errors import ConfigError
    from invertibility.figures.augmentation import check

    with pytest.raises(ConfigError, match=r"figures.aug: .*experiments.augmentation"):
        check({"kind": "augmentation"}, "figures.aug", SimpleNamespace(config={}))
    with pytest.raises(ConfigError, match=r"experiments.augmentation"):
        check({}, "figures.aug", SimpleNamespace(config={"experiments": {}}))
    running = SimpleNamespace(config={"experiments": {"augmentation": {"model": "mlp"}}})
    check({"kind": "augmentation"}, "figures.aug", running)
    with pytest.raises(ConfigError, match=r"figures.aug.measure: 'retained'"):
        check({"measure": "retained"}, "figures.aug", running)


def test_a_config_without_the_experiment_refuses_an_augmentation_figure(test_config):
    from invertibility.core.errors import ConfigError
    from invertibility.planning.plan import Plan

    test_config["figures"]["fig_aug"] = {"kind": "augmentation"}
    test_config.pop("experiments", None)
    with pytest.raises(ConfigError, match=r"figures\.fig\w+: .*no experiments.augmentation"):
        Plan(test_config)
