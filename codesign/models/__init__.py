"""Models by name: `create_model(name, num_classes, in_channels, image_size, **model_args)`.

Registered: `digits_cnn`, `vgg8` (ANA CIFAR-10 experiments), `resnet20` (CIFAR), and
torchvision's `resnet18`, `mobilenet_v2` and `alexnet` (untrained, adapted to the input).
`build_network(name, num_classes, input_shape, **model_args)` also builds a user's own model
(an entry point of `codesign.models`, `path/to/file.py:function`, `package.module:function`).
"""

from codesign.models import _digits_cnn, _resnet_cifar, _torchvision, _vgg  # noqa: F401
from codesign.models._registry import (
    MODELS,
    ModelSpec,
    build_network,
    create_model,
    register_model,
)

__all__ = ["MODELS", "ModelSpec", "build_network", "create_model", "register_model"]
