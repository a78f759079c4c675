"""What every dataset source shares: the set of images a job inverts, and the standardization,
resizing and channel matching that put any image in a model's input space.

Every image is standardized per channel (``(x - mean) / std``); models, training and inversion
work in that space; ``image_sets.PreparedImages.to_pixels`` maps back to ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


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


def resize(pixels: torch.Tensor, size: int) -> torch.Tensor:
    if pixels.shape[-1] == size and pixels.shape[-2] == size:
        return pixels
    return F.interpolate(
        pixels, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    ).clamp(0, 1)


def match_channels(pixels: torch.Tensor, channels: int) -> torch.Tensor:
    if pixels.shape[1] == channels:
        return pixels
    if channels == 1:
        return pixels.mean(1, keepdim=True)
    return pixels.expand(-1, channels, -1, -1)
