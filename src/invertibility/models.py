"""The paper's networks as plain ``nn.Module``s whose layers config addresses by module path.

``mlp`` / ``mlp_wide``: fully connected ReLU nets (784-2000-1000-100-10, and 8000 per hidden
layer). ``alexnet``: torchvision's AlexNet. ``resnet18_nobn``: torchvision's ResNet-18 built with
``norm_layer=nn.Identity`` and a bias added to every convolution, as the paper describes.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from .errors import ConfigError


class MLP(nn.Sequential):
    """Flatten, then ``fc1 .. fcN`` with a ReLU (``relu1 ..``) after every hidden layer."""

    def __init__(self, in_features: int, hidden: Sequence[int], num_classes: int):
        layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
        widths = [in_features, *hidden]
        for i, (n_in, n_out) in enumerate(itertools.pairwise(widths), start=1):
            layers += [(f"fc{i}", nn.Linear(n_in, n_out)), (f"relu{i}", nn.ReLU())]
        layers.append((f"fc{len(widths)}", nn.Linear(widths[-1], num_classes)))
        super().__init__(OrderedDict(layers))


def add_conv_biases(model: nn.Module) -> nn.Module:
    """Give every bias-free ``Conv2d`` a zero-initialized bias (keeps the expressivity BN had)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.bias is None:
            module.bias = nn.Parameter(
                torch.zeros(module.out_channels, device=module.weight.device)
            )
    return model


def resnet18_nobn(num_classes: int) -> nn.Module:
    from torchvision.models import resnet18  # imported here: an MLP job need not load it

    return add_conv_biases(resnet18(num_classes=num_classes, norm_layer=nn.Identity))


ARCHITECTURES = ("mlp", "alexnet", "resnet18_nobn")


def build_model(
    architecture: str,
    num_classes: int,
    input_shape: Sequence[int],
    hidden: Sequence[int] | None = None,
) -> nn.Module:
    """Build a freshly initialized network (no downloaded weights)."""
    if architecture == "mlp":
        if not hidden:
            raise ConfigError("an 'mlp' model needs 'hidden': a list of hidden layer widths")
        in_features = 1
        for size in input_shape:
            in_features *= int(size)
        return MLP(in_features, hidden, num_classes)
    if architecture == "alexnet":
        from torchvision.models import alexnet

        return alexnet(num_classes=num_classes)
    if architecture == "resnet18_nobn":
        return resnet18_nobn(num_classes)
    raise ConfigError(f"unknown architecture {architecture!r}; choose one of {ARCHITECTURES}")


def layer_names(model: nn.Module) -> list[str]:
    """Module paths that a layer entry in config may name (every named submodule)."""
    return [name for name, _ in model.named_modules() if name]


def describe_layers(architecture: str, num_classes: int, input_shape, hidden=None) -> list[str]:
    """Layer names without allocating weights (built on the meta device), for config checks."""
    with torch.device("meta"):
        model = build_model(architecture, num_classes, input_shape, hidden)
    return layer_names(model)


def _runs_at(architecture: str, num_classes: int, input_shape, hidden, size: int) -> bool:
    """Whether a whole forward pass works at ``size`` px (meta device: shapes only, no maths)."""
    shape = (*input_shape[:-2], size, size)
    with torch.device("meta"):
        model = build_model(architecture, num_classes, shape, hidden)
        try:
            model(torch.empty(1, *shape))
        except RuntimeError:
            return False
    return True


def smallest_input_size(
    architecture: str, num_classes: int, input_shape, hidden=None, largest: int = 4096
) -> int | None:
    """``None`` if the network runs at ``input_shape``; else the smallest square size at which
    every layer exists (its pooling and strides leave at least one pixel)."""
    size = int(input_shape[-1])
    if _runs_at(architecture, num_classes, input_shape, hidden, size):
        return None
    low, high = size, size
    while not _runs_at(architecture, num_classes, input_shape, hidden, high):
        low, high = high, high * 2
        if high > largest:
            return high  # no size up to ``largest`` runs: report where the search stopped
    while high - low > 1:  # low fails, high runs: bisect (shapes only grow with the input)
        middle = (low + high) // 2
        runs = _runs_at(architecture, num_classes, input_shape, hidden, middle)
        low, high = (low, middle) if runs else (middle, high)
    return high


def network_on_meta(architecture: str, num_classes: int, input_shape, hidden=None) -> nn.Module:
    """The network without initialized weights: for loading a checkpoint with ``assign=True``,
    which skips the (for the wide MLP, seconds-long) random initialization."""
    with torch.device("meta"):
        return build_model(architecture, num_classes, input_shape, hidden)
