"""What a dataset source is: the config's ``datasets.<name>.source`` names one, and everything
that reads a dataset goes through it (training, the held-out pool, the config checks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch.utils.data import Dataset

from ..pixels import ImageSet


@dataclass(frozen=True)
class DatasetSource:
    name: str  # the value of a dataset entry's `source`
    num_classes: Callable[[dict], int]  # (dataset entry) -> classes, without reading images
    train_size: Callable[[dict], int]  # -> training images, without reading them
    training_set: Callable[[dict], Dataset]  # -> (standardized image, label) pairs
    holdout_set: Callable[[dict], ImageSet]  # -> labelled images never trained on, standardized
    holdout_counts: Callable[[dict], dict[int, int]]  # -> held-out images per class label
    # (dataset entry, its config key) -> raises ConfigError on what the schema cannot check
    check: Callable[[dict, str], None] = lambda spec, where: None
    # -> {train, validation, held_out: (standardized images, labels)} of a per-seed `split`
    # (the entry carries its `split_seed`); None: the source has no such split
    split_parts: Callable[[dict], dict] | None = None
