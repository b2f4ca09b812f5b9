"""`vgg8`: the VGG8 of the ANA experiments on CIFAR-10 (Spallanzani et al., CVPR 2022).

Following the reference implementation (pulp-platform quantlab, `systems/CIFAR10/VGG`,
configuration VGG8 with batch norm in features and classifier): a pilot conv of 128 channels,
then max-pool, conv 256, conv 256, max-pool, conv 512, conv 512, max-pool, a 4x4 adaptive
average pool, and a classifier Linear(8192, 1024) - Linear(1024, 1024) - Linear(1024, classes).
Five conv and three linear layers: the eight weight layers of the name. Module names match the
reference (`pilot.0`, `features.1`, ..., `classifier.6`), so its per-layer schedules carry over.
"""

from __future__ import annotations

import torch
from torch import nn

from codesign.models._registry import register_model

FEATURES = ("M", 256, 256, "M", 512, 512, "M")
PILOT_CHANNELS = 128
HIDDEN = 1024
POOLED = 4


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.01)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class VGG8(nn.Module):
    """pilot (conv-BN-ReLU), features (pools and conv-BN-ReLU), 4x4 pool, classifier."""

    def __init__(self, num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.pilot = nn.Sequential(
            nn.Conv2d(in_channels, PILOT_CHANNELS, 3, padding=1, bias=False),
            nn.BatchNorm2d(PILOT_CHANNELS),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        channels = PILOT_CHANNELS
        for item in FEATURES:
            if isinstance(item, str):  # "M": a pooling step
                layers.append(nn.MaxPool2d(2, ceil_mode=True))  # ceil: tiny inputs keep 1 pixel
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1, bias=False),
                           nn.BatchNorm2d(item), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(POOLED)
        self.classifier = nn.Sequential(
            nn.Linear(channels * POOLED * POOLED, HIDDEN, bias=False),
            nn.BatchNorm1d(HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN, bias=False),
            nn.BatchNorm1d(HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, num_classes),
        )
        self.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(self.pilot(x)))
        return self.classifier(torch.flatten(x, 1))


@register_model("vgg8", natural_input=(3, 32))
def vgg8(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """VGG8 of the ANA CIFAR-10 experiments: 5 conv (128-256-256-512-512) + 3 linear, BN."""
    return VGG8(num_classes, in_channels)
