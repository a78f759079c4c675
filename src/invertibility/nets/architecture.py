"""What an architecture is, for the registry (:data:`invertibility.nets.models.ARCHITECTURES`):
a name (the config's ``architecture``), a builder of a freshly initialized network and the keyword
options a model entry may set. A family of networks is one module of this package that lists its
``ARCHITECTURES``; each network class names its own ``diagnostic_blocks`` (the blocks that the
training probes follow)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn


@dataclass(frozen=True)
class Architecture:
    name: str
    build: Callable[..., nn.Module]  # (num_classes, input_shape, hidden, **options)
    options: dict = field(default_factory=dict)  # model entry keys it takes, with defaults
    needs_hidden: bool = False  # the entry's ``hidden`` widths (an MLP)
