"""`codesign hw` and `codesign cost`, end to end."""

import json
import subprocess
import sys

import pytest

from codesign import cli
from codesign.config import LayerQuant, TrialConfig
from codesign.network import config_costs as score_config
from hw_models import COST_MODELS


def run_cli(*argv):
    return subprocess.run([sys.executable, "-m", "codesign", *argv],
                          capture_output=True, text=True, timeout=120)


def test_hw_list_names_every_model(capsys):
    assert cli.main(["hw", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line for line in out}
    assert set(COST_MODELS.names()) <= set(listed)
    for name in COST_MODELS.names():
        assert COST_MODELS.describe(name) in listed[name]


@pytest.mark.parametrize("name", COST_MODELS.names())
def test_hw_show_every_model(name, capsys):
    assert cli.main(["hw", "show", name]) == 0
    out = capsys.readouterr().out
    assert out.startswith(name) and "metrics: " in out and "energy_pj" in out


def test_cost_json_end_to_end():
    result = run_cli("cost", "--model", "digits_cnn", "--input", "1,1,8,8", "--w-bits", "4",
                     "--a-bits", "8", "--hw", "generic,npu_int8", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["totals"]) == {"generic", "npu_int8"}
    generic = data["totals"]["generic"]
    assert generic["macs"] == 601_600 and generic["bops"] == 32 * 601_600
    assert [row["layer"] for row in data["layers"]] == ["conv1", "conv2", "conv3", "fc"]
    assert sum(r["npu_int8.latency_cycles"] for r in data["layers"]) == data["totals"][
        "npu_int8"]["latency_cycles"]
    assert data["model"] == "digits_cnn" and data["input_shape"] == [1, 1, 8, 8]


def test_cost_with_config_matches_score_config(tmp_path, capsys):
    cfg = TrialConfig(model="digits_cnn", dataset="digits",
                      layers={"conv1": LayerQuant.of(8, 8), "conv2": LayerQuant.of(2, 4),
                              "conv3": LayerQuant(2, 4, "ternary", "int"),
                              "fc": LayerQuant.of(8, 8)})
    path = tmp_path / "trial.json"
    path.write_text(cfg.to_json())
    assert cli.main(["cost", "--config", str(path), "--hw", "generic,bitserial", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"] == score_config(cfg, ["generic", "bitserial"])
    assert data["layers"][2]["w_format"] == "ternary" and data["totals"]["generic"]["mux_ops"] > 0


def test_cost_text_table(capsys):
    assert cli.main(["cost", "--model", "digits_cnn", "--dataset", "digits", "--w-bits", "2",
                     "--a-bits", "2", "--hw", "generic,bitfusion"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "digits_cnn, input 1,1,8,8"
    assert out[1].split()[:6] == ["layer", "kind", "macs", "params", "w_bits", "a_bits"]
    assert "bitfusion.latency_cycles" in out[1] and out[2].split()[:2] == ["conv1", "conv"]
    assert out[-2].startswith("generic: macs=601600, bops=2.4064e+06")
    assert out[-1].startswith("bitfusion: latency_cycles=")


@pytest.mark.parametrize("argv, culprit", [
    (["--model", "digits_cnn", "--input", "1,1,8,8", "--hw", "generic,tpu_v9"], "'tpu_v9'"),
    (["--model", "digits_cnn", "--input", "1,1,8", "--hw", "generic"], "takes square images"),
    (["--model", "no_such_net", "--input", "1,1,8,8"], "'no_such_net'"),
    (["--model", "digits_cnn", "--w-bits", "12", "--hw", "npu_int8"], "layer 'conv1'"),
])
def test_cost_user_errors_exit_2_with_one_line(argv, culprit, capsys):
    assert cli.main(["cost", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("codesign: error:") and culprit in err


def test_unknown_accelerator_in_a_real_process():
    result = run_cli("cost", "--model", "digits_cnn", "--input", "1,1,8,8", "--hw", "nope")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "unknown cost model 'nope'" in result.stderr
