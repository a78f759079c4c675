"""The three terms of the Mahendran & Vedaldi (2015) inversion objective, per image, and the
gradient of the two priors in closed form (:class:`PriorGradient`, what the inversion loop
steps with).

Each term returns a tensor of shape ``[N]`` (one value per image of the batch), so a batch
optimizes N independent problems: summing them leaves every image's gradient its own.
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


class PriorGradient:
    """The gradient of ``lambda_alpha alpha_norm(x) + lambda_tv total_variation(x)`` in closed
    form, for one batch ``x`` (updated in place between calls).

    The inversion loop adds it to the data term's gradient every iteration, so its scratch
    buffers and the shifted views of ``x`` are made once, here: a call is a handful of passes
    over the images, no autograd graph, and at an even ``alpha`` and ``beta = 2`` (the
    paper's) no allocation (docs/benchmarks.md).
    tests/test_objectives.py checks it against autograd.

    * alpha-norm: ``alpha |x|^(alpha-1) sign(x) / (H W bound^alpha)``; for an even integer
      ``alpha = 2m`` that is ``(x^2)^(m-1) x``, products only (a general power costs several
      times a product: the paper's ``x^5`` in three fast passes).
    * TV: with ``s = dx^2 + dy^2`` per pixel, the derivative of ``s^(beta/2)`` by ``dx`` is
      ``beta s^(beta/2-1) dx`` (``2 dx`` at the paper's beta = 2); it goes to the pixel right
      of the difference with + and to the difference's origin with -, and likewise for ``dy``
      with the pixel below.
    """

    def __init__(self, x, alpha, alpha_bound, lambda_alpha, beta, tv_bound, lambda_tv):
        height, width = x.shape[-2:]
        self.x = x.detach()  # the same storage: sees every in-place update
        self.alpha, self.beta = alpha, beta
        self.alpha_scale = lambda_alpha * alpha / (height * width * alpha_bound**alpha)
        self.tv_scale = lambda_tv / (height * width * tv_bound**beta)
        self.even_alpha = float(alpha).is_integer() and int(alpha) % 2 == 0
        self.power = torch.empty_like(self.x)
        self.dx = torch.empty_like(self.x[..., 1:, 1:])
        self.dy = torch.empty_like(self.dx)
        self.x_views = neighbour_views(self.x)

    def add_to(self, grad: torch.Tensor) -> torch.Tensor:
        """``grad +=`` the priors' gradient at the current ``x``; returns ``grad``."""
        x, power = self.x, self.power
        with torch.no_grad():
            if self.even_alpha:
                torch.mul(x, x, out=power)
                if self.alpha != 4:
                    power.pow_(int(self.alpha) // 2 - 1)  # a square at alpha 6, a cube at 8
                grad.addcmul_(power, x, value=self.alpha_scale)
            else:
                torch.abs(x, out=power).pow_(self.alpha - 1).mul_(torch.sign(x))
                grad.add_(power, alpha=self.alpha_scale)
            right, down, origin = self.x_views
            dx = torch.sub(right, origin, out=self.dx)
            dy = torch.sub(down, origin, out=self.dy)
            scale = self.tv_scale
            if self.beta == 2:
                scale = 2 * scale
            else:
                factor = (dx.pow(2) + dy.pow(2)).pow_(self.beta / 2 - 1).mul_(self.beta)
                dx.mul_(factor)
                dy.mul_(factor)
            grad_right, grad_down, grad_origin = neighbour_views(grad)
            grad_right.add_(dx, alpha=scale)
            grad_down.add_(dy, alpha=scale)
            grad_origin.sub_(dx.add_(dy), alpha=scale)
        return grad


def neighbour_views(tensor: torch.Tensor):
    """``(t[..., i, j+1], t[..., i+1, j], t[..., i, j])`` over ``i < H-1, j < W-1``: the
    right and lower neighbours of each pixel that a finite difference pairs, and the pixel."""
    return tensor[..., :-1, 1:], tensor[..., 1:, :-1], tensor[..., :-1, :-1]
