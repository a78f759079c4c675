"""Which of a network's tensors a layer's output depends on: what a checkpoint saved for a
model's declared layers must hold, and what a network loaded for a layer must have.

The tensors of a layer ``l`` are those of every module the forward pass calls before it stops
at ``l`` (as :class:`~invertibility.nets.taps.Tap` stops it, traced on the meta device, so with
no weights and no arithmetic), together with :func:`~invertibility.nets.models.parameters_up_to`
(the weights whose drift ``D_l`` measures, by module order): for these networks the two agree,
and the union keeps a checkpoint loadable by every reader even where they would not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from .models import network_on_meta, parameters_up_to
from .taps import Tap

WHOLE = "whole"  # a checkpoint's scope when it holds every tensor of its network


def called_up_to(model: nn.Module, layer: str, input_shape: Sequence[int]) -> list[str]:
    """Paths of the modules the forward pass calls until ``layer``'s output exists, in call
    order (the root module is ``""``); ``model`` may be on the meta device."""
    name_of = {module: name for name, module in model.named_modules()}
    called: list[str] = []

    def record(module, _inputs):
        called.append(name_of[module])

    handles = [m.register_forward_pre_hook(record) for m in name_of]
    try:
        device = next(iter(model.parameters()), torch.empty(0)).device
        with torch.no_grad():
            Tap(model, layer)(torch.empty((1, *input_shape), device=device))
    finally:
        for handle in handles:
            handle.remove()
    return list(dict.fromkeys(called))


def tensors_for(network: dict, layers: Iterable[str] | None) -> set[str]:
    """The state-dict keys of ``network`` (``build_model``'s keyword arguments) that the outputs
    of the module paths ``layers`` depend on; every key when ``layers`` is None (the whole
    network)."""
    return tensors_of(network_on_meta(**network), layers, network["input_shape"])


def tensors_of(model: nn.Module, layers: Iterable[str] | None, input_shape) -> set[str]:
    """:func:`tensors_for` of a built ``model`` (on the meta device or not) taking inputs of
    ``input_shape`` (one image's); the trace leaves ``model`` in eval mode (batch norm on a
    one-image batch)."""
    keys = set(model.state_dict())
    model.eval()
    if layers is None:
        return keys
    called, up_to = set(), set()
    for layer in layers:
        called |= set(called_up_to(model, layer, input_shape))
        up_to |= set(parameters_up_to(model, layer))
    # a key's owner is the module path before its last dot ("" for the root's own tensors)
    return {key for key in keys if key.rpartition(".")[0] in called} | up_to
