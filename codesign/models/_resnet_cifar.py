"""`resnet20`: the CIFAR ResNet-20 of He et al. (CVPR 2016, section 4.2), about 0.27M weights.

3x3 conv of 16 channels, three stages of three basic blocks (16, 32, 64 channels; the second
and third stages start with stride 2), global average pool, linear. Shortcuts are identities;
where the shape changes they subsample and pad channels with zeros (the paper's option A),
so every weight of the network sits in a conv or linear module.
"""

from __future__ import annotations

import torch
from torch import nn

from codesign.models._registry import register_model

STAGES = (16, 32, 64)
BLOCKS_PER_STAGE = 3  # depth 6n + 2 = 20


class PadShortcut(nn.Module):
    """Option-A shortcut: keep every `stride`-th pixel, pad the new channels with zeros."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride, self.extra_channels = stride, extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN, plus the shortcut, then ReLU."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()
        if stride != 1 or in_channels != channels:
            self.shortcut: nn.Module = PadShortcut(stride, channels - in_channels)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, blocks_per_stage: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, STAGES[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(STAGES[0])
        self.relu = nn.ReLU()
        channels = STAGES[0]
        stages = []
        for index, width in enumerate(STAGES):
            blocks = []
            for block in range(blocks_per_stage):
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(BasicBlock(channels, width, stride))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@register_model("resnet20", natural_input=(3, 32))
def resnet20(num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """ResNet-20 for CIFAR (He et al. 2016): 19 conv + 1 linear, option-A shortcuts, 0.27M."""
    return CifarResNet(num_classes, in_channels, BLOCKS_PER_STAGE)
