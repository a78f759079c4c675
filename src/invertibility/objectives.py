"""The three terms of the Mahendran & Vedaldi (2015) inversion objective, per image.

Each returns a tensor of shape ``[N]`` (one value per image of the batch), so a batch optimizes
N independent problems: summing them leaves every image's gradient its own.
"""

from __future__ import annotations

import torch


def relative_feature_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``||target - features||^2 / ||target||^2`` per image (the normalized L2 data term)."""
    diff = (features.float() - target.float()).flatten(1)
    norm = target.float().flatten(1).pow(2).sum(1).clamp_min(torch.finfo(torch.float32).tiny)
    return diff.pow(2).sum(1) / norm


def alpha_norm(x: torch.Tensor, alpha: float, bound: float) -> torch.Tensor:
    """``sum |x|^alpha / (H W bound^alpha)``: keeps pixels within a typical range ``bound``."""
    height, width = x.shape[-2:]
    return x.abs().pow(alpha).flatten(1).sum(1) / (height * width * bound**alpha)


def total_variation(x: torch.Tensor, beta: float, bound: float) -> torch.Tensor:
    """``sum ((dx)^2 + (dy)^2)^(beta/2) / (H W bound^beta)``, finite differences in both axes."""
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    height, width = x.shape[-2:]
    tv = (dx.pow(2) + dy.pow(2)).pow(beta / 2)
    return tv.flatten(1).sum(1) / (height * width * bound**beta)
