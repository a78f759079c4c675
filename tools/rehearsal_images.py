"""A generated image folder for the rehearsal of the paper's path (config/rehearsal.yaml).

    .venv/bin/python tools/rehearsal_images.py [rehearsal]

Writes FOLDER/train and FOLDER/invert (ImageFolder trees: one subfolder per class) of drawn
shapes at 224 px: as many classes and training images as config/rehearsal.yaml's
datasets.imagenet says (num_classes, train_size), and 6 held-out images per class. Run it in
the folder Snakemake runs in (the rehearsal's paths are relative to it).
"""

import argparse
from pathlib import Path

import numpy as np
import yaml

from invertibility.data.shapes import SHAPES, write_shape_folder

REHEARSAL = Path(__file__).resolve().parent.parent / "config" / "rehearsal.yaml"
HOLDOUT_PER_CLASS = 6  # 24 for 4 classes: at least the rehearsal's analyses.candidates (16)
SIZE = 224


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="rehearsal", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dataset = yaml.safe_load(REHEARSAL.read_text())["datasets"]["imagenet"]
    classes = SHAPES[: dataset["num_classes"]]
    per_class, extra = divmod(dataset["train_size"], len(classes))
    if extra or len(classes) < dataset["num_classes"]:
        raise SystemExit(
            f"{REHEARSAL}: datasets.imagenet needs num_classes <= {len(SHAPES)} and a "
            "train_size that they divide"
        )
    rng = np.random.default_rng(args.seed)
    train = write_shape_folder(args.folder / "train", per_class, rng, classes, SIZE)
    held_out = write_shape_folder(args.folder / "invert", HOLDOUT_PER_CLASS, rng, classes, SIZE)
    print(f"{len(train)} training and {len(held_out)} held-out images in {args.folder}/")


if __name__ == "__main__":
    main()
