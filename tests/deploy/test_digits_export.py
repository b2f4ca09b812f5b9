"""Both exports of a mixed-precision digits CNN against the PyTorch hard-quantized network,
on every test input, in onnxruntime and in qonnx's executor."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from codesign.config import LayerQuant, TrialConfig
from codesign.data import load_dataset
from codesign.deploy import export_network, run_exported, torch_logits
from codesign.errors import CodesignError
from codesign.testing import calibrated, trained

L = LayerQuant
# Between them: 8-, 4- and 2-bit integer layers, ternary, binary and power-of-two weights,
# binary and 1- to 8-bit integer activations, per-tensor and per-channel weight scales.
CONFIGS = {
    "int8-int4-int2-binary": {"conv1": L(8, 8), "conv2": L(4, 4), "conv3": L(2, 2),
                              "fc": L(1, 8, w_format="binary")},
    "int8-ternary-pow2-binary": {"conv1": L(8, 8), "conv2": L(2, 4, w_format="ternary"),
                                 "conv3": L(4, 2, w_format="pow2"),
                                 "fc": L(1, 1, w_format="binary", a_format="binary")},
}


@pytest.fixture(scope="module")
def digits():
    splits = load_dataset("digits")
    stack = lambda ds: torch.stack([ds[i][0] for i in range(len(ds))])  # noqa: E731
    labels = torch.tensor([int(splits.train[i][1]) for i in range(len(splits.train))])
    return stack(splits.train), stack(splits.test), labels


@pytest.fixture(scope="module", params=[(name, pc) for name in CONFIGS for pc in (False, True)],
                ids=lambda p: f"{p[0]}-{'per-channel' if p[1] else 'per-tensor'}")
def network(request, digits):
    name, per_channel = request.param
    cfg = TrialConfig(model="digits_cnn", dataset="digits", layers=CONFIGS[name])
    train, _, labels = digits
    return cfg, trained(cfg, train, labels, per_channel=per_channel)


@pytest.mark.parametrize("fmt", ["onnx", "qonnx"])
def test_export_agrees_with_pytorch_on_every_test_input(network, digits, fmt, tmp_path):
    cfg, model = network
    test = digits[1].numpy()
    path, rows = export_network(model, digits[1][:2], fmt, tmp_path,
                                {"config": cfg.to_dict()})
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert {p.key for p in proto.metadata_props} == {"codesign.config"}
    assert [r.layer for r in rows] == list(cfg.layers)
    ours = torch_logits(model, test)
    # Predictions: all 359 equal. Logits: the file holds the same integer weights, scales and
    # grids, so only float32 summation order differs (and batch norm folded into the scales
    # for onnx): ~1e-6 relative. An activation that close to a rounding threshold may land
    # one level away; with 1-bit activations one level is the whole step, so the logits of
    # such an input move by up to a few percent of their spread: 5% bounds it, and 90% of the
    # inputs must match to rounding (no activation moved at all).
    spread = float(ours.max() - ours.min())
    runs = [run_exported(path, fmt, test)]
    if fmt == "onnx":
        runs.append(run_exported(path, fmt, test, optimize=False))
    for theirs in runs:
        assert np.array_equal(theirs.argmax(1), ours.argmax(1))
        diff = np.abs(theirs - ours).max(1)
        assert diff.max() <= 0.05 * spread
        assert np.mean(diff <= 1e-5 * spread) >= 0.9


def test_report_names_each_layers_format(network, digits, tmp_path):
    cfg, model = network
    _, rows = export_network(model, digits[1][:2], "onnx", tmp_path)
    by_layer = {r.layer: r for r in rows}
    assert by_layer["conv1"].weights.startswith("int8")
    assert by_layer["conv1"].batchnorm == "folded into scale and bias"
    assert by_layer["fc"].batchnorm == "-"
    _, rows = export_network(model, digits[1][:2], "qonnx", tmp_path)
    assert {r.layer: r.batchnorm for r in rows}["conv1"] == "kept"
    if cfg.layers["fc"].a_format == "binary":
        assert "Quant uint1" in rows[-1].activations or rows[-1].activations == "BipolarQuant"


def test_pow2_weights_beyond_16_bit_codes_are_refused_in_qonnx(digits, tmp_path):
    cfg = TrialConfig(model="digits_cnn", dataset="digits",
                      layers={"conv2": L(6, 8, w_format="pow2")})
    model = calibrated(cfg, [digits[0][:128]])
    with pytest.raises(CodesignError, match="conv2.*32-bit integer codes"):
        export_network(model, digits[1][:2], "qonnx", tmp_path)
    path, rows = export_network(model, digits[1][:2], "onnx", tmp_path)  # exact float values
    assert {r.layer: r.weights for r in rows}["conv2"] == "float32 (exact pow26 values)"
    theirs = run_exported(path, "onnx", digits[1].numpy())
    assert np.array_equal(theirs.argmax(1), torch_logits(model, digits[1].numpy()).argmax(1))


def test_uncalibrated_network_is_refused(tmp_path):
    cfg = TrialConfig(model="digits_cnn", dataset="digits", layers={"conv1": L(8, 8)})
    from codesign.models import create_model
    from codesign.nn import convert

    model = convert(create_model("digits_cnn", 10, 1, 8), cfg).eval()
    with pytest.raises(CodesignError, match="conv1.*never calibrated"):
        export_network(model, torch.zeros(2, 1, 8, 8), "onnx", tmp_path)
