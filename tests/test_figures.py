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
