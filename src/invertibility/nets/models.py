"""The paper's networks as plain ``nn.Module``s whose layers config addresses by module path.

``mlp``: fully connected ReLU nets (the paper's 784-2000-1000-100-10, or any ``hidden`` widths).
``alexnet``: torchvision's AlexNet. ``resnet18``: torchvision's ResNet-18 with three options:
``batch_norm`` (off: ``nn.Identity`` in place of every BN and a bias added to every convolution,
the paper's model, also named ``resnet18_nobn``), ``skip`` (off: each block returns
``relu(F(x))``, its projection dropped) and ``residual_scale`` ``h`` (a block returns
``relu(x + h F(x))``; ``h = 1`` is torchvision's block).

AlexNet and ResNet-18 are written out here, module for module as in torchvision's
``models/alexnet.py`` and ``models/resnet.py`` (same module paths, same parameters, same
initialization under the same seed: ``tests/test_models_and_taps.py`` checks all three against
torchvision), because importing torchvision costs a job about 1.3 s (``torchvision.ops`` pulls in
``torch._dynamo``): more than a paper-scale inversion spends on the GPU. The ResNet builder takes
``norm_layer`` like torchvision's, so variants stay options, not forks.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from ..core.errors import ConfigError


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


class AlexNet(nn.Module):
    """torchvision's AlexNet (``features``, ``avgpool``, ``classifier``)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """``relu(h * bn2(conv2(relu(bn1(conv1(x))))) + identity)``; ``identity`` is ``downsample(x)``
    where the block changes resolution or width. Without ``skip`` there is no identity path
    (and no ``downsample``): the block is ``relu(h * F(x))``."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample,
        norm_layer,
        skip: bool = True,
        residual_scale: float = 1.0,
    ):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample if skip else None
        self.stride = stride
        self.skip = skip
        self.residual_scale = residual_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.residual_scale != 1.0:  # h = 1 computes exactly torchvision's block
            out = self.residual_scale * out
        if not self.skip:
            return self.relu(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision's ``resnet18(num_classes, norm_layer)``: stem, four stages of two blocks;
    ``skip`` and ``residual_scale`` as in :class:`BasicBlock`."""

    def __init__(
        self,
        num_classes: int = 1000,
        norm_layer=nn.BatchNorm2d,
        skip: bool = True,
        residual_scale: float = 1.0,
    ):
        super().__init__()
        self.skip, self.residual_scale = skip, residual_scale
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 1, norm_layer)
        self.layer2 = self._make_layer(128, 2, norm_layer)
        self.layer3 = self._make_layer(256, 2, norm_layer)
        self.layer4 = self._make_layer(512, 2, norm_layer)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for module in self.modules():  # torchvision's initialization, in its order
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)

    def _make_layer(self, planes: int, stride: int, norm_layer) -> nn.Sequential:
        downsample = None
        if self.skip and (stride != 1 or self.inplanes != planes):
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), norm_layer(planes))
        options = {"skip": self.skip, "residual_scale": self.residual_scale}
        first = BasicBlock(self.inplanes, planes, stride, downsample, norm_layer, **options)
        self.inplanes = planes
        return nn.Sequential(first, BasicBlock(planes, planes, 1, None, norm_layer, **options))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(
    num_classes: int, batch_norm: bool = True, skip: bool = True, residual_scale: float = 1.0
) -> nn.Module:
    """ResNet-18; without ``batch_norm`` every BN is ``nn.Identity`` and every conv has a bias."""
    norm_layer = nn.BatchNorm2d if batch_norm else nn.Identity
    model = ResNet18(num_classes, norm_layer, skip=skip, residual_scale=residual_scale)
    return model if batch_norm else add_conv_biases(model)


def resnet18_nobn(num_classes: int, **options) -> nn.Module:
    """The paper's ResNet-18: no batch norm, biased convolutions."""
    return resnet18(num_classes, batch_norm=False, **options)


ARCHITECTURES = ("mlp", "alexnet", "resnet18", "resnet18_nobn")
# keyword options each architecture takes (model entry keys), with their defaults
OPTIONS = {
    "mlp": {},
    "alexnet": {},
    "resnet18": {"batch_norm": True, "skip": True, "residual_scale": 1.0},
    "resnet18_nobn": {"skip": True, "residual_scale": 1.0},
}


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
    if architecture in OPTIONS:
        unknown = sorted(set(options) - set(OPTIONS[architecture]))
        if unknown:
            takes = ", ".join(OPTIONS[architecture]) or "none"
            raise ConfigError(
                f"option(s) {', '.join(unknown)} do not apply to architecture {architecture!r} "
                f"(its options: {takes})"
            )
    if architecture == "mlp":
        if not hidden:
            raise ConfigError("an 'mlp' model needs 'hidden': a list of hidden layer widths")
        in_features = 1
        for size in input_shape:
            in_features *= int(size)
        return MLP(in_features, hidden, num_classes)
    if architecture == "alexnet":
        return AlexNet(num_classes=num_classes)
    if architecture == "resnet18":
        return resnet18(num_classes, **options)
    if architecture == "resnet18_nobn":
        return resnet18_nobn(num_classes, **options)
    raise ConfigError(f"unknown architecture {architecture!r}; choose one of {ARCHITECTURES}")


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
