"""config/own_images.yaml, the worked config for a user's own image folder: as shipped it names
its placeholder folders; pointed at a generated folder it runs to its image grid."""

import numpy as np
import pytest
import yaml
from conftest import ROOT, load_config, run_snakemake

from invertibility.core import paths
from invertibility.core.errors import ConfigError
from invertibility.data.shapes import write_shape_folder
from invertibility.planning.plan import Plan


def test_as_shipped_it_names_the_folder_to_edit():
    config = load_config(ROOT / "config" / "own_images.yaml")
    with pytest.raises(ConfigError, match=r"datasets\.mine\.root: .*does not exist"):
        Plan(config)


def test_on_a_generated_folder_it_runs_to_its_image_grid(tmp_path):
    """Three classes of drawn shapes, 60 training and 8 held-out images each (the fewest the
    shipped step labels and analyses allow); the config's own model, steps, grid and figure,
    with smaller images, fewer seeds and shorter inversions for the test's time."""
    rng = np.random.default_rng(0)
    write_shape_folder(tmp_path / "mine" / "train", 60, rng)
    write_shape_folder(tmp_path / "mine" / "invert", 8, rng)
    overlay = tmp_path / "mine.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "datasets": {
                    "mine": {
                        "root": str(tmp_path / "mine" / "train"),
                        "holdout_root": str(tmp_path / "mine" / "invert"),
                        "train_size": 180,
                        "num_classes": 3,
                        "image_size": 32,
                    }
                },
                "models": {"resnet18_nobn": {"seeds": [0, 1]}},
                "inversion": {"iterations": 20},
            }
        )
    )
    figure = paths.figure("fig_own_grid", "png")
    run_snakemake(tmp_path / "run", figure, config=[ROOT / "config" / "own_images.yaml", overlay])
    assert (tmp_path / "run" / figure).stat().st_size > 10_000
