"""The images a model's jobs invert, prepared once (``results/images/{model}.safetensors``).

The file holds the standardized images ``[N, C, H, W]`` and their labels as tensors, and in its
metadata the image ids, the per-channel ``mean``/``std`` (to map back to pixels) and a
``fingerprint`` of the config that made it. A job names the fingerprint it expects and refuses a
file made from another config, instead of inverting the wrong images.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .atomic import atomic_path
from .errors import DataError
from .vocabulary import canonical


@dataclass
class PreparedImages:
    images: torch.Tensor  # [N, C, H, W], standardized
    labels: torch.Tensor  # [N] int64, -1 for a photo (no class)
    ids: list[str]
    mean: list[float]  # per channel
    std: list[float]

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


def prepare(dataset: dict, selection: dict, output: str | Path) -> PreparedImages:
    """Load, select, resize and standardize the images once, and write them to ``output``."""
    from .data import channel_stats, inversion_images  # the only dataset read for inversion

    chosen = inversion_images(dataset, selection)
    mean, std = channel_stats(dataset)
    prepared = PreparedImages(
        chosen.images.contiguous(),
        chosen.labels.to(torch.int64),
        chosen.ids,
        mean.flatten().tolist(),
        std.flatten().tolist(),
    )
    metadata = {
        "ids": prepared.ids,
        "mean": prepared.mean,
        "std": prepared.std,
        "fingerprint": fingerprint(dataset, selection),
    }
    with atomic_path(output) as tmp:
        save_file(
            {"images": prepared.images, "labels": prepared.labels},
            str(tmp),
            metadata={"invertibility": canonical(metadata)},
        )
    return prepared


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
            tensors = {key: archive.get_tensor(key) for key in ("images", "labels")}
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"prepared images {str(path)!r} are unreadable ({error}); {fix}") from error
    if metadata["fingerprint"] != expected_fingerprint:
        raise DataError(
            f"prepared images {str(path)!r} were made from another config (fingerprint "
            f"{metadata['fingerprint']}, the job expects {expected_fingerprint}); {fix}"
        )
    return PreparedImages(
        tensors["images"], tensors["labels"], metadata["ids"], metadata["mean"], metadata["std"]
    )
