"""torchvision's ResNet-18, written out module for module (see :mod:`.models` for why), with
three options: ``batch_norm`` (off: ``nn.Identity`` in place of every BN and a bias added to every
convolution, the paper's model, also named ``resnet18_nobn``), ``skip`` (off: each block returns
``relu(F(x))``, its projection dropped) and ``residual_scale`` ``h`` (a block returns
``relu(x + h F(x))``; ``h = 1`` is torchvision's block). The builder takes ``norm_layer`` like
torchvision's, so variants stay options, not forks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .architecture import Architecture


def add_conv_biases(model: nn.Module) -> nn.Module:
    """Give every bias-free ``Conv2d`` a zero-initialized bias (keeps the expressivity BN had)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.bias is None:
            module.bias = nn.Parameter(
                torch.zeros(module.out_channels, device=module.weight.device)
            )
    return model


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

    def diagnostic_blocks(self) -> list[str]:
        """The stem convolution, then each basic block, in forward order."""
        return ["conv1", *(n for n, m in self.named_modules() if isinstance(m, BasicBlock))]


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


def _build(function):
    def build(num_classes: int, input_shape: Sequence[int], hidden=None, **options) -> nn.Module:
        return function(num_classes, **options)

    return build


ARCHITECTURES = [
    Architecture(
        "resnet18",
        _build(resnet18),
        options={"batch_norm": True, "skip": True, "residual_scale": 1.0},
    ),
    Architecture(
        "resnet18_nobn", _build(resnet18_nobn), options={"skip": True, "residual_scale": 1.0}
    ),
]
