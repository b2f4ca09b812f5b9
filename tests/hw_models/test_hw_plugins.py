"""Plug-ins: YAML accelerators (by name on a search path, by path) and entry-point classes."""

import sys
import textwrap

import pytest
from torch import nn

from codesign.errors import CodesignError
from hw_models import (
    COST_MODELS,
    HW_PATH_ENV,
    BitMatrix,
    TableAccelerator,
    extract_layers,
    get_cost_model,
    list_cost_models,
    load_plugins,
    load_yaml_model,
)

pytestmark = pytest.mark.usefixtures("clean_registry")

GOOD = """\
name: {name}
description: Test ASIC with 8x8 and 4x4 modes
clock_hz: 2.0e+8
padding: {padding}
precisions:
  - {{w_bits: 8, a_bits: 8, macs_per_cycle: 64, energy_per_mac_pj: 0.5}}
  - {{w_bits: 4, a_bits: 4, macs_per_cycle: 256, energy_per_mac_pj: 0.125}}
memory:
  - {{name: dram, holds: weights, pj_per_bit: 10.0, bits_per_cycle: 32}}
layer_kinds: [conv, linear]
"""


def write(folder, name="test_asic", padding="up", text=None):
    path = folder / f"{name}.yaml"
    path.write_text(text if text is not None else GOOD.format(name=name, padding=padding))
    return path


@pytest.fixture(scope="module")
def fc():
    return extract_layers(nn.Linear(64, 16), (1, 64))  # 1024 MACs, 1024 weights


def cost(model, layers, w, a):
    bits = BitMatrix.uniform(len(layers.layers), w, a)
    return {k: float(v[0]) for k, v in model.totals(layers.arrays, bits).items()}


def test_yaml_accelerator_loads_from_a_folder_and_scores(tmp_path, fc):
    write(tmp_path)
    assert "test_asic" not in COST_MODELS
    model = get_cost_model("test_asic", hw_dirs=[tmp_path])
    assert isinstance(model, TableAccelerator) and "test_asic" in COST_MODELS
    assert COST_MODELS.describe("test_asic") == "Test ASIC with 8x8 and 4x4 modes"
    eight = cost(model, fc, 8, 8)
    assert eight["compute_cycles"] == 1024 / 64
    assert eight["energy_compute_pj"] == 1024 * 0.5
    assert eight["memory_cycles"] == 1024 * 8 / 32
    assert eight["latency_cycles"] == 256 and eight["latency_s"] == 256 / 2e8
    assert eight["energy_memory_pj"] == 1024 * 8 * 10.0
    four = cost(model, fc, 4, 4)
    assert four["energy_compute_pj"] == 1024 * 0.125 and four["memory_cycles"] == 128
    assert cost(model, fc, 3, 2) == four  # padded up to the 4x4 mode
    assert cost(model, fc, 4, 6) == eight  # 6-bit activations need the 8x8 mode
    with pytest.raises(CodesignError, match=r"'test_asic' .*w4a4, w8a8"):
        cost(model, fc, 12, 8)


def test_padding_none_refuses_unlisted_precisions(tmp_path, fc):
    model = load_yaml_model(write(tmp_path, "exact_asic", padding="none"))
    model.name = "exact_asic"
    assert cost(model, fc, 4, 4)["compute_cycles"] == 4
    with pytest.raises(CodesignError, match="cannot run linear layer '' .*3-bit"):
        cost(model, fc, 3, 3)


def test_yaml_by_path_and_by_environment(tmp_path, monkeypatch, fc):
    path = write(tmp_path, "path_asic")
    assert get_cost_model(str(path)).name == "path_asic"
    assert get_cost_model("path_asic") is get_cost_model(str(path))
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    write(env_dir, "env_asic")
    monkeypatch.setenv(HW_PATH_ENV, str(env_dir))
    names = [name for name, _, _ in list_cost_models()]
    assert "env_asic" in names and "generic" in names
    assert dict((n, s) for n, _, s in list_cost_models())["env_asic"].endswith("env_asic.yaml")


def test_unknown_name_lists_choices(tmp_path):
    with pytest.raises(CodesignError, match="unknown cost model 'nope'.*generic"):
        get_cost_model("nope", hw_dirs=[tmp_path])


def test_shipped_names_are_reserved(tmp_path):
    write(tmp_path, "npu_int8_copy", text=GOOD.format(name="npu_int8", padding="up"))
    with pytest.raises(CodesignError, match="'npu_int8' .*already taken"):
        load_plugins([tmp_path])


BAD_FIELDS = [
    ("clock_hz: 2.0e+8\n", "", "field 'clock_hz' is missing"),
    ("clock_hz: 2.0e+8", "clock_hz: fast", "field 'clock_hz' must be a number, got 'fast'"),
    ("clock_hz: 2.0e+8", "clok_hz: 2.0e+8", "top level: unknown field(s) ['clok_hz']"),
    ("padding: up", "padding: sideways", "field 'padding' must be one of up, none"),
    ("macs_per_cycle: 256", "macs_per_cycle: many", "field 'precisions[1].macs_per_cycle'"),
    ("w_bits: 8,", "w_bits: 9.5,", "field 'precisions[0].w_bits' must be an integer"),
    ("energy_per_mac_pj: 0.5", "energy_per_mac_pj: -1",
     "field 'precisions[0].energy_per_mac_pj' must be >= 0"),
    ("holds: weights", "holds: everything", "field 'memory[0].holds' must be one of"),
    ("bits_per_cycle: 32}", "bits_per_cycle: 32, latency: 3}", "field 'memory[0]': unknown"),
    ("layer_kinds: [conv, linear]", "layer_kinds: [conv, lstm]", "field 'layer_kinds': unknown"),
    ("name: bad_asic", "name: Bad Name", "field 'name' must be lowercase"),
]


@pytest.mark.parametrize("old, new, message", BAD_FIELDS)
def test_bad_yaml_names_the_field_and_the_file(tmp_path, old, new, message):
    text = GOOD.format(name="bad_asic", padding="up")
    assert old in text
    path = write(tmp_path, "bad_asic", text=text.replace(old, new, 1))
    with pytest.raises(CodesignError) as err:
        get_cost_model(str(path))
    assert message in str(err.value) and str(path) in str(err.value)
    assert "bad_asic" not in COST_MODELS


def test_yaml_is_data_only(tmp_path):
    marker = tmp_path / "executed"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    path = write(tmp_path, "evil", text=text)
    with pytest.raises(CodesignError, match="not valid YAML"):
        load_yaml_model(path)
    assert not marker.exists()
    with pytest.raises(CodesignError, match="top level must be a mapping"):
        load_yaml_model(write(tmp_path, "list", text="- 1\n- 2\n"))


def test_entry_point_class_is_loaded(tmp_path, monkeypatch, fc):
    package = tmp_path / "acme_hw"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent('''
        import numpy as np
        from hw_models import CostModel

        class CountingModel(CostModel):
            """Counts MACs twice (test plug-in)."""

            metrics = ("latency_cycles", "latency_s", "energy_pj")

            def layer_metrics(self, layers, bits):
                cycles = np.broadcast_to(2 * layers.macs, bits.w_bits.shape)
                return {"latency_cycles": cycles, "latency_s": cycles / 1e9,
                        "energy_pj": cycles * bits.w_bits}
    '''))
    dist = tmp_path / "acme_hw-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-hw\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[codesign.hw_models]\nacme_counter = acme_hw:CountingModel\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "acme_counter" not in COST_MODELS
    model = get_cost_model("acme_counter")
    assert type(model).__name__ == "CountingModel" and model.name == "acme_counter"
    assert COST_MODELS.describe("acme_counter") == "Counts MACs twice (test plug-in)."
    got = cost(model, fc, 4, 8)
    assert got == {"latency_cycles": 2048, "latency_s": 2048 / 1e9, "energy_pj": 2048 * 4}
    sources = dict((n, s) for n, _, s in list_cost_models())
    assert "acme_hw:CountingModel" in sources["acme_counter"] and "acme-hw" in sources[
        "acme_counter"]
    monkeypatch.delitem(sys.modules, "acme_hw")


def test_restoring_a_snapshot_forgets_every_discovery_made_since(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    snapshot = COST_MODELS.snapshot()
    write(first)
    model = get_cost_model("test_asic", hw_dirs=[first])
    assert COST_MODELS.plugins.sources["test_asic"].startswith(str(first.resolve()))
    with pytest.raises(CodesignError, match="already taken"):
        get_cost_model(str(write(second)))
    COST_MODELS.restore(snapshot)
    assert "test_asic" not in COST_MODELS and "test_asic" not in COST_MODELS.plugins.instances
    assert first.resolve() not in COST_MODELS.plugins.scanned_dirs
    again = get_cost_model(str(second / "test_asic.yaml"))  # the name is free again
    assert again is not model and COST_MODELS.plugins.sources["test_asic"].startswith(
        str(second.resolve()))
