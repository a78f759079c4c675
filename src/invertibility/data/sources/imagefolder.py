"""Source ``imagefolder``: a folder the user points to (an ImageNet layout: one subfolder per
class), read by ``torchvision.datasets.ImageFolder`` with the usual ImageNet transforms; a
training folder (``root``) and a held-out one (``holdout_root``) with the same classes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from ...core.errors import ConfigError, DataError
from ..pixels import ImageSet
from .source import DatasetSource

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
REQUIRED = ("root", "holdout_root", "train_size", "num_classes")


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


def class_names(root: str, key: str) -> list[str]:
    """Class subfolders of an ImageFolder root, in ImageFolder's (sorted) order."""
    path = _check_folder(root, key)
    return sorted(entry.name for entry in os.scandir(path) if entry.is_dir())


def training_set(spec: dict):
    dataset = image_folder(spec["root"], spec, train=True, key="root")
    dataset.random_transforms = bool(spec.get("augment", False))  # seeded per image in training
    if len(dataset) != spec["train_size"]:
        raise DataError(
            f"train_size: the config says {spec['train_size']} images but {spec['root']!r} holds "
            f"{len(dataset)}; set train_size to {len(dataset)}"
        )
    return dataset


def holdout_set(spec: dict) -> ImageSet:
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


def holdout_counts(spec: dict) -> dict[int, int]:
    train_classes = {name: i for i, name in enumerate(class_names(spec["root"], "root"))}
    root = _check_folder(spec["holdout_root"], "holdout_root")
    counts = {}
    for name in class_names(spec["holdout_root"], "holdout_root"):
        files = [f for f in os.listdir(root / name) if f.lower().endswith(IMAGE_EXTENSIONS)]
        if files and name in train_classes:
            counts[train_classes[name]] = len(files)
    return counts


def check(spec: dict, where: str) -> None:
    for key in REQUIRED:
        if key not in spec:
            raise ConfigError(f"{where}.{key}: required for source imagefolder")
    for key in ("root", "holdout_root"):
        try:
            class_names(spec[key], key)
        except DataError as error:
            raise ConfigError(f"{where}.{error}") from None


def placeholder_tree(root: Path, classes: int, held_out: int = 100) -> tuple[Path, Path]:
    """An ImageFolder-shaped tree with no images, for planning a config without its data (the
    plan reads folder names only): ``classes`` class folders under ``root/train``, the first
    ``held_out`` of them with one empty file under ``root/invert``. Returns (root, holdout_root).
    """
    for i in range(classes):
        (root / "train" / f"n{i:08d}").mkdir(parents=True, exist_ok=True)
    for i in range(held_out):
        folder = root / "invert" / f"n{i:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"val_{i}.JPEG").touch()
    return root / "train", root / "invert"


SOURCE = DatasetSource(
    name="imagefolder",
    num_classes=lambda spec: spec["num_classes"],
    train_size=lambda spec: spec["train_size"],
    training_set=training_set,
    holdout_set=holdout_set,
    holdout_counts=holdout_counts,
    check=check,
)
