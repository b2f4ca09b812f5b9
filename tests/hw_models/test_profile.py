"""`codesign hw profile` / `validate`: measured per-layer costs of this machine as a cost model."""

import json

import numpy as np
import pandas as pd
import pytest

from codesign import cli
from codesign.errors import CodesignError
from codesign.network import model_layers
from codesign.profile._graphs import FLOAT, INT8, input_shape, layer_graph
from codesign.profile._measure import session
from codesign.search import Manifest, SearchRequest, report_study, run_search
from codesign.testing import write_space
from hw_models import get_cost_model

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("index", [1, 3])  # conv2 and fc of digits_cnn
def test_int8_layer_graph_runs_on_integer_kernels(index, tmp_path):
    import onnx
    import onnxruntime as ort

    spec = model_layers("digits_cnn", 10, (1, 8, 8)).layers[index]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    graph = layer_graph(spec, INT8)
    ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    ops = {node.op_type for node in onnx.load(tmp_path / "optimized.onnx").graph.node}
    assert ops & {"QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger"}, ops
    x = np.random.default_rng(0).standard_normal(input_shape(spec)).astype(np.float32)
    out = session(layer_graph(spec, FLOAT), 1).run(None, {"x": x})[0]
    assert out.size * 1 == spec.out_elems  # the graph reproduces the layer's output shape


def test_profile_file_loads_as_a_cost_model_and_scores_a_study(tmp_path, clean_registry,
                                                               monkeypatch):
    device = tmp_path / "devices" / "my_device.yaml"
    assert cli.main(["hw", "profile", "--space", "digits_cnn", "--out", str(device)]) == 0
    model = get_cost_model(str(device))
    assert model.name == "my_device"
    text = device.read_text()
    assert "conv2 [conv:n1:c16:k32" in text and "int8" in text  # each layer's measurement
    monkeypatch.setenv("CODESIGN_COMPILE", "off")  # eager quantizers: no kernel compilation
    space = write_space(tmp_path)
    out = tmp_path / "run"
    run_search(SearchRequest(space=str(space), trials=2, epochs=1, seed=0, out=out))
    # energy is not measured (0 pJ), so the front is drawn on the measured latency alone
    monkeypatch.setenv("CODESIGN_HW_PATH", str(device.parent))
    report_study(Manifest.read(out), tmp_path / "report", hw=["my_device.latency_s"])
    trials = pd.read_csv(tmp_path / "report" / "trials.csv")
    latency = trials["my_device.latency_s"]
    assert (latency > 0).all() and latency.notna().all()
    # every integer precision of digits pads up to int8, so all configs cost the same here
    assert latency.nunique() == 1


def test_validate_compares_models_with_whole_network_measurements(tmp_path, clean_registry,
                                                                  capsys):
    device = tmp_path / "dev.yaml"
    assert cli.main(["hw", "profile", "--out", str(device)]) == 0
    capsys.readouterr()
    assert cli.main(["hw", "validate", "--space", "digits_cnn", "--hw", "generic.bops,bitfusion",
                     "--against", str(device), "--configs", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["configs"] == 3 and result["measured_mean_s"] > 0
    assert result["per_layer_sum_mean_s"] > 0
    assert 0 <= result["per_layer_sum_relative_error"] < 10
    models = {row["model"]: row for row in result["models"]}
    assert set(models) == {"dev", "generic", "bitfusion"}
    assert models["generic"]["metric"] == "bops"
    assert models["dev"]["mean_relative_error"] >= 0


def test_profile_refuses_an_unknown_runtime(tmp_path):
    with pytest.raises(CodesignError, match="--runtime 'tflite' is not supported"):
        from codesign.profile._measure import require_runtime

        require_runtime("tflite")
