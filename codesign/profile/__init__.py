"""Measured costs of the machine this runs on: per-layer onnxruntime timings written as a
cost model (`codesign hw profile`), and model predictions checked against whole-network
measurements (`codesign hw validate`)."""

from codesign.profile._device import profile_device
from codesign.profile._validate import validate_models

__all__ = ["profile_device", "validate_models"]
