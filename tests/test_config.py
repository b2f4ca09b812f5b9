import json

import pytest

from codesign._registry import Registry
from codesign.config import AnnealConfig, LayerQuant, TrainConfig, TrialConfig
from codesign.errors import CodesignError


def test_layer_quant_reads_one_bit_as_binary_and_32_as_float():
    assert LayerQuant.of(1, 4).w_format == "binary"
    assert LayerQuant.of(32, 32).a_format == "float"
    assert LayerQuant.of(4, 8) == LayerQuant(w_bits=4, a_bits=8)


@pytest.mark.parametrize(
    "kwargs, culprit",
    [
        ({"w_bits": 0}, "weight bits"),
        ({"a_bits": 17}, "activation bits"),
        ({"w_format": "ternary", "w_bits": 3}, "ternary"),
        ({"w_format": "pow2", "w_bits": 1}, "power-of-two"),
        ({"w_format": "posit"}, "weight format 'posit'"),
    ],
)
def test_impossible_precision_names_the_culprit(kwargs, culprit):
    with pytest.raises(CodesignError, match=culprit):
        LayerQuant(**kwargs)


@pytest.mark.parametrize(
    "kwargs, culprit",
    [
        ({"strategy": "median"}, "forward strategy 'median'"),
        ({"sync": "staggered"}, "synchronisation 'staggered'"),
        ({"start": 0.9, "end": 0.5}, "annealing window"),
    ],
)
def test_bad_annealing_names_the_culprit(kwargs, culprit):
    with pytest.raises(CodesignError, match=culprit):
        AnnealConfig(**kwargs)


def test_an_unregistered_noise_is_refused_when_the_quantizers_are_built():
    from codesign.train import build_model

    cfg = TrialConfig(model="digits_cnn", dataset="digits", anneal=AnnealConfig(noise="cauchy"),
                      layers={"conv1": LayerQuant()})
    with pytest.raises(CodesignError, match="unknown noise 'cauchy'; choose one of: logistic"):
        build_model(cfg)


def test_trial_config_round_trips_through_json(tmp_path):
    cfg = TrialConfig(
        model="digits_cnn",
        dataset="digits",
        layers={"conv1": LayerQuant.of(8, 8), "fc": LayerQuant(w_bits=2, w_format="ternary")},
        anneal=AnnealConfig(noise="logistic", sync="partition"),
        train=TrainConfig(epochs=3, seed=7),
    )
    path = tmp_path / "trial.json"
    path.write_text(cfg.to_json())
    assert TrialConfig.from_json_file(path) == cfg


def test_trial_config_file_errors_name_file_and_field(tmp_path):
    path = tmp_path / "trial.json"
    path.write_text(json.dumps({"model": "m", "dataset": "d", "layers": {"fc": {"w_bitz": 4}}}))
    with pytest.raises(CodesignError, match=r"trial\.json: layers\.fc: unknown field.*w_bitz"):
        TrialConfig.from_json_file(path)
    path.write_text("{not json")
    with pytest.raises(CodesignError, match="not valid JSON"):
        TrialConfig.from_json_file(path)
    with pytest.raises(CodesignError, match="does not exist"):
        TrialConfig.from_json_file(tmp_path / "missing.json")


def test_registry_lists_choices_for_an_unknown_name():
    registry: Registry[int] = Registry("widget")
    registry.add("b", 2, "the second")
    registry.add("a", 1)
    assert registry.names() == ["a", "b"]
    assert registry.describe("b") == "the second"
    with pytest.raises(CodesignError, match="unknown widget 'c'; choose one of: a, b"):
        registry.get("c")
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("a", 3)
