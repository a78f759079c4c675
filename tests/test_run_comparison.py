import numpy as np
import pandas as pd

from invertibility.analysis.run_comparison import claims_differences, inversion_differences
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
