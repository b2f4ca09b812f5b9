"""ZigZag cost models: equal to ZigZag's own API, monotone in bits, cached on disk, one-line
errors. Layers are tiny so that a cold ZigZag evaluation takes about a second."""

import json
import math
import shutil

import numpy as np
import pytest
from torch import nn

from codesign import cli
from codesign.errors import CodesignError
from codesign.network import model_layers
from codesign.pareto._objective import Objective
from hw_models import (
    BitMatrix,
    LayerSpec,
    _zigzag,
    _zigzag_eval,
    extract_layers,
    split_hw_names,
)
from hw_models._zigzag_workload import SEARCHED_PRECISIONS, shape_key, workload_layer

pytest.importorskip("zigzag")

SMALL_CONV = LayerSpec(name="conv", kind="conv", macs=8 * 4 * 9 * 16, params=8 * 4 * 9,
                       bias_params=0, in_elems=4 * 36, out_elems=8 * 16, in_channels=4,
                       out_channels=8, kernel=(3, 3), groups=1, stride=(1, 1), out_size=(4, 4),
                       in_size=(6, 6))
MEDIUM_CONV = LayerSpec(name="conv", kind="conv", macs=64 * 32 * 9 * 16, params=64 * 32 * 9,
                        bias_params=0, in_elems=32 * 36, out_elems=64 * 16, in_channels=32,
                        out_channels=64, kernel=(3, 3), groups=1, stride=(1, 1), out_size=(4, 4),
                        in_size=(6, 6))
SMALL_FC = LayerSpec(name="fc", kind="linear", macs=64 * 16, params=64 * 16, bias_params=0,
                     in_elems=64, out_elems=16, in_channels=64, out_channels=16, kernel=(1, 1),
                     groups=1, stride=(1, 1))


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_ZIGZAG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CODESIGN_ZIGZAG_WORKERS", "1")


def layers_of(spec):
    """The arrays of a one-layer network that extracts to exactly `spec`."""
    if spec.kind == "conv":
        layer, shape = nn.Conv2d(spec.in_channels, spec.out_channels, spec.kernel, bias=False), \
            (1, spec.in_channels, 6, 6)
    else:
        layer, shape = nn.Linear(spec.in_channels, spec.out_channels, bias=False), \
            (1, spec.in_channels)
    model = nn.Module()
    model.add_module(spec.name, layer)
    model.forward = layer.__call__  # through the module, so its hooks see the call
    extracted = extract_layers(model, shape)
    assert extracted.layers == (spec,)
    return extracted.arrays


def shipped_files(name):
    entry = _zigzag.SHIPPED[name]
    inputs = _zigzag.zigzag_inputs()
    return inputs / "hardware" / entry.hardware, inputs / "mapping" / entry.mapping


def model_from(accelerator, mapping):
    model = _zigzag.ZigZagModel(accelerator, mapping, None, "test")
    model.name = "zigzag:test"
    return model


def test_workload_counts_the_layers_macs():
    for spec in (SMALL_CONV, SMALL_FC):
        assert math.prod(workload_layer(spec, 8, 8)[0]["loop_sizes"]) == spec.macs


def test_conv_at_8x8_equals_zigzags_own_api(tmp_path, monkeypatch):
    from zigzag.api import get_hardware_performance_zigzag

    monkeypatch.chdir(tmp_path)
    accelerator, mapping = shipped_files("tpu_like")
    model = _zigzag.shipped_model("tpu_like")
    got = model.layer_metrics(layers_of(SMALL_CONV), BitMatrix.uniform(1, 8, 8))
    assert list(tmp_path.iterdir()) == [tmp_path / "cache"]  # no dump folders around
    energy, latency, cmes = get_hardware_performance_zigzag(
        workload_layer(SMALL_CONV, 8, 8), str(accelerator), str(mapping),
        dump_folder=str(tmp_path / "dump"), loma_show_progress_bar=False)
    layer_cme = cmes[0][1][0][0]
    assert got["latency_cycles"][0, 0] == pytest.approx(latency)
    assert got["energy_pj"][0, 0] == pytest.approx(energy)
    assert got["energy_compute_pj"][0, 0] == pytest.approx(layer_cme.mac_energy)
    assert got["energy_memory_pj"][0, 0] == pytest.approx(layer_cme.mem_energy)
    levels = sum(got[m][0, 0] for m in model.metrics if m.startswith("energy_mem_"))
    assert levels == pytest.approx(layer_cme.mem_energy)
    assert got["latency_s"][0, 0] == pytest.approx(latency / 700e6)


def _metric_grids(accelerator: str, widths: tuple[int, ...]) -> dict[str, np.ndarray]:
    """SMALL_FC's metrics on a shipped accelerator over every (weight, input) width pair:
    rows are weight widths, columns input widths."""
    model = model_from(*shipped_files(accelerator))
    w, a = np.meshgrid(widths, widths, indexing="ij")
    bits = BitMatrix.from_bits(w.reshape(-1, 1), a.reshape(-1, 1))
    got = model.layer_metrics(layers_of(SMALL_FC), bits)
    return {metric: values.reshape(len(widths), len(widths)) for metric, values in got.items()}


def test_more_bits_never_cost_less():
    got = _metric_grids("tpu_like", (2, 4, 8))
    for metric in ("energy_pj", "energy_compute_pj", "energy_memory_pj", "latency_cycles"):
        grid = got[metric]
        assert (np.diff(grid, axis=0) >= 0).all() and (np.diff(grid, axis=1) >= 0).all(), metric
    compute = got["energy_compute_pj"]
    assert compute[2, 2] == pytest.approx(16 * compute[0, 0])  # (8 x 8) / (2 x 2)


def test_other_precisions_reuse_the_searched_orderings_within_tolerance():
    """Off 8 x 8 and 2 x 2, re-allocating the best loop orderings of those two searches gives
    LOMA's full-search latency within 2 % and energy within 10 % (latency is the criterion;
    near-tied orderings differ more in energy), on a layer with hundreds of orderings."""
    model = model_from(*shipped_files("tpu_like"))
    where, mapping = str(model.accelerator_path), str(model.mapping_path)
    precisions = [(4, 8), (3, 4)]
    jobs = [(model.spec, workload_layer(MEDIUM_CONV, w, a))
            for w, a in [*SEARCHED_PRECISIONS, *precisions]]
    reused = _zigzag_eval.evaluate_layer(jobs, mapping, where, 2)[2:]
    for job, got in zip(jobs[2:], reused, strict=True):
        full = _zigzag_eval.evaluate_layer([job], mapping, where, 1)[0]
        assert got["latency_cycles"] == pytest.approx(full["latency_cycles"], rel=0.02)
        assert got["energy_pj"] == pytest.approx(full["energy_pj"], rel=0.10)
    assert len({r["energy_pj"] for r in reused}) == len(precisions)  # they were re-costed


def test_imc_array_runs_below_8_bits_as_zigzags_own_api(tmp_path, monkeypatch):
    """dimc at 4-bit weights and activations equals ZigZag's API on the dimc description
    with `input_precision: [4, 4]` (which zigzag-dse 3.9.1 alone fails to evaluate)."""
    from zigzag.api import get_hardware_performance_zigzag

    monkeypatch.chdir(tmp_path)
    model = _zigzag.shipped_model("dimc")
    got = model.layer_metrics(layers_of(SMALL_CONV), BitMatrix.uniform(1, 4, 4))
    accelerator, mapping = shipped_files("dimc")
    at_4 = tmp_path / "dimc4.yaml"
    at_4.write_text(accelerator.read_text().replace("input_precision: [8, 8]",
                                                     "input_precision: [4, 4]"))
    energy, latency, tclk, _, cmes = get_hardware_performance_zigzag(
        workload_layer(SMALL_CONV, 4, 4), str(at_4), str(mapping), dump_folder=str(tmp_path / "d"),
        loma_show_progress_bar=False, in_memory_compute=True)
    assert got["latency_cycles"][0, 0] == pytest.approx(latency)
    assert got["energy_pj"][0, 0] == pytest.approx(energy)
    assert got["energy_compute_pj"][0, 0] == pytest.approx(cmes[0][1][0][0].mac_energy)
    assert got["latency_s"][0, 0] == pytest.approx(latency * tclk * 1e-9)


def test_imc_more_bits_never_cost_less():
    got = _metric_grids("dimc", (2, 3, 4, 8))
    for metric in ("energy_pj", "energy_compute_pj", "latency_cycles", "latency_s"):
        grid = got[metric]
        assert (np.diff(grid, axis=0) >= 0).all() and (np.diff(grid, axis=1) >= 0).all(), metric
    compute = got["energy_compute_pj"]
    assert compute[3, 3] > compute[2, 2] > compute[0, 0]  # ZigZag's own, not a fixed rule
    assert np.array_equal(compute[1], compute[2])  # 3-bit weights occupy 4-bit cells


def test_imc_refuses_weights_wider_than_its_cells():
    model = model_from(*shipped_files("dimc"))
    with pytest.raises(CodesignError, match="'fc' has 16-bit weights.*8-bit cell groups"):
        model.layer_metrics(layers_of(SMALL_FC), BitMatrix.uniform(1, 16, 8))


def test_disk_cache_returns_the_same_numbers_and_follows_the_file(tmp_path, monkeypatch):
    accelerator, mapping = shipped_files("tpu_like")
    mine = tmp_path / "my_tpu.yaml"
    shutil.copy(accelerator, mine)
    bits = BitMatrix.uniform(1, 4, 8)
    cold = model_from(mine, mapping).layer_metrics(layers_of(SMALL_FC), bits)
    files = list((tmp_path / "cache").glob("*.json"))
    assert len(files) == 1
    entries = json.loads(files[0].read_text())["entries"]
    assert sorted(entries) == [f"{shape_key(SMALL_FC)}|w{w}|a{a}"
                               for w, a in [(2, 2), (4, 8), (8, 8)]]

    def no_zigzag(*args):
        raise AssertionError("a warm cache must not run ZigZag")

    monkeypatch.setattr(_zigzag_eval, "evaluate_layer", no_zigzag)
    warm = model_from(mine, mapping).layer_metrics(layers_of(SMALL_FC), bits)
    assert all(np.array_equal(cold[m], warm[m]) for m in cold)

    mine.write_text(mine.read_text().replace("unit_energy: 0.04", "unit_energy: 0.08"))
    with pytest.raises(AssertionError, match="warm cache"):
        model_from(mine, mapping).layer_metrics(layers_of(SMALL_FC), bits)
    monkeypatch.undo()
    monkeypatch.setenv("CODESIGN_ZIGZAG_CACHE", str(tmp_path / "cache"))
    changed = model_from(mine, mapping).layer_metrics(layers_of(SMALL_FC), bits)
    assert changed["energy_compute_pj"][0, 0] == pytest.approx(2 * cold["energy_compute_pj"][0, 0])


def test_cost_command_scores_from_a_warm_cache(tmp_path, capsys):
    """`codesign cost` on digits_cnn: the numbers come out of the JSON table, no ZigZag run."""
    accelerator, mapping = shipped_files("tpu_like")
    mine = tmp_path / "acc.yaml"
    shutil.copy(accelerator, mine)
    model = model_from(mine, mapping)
    layers = model_layers("digits_cnn", 10, (1, 8, 8))
    fake = {"latency_cycles": 100.0, "energy_pj": 0.0, "mac_energy_pj": 10.0,
            "memory_pj": {"dram": 5.0}, "tclk_ns": None}
    for spec in layers.layers:
        model.cache.put(f"{shape_key(spec)}|w4|a8", fake)
    model.cache.save()
    hw = f"zigzag:{mine},{mapping}"
    assert cli.main(["cost", "--model", "digits_cnn", "--dataset", "digits", "--w-bits", "4",
                     "--a-bits", "8", "--hw", hw, "--json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]["zigzag:acc+tpu_like"]
    n = len(layers.layers)
    assert totals["latency_cycles"] == 100 * n
    assert totals["energy_compute_pj"] == pytest.approx(10 * 32 / 64 * n)
    assert totals["energy_pj"] == pytest.approx((10 * 32 / 64 + 5) * n)


def test_hw_names_keep_a_mapping_with_its_accelerator(tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("- name: default\n")
    table = tmp_path / "table.yaml"
    table.write_text("name: t\n")
    assert split_hw_names(f"zigzag:a.yaml,{mapping},generic") == [
        f"zigzag:a.yaml,{mapping}", "generic"]
    assert split_hw_names(f"zigzag:a.yaml,{table}") == ["zigzag:a.yaml", str(table)]
    assert split_hw_names("zigzag:tpu_like,zigzag:dimc") == ["zigzag:tpu_like", "zigzag:dimc"]


def test_objective_column_may_hold_a_colon():
    objective = Objective.parse("zigzag:tpu_like.latency_s")
    assert (objective.column, objective.direction) == ("zigzag:tpu_like.latency_s", "min")
    assert Objective.parse("zigzag:dimc.energy_pj:max").direction == "max"


@pytest.mark.parametrize("hw, expected", [
    ("zigzag:nope", "unknown ZigZag accelerator 'nope'"),
    ("zigzag:{tmp}/missing.yaml", "does not exist"),
    ("zigzag:{tmp}/bad.yaml", "must be a mapping with 'memories'"),
    ("zigzag:{tmp}/broken.yaml", "is malformed"),
])
def test_bad_zigzag_reference_is_one_line_exit_2(hw, expected, tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("- just\n- a list\n")
    accelerator, _ = shipped_files("tpu_like")
    (tmp_path / "broken.yaml").write_text(
        accelerator.read_text().replace("served_dimensions: [D1, D2]", "served_dimensions: [D9]"))
    code = cli.main(["cost", "--model", "digits_cnn", "--hw", hw.format(tmp=tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and "\n" not in err


def test_float_layer_is_refused_by_name():
    model = model_from(*shipped_files("tpu_like"))
    with pytest.raises(CodesignError, match="'fc'.*quantize"):
        model.layer_metrics(layers_of(SMALL_FC), BitMatrix.uniform(1, 32, 8))


def test_a_precision_zigzag_cannot_map_is_refused_from_the_cache_too(monkeypatch):
    """A power-of-two weight costed at its integer-equivalent width (31 bits) does not fit
    tpu_like's 8-bit array: refused in one line, and the refusal is cached like a result, so
    re-scoring does not run ZigZag again."""
    model = model_from(*shipped_files("tpu_like"))
    spec = layers_of(SMALL_FC).specs[0]
    with pytest.raises(CodesignError, match="ZigZag cannot map layer"):
        model.rows([(spec, 31, 1)])

    def no_zigzag(*args):
        raise AssertionError("a cached refusal must not run ZigZag")

    monkeypatch.setattr(_zigzag_eval, "evaluate_layer", no_zigzag)
    with pytest.raises(CodesignError, match="ZigZag cannot map layer"):
        model_from(*shipped_files("tpu_like")).rows([(spec, 31, 1)])
