"""Forward passes of a trained network: up to a named layer (``Tap``), or whole (``predict``),
and the drift of the weights a layer's output depends on between two checkpoints.

A forward hook on the tapped module copies its output and raises, so nothing past the tap is
computed and later in-place ops (``ReLU(inplace=True)``) or residual additions cannot alter the
tapped tensor. Gradients flow through the copy, which is what inversion needs.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.errors import ConfigError
from .models import parameters_up_to


class _ReachedTap(Exception):
    """Raised from the hook to stop the forward pass at the tapped layer."""


def get_module(model: nn.Module, layer: str) -> nn.Module:
    modules = dict(model.named_modules())
    if not layer or layer not in modules:
        valid = ", ".join(name for name in modules if name)
        raise ConfigError(f"unknown layer {layer!r}; valid layers are: {valid}")
    return modules[layer]


class Tap:
    """``Tap(model, layer)(x)`` returns the output of ``layer`` for input ``x``."""

    def __init__(self, model: nn.Module, layer: str):
        self.model = model
        self.layer = layer
        self.module = get_module(model, layer)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        captured: list[torch.Tensor] = []

        def hook(_module, _inputs, output):
            captured.append(output.clone())
            raise _ReachedTap

        handle = self.module.register_forward_hook(hook)
        try:
            self.model(x)
        except _ReachedTap:
            pass
        finally:
            handle.remove()
        if not captured:
            raise RuntimeError(f"layer {self.layer!r} was never reached in the forward pass")
        return captured[0]


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Class predictions on the model's device; NaN images (diverged inversions) get -1."""
    device = next(model.parameters()).device
    out = []
    for chunk in images.split(batch):
        finite = torch.isfinite(chunk).flatten(1).all(1)
        pred = model(torch.nan_to_num(chunk).to(device)).argmax(1).cpu()
        out.append(torch.where(finite, pred, torch.full_like(pred, -1)))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


@torch.no_grad()
def relative_change(before: list[torch.Tensor], after: list[torch.Tensor]) -> float:
    """``||after - before|| / ||before||`` over a list of parameters (NaN if ``before`` is 0)."""
    moved = sum(float((a - b).double().pow(2).sum()) for a, b in zip(after, before, strict=True))
    size = sum(float(b.double().pow(2).sum()) for b in before)
    return (moved / size) ** 0.5 if size > 0 else float("nan")


def weight_drift(before: nn.Module, after: nn.Module, module: str) -> float:
    """``D_l = ||theta_{<=l}^after - theta_{<=l}^before|| / ||theta_{<=l}^before||`` over the
    parameters that ``r_l`` (the output of ``module``) depends on."""
    names = parameters_up_to(before, module)
    old, new = dict(before.named_parameters()), dict(after.named_parameters())
    return relative_change([old[n] for n in names], [new[n] for n in names])


@torch.no_grad()
def other_image_targets(
    forward, pool: torch.Tensor, partners: torch.Tensor, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The other-image control's rows of a batch of ``N`` images: one per (image, partner), the
    image's ``K`` partners (``partners``: ``[N, K]`` indices into ``pool``) in turn. Returns which
    image each row inverts (``[N K]``) and its target, the partner's activations under
    ``forward`` (``Phi0 = r_l^t(x_j)``)."""
    rows = torch.arange(len(partners)).repeat_interleave(partners.shape[1])
    return rows, forward(pool[partners.flatten()].to(device))
