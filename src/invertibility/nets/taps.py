"""Truncated forward passes: run a network only up to a named layer and return its output.

A forward hook on the tapped module copies its output and raises, so nothing past the tap is
computed and later in-place ops (``ReLU(inplace=True)``) or residual additions cannot alter the
tapped tensor. Gradients flow through the copy, which is what inversion needs.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.errors import ConfigError


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
