"""torchvision's AlexNet, written out module for module (see :mod:`.models` for why)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .architecture import Architecture


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

    def diagnostic_blocks(self) -> list[str]:
        """Its convolutions and linear layers, in forward order."""
        return [n for n, m in self.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def build(num_classes: int, input_shape: Sequence[int], hidden=None) -> nn.Module:
    return AlexNet(num_classes=num_classes)


ARCHITECTURES = [Architecture("alexnet", build, options={})]
