"""torchvision's ResNet-18, MobileNetV2 and AlexNet, untrained, adapted to the data.

Built with `weights=None` (nothing is downloaded) for `num_classes` outputs; a first conv for
`in_channels` other than 3. For images smaller than 64 pixels (`small_input`, default
`image_size < 64`) the ImageNet stems would shrink the maps to nothing, so they are replaced
the usual way for CIFAR-sized inputs:
- ResNet-18: a 3x3 stride-1 first conv and no max-pool (overall stride 8 instead of 32);
- MobileNetV2: stride 1 in the first conv and in the first 24-channel block (stride 8);
- AlexNet: a 3x3 stride-1 first conv and 2x2 max-pools (ceil mode), so 8x8 inputs still work.
Every ReLU is made out-of-place, so a quantizer reading a tensor never sees it overwritten.
"""

from __future__ import annotations

from typing import cast

from torch import nn

from codesign.models._registry import register_model

SMALL_INPUT_BELOW = 64
MOBILENET_SMALL_SETTING = [
    # expansion t, channels c, repeats n, first stride s (torchvision's table, second row s=1)
    [1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 4, 2],
    [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
]


def _small(image_size: int, small_input: bool | None) -> bool:
    return image_size < SMALL_INPUT_BELOW if small_input is None else bool(small_input)


def _conv_like(conv: nn.Conv2d, in_channels: int, kernel_size: int | None = None,
               stride: int | None = None, padding: int | None = None) -> nn.Conv2d:
    """A freshly initialised copy of `conv` with some hyper-parameters changed."""
    new = nn.Conv2d(
        in_channels, conv.out_channels,
        kernel_size=kernel_size or cast(tuple[int, int], conv.kernel_size),
        stride=stride or cast(tuple[int, int], conv.stride),
        padding=cast(tuple[int, int], conv.padding) if padding is None else padding,
        bias=conv.bias is not None,
    )
    nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
    if new.bias is not None:
        nn.init.zeros_(new.bias)
    return new


def _out_of_place(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.ReLU | nn.ReLU6):
            module.inplace = False
    return model


@register_model("resnet18", natural_input=(3, 224))
def resnet18(num_classes: int, in_channels: int, image_size: int, *,
             small_input: bool | None = None) -> nn.Module:
    """torchvision ResNet-18 (untrained); small inputs get a 3x3 stride-1 stem, no max-pool."""
    from torchvision.models import resnet18 as tv_resnet18

    model = tv_resnet18(weights=None, num_classes=num_classes)
    if _small(image_size, small_input):
        model.conv1 = _conv_like(model.conv1, in_channels, kernel_size=3, stride=1, padding=1)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = _conv_like(model.conv1, in_channels)
    return _out_of_place(model)


@register_model("mobilenet_v2", natural_input=(3, 224))
def mobilenet_v2(num_classes: int, in_channels: int, image_size: int, *,
                 small_input: bool | None = None) -> nn.Module:
    """torchvision MobileNetV2 (untrained); small inputs keep overall stride 8 instead of 32."""
    from torchvision.models import mobilenet_v2 as tv_mobilenet_v2

    small = _small(image_size, small_input)
    setting = MOBILENET_SMALL_SETTING if small else None
    model = tv_mobilenet_v2(weights=None, num_classes=num_classes,
                            inverted_residual_setting=setting)
    first = model.features[0][0]
    if small or in_channels != 3:
        model.features[0][0] = _conv_like(first, in_channels, stride=1 if small else None)
    return _out_of_place(model)


@register_model("alexnet", natural_input=(3, 224))
def alexnet(num_classes: int, in_channels: int, image_size: int, *,
            small_input: bool | None = None) -> nn.Module:
    """torchvision AlexNet (untrained); small inputs get a 3x3 stride-1 stem and 2x2 pools."""
    from torchvision.models import alexnet as tv_alexnet

    model = tv_alexnet(weights=None, num_classes=num_classes)
    if _small(image_size, small_input):
        model.features[0] = _conv_like(model.features[0], in_channels,
                                       kernel_size=3, stride=1, padding=1)
        for index, module in enumerate(model.features):
            if isinstance(module, nn.MaxPool2d):
                model.features[index] = nn.MaxPool2d(2, ceil_mode=True)
    elif in_channels != 3:
        model.features[0] = _conv_like(model.features[0], in_channels)
    return _out_of_place(model)
