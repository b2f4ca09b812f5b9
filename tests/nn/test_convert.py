"""Conversion of float models (torchvision ResNet-18, MobileNetV2, small nets) to quantized ones."""

import itertools

import pytest
import torch
import torchvision
from torch import nn

from codesign.config import AnnealConfig, LayerQuant, TrialConfig
from codesign.errors import CodesignError
from codesign.nn import (
    QuantConv2d,
    QuantLayer,
    QuantLinear,
    convert,
    layer_quantizers,
    quantizable_layers,
)
from codesign.quant import AnnealingController

MIXED = [
    LayerQuant(w_bits=8, a_bits=8),
    LayerQuant(w_format="binary", w_bits=1, a_format="binary", a_bits=1, estimator="ste"),
    LayerQuant(w_format="ternary", w_bits=2, a_bits=4, estimator="aqe"),
    LayerQuant(w_format="pow2", w_bits=3, a_bits=4),
    LayerQuant(w_format="binary", w_bits=1, a_bits=2, estimator="mirror_descent"),
    None,  # stays float
    LayerQuant(w_bits=4, a_format="float", a_bits=32, estimator="ste"),
    LayerQuant(w_bits=2, a_bits=3, estimator="aqe"),
]


def mixed_config(model, anneal=None):
    names = quantizable_layers(model)
    layers = {
        name: quant
        for name, quant in zip(names, itertools.cycle(MIXED), strict=False)
        if quant is not None
    }
    return TrialConfig(model="m", dataset="d", layers=layers, anneal=anneal or AnnealConfig())


def stair(u, grid):
    """Q(u) = q_0 + sum_i (q_{i+1} - q_i) H(u - t_i), H(0) = 1, as a threshold search."""
    thresholds = torch.tensor(grid.thresholds, dtype=u.dtype)
    return torch.tensor(grid.levels, dtype=u.dtype)[torch.bucketize(u, thresholds, right=True)]


def hard(quantizer, x):
    if quantizer.grid is None:
        return x
    eps = quantizer.eps.view(-1, *[1] * (x.dim() - 1)) if quantizer.per_channel else quantizer.eps
    return stair(x / eps, quantizer.grid) * eps


def expected_output(layer, x):
    """The layer's computation written out: float op on hard-quantized input and weight."""
    xq, wq = hard(layer.input_quantizer, x), hard(layer.weight_quantizer, layer.weight)
    if isinstance(layer, QuantConv2d):
        return nn.functional.conv2d(
            xq, wq, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups
        )
    return nn.functional.linear(xq, wq, layer.bias)


def assert_eval_is_hard(model, x):
    """Every quantized layer's eval output equals its hand-written hard computation."""
    seen = []

    def check(layer, args, out):
        torch.testing.assert_close(out, expected_output(layer, args[0]), rtol=1e-4, atol=1e-5)
        seen.append(layer)

    hooks = [m.register_forward_hook(check) for m in model.modules() if isinstance(m, QuantLayer)]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),  # depthwise
        nn.ReLU(),
        nn.Conv2d(8, 12, 3, stride=2, groups=4),  # grouped
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(12 * 3 * 3, 5),
    )


def test_quantizable_layers_in_registration_order():
    names = quantizable_layers(torchvision.models.resnet18(num_classes=3))
    assert names[0] == "conv1" and names[-1] == "fc" and len(names) == 21
    assert names.index("layer2.0.conv2") < names.index("layer2.0.downsample.0")
    mobilenet = quantizable_layers(torchvision.models.mobilenet_v2(num_classes=3))
    assert mobilenet[:2] == ["features.0.0", "features.1.conv.0.0"] and len(mobilenet) == 53


def test_convert_keeps_names_copies_parameters_and_leaves_the_float_model_alone():
    model = small_net()
    cfg = TrialConfig("m", "d", layers={"0": LayerQuant.of(8, 8), "8": LayerQuant.of(4, 4)})
    quantized = convert(model, cfg)
    assert [n for n, _ in quantized.named_modules() if n.count(".") == 0] == [
        n for n, _ in model.named_modules() if n.count(".") == 0
    ]
    assert quantizable_layers(quantized) == quantizable_layers(model)
    assert type(quantized[0]) is QuantConv2d and type(quantized[8]) is QuantLinear
    assert type(quantized[3]) is nn.Conv2d and type(model[0]) is nn.Conv2d  # absent: float
    assert torch.equal(quantized[0].weight, model[0].weight)
    assert quantized[0].weight.data_ptr() != model[0].weight.data_ptr()
    floats = dict(model.state_dict())
    for key, value in quantized.state_dict().items():
        if "quantizer" not in key:
            assert torch.equal(value, floats.pop(key)), key
    assert not floats


def test_small_net_with_groups_and_depthwise_is_hard_in_eval():
    model = small_net()
    cfg = mixed_config(model)
    quantized = convert(model, cfg, per_channel=True)
    x = torch.randn(4, 3, 8, 8)
    quantized.train()(x)  # calibrate the activation quanta on a training batch
    seen = assert_eval_is_hard(quantized, x)
    assert {type(m) for m in seen} == {QuantConv2d, QuantLinear} and len(seen) == 4
    assert any(m.groups == m.in_channels for m in seen if isinstance(m, QuantConv2d))


def test_eval_output_equals_the_hand_written_hard_network():
    model = small_net()
    cfg = TrialConfig("m", "d", layers={
        "0": LayerQuant(w_format="pow2", w_bits=4, a_bits=8),
        "3": LayerQuant(w_format="ternary", w_bits=2, a_bits=4),
        "5": LayerQuant(w_bits=3, a_format="binary", a_bits=1, estimator="aqe"),
        "8": LayerQuant.of(8, 8, estimator="ste"),
    })
    quantized = convert(model, cfg)
    x = torch.randn(4, 3, 8, 8)
    quantized.train()(x)
    quantized.eval()
    expected = x
    for module in quantized:
        expected = expected_output(module, expected) if isinstance(module, QuantLayer) else (
            module(expected)
        )
    torch.testing.assert_close(quantized(x), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "builder, anneal",
    [
        (torchvision.models.resnet18, AnnealConfig()),
        (torchvision.models.mobilenet_v2, AnnealConfig(noise="logistic", strategy="random")),
    ],
)
def test_torchvision_models_train_and_evaluate_with_mixed_precision(builder, anneal):
    torch.manual_seed(0)
    model = builder(weights=None, num_classes=4)
    cfg = mixed_config(model, anneal)
    quantized = convert(model, cfg)
    formats = {(q.w_format, q.a_format, q.estimator) for q in cfg.layers.values()}
    assert len(formats) == len(MIXED) - 1
    layers = layer_quantizers(quantized)
    assert len(layers) == len(cfg.layers)
    AnnealingController(layers, cfg.anneal).step(0.1)

    x = torch.randn(2, 3, 64, 64)
    out = quantized.train()(x)
    assert out.shape == (2, 4)
    out.square().sum().backward()
    grads = {n: p.grad for n, p in quantized.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    for name in cfg.layers:
        assert grads[f"{name}.weight"].abs().sum() > 0, name
    assert len(assert_eval_is_hard(quantized, x[:1])) == len(cfg.layers)


def test_layer_quantizers_follow_layer_order_and_skip_float_layers():
    model = small_net()
    cfg = TrialConfig("m", "d", layers={
        "0": LayerQuant.of(8, 8),
        "3": LayerQuant.of(32, 32),  # converted, but nothing to anneal
        "5": LayerQuant(w_bits=4, a_format="float", a_bits=32),
        "8": LayerQuant.of(2, 2, estimator="aqe"),
    })
    quantized = convert(model, cfg)
    layers = layer_quantizers(quantized)
    assert layers == [
        [quantized[0].input_quantizer, quantized[0].weight_quantizer],
        [quantized[5].weight_quantizer],
        [quantized[8].input_quantizer, quantized[8].weight_quantizer],
    ]
    anneal = AnnealConfig(sync="partition", start=0.0, end=0.6)
    AnnealingController(layers, anneal).step(0.3)  # slots of 0.2: layer 1 half-way
    assert [q.g_s for layer in layers for q in layer] == pytest.approx([0, 0, 0.25, 1, 1])


def test_mirror_descent_layer_quantizes_its_inputs_with_the_ste():
    model = small_net()
    cfg = TrialConfig("m", "d", layers={"8": LayerQuant(
        w_format="binary", w_bits=1, a_bits=4, estimator="mirror_descent")})
    layer = convert(model, cfg)[8]
    assert type(layer.weight_quantizer).__name__ == "MirrorDescentQuantizer"
    assert type(layer.input_quantizer).__name__ == "STEQuantizer"


def test_state_dict_round_trip_gives_the_same_quantized_network():
    model = small_net()
    cfg = mixed_config(model)
    first = convert(model, cfg, per_channel=True)
    x = torch.randn(4, 3, 8, 8)
    first.train()(x)
    second = convert(small_net(), cfg, per_channel=True)
    second.load_state_dict(first.state_dict())
    first.eval(), second.eval()
    assert torch.equal(first(x), second(x))


@pytest.mark.parametrize(
    "layers, culprit",
    [
        ({"layer9.conv": LayerQuant()}, r"unknown layer 'layer9.conv'.*conv1, layer1.0.conv1"),
        ({"bn1": LayerQuant()}, "'bn1' is a BatchNorm2d, not a Conv1d, Conv2d or Linear"),
        ({"fc": LayerQuant(w_bits=4, estimator="mirror_descent")}, "layer 'fc': mirror descent"),
        ({"fc": LayerQuant(estimator="adahessian")}, "layer 'fc': unknown estimator 'adahessian'"),
    ],
)
def test_bad_layer_config_names_the_culprit(layers, culprit):
    model = torchvision.models.resnet18(num_classes=3)
    with pytest.raises(CodesignError, match=culprit):
        convert(model, TrialConfig("resnet18", "d", layers=layers))


def test_zero_bits_are_refused_naming_the_layer():
    with pytest.raises(CodesignError, match=r"layers.fc.*0 bits"):
        TrialConfig.from_dict({"model": "m", "dataset": "d", "layers": {"fc": {"w_bits": 0}}})


def test_converting_a_converted_model_is_refused():
    model = small_net()
    cfg = TrialConfig("m", "d", layers={"0": LayerQuant()})
    with pytest.raises(CodesignError, match="layer '0' is already quantized"):
        convert(convert(model, cfg), cfg)
