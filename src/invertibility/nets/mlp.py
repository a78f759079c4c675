"""Fully connected ReLU nets: the paper's 784-2000-1000-100-10, the wide 8000-unit MLP, or any
``hidden`` widths."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence

from torch import nn

from ..core.errors import ConfigError
from .architecture import Architecture


class MLP(nn.Sequential):
    """Flatten, then ``fc1 .. fcN`` with a ReLU (``relu1 ..``) after every hidden layer."""

    def __init__(self, in_features: int, hidden: Sequence[int], num_classes: int):
        layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
        widths = [in_features, *hidden]
        for i, (n_in, n_out) in enumerate(itertools.pairwise(widths), start=1):
            layers += [(f"fc{i}", nn.Linear(n_in, n_out)), (f"relu{i}", nn.ReLU())]
        layers.append((f"fc{len(widths)}", nn.Linear(widths[-1], num_classes)))
        super().__init__(OrderedDict(layers))

    def diagnostic_blocks(self) -> list[str]:
        """Its linear layers, in forward order (the blocks the training probes follow)."""
        return [name for name, m in self.named_children() if isinstance(m, nn.Linear)]


def build(num_classes: int, input_shape: Sequence[int], hidden: Sequence[int] | None) -> nn.Module:
    if not hidden:
        raise ConfigError("an 'mlp' model needs 'hidden': a list of hidden layer widths")
    in_features = 1
    for size in input_shape:
        in_features *= int(size)
    return MLP(in_features, hidden, num_classes)


ARCHITECTURES = [Architecture("mlp", build, options={}, needs_hidden=True)]
