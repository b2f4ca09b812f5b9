"""Models by name: `create_model(name, num_classes, in_channels, image_size, **model_args)`.

Registered: `digits_cnn`, `vgg8` (ANA CIFAR-10 experiments), `resnet20` (CIFAR), and
torchvision's `resnet18`, `mobilenet_v2` and `alexnet` (untrained, adapted to the input).
"""

from codesign.models import _digits_cnn, _resnet_cifar, _torchvision, _vgg  # noqa: F401
from codesign.models._registry import MODELS, ModelSpec, create_model, register_model

__all__ = ["MODELS", "ModelSpec", "create_model", "register_model"]
