"""The images a model's jobs invert, prepared once (``results/images/{model}.safetensors``).

The file holds, as tensors: the standardized images to invert ``[N, C, H, W]`` and their labels;
the *pool*, every held-out image of the dataset ``[P, C, H, W]`` with its labels; for each image
its other-image ``partners`` ``[N, partners]`` (pool indices: held-out images of another class,
never a photo) and its identification ``candidates`` ``[N, K - 1]`` (pool indices of K - 1 other
held-out images, every class represented, never the image itself). In its metadata: the image
and pool ids, the per-channel ``mean``/``std`` (to map back to pixels) and a ``fingerprint`` of
the config that made it. A job names the fingerprint it expects and refuses a file made from
another config, instead of inverting the wrong images. Partners and candidates are drawn once,
with a fixed seed, so that every job and every training seed uses the same ones.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..core.atomic import atomic_path
from ..core.errors import DataError
from ..core.vocabulary import canonical
from .pixels import ImageSet


@dataclass
class PreparedImages:
    images: torch.Tensor  # [N, C, H, W], standardized
    labels: torch.Tensor  # [N] int64, -1 for a photo (no class)
    ids: list[str]
    mean: list[float]  # per channel
    std: list[float]
    pool: torch.Tensor  # [P, C, H, W], every held-out image, standardized
    pool_labels: torch.Tensor  # [P]
    pool_ids: list[str]
    partners: torch.Tensor  # [N, partners] pool indices: other-image control targets
    candidates: torch.Tensor  # [N, K - 1] pool indices: identification distractors

    def to_pixels(self, images: torch.Tensor) -> torch.Tensor:
        """Standardized images back to pixel space (``[0, 1]`` for real images)."""
        channels = images.shape[1]
        mean = torch.tensor(self.mean, dtype=images.dtype).expand(channels).reshape(-1, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype).expand(channels).reshape(-1, 1, 1)
        return images * std + mean


def fingerprint(dataset: dict, selection: dict) -> str:
    """What determines a model's image set: its dataset entry and its ``images`` selection."""
    text = canonical({"dataset": dataset, "images": selection})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


SELECTION_SEED = 0  # partners and candidates: drawn once, the same for every run


def draw_partners(labels: torch.Tensor, ids: list[str], pool_labels, pool_ids, count: int):
    """For each image, ``count`` pool images of another class (any class for a photo), never
    the image itself; spread over the other classes in turn."""
    generator = torch.Generator().manual_seed(SELECTION_SEED)
    rows = []
    for label, image_id in zip(labels.tolist(), ids, strict=True):
        allowed = (pool_labels != label) if label >= 0 else torch.ones_like(pool_labels, dtype=bool)
        allowed &= torch.tensor([pid != image_id for pid in pool_ids])
        rows.append(_spread(torch.nonzero(allowed).flatten(), pool_labels, count, generator))
    return torch.stack(rows)


def draw_candidates(ids: list[str], pool_labels, pool_ids, count: int):
    """For each image, ``count`` other pool images, every class represented as evenly as the
    pool allows (the distractors its reconstruction is ranked against)."""
    generator = torch.Generator().manual_seed(SELECTION_SEED + 1)
    rows = []
    for image_id in ids:
        allowed = torch.tensor([pid != image_id for pid in pool_ids])
        rows.append(_spread(torch.nonzero(allowed).flatten(), pool_labels, count, generator))
    return torch.stack(rows)


def _spread(allowed: torch.Tensor, pool_labels: torch.Tensor, count: int, generator):
    """``count`` of the ``allowed`` pool indices, taking the classes in turn (each shuffled)."""
    by_class = []
    classes = torch.unique(pool_labels[allowed])
    for cls in classes[torch.randperm(len(classes), generator=generator)].tolist():
        members = allowed[pool_labels[allowed] == cls]
        by_class.append(members[torch.randperm(len(members), generator=generator)].tolist())
    order = [m for round_ in itertools.zip_longest(*by_class) for m in round_ if m is not None]
    return torch.tensor(order[:count], dtype=torch.long)


def first_per_class(labels: torch.Tensor, per_class: int) -> torch.Tensor:
    """Indices of the first ``per_class`` images of each class in ``labels``' order, the classes
    in increasing order: the images a model's jobs (or the augmentation experiment's windows)
    invert."""
    chosen = [
        torch.nonzero(labels == cls).flatten()[:per_class] for cls in torch.unique(labels).tolist()
    ]
    return torch.cat(chosen).to(torch.long) if chosen else torch.empty(0, dtype=torch.long)


def inversion_images(spec: dict, selection: dict, held: ImageSet | None = None) -> ImageSet:
    """The images every inversion job of a model inverts: ``per_class`` held-out images of each
    class (in class order) followed by the named photos (label -1). ``held``: the held-out set,
    if already loaded."""
    from .datasets import holdout_set
    from .photos import photo

    held = holdout_set(spec) if held is None else held
    chosen = first_per_class(held.labels, selection["per_class"])
    images = [held.images[chosen]]
    labels = [held.labels[chosen]]
    ids = [held.ids[i] for i in chosen.tolist()]
    for name in selection.get("photos", []):
        images.append(photo(name, spec)[None])
        labels.append(torch.tensor([-1]))
        ids.append(f"photo:{name}")
    return ImageSet(torch.cat(images), torch.cat(labels), ids)


def prepare(dataset: dict, selection: dict, output: str | Path) -> PreparedImages:
    """Load, select, resize and standardize the images once, and write them to ``output``."""
    from .datasets import holdout_set  # the only dataset read
    from .pixels import channel_stats

    held = holdout_set(dataset)
    chosen = inversion_images(dataset, selection, held)
    mean, std = channel_stats(dataset)
    prepared = PreparedImages(
        chosen.images.contiguous(),
        chosen.labels.to(torch.int64),
        chosen.ids,
        mean.flatten().tolist(),
        std.flatten().tolist(),
        held.images.contiguous(),
        held.labels.to(torch.int64),
        held.ids,
        draw_partners(chosen.labels, chosen.ids, held.labels, held.ids, selection["partners"]),
        draw_candidates(chosen.ids, held.labels, held.ids, selection["candidates"] - 1),
    )
    metadata = {
        "ids": prepared.ids,
        "pool_ids": prepared.pool_ids,
        "mean": prepared.mean,
        "std": prepared.std,
        "fingerprint": fingerprint(dataset, selection),
    }
    with atomic_path(output) as tmp:
        save_file(
            {key: getattr(prepared, key) for key in TENSORS},
            str(tmp),
            metadata={"invertibility": canonical(metadata)},
        )
    return prepared


TENSORS = ("images", "labels", "pool", "pool_labels", "partners", "candidates")


def load(path: str | Path, expected_fingerprint: str) -> PreparedImages:
    """Read a prepared image set; DataError naming the file if it is missing, unreadable, or was
    made from another config than the job's."""
    path = Path(path)
    fix = f"delete {str(path)!r} and rerun, so that Snakemake prepares it again"
    if not path.is_file():
        raise DataError(
            f"prepared images {str(path)!r} do not exist; rerun Snakemake, whose rule "
            f"prepare_images writes them"
        )
    try:
        with safe_open(str(path), framework="pt") as archive:
            metadata = json.loads(archive.metadata()["invertibility"])
            tensors = {key: archive.get_tensor(key) for key in TENSORS}
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"prepared images {str(path)!r} are unreadable ({error}); {fix}") from error
    if metadata["fingerprint"] != expected_fingerprint:
        raise DataError(
            f"prepared images {str(path)!r} were made from another config (fingerprint "
            f"{metadata['fingerprint']}, the job expects {expected_fingerprint}); {fix}"
        )
    return PreparedImages(
        ids=metadata["ids"],
        pool_ids=metadata["pool_ids"],
        mean=metadata["mean"],
        std=metadata["std"],
        **tensors,
    )
