"""Both exports of torchvision ResNet-18 and MobileNetV2 (64x64, mixed 8/6/4 bits, random
weights, calibrated quantizers) against the PyTorch hard-quantized network on 64 inputs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from codesign.config import TrialConfig
from codesign.deploy import export_network, run_exported, torch_logits
from codesign.models import create_model
from codesign.nn import quantizable_layers
from codesign.testing import calibrated, mixed_bits


@pytest.fixture(scope="module", params=["resnet18", "mobilenet_v2"])
def network(request):
    name = request.param
    names = quantizable_layers(create_model(name, 10, 3, 64))
    cfg = TrialConfig(model=name, dataset="digits", layers=mixed_bits(names))
    torch.manual_seed(1)
    model = calibrated(cfg, [torch.randn(4, 3, 64, 64)])
    inputs = torch.randn(64, 3, 64, 64).numpy()
    return model, inputs, torch_logits(model, inputs)


@pytest.mark.parametrize("fmt", ["onnx", "qonnx"])
def test_export_agrees_with_pytorch_on_random_inputs(network, fmt, tmp_path):
    model, inputs, ours = network
    path, rows = export_network(model, torch.from_numpy(inputs[:2]), fmt, tmp_path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert len(rows) == len([m for m in model.modules() if hasattr(m, "weight_quantizer")])
    theirs = run_exported(path, fmt, inputs, optimize=False)
    diff = np.abs(theirs - ours).max(1)
    spread = float(ours.max() - ours.min())
    # Same integer weights, scales and grids: only float32 summation order differs (~1e-6
    # relative), so an input whose activations all stay off the rounding thresholds gives
    # the same logits to rounding; at least half the inputs must. An activation within
    # rounding of a threshold lands one level away, and a random, untrained deep network
    # amplifies that (a trained one damps it): those inputs stay within 15% of the spread,
    # and at least 90% of the predictions agree.
    assert np.mean(diff <= 1e-5 * spread) >= 0.5
    assert diff.max() <= 0.15 * spread
    assert np.mean(theirs.argmax(1) == ours.argmax(1)) >= 0.9
