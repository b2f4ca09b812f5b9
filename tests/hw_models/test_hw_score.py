"""The glue the search uses: TrialConfig and its model's layers in, {cost model: {metric:
value}} out; the layers built once per architecture by `codesign.network`."""

import numpy as np
import pytest

from codesign.config import LayerQuant, TrialConfig
from codesign.errors import CodesignError
from codesign.network import config_costs as score_config
from codesign.network import configs_costs as score_configs
from codesign.network import cost_table as layer_cost_table
from codesign.network import model_layers
from codesign.network import network_layers as config_layers
from hw_models import BitMatrix

# digits_cnn at 8x8 (hand count): conv1 1x16x3x3 on 8x8, conv2 16->32 on 8x8, pool to 4x4,
# conv3 32->64 on 4x4, fc 256 -> 10.
DIGITS_MACS = {"conv1": 64 * 16 * 9, "conv2": 64 * 32 * 144, "conv3": 16 * 64 * 288,
               "fc": 256 * 10}


def digits(**layers):
    return TrialConfig(model="digits_cnn", dataset="digits", layers=layers)


def test_score_config_counts_per_layer_bits():
    cfg = digits(conv1=LayerQuant.of(8, 8), conv2=LayerQuant.of(4, 4),
                 conv3=LayerQuant.of(2, 2), fc=LayerQuant.of(8, 8))
    got = score_config(cfg, ["generic", "npu_int8"])
    assert set(got) == {"generic", "npu_int8"}
    generic = got["generic"]
    assert generic["macs"] == sum(DIGITS_MACS.values())
    m = DIGITS_MACS
    assert generic["bops"] == m["conv1"] * 64 + m["conv2"] * 16 + m["conv3"] * 4 + m["fc"] * 64
    assert generic["int_mult_w2_a2"] == m["conv3"]
    assert all(isinstance(v, float) for v in generic.values())
    assert got["npu_int8"] == score_config(digits(**dict.fromkeys(DIGITS_MACS,
                                                                 LayerQuant.of(8, 8))),
                                           "npu_int8")["npu_int8"]


def test_extraction_is_cached_per_architecture_and_shape():
    cfg = digits(fc=LayerQuant.of(4, 4))
    assert config_layers(cfg) is config_layers(digits())
    assert config_layers(cfg, (2, 1, 8, 8)) is not config_layers(cfg)
    assert config_layers(cfg, (2, 1, 8, 8)).layers[0].macs == 2 * DIGITS_MACS["conv1"]
    wide = TrialConfig(model="digits_cnn", dataset="digits", model_args={"width": 8})
    assert config_layers(wide).layers[0].macs == DIGITS_MACS["conv1"] // 2


def test_layers_absent_stay_float_and_unknown_layers_are_named():
    got = score_config(digits(conv1=LayerQuant.of(8, 8)), "generic")["generic"]
    assert got["float_macs"] == sum(DIGITS_MACS.values()) - DIGITS_MACS["conv1"]
    with pytest.raises(CodesignError, match="layer 'conv9'.*conv1, conv2, conv3, fc"):
        score_config(digits(conv9=LayerQuant.of(8, 8)), "generic")
    with pytest.raises(CodesignError, match="takes square images"):
        score_config(digits(), "generic", batch_shape=(1, 1, 8, 6))


def test_many_configs_in_one_pass_equal_one_by_one():
    rng = np.random.default_rng(1)
    cfgs = [
        digits(**{name: LayerQuant.of(int(rng.choice([2, 4, 8])), int(rng.choice([2, 4, 8])))
                  for name in DIGITS_MACS})
        for _ in range(5)
    ]
    batch = score_configs(cfgs, ["generic", "bitserial", "fpga_dataflow"])
    for i, cfg in enumerate(cfgs):
        single = score_config(cfg, ["generic", "bitserial", "fpga_dataflow"])
        for model, metrics in single.items():
            for metric, value in metrics.items():
                assert batch[model][metric][i] == pytest.approx(value), (model, metric)
    other = TrialConfig(model="resnet20", dataset="cifar10")
    with pytest.raises(CodesignError, match="one architecture"):
        score_configs([cfgs[0], other], "generic")


def test_layer_table_rows_add_up_to_totals():
    cfg = digits(**dict.fromkeys(DIGITS_MACS, LayerQuant.of(4, 8)))
    rows = layer_cost_table(cfg, "generic,riscv_mcu")
    assert [r["layer"] for r in rows] == list(DIGITS_MACS)
    assert [r["macs"] for r in rows] == list(DIGITS_MACS.values())
    assert rows[0]["w_bits"] == 4 and rows[0]["a_format"] == "int"
    totals = score_config(cfg, ["generic", "riscv_mcu"])
    for key in ("generic.bops", "riscv_mcu.latency_cycles", "riscv_mcu.energy_pj"):
        model, metric = key.split(".")
        assert sum(r[key] for r in rows) == pytest.approx(totals[model][metric])


def test_registry_resnet18_matches_torchvision(resnet18_layers):
    layers = model_layers("resnet18", 1000, (3, 224, 224))
    assert [s.macs for s in layers.layers] == [s.macs for s in resnet18_layers.layers]
    assert layers.names == resnet18_layers.names
    bits = BitMatrix.uniform(len(layers.layers), 8, 8)
    assert bits.w_bits.shape == (1, 21)
