"""The registry of architectures, and what every network offers config checks and jobs: its
layers by module path, the smallest input it runs at, a build without weights (for loading a
checkpoint), and the modules and parameters up to a layer.

The families are one module each (:mod:`.mlp`, :mod:`.alexnet`, :mod:`.resnet`; adding one is a
module with its ``ARCHITECTURES``, its line below and the schema's enum entry, which a test keeps
equal to the registry). AlexNet and ResNet-18 are written out module for module as in
torchvision's ``models/alexnet.py`` and ``models/resnet.py`` (same module paths, same
parameters, same initialization under the same seed: ``tests/test_models_and_taps.py`` checks
all three against torchvision), because importing torchvision costs a job about 1.3 s
(``torchvision.ops`` pulls in ``torch._dynamo``): more than a paper-scale inversion spends on the
GPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..core.errors import ConfigError
from . import alexnet, mlp, resnet

ARCHITECTURES = {
    architecture.name: architecture
    for family in (mlp, alexnet, resnet)
    for architecture in family.ARCHITECTURES
}
# keyword options each architecture takes (model entry keys), with their defaults
OPTIONS = {name: architecture.options for name, architecture in ARCHITECTURES.items()}


def build_model(
    architecture: str,
    num_classes: int,
    input_shape: Sequence[int],
    hidden: Sequence[int] | None = None,
    options: dict | None = None,
) -> nn.Module:
    """Build a freshly initialized network (no downloaded weights); ``options``: the
    architecture's keyword options (:data:`OPTIONS`)."""
    options = options or {}
    if architecture not in ARCHITECTURES:
        raise ConfigError(
            f"unknown architecture {architecture!r}; choose one of {tuple(ARCHITECTURES)}"
        )
    unknown = sorted(set(options) - set(OPTIONS[architecture]))
    if unknown:
        takes = ", ".join(OPTIONS[architecture]) or "none"
        raise ConfigError(
            f"option(s) {', '.join(unknown)} do not apply to architecture {architecture!r} "
            f"(its options: {takes})"
        )
    return ARCHITECTURES[architecture].build(num_classes, input_shape, hidden, **options)


def layer_names(model: nn.Module) -> list[str]:
    """Module paths that a layer entry in config may name (every named submodule)."""
    return [name for name, _ in model.named_modules() if name]


def describe_layers(
    architecture: str, num_classes: int, input_shape, hidden=None, options=None
) -> list[str]:
    """Layer names without allocating weights (built on the meta device), for config checks."""
    return layer_names(network_on_meta(architecture, num_classes, input_shape, hidden, options))


def _runs_at(architecture: str, num_classes: int, input_shape, hidden, options, size: int) -> bool:
    """Whether a whole forward pass works at ``size`` px (meta device: shapes only, no maths)."""
    shape = (*input_shape[:-2], size, size)
    with torch.device("meta"):
        model = build_model(architecture, num_classes, shape, hidden, options).eval()
        try:
            model(torch.empty(1, *shape))
        except RuntimeError:
            return False
    return True


def smallest_input_size(
    architecture: str,
    num_classes: int,
    input_shape,
    hidden=None,
    options=None,
    largest: int = 4096,
) -> int | None:
    """``None`` if the network runs at ``input_shape``; else the smallest square size at which
    every layer exists (its pooling and strides leave at least one pixel)."""
    size = int(input_shape[-1])
    if _runs_at(architecture, num_classes, input_shape, hidden, options, size):
        return None
    low, high = size, size
    while not _runs_at(architecture, num_classes, input_shape, hidden, options, high):
        low, high = high, high * 2
        if high > largest:
            return high  # no size up to ``largest`` runs: report where the search stopped
    while high - low > 1:  # low fails, high runs: bisect (shapes only grow with the input)
        middle = (low + high) // 2
        runs = _runs_at(architecture, num_classes, input_shape, hidden, options, middle)
        low, high = (low, middle) if runs else (middle, high)
    return high


def forward_calls(
    architecture: str, num_classes: int, input_shape, hidden=None, options=None
) -> dict[str, int]:
    """How many times each named module runs in one forward pass (meta device: shapes only).
    A module run more than once (torchvision's residual block applies its one ``relu`` twice)
    has no single output to tap."""
    size = smallest_input_size(architecture, num_classes, input_shape, hidden, options)
    shape = tuple(input_shape) if size is None else (*input_shape[:-2], size, size)
    model = network_on_meta(architecture, num_classes, shape, hidden, options).eval()
    calls = {name: 0 for name in layer_names(model)}
    handles = [
        module.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
        for name, module in model.named_modules()
        if name
    ]
    try:
        with torch.device("meta"):
            model(torch.empty(1, *shape))
    finally:
        for handle in handles:
            handle.remove()
    return calls


def network_on_meta(
    architecture: str, num_classes: int, input_shape, hidden=None, options=None
) -> nn.Module:
    """The network without initialized weights: for loading a checkpoint with ``assign=True``,
    which skips the (for the wide MLP, seconds-long) random initialization."""
    with torch.device("meta"):
        return build_model(architecture, num_classes, input_shape, hidden, options)


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _up_to(model: nn.Module, layer: str) -> list[tuple[str, nn.Module]]:
    """Named modules up to the tapped ``layer`` and everything inside it, in definition order
    (which, for these networks, is the order of the forward pass)."""
    named = [(name, module) for name, module in model.named_modules() if name]
    names = [name for name, _ in named]
    if layer not in names:
        raise ConfigError(f"unknown layer {layer!r}; valid layers are: {', '.join(names)}")
    last = max(i for i, name in enumerate(names) if name == layer or name.startswith(layer + "."))
    return named[: last + 1]


def layer_depth(model: nn.Module, layer: str) -> int:
    """Weighted layers (convolutions and linear maps) up to and including ``layer``: AlexNet's
    conv5 and ResNet-18's ``layer1.1`` have depth 5, an MLP's fc2 depth 2."""
    return sum(isinstance(m, nn.Conv2d | nn.Linear) for _, m in _up_to(model, layer)) or 1


def parameters_up_to(model: nn.Module, layer: str) -> list[str]:
    """Names of the parameters that ``r_l`` depends on: those of ``layer`` and of every module
    before it (the weights whose drift ``D_l`` measures)."""
    inside = {name for name, _ in _up_to(model, layer)}
    return [name for name, _ in model.named_parameters() if name.rpartition(".")[0] in inside]


def blocks_up_to(model: nn.Module, layer: str, blocks: Sequence[str]) -> list[str]:
    """The ``blocks`` (module paths) that lie wholly at or before ``layer`` in the forward pass:
    the blocks a signal crosses on its way from the input to ``layer``'s output."""
    inside = {name for name, _ in _up_to(model, layer)}
    modules = dict(model.named_modules())
    return [
        block
        for block in blocks
        if block in inside
        and all(f"{block}.{sub}" in inside for sub, _ in modules[block].named_modules() if sub)
    ]
