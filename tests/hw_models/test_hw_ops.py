"""Op labels follow the grid each quantizer really trains on, read off trained quantizers."""

import functools
import itertools

import pytest
import torch
from torch import nn

from codesign.config import LayerQuant, TrialConfig
from codesign.nn import convert
from hw_models import OP_CLASSES, BitMatrix, extract_layers, get_cost_model

WEIGHTS = [(1, "binary"), (1, "int"), (2, "ternary"), (2, "pow2"), (3, "pow2"), (4, "int"),
           (32, "float")]
ACTIVATIONS = [(1, "binary"), (1, "int"), (4, "int"), (32, "float")]


def net(relu: bool) -> nn.Module:
    """A linear layer fed signed data, or non-negative data through a ReLU."""
    return nn.Sequential(nn.ReLU() if relu else nn.Identity(), nn.Linear(8, 2))


@functools.cache
def layers_of(relu: bool):
    return extract_layers(net(relu), (1, 8))


def trained_levels(relu: bool, quant: LayerQuant) -> tuple:
    """The grid levels of the weight and input quantizers after a calibrating forward."""
    cfg = TrialConfig(model="net", dataset="data", layers={"1": quant})
    quantized = convert(net(relu), cfg).eval()  # the first forward calibrates, in eval too
    quantized(torch.randn(64, 8, generator=torch.Generator().manual_seed(0)))
    layer = quantized[1]
    return tuple(
        None if q.grid is None else tuple(q.grid.levels)
        for q in (layer.weight_quantizer, layer.input_quantizer)
    )


@functools.cache
def weight_levels(w_bits: int, w_format: str) -> tuple | None:
    return trained_levels(False, LayerQuant(w_bits, 32, w_format, "float"))[0]


@functools.cache
def activation_levels(a_bits: int, a_format: str, relu: bool) -> tuple | None:
    return trained_levels(relu, LayerQuant(32, a_bits, "float", a_format))[1]


def op_of_levels(w: tuple | None, a: tuple | None) -> str:
    """The operation a hardware designer picks for two operand sets (QKeras QTools' table)."""
    if w is None or a is None:
        return "float_macs"
    if a == (0.0, 1.0):
        return "and_ops"
    if w == (-1.0, 1.0) and a == (-1.0, 1.0):
        return "xnor_popcount_ops"
    if (-1.0, 1.0) in (w, a) or w == (-1.0, 0.0, 1.0):
        return "mux_ops"
    if any(level != int(level) for level in w):
        return "shift_ops"  # powers of two below 1
    return "int_macs"


@pytest.mark.parametrize(
    "weight, activation, relu", list(itertools.product(WEIGHTS, ACTIVATIONS, (False, True)))
)
def test_op_label_follows_the_trained_grid(weight, activation, relu):
    (w_bits, w_format), (a_bits, a_format) = weight, activation
    quant = LayerQuant(w_bits, a_bits, w_format, a_format)
    layers = layers_of(relu)
    bits = BitMatrix.from_layer_quants([{"1": quant}], layers.names)
    got = get_cost_model("generic").totals(layers.arrays, bits)
    labels = [op for op in OP_CLASSES if got[op][0] > 0]
    assert labels == [op_of_levels(weight_levels(*weight), activation_levels(*activation, relu))]
    assert got[labels[0]][0] == 16


def test_one_bit_int_weights_are_plus_minus_one_and_relu_inputs_zero_one():
    layers = layers_of(relu=True)
    quants = [LayerQuant(1, 1, "int", "int"), LayerQuant(1, 1, "binary", "binary")]
    bits = BitMatrix.from_layer_quants([{"1": q} for q in quants], layers.names)
    got = get_cost_model("generic").totals(layers.arrays, bits)
    assert list(got["and_ops"]) == [16, 16] and list(got["xnor_popcount_ops"]) == [0, 0]
    signed = layers_of(relu=False)
    got = get_cost_model("generic").totals(signed.arrays, bits)
    assert list(got["xnor_popcount_ops"]) == [16, 16]
