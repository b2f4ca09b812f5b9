"""The generic model against hand counts: BOPs, memory, op classes, 45 nm energy."""

import numpy as np
import pytest
from torch import nn

from codesign.config import LayerQuant
from hw_models import BitMatrix, extract_layers, get_cost_model
from hw_models._energy import energy_table


def tiny_layers():
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
        nn.Linear(64, 3),
    )
    return extract_layers(net, (1, 2, 4, 4))


def totals(layers, bits, model="generic"):
    return {k: float(v[0]) for k, v in get_cost_model(model).totals(layers.arrays, bits).items()}


def test_hand_counted_generic_metrics():
    layers = tiny_layers()  # conv: 1152 MACs, 72 weights; linear: 192 MACs, 192 weights
    bits = BitMatrix.from_layer_quants(
        [{"0": LayerQuant.of(4, 8), "4": LayerQuant.of(2, 4)}], layers.names
    )
    got = totals(layers, bits)
    assert got["macs"] == 1152 + 192
    assert got["bops"] == 1152 * 4 * 8 + 192 * 2 * 4
    assert got["weight_bits"] == 72 * 4 + 192 * 2
    # float: conv bias 4, batch-norm 8, linear bias 3, at 32 bits
    assert got["model_size_bytes"] == (72 * 4 + 192 * 2 + 15 * 32) / 8
    # conv: input 32 x 8 bits + output 64 x 4 bits (read by the linear layer) = 512
    assert got["peak_activation_bits"] == 512
    assert got["int_macs"] == 1344 and got["int_mult_w4_a8"] == 1152
    assert got["int_mult_w2_a4"] == 192 and got["float_macs"] == 0
    # conv MAC: 0.2 * 32/64 multiply + add at 4+8+ceil(log2 18) = 17 bits (0.03 + 9 * 0.07/24)
    conv = 1152 * (0.1 + 0.03 + 9 * 0.07 / 24)
    linear = 192 * (0.2 * 8 / 64 + 0.03 + 4 * 0.07 / 24)  # accumulator 2 + 4 + 6 = 12 bits
    assert got["energy_compute_pj"] == pytest.approx(conv + linear)
    dram = (72 * 4 + 192 * 2 + 15 * 32) * 640 / 32
    sram = (32 * 8 + 64 * 4 + 64 * 4 + 3 * 32) * 5 / 32
    assert got["energy_memory_pj"] == pytest.approx(dram + sram)
    assert got["energy_pj"] == pytest.approx(conv + linear + dram + sram)


def test_bops_convention_on_resnet18(resnet18_layers):
    macs = sum(layer.macs for layer in resnet18_layers.layers)
    n = len(resnet18_layers.layers)
    for bits, factor in ((8, 64), (4, 16), (1, 1), (32, 1024)):
        got = totals(resnet18_layers, BitMatrix.uniform(n, bits, bits))
        assert got["bops"] == factor * macs
        assert got["macs"] == macs


def test_layers_absent_from_config_stay_float():
    layers = tiny_layers()
    bits = BitMatrix.from_layer_quants([{"0": LayerQuant.of(8, 8)}], layers.names)
    got = totals(layers, bits)
    assert got["float_macs"] == 192 and got["int_mult_w8_a8"] == 1152
    assert got["bops"] == 1152 * 64 + 192 * 32 * 32
    assert got["model_size_bytes"] == (72 * 8 + (192 + 15) * 32) / 8
    fp32_mac = energy_table().fp32_mult_pj + energy_table().fp32_add_pj
    assert fp32_mac == pytest.approx(4.6)


def test_energy_falls_with_bits_and_binary_is_cheapest(resnet18_layers):
    n = len(resnet18_layers.layers)
    energy = [
        totals(resnet18_layers, BitMatrix.uniform(n, b, b))["energy_compute_pj"]
        for b in (32, 8, 4, 2, 1)
    ]
    assert energy == sorted(energy, reverse=True) and len(set(energy)) == 5
    macs = sum(layer.macs for layer in resnet18_layers.layers)
    assert energy[0] == pytest.approx(4.6 * macs)


def test_energy_constants_name_their_source():
    table = energy_table()
    assert "Horowitz" in table.source and "ISSCC 2014" in table.source
    assert table.int_mult(np.array(8), np.array(8)) == pytest.approx(0.2)
    assert table.int_mult(np.array(32), np.array(32)) == pytest.approx(3.2)  # measured 3.1
    assert table.int_add(np.array(32)) == pytest.approx(0.1)
    assert table.dram_pj_per_bit == 20.0
