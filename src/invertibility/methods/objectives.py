"""The three terms of the Mahendran & Vedaldi (2015) inversion objective, per image.

Each returns a tensor of shape ``[N]`` (one value per image of the batch), so a batch optimizes
N independent problems: summing them leaves every image's gradient its own.
"""

from __future__ import annotations

import torch


def squared_norms(target: torch.Tensor) -> torch.Tensor:
    """``||target||^2`` per image, never zero (the denominator of the data term)."""
    return target.float().flatten(1).pow(2).sum(1).clamp_min(torch.finfo(torch.float32).tiny)


def relative_feature_loss(
    features: torch.Tensor, target: torch.Tensor, target_norms: torch.Tensor | None = None
) -> torch.Tensor:
    """``||target - features||^2 / ||target||^2`` per image (the normalized L2 data term);
    ``target_norms`` (from :func:`squared_norms`) saves recomputing them every iteration."""
    diff = (features.float() - target.float()).flatten(1)
    norms = squared_norms(target) if target_norms is None else target_norms
    return diff.pow(2).sum(1) / norms


def alpha_norm(x: torch.Tensor, alpha: float, bound: float) -> torch.Tensor:
    """``sum |x|^alpha / (H W bound^alpha)``: keeps pixels within a typical range ``bound``."""
    height, width = x.shape[-2:]
    even = float(alpha).is_integer() and int(alpha) % 2 == 0
    powered = x.pow(alpha) if even else x.abs().pow(alpha)  # |x|^a = x^a for even a: one op less
    return powered.flatten(1).sum(1) / (height * width * bound**alpha)


def total_variation(x: torch.Tensor, beta: float, bound: float) -> torch.Tensor:
    """``sum ((dx)^2 + (dy)^2)^(beta/2) / (H W bound^beta)``, finite differences in both axes."""
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    height, width = x.shape[-2:]
    tv = dx.pow(2) + dy.pow(2)
    if beta != 2:  # the paper's beta = 2 needs no root
        tv = tv.pow(beta / 2)
    return tv.flatten(1).sum(1) / (height * width * bound**beta)
