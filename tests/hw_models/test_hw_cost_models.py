"""Every registered cost model, and the behaviour each shipped accelerator promises."""

import math

import numpy as np
import pytest
import torchvision
from torch import nn

from codesign.config import LayerQuant
from codesign.errors import CodesignError
from hw_models import COST_MODELS, Accelerator, BitMatrix, extract_layers, get_cost_model

GENERIC_METRICS = {"macs", "bops", "weight_bits", "model_size_bytes", "peak_activation_bits",
                   "energy_pj"}
ACCELERATOR_METRICS = {"latency_cycles", "latency_s", "energy_pj"}
ALL = COST_MODELS.names()


def cnn_layers(depthwise=True):
    middle = nn.Conv2d(16, 16, 3, padding=1, groups=16 if depthwise else 1)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), middle, nn.ReLU(),
        nn.Conv2d(16, 32, 1), nn.ReLU(), nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
    )
    return extract_layers(net, (1, 3, 8, 8))


@pytest.fixture(scope="module")
def layers():
    return cnn_layers()


def score(model, layers, w_bits, a_bits):
    bits = BitMatrix.uniform(len(layers.layers), w_bits, a_bits)
    return {k: float(v[0]) for k, v in model.totals(layers.arrays, bits).items()}


def runnable(model, layers):
    """The layers a model runs: the CNN, with a dense middle conv where it refuses depthwise."""
    if isinstance(model, Accelerator) and model.kind_utilization.get("depthwise", 0) <= 0:
        return cnn_layers(depthwise=False)
    return layers


@pytest.mark.parametrize("name", ALL)
def test_metrics_are_named_finite_and_add_up(name, layers):
    model = get_cost_model(name)
    assert model.name == name and COST_MODELS.describe(name)
    layers = runnable(model, layers)
    got = score(model, layers, 8, 8)
    required = GENERIC_METRICS if name == "generic" else ACCELERATOR_METRICS
    assert required <= set(got) and set(model.metrics) <= set(got)
    assert all(k == k.lower() and " " not in k for k in got)
    assert all(math.isfinite(v) and v >= 0 for v in got.values())
    assert got["energy_pj"] > 0
    bits = BitMatrix.uniform(len(layers.layers), 8, 8)
    per_layer = model.layer_metrics(layers.arrays, bits)
    for metric in ("energy_compute_pj", "latency_cycles", "bops"):
        if metric in got:
            assert per_layer[metric].sum() == pytest.approx(got[metric])
    if "latency_s" in got:
        assert got["latency_s"] == pytest.approx(got["latency_cycles"] / model.clock_hz)


@pytest.mark.parametrize("name", ALL)
def test_fewer_bits_never_cost_more(name, layers):
    model = get_cost_model(name)
    layers = runnable(model, layers)
    costs = []
    for b in (16, 8, 4, 2):
        try:
            costs.append(score(model, layers, b, b))
        except CodesignError:
            assert not costs, f"{name} refuses {b} bits but runs wider ones"
    assert len(costs) >= 3
    for metric in ("energy_pj", "latency_cycles", "bops"):
        if metric in costs[0]:
            values = [c[metric] for c in costs]
            assert values == sorted(values, reverse=True), (metric, values)


@pytest.mark.parametrize("name", ALL)
def test_float_layers_are_costed_or_refused_by_name(name, layers):
    model = get_cost_model(name)
    layers = runnable(model, layers)
    bits = BitMatrix.from_layer_quants(
        [{spec.name: LayerQuant.of(8, 8) for spec in layers.layers[:-1]}], layers.names
    )
    try:
        got = model.totals(layers.arrays, bits)
    except CodesignError as err:
        assert f"'{layers.names[-1]}'" in str(err) and name in str(err)
        assert "\n" not in str(err)
    else:
        assert all(np.isfinite(v).all() for v in got.values())


@pytest.mark.parametrize("name", ALL)
def test_batch_scoring_equals_one_by_one(name, layers):
    model = get_cost_model(name)
    layers = runnable(model, layers)
    rng = np.random.default_rng(0)
    w = rng.choice([2, 4, 8], size=(6, len(layers.layers)))
    a = rng.choice([2, 4, 8], size=(6, len(layers.layers)))
    batch = model.totals(layers.arrays, BitMatrix.from_bits(w, a))
    for row in range(6):
        single = model.totals(layers.arrays, BitMatrix.from_bits(w[row:row + 1], a[row:row + 1]))
        for metric, values in single.items():
            assert batch[metric][row] == pytest.approx(values[0]), metric


def test_int8_npu_gives_mixed_precision_nothing(resnet18_layers):
    npu = get_cost_model("npu_int8")
    n = len(resnet18_layers.layers)
    eight = score(npu, resnet18_layers, 8, 8)
    assert score(npu, resnet18_layers, 4, 4) == eight
    assert score(npu, resnet18_layers, 2, 8) == eight
    assert score(npu, resnet18_layers, 1, 1) == eight
    bits = BitMatrix.from_bits([[8] * (n - 1) + [12]], [[8] * n])
    with pytest.raises(CodesignError, match="layer 'fc'.*12-bit"):
        npu.totals(resnet18_layers.arrays, bits)


def test_bit_serial_cycles_grow_with_the_bit_product(layers):
    engine = get_cost_model("bitserial")
    fc = extract_layers(nn.Linear(1024, 64), (1, 1024))  # 65,536 MACs: one per lane per step
    for w, a in [(1, 1), (2, 2), (8, 2), (3, 5), (8, 8), (16, 16)]:
        assert score(engine, fc, w, a)["compute_cycles"] == w * a
    bits = BitMatrix.uniform(len(layers.layers), 8, 8)
    depthwise = engine.layer_metrics(layers.arrays, bits)["compute_cycles"][0, 1]
    dw_macs = 16 * 64 * 9  # the depthwise layer runs on 1/16 of the lanes
    assert depthwise == math.ceil(dw_macs * 64 / 65536 * 16)


def test_bitfusion_pads_to_bricks_and_refuses_depthwise(layers):
    fusion = get_cost_model("bitfusion")
    dense = runnable(fusion, layers)
    assert score(fusion, dense, 3, 3) == score(fusion, dense, 4, 4)
    assert score(fusion, dense, 1, 1) == score(fusion, dense, 2, 2)
    assert score(fusion, dense, 4, 4)["compute_cycles"] < score(fusion, dense, 8, 8)[
        "compute_cycles"]
    with pytest.raises(CodesignError, match="depthwise layer '2'"):
        score(fusion, layers, 8, 8)


def test_mcu_simd_doubles_throughput_per_halving(layers):
    mcu = get_cost_model("riscv_mcu")
    peak = {b: mcu.run_mode(b, b).macs_per_cycle for b in (8, 4, 2)}
    assert peak == {8: 32, 4: 64, 2: 128}
    assert score(mcu, layers, 8, 2) == score(mcu, layers, 8, 8)  # lanes follow the wider
    assert score(mcu, layers, 4, 4)["energy_pj"] < score(mcu, layers, 8, 8)["energy_pj"]


def test_fpga_luts_grow_with_the_bit_product_and_binary_is_xnor(layers):
    fpga = get_cost_model("fpga_dataflow")
    luts = {b: score(fpga, layers, b, b)["luts"] for b in (1, 2, 4, 8)}
    lanes = sum(min(s.out_channels, 32) * min(s.fan_in, 32) for s in layers.layers)
    assert luts[1] == 2 * lanes  # XNOR + popcount share per lane
    assert luts[4] == (16 + 8) * lanes and luts[8] == (64 + 16) * lanes


def test_depthwise_layers_on_mobilenet_are_costed_or_refused():
    layers = extract_layers(torchvision.models.mobilenet_v2(), (1, 3, 96, 96))
    bits = BitMatrix.uniform(len(layers.layers), 8, 8)
    assert get_cost_model("riscv_mcu").totals(layers.arrays, bits)["latency_cycles"][0] > 0
    with pytest.raises(CodesignError, match="bitfusion.*depthwise layer 'features.1.conv.0.0'"):
        get_cost_model("bitfusion").totals(layers.arrays, bits)
