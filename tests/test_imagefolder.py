"""The ImageFolder path (paper scale) on a tiny folder of real photos built here."""

import numpy as np
import pytest
import skimage.data
import yaml
from conftest import ROOT, load_config
from PIL import Image

from invertibility.core.errors import ConfigError, DataError
from invertibility.data import datasets, image_sets
from invertibility.data.sources import imagefolder
from invertibility.planning.plan import Plan

PHOTOS = {
    "cat": ["chelsea", "cat"],
    "drink": ["coffee"],
    "vehicle": ["stereo_motorcycle", "rocket"],
}


def save(array, path):
    array = array[0] if isinstance(array, tuple) else array
    Image.fromarray(np.ascontiguousarray(array)).convert("RGB").save(path)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet")
    for cls, names in PHOTOS.items():
        for split in ("train", "invert"):
            (root / split / cls).mkdir(parents=True)
        for i, name in enumerate(names):
            image = getattr(skimage.data, name)()
            for flip in range(3):  # a few variants per photo for a training set of 15
                save(
                    np.flip(image[0] if isinstance(image, tuple) else image, axis=flip % 2),
                    root / "train" / cls / f"{name}_{flip}.jpg",
                )
            if i == 0:
                save(image, root / "invert" / cls / f"{name}.png")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    # the held-out folder lacks the 'drink' class: labels must still follow root's classes
    for f in (root / "invert" / "drink").iterdir():
        f.unlink()
    (root / "invert" / "drink").rmdir()
    return root


def paper_config(folders, **overrides):
    config = load_config(ROOT / "config" / "paper.yaml")
    imagenet = config["datasets"]["imagenet"]
    imagenet.update(
        {
            "root": str(folders / "train"),
            "holdout_root": str(folders / "invert"),
            "train_size": 15,
            "num_classes": 3,
            "image_size": 64,
            **overrides,
        }
    )
    for model in config["models"].values():
        if model["dataset"] == "imagenet":
            model["train"].update(batch_size=2, workers=0)  # 8 iterations per epoch
    return config


def test_training_set_skips_non_images_with_a_warning(folders, caplog):
    spec = paper_config(folders)["datasets"]["imagenet"]
    train = datasets.training_set(spec)
    assert len(train) == 15 and train.classes == ["cat", "drink", "vehicle"]
    assert "notes.txt: not an image file" in caplog.text
    image, label = train[0]
    assert image.shape == (3, 64, 64)


def test_held_out_images_are_labelled_by_the_training_classes(folders):
    spec = paper_config(folders)["datasets"]["imagenet"]
    held = image_sets.inversion_images(spec, {"per_class": 1})  # loads the held-out set itself
    assert held.labels.tolist() == [0, 2]  # cat, vehicle (not 0, 1)
    assert held.ids == ["cat/chelsea.png", "vehicle/stereo_motorcycle.png"]


def test_wrong_train_size_is_reported(folders):
    spec = paper_config(folders, train_size=16)["datasets"]["imagenet"]
    with pytest.raises(DataError, match="train_size: the config says 16 images but"):
        datasets.training_set(spec)


def test_missing_folder_is_a_config_error(folders):
    config = paper_config(folders)
    config["datasets"]["imagenet"]["root"] = "/nonexistent/imagenet/train"
    with pytest.raises(
        ConfigError,
        match="datasets.imagenet.root: image folder '/nonexistent/imagenet/train' does not exist",
    ):
        Plan(config)


def test_folder_without_images_is_reported(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "readme.txt").write_text("x")
    spec = {"image_size": 32, "channels": 3, "mean": [0.5], "std": [0.5]}
    with pytest.raises(DataError, match="no usable images"):
        imagefolder.image_folder(str(tmp_path), spec, train=True, key="root")


def test_the_schema_names_exactly_the_registered_dataset_sources():
    from invertibility.data.sources import SOURCES

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert set(schema["$defs"]["dataset"]["properties"]["source"]["enum"]) == set(SOURCES)
