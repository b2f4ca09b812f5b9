"""`digits_cnn`: three conv layers for 8x8 digits, small enough for sub-second CPU epochs."""

from __future__ import annotations

import torch
from torch import nn

from codesign.errors import CodesignError
from codesign.models._registry import register_model


class DigitsCNN(nn.Module):
    """conv(w) - conv(2w) - max-pool - conv(4w) - 2x2 average pool - linear.

    Each conv is followed by batch norm and ReLU. The final adaptive pool makes any image
    size work; on 8x8 inputs it sees 4x4 maps.
    """

    def __init__(self, num_classes: int, in_channels: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.conv3 = nn.Conv2d(2 * width, 4 * width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * width)
        self.relu3 = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(16 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.pool(self.relu2(self.bn2(self.conv2(x))))
        x = self.avgpool(self.relu3(self.bn3(self.conv3(x))))
        return self.fc(torch.flatten(x, 1))


@register_model("digits_cnn", natural_input=(1, 8))
def digits_cnn(num_classes: int, in_channels: int, image_size: int, *,
               width: int = 16) -> nn.Module:
    """Small 3-conv CNN for 8x8 digits (BatchNorm + ReLU, linear classifier); width 16."""
    if not isinstance(width, int) or width < 1:
        raise CodesignError(f"digits_cnn width={width!r}; use a positive integer")
    return DigitsCNN(num_classes, in_channels, width)
