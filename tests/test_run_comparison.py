import numpy as np
import pandas as pd
import pytest

from invertibility.analysis.run_comparison import (
    checkpoint_differences,
    claims_differences,
    figure_differences,
    inversion_differences,
    table_differences,
)
from invertibility.core.inversion_io import save_inversion

METRICS = {
    "image_id": np.array(["a", "b"]),
    "label": np.array([1, 2]),
    "target_image_id": np.array(["a", "b"]),
    "feature_error": np.array([0.5, np.nan]),
    "image_error": np.array([0.25, np.nan]),
    "diverged": np.array([False, True]),
    "label_final": np.array([1, 2]),
    "retried": np.array([False, True]),
    "final_lr": np.array([5.0, 0.5]),
}


def write_run(root, reconstructions, label_final=(1, 2), extra=None):
    files = ["mlp/seed0/fc1/0_10/0_20.npz"] + ([extra] if extra else [])
    for name in files:
        path = root / "results" / "inversions" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        metrics = dict(METRICS, label_final=np.array(label_final))
        originals = np.ones((2, 1, 2, 2))
        save_inversion(str(path), {"lr": 5.0}, reconstructions, originals, metrics, 10, 1.0, 0.1)


def test_inversion_differences_are_absolute_and_relative_to_the_first_runs_scale(tmp_path):
    recon = np.array([[[[2.0, -4.0], [1.0, 0.0]]], [[[np.nan] * 2] * 2]])
    write_run(tmp_path / "a", recon)
    write_run(tmp_path / "b", recon + np.array([0, 0, 0, 1e-4]).reshape(1, 1, 2, 2), (1, 3))
    table = inversion_differences(tmp_path / "a", tmp_path / "b").set_index("key")
    assert table.loc["reconstructions", "largest"] == np.float32(1e-4)
    assert table.loc["reconstructions", "scale"] == 4.0  # NaN of a diverged row left out
    assert table.loc["reconstructions", "relative"] == np.float32(1e-4) / 4
    assert (
        table.loc["label_final", "largest"] == 1 and table.loc["label_final", "relative"] == np.inf
    )
    assert table.loc["feature_error", "relative"] == 0.0  # equal, NaN on both sides


def test_a_file_in_one_run_only_is_reported_missing(tmp_path):
    recon = np.zeros((2, 1, 2, 2))
    write_run(tmp_path / "a", recon, extra="mlp/seed0/fc1/0_10/0_30.npz")
    write_run(tmp_path / "b", recon)
    table = inversion_differences(tmp_path / "a", tmp_path / "b")
    missing = table[table["key"] == "missing"]
    assert missing["file"].tolist() == ["mlp/seed0/fc1/0_10/0_30.npz"]
    assert (table.loc[table["key"] != "missing", "largest"] == 0).all()


def claims(value, verdict, p=0.01):
    row = dict(claim="c1", value=value, low=value - 0.1, high=value + 0.1, p_value=p)
    return pd.DataFrame([row | dict(p_adjusted=2 * p, verdict=verdict)])


def test_claims_differences_list_a_number_moved_at_the_decimals_or_a_verdict_changed():
    assert claims_differences(claims(0.5, "supported"), claims(0.5004, "supported"), 3).empty
    moved = claims_differences(claims(0.5, "supported"), claims(0.5006, "supported"), 3)
    assert moved["claim"].tolist() == ["c1"] and moved.loc[0, "value_2"] == 0.5006
    assert len(claims_differences(claims(0.5, "supported"), claims(0.5, "open"), 3)) == 1
    other = claims(0.5, "open").assign(claim="c2")
    assert set(claims_differences(claims(0.5, "open"), other, 3)["claim"]) == {"c1", "c2"}


def test_tables_figures_and_checkpoints_are_compared_by_content(tmp_path):
    """A table column that moved, a table in one run only, a figure with one pixel changed, and
    a checkpoint that holds fewer tensors in the second run (compared on those it holds)."""
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    for run, moved, pixel in (("a", 0.0, 0), ("b", 1e-3, 255)):
        tables = tmp_path / run / "results" / "tables"
        tables.mkdir(parents=True)
        frame = pd.DataFrame({"x": [1.0, np.nan], "name": ["u", "v"], "n": [1, 2]})
        frame.loc[0, "x"] += moved
        frame.to_parquet(tables / "t.parquet")
        frame.to_csv(tables / "claims.csv", index=False)
        if run == "b":
            frame.to_parquet(tables / "new.parquet")
        figures = tmp_path / run / "results" / "figures"
        figures.mkdir(parents=True)
        image = np.zeros((4, 4, 3), dtype=np.uint8)
        image[0, 0, 0] = pixel
        Image.fromarray(image).save(figures / "f.png")
        checkpoints = tmp_path / run / "results" / "checkpoints"
        checkpoints.mkdir(parents=True)
        state = {"a": torch.ones(2), "b": torch.zeros(3)}
        save_file(state if run == "a" else {"a": torch.ones(2)}, checkpoints / "0_1.safetensors")
    tables = table_differences(tmp_path / "a", tmp_path / "b")
    parquet = tables[tables["file"] == "t.parquet"].set_index("key")["largest"]
    assert parquet["x"] == pytest.approx(1e-3) and parquet["name"] == 0 and parquet["n"] == 0
    assert tables.loc[tables["key"] == "missing", "file"].tolist() == ["new.parquet"]
    figures = figure_differences(tmp_path / "a", tmp_path / "b")
    assert figures["largest"].tolist() == [1]
    checkpoints = checkpoint_differences(tmp_path / "a", tmp_path / "b").set_index("key")
    assert checkpoints.loc["a", "largest"] == 0 and checkpoints.loc["absent", "largest"] == 1
