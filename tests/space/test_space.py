"""Search spaces: every shipped file, and the parser on hand-written ones.

The shipped-space tests are parametrised over `shipped_spaces()`, so a new file in
`search_spaces/` is loaded, sampled, converted and costed the day it lands. Nothing trains.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from codesign.config import LayerQuant, TrialConfig
from codesign.data import dataset_info
from codesign.errors import CodesignError
from codesign.models import create_model
from codesign.network import config_costs as score_config
from codesign.nn import QuantLayer, convert, quantizable_layers
from codesign.objective import ACCURACY
from codesign.space import SearchSpace, load_space, shipped_spaces

optuna.logging.set_verbosity(optuna.logging.WARNING)

SAMPLES = 4
SHIPPED = ("digits_cnn", "cifar10_resnet20", "cifar10_vgg8", "imagenet_resnet18",
           "imagenet_mobilenetv2")


def ask(seed: int = 0) -> optuna.Trial:
    """A fresh trial of a seeded random study: sampling without any training."""
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed)).ask()


def cost(costs: dict[str, dict[str, float]], column: str) -> float:
    model, metric = column.rsplit(".", 1)
    return costs[model][metric]


# ---- every shipped space ----------------------------------------------------------------
class Shipped:
    """One shipped space with its float model, built once per module (ImageNet nets cost s)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.space = load_space(name)
        info = dataset_info(self.space.dataset, **self.space.dataset_args)
        self.model = create_model(self.space.model, info.num_classes, info.in_channels,
                                  info.image_size, **self.space.model_args)
        self.layers = quantizable_layers(self.model)
        self.samples = [self.space.sample(ask(seed)) for seed in range(SAMPLES)]

    def rule_fields(self, layer: str) -> set[str]:
        """Fields some override rule sets on `layer`."""
        position = self.layers.index(layer)
        return {key for rule in self.space.rules
                if rule.selects(layer, position, len(self.layers)) for key in rule.fields}

    def rule_fixed(self, layer: str) -> dict[str, Any]:
        """Fields an override rule fixes to one value on `layer`."""
        choices = self.space.layer_choices(layer)
        return {k: choices[k].values[0] for k in self.rule_fields(layer) if choices[k].is_fixed}


@pytest.fixture(scope="module", params=shipped_spaces())
def shipped(request: pytest.FixtureRequest) -> Shipped:
    return Shipped(request.param)


def test_the_shipped_spaces_are_listed():
    assert set(SHIPPED) <= set(shipped_spaces())


def test_a_shipped_space_loads_under_its_file_name(shipped: Shipped):
    space = shipped.space
    assert space.name == shipped.name, "name: must equal the file name (the study name)"
    assert space.description
    assert ACCURACY in [o.column for o in space.objectives]
    assert any(not o.is_accuracy for o in space.objectives), "a hardware-aware search needs a cost"


def test_a_sampled_config_covers_exactly_the_models_layers(shipped: Shipped):
    for cfg in shipped.samples:
        assert isinstance(cfg, TrialConfig)
        assert list(cfg.layers) == shipped.layers
        assert all(isinstance(q, LayerQuant) for q in cfg.layers.values())
        assert (cfg.model, cfg.dataset) == (shipped.space.model, shipped.space.dataset)
        assert TrialConfig.from_dict(cfg.to_dict()) == cfg, "stored with the trial as JSON"


def test_sampled_values_come_from_the_space(shipped: Shipped):
    space = shipped.space
    for cfg in shipped.samples:
        for name, quant in cfg.layers.items():
            choices = space.layer_choices(name)
            assert quant.estimator in choices["estimator"].candidates()
            if quant.w_format in ("int", "pow2"):
                assert quant.w_bits in choices["w_bits"].candidates()
            else:
                assert quant.w_format in choices["w_format"].candidates()
            if quant.a_format == "int":
                assert quant.a_bits in choices["a_bits"].candidates()
            else:
                assert quant.a_format in choices["a_format"].candidates()
            # What the seeds' integer program chooses from holds every sampled precision.
            offered = space.layer_precisions(name)
            assert (quant.w_format, quant.w_bits) in {(p.fmt, p.bits) for p in offered["w"]}
            assert (quant.a_format, quant.a_bits) in {(p.fmt, p.bits) for p in offered["a"]}
        for key, choice in space.anneal.items():
            if choice.kind in ("fixed", "categorical"):
                assert getattr(cfg.anneal, key) in choice.candidates()


def test_the_trial_records_define_by_run_parameters(shipped: Shipped):
    trial = ask(7)
    shipped.space.sample(trial)
    fields = {"anneal": set(shipped.space.anneal), "train": set(shipped.space.train)}
    fields.update({name: set(LayerQuant.__dataclass_fields__) for name in shipped.layers})
    for param in trial.params:
        scope, _, field = param.rpartition(".")
        assert field in fields.get(scope, ()), param


def test_sampled_configs_respect_the_overrides(shipped: Shipped):
    first, last = shipped.layers[0], shipped.layers[-1]
    for cfg in shipped.samples:
        for name, quant in cfg.layers.items():
            for key, value in shipped.rule_fixed(name).items():
                assert getattr(quant, key) == value, (name, key)
        for name in (first, last):
            quant = cfg.layers[name]
            assert (quant.w_bits, quant.w_format, quant.a_bits) == (8, "int", 8), name


def test_a_sampled_config_converts(shipped: Shipped):
    cfg = shipped.samples[0]
    quantized = convert(shipped.model, cfg)
    modules = dict(quantized.named_modules())
    assert all(isinstance(modules[name], QuantLayer) for name in shipped.layers)


def test_sampled_configs_cost_under_every_objective_and_constraint(shipped: Shipped):
    space = shipped.space
    columns = [o.column for o in space.objectives if not o.is_accuracy]
    columns += [c.column for c in space.constraints]
    for cfg in shipped.samples:
        costs = score_config(cfg, space.cost_models)
        for column in columns:
            value = cost(costs, column)
            assert math.isfinite(value) and value > 0, column
        for constraint in space.constraints:
            assert math.isfinite(constraint.violation(costs))


def test_fixed_config_keeps_the_overridden_layers_fixed(shipped: Shipped):
    cfg = shipped.space.fixed_config(w_bits=4, a_bits=4)
    assert list(cfg.layers) == shipped.layers
    for name, quant in cfg.layers.items():
        overridden = shipped.rule_fields(name)
        for role in ("w", "a"):
            key = f"{role}_bits"
            if key in overridden:
                default = shipped.space.layer_choices(name)[key].default
                assert getattr(quant, key) == default, (name, key)
            else:
                assert getattr(quant, key) == 4, (name, key)
                assert getattr(quant, f"{role}_format") == "int", name
    for name in (shipped.layers[0], shipped.layers[-1]):
        assert (cfg.layers[name].w_bits, cfg.layers[name].a_bits) == (8, 8), name
    score_config(cfg, shipped.space.cost_models)


# ---- the parser on hand-written spaces --------------------------------------------------
BASE: dict[str, Any] = {
    "model": "digits_cnn",
    "dataset": "digits",
    "objectives": ["accuracy", "generic.bops"],
}
DIGITS_LAYERS = ["conv1", "conv2", "conv3", "fc"]


def write(folder: Path, raw: Any, name: str = "hand") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False))
    return path


def space_of(folder: Path, **fields: Any) -> SearchSpace:
    return load_space(write(folder, {**BASE, **fields}))


def test_a_minimal_space_takes_every_default(tmp_path):
    space = space_of(tmp_path)
    assert space.name == "hand"
    assert space.layer_names() == DIGITS_LAYERS
    cfg = space.fixed_config()
    assert set(cfg.layers.values()) == {LayerQuant(8, 8, "int", "int", "ana")}
    assert cfg.anneal == TrialConfig(model="m", dataset="d").anneal
    trial = ask()
    assert space.sample(trial) == cfg
    assert trial.params == {}, "a fixed field is not an Optuna parameter"


def test_field_forms_and_their_defaults(tmp_path):
    space = space_of(
        tmp_path,
        layers={"w_bits": [4, 8, 2], "a_bits": {"choices": [8, 6], "default": 6}},
        anneal={"noise": "uniform", "sync": ["partition"], "end": {"low": 0.6, "high": 0.9}},
        train={"epochs": {"low": 2, "high": 5}, "lr": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
               "batch_size": {"low": 32, "high": 128, "step": 32}},
    )
    assert space.layer_fields["w_bits"].kind == "categorical"
    assert space.layer_fields["w_bits"].default == 4, "a list defaults to its first item"
    assert space.layer_fields["a_bits"].default == 6
    assert space.anneal["noise"].is_fixed
    assert space.anneal["sync"].is_fixed, "a one-item list is a fixed value"
    cfg = space.fixed_config()
    assert {(q.w_bits, q.a_bits) for q in cfg.layers.values()} == {(4, 6)}
    assert cfg.anneal.end == pytest.approx(0.75), "a float range defaults to its midpoint"
    assert cfg.train.epochs == 4, "an int range defaults to its rounded midpoint"
    assert cfg.train.lr == pytest.approx(1.0e-3), "a log range defaults to its geometric midpoint"
    assert cfg.train.batch_size == 80

    trial = ask(3)
    sampled = space.sample(trial)
    dists = trial.distributions
    assert isinstance(dists["train.lr"], optuna.distributions.FloatDistribution)
    assert dists["train.lr"].log
    assert isinstance(dists["train.epochs"], optuna.distributions.IntDistribution)
    assert dists["train.batch_size"].step == 32
    assert sampled.train.batch_size in (32, 64, 96, 128)
    assert 0.6 <= sampled.anneal.end <= 0.9
    assert "anneal.noise" not in trial.params and "anneal.sync" not in trial.params


def test_parameter_names_are_layer_and_section_scoped(tmp_path):
    space = space_of(
        tmp_path,
        layers={"w_bits": [8, 4], "a_bits": 8},
        overrides=[{"match": "conv1|fc", "w_bits": 8}],
        anneal={"noise": ["normal", "logistic"], "variance": "dynamic"},
    )
    trial = ask()
    space.sample(trial)
    assert set(trial.params) == {"conv2.w_bits", "conv3.w_bits", "anneal.noise"}


def test_regex_and_index_overrides_later_rules_win_field_by_field(tmp_path):
    space = space_of(
        tmp_path,
        layers={"w_bits": 8, "a_bits": 8},
        overrides=[
            {"match": r"conv\d", "w_bits": 4, "a_bits": 4},
            {"index": -1, "w_bits": 2},
            {"index": 0, "a_bits": 6},
            {"match": "conv2", "a_bits": 3},
            {"match": "fc|conv3", "w_bits": 3},
        ],
    )
    bits = {n: (q.w_bits, q.a_bits) for n, q in space.fixed_config().layers.items()}
    assert bits == {"conv1": (4, 6), "conv2": (4, 3), "conv3": (3, 4), "fc": (3, 8)}


def test_a_rule_that_sets_bits_pins_an_inherited_ternary_format(tmp_path):
    space = space_of(
        tmp_path,
        layers={"w_format": ["ternary", "binary", "int"], "w_bits": [4, 2]},
        overrides=[{"match": "conv1|fc", "w_bits": 8}],
    )
    for seed in range(6):
        trial = ask(seed)
        cfg = space.sample(trial)
        for name in ("conv1", "fc"):
            assert (cfg.layers[name].w_format, cfg.layers[name].w_bits) == ("int", 8)
            assert f"{name}.w_format" not in trial.params
        inner = cfg.layers["conv2"]
        if trial.params["conv2.w_format"] != "int":
            assert "conv2.w_bits" not in trial.params, "an implied format draws no bits"
            assert inner.w_bits == {"ternary": 2, "binary": 1}[inner.w_format]
    fixed = space.fixed_config()
    assert fixed.layers["conv2"].w_format == "ternary"
    assert (fixed.layers["conv1"].w_format, fixed.layers["conv1"].w_bits) == ("int", 8)


def test_fixed_config_bits_win_unless_a_rule_fixes_them(tmp_path):
    space = space_of(
        tmp_path,
        layers={"w_format": ["ternary", "int"], "w_bits": [4, 2], "a_bits": [4, 2]},
        overrides=[{"match": "conv1", "w_bits": 8, "a_bits": 8},
                   {"match": "conv3", "w_format": "binary"}],
    )
    layers = space.fixed_config(w_bits=6, a_bits=5).layers
    assert layers["conv1"] == LayerQuant(8, 8)
    assert layers["conv2"] == LayerQuant(6, 5)
    assert layers["conv3"] == LayerQuant(1, 5, w_format="binary")


@pytest.mark.parametrize("rule", [{"match": "conv9"}, {"match": "conv"}, {"index": 4},
                                  {"index": -5}])
def test_an_override_that_selects_no_layer_names_the_layers(tmp_path, rule):
    space = space_of(tmp_path, overrides=[{**rule, "w_bits": 4}])
    with pytest.raises(CodesignError) as err:
        space.fixed_config()
    message = str(err.value)
    assert str(tmp_path / "hand.yaml") in message
    assert "selects no layer" in message
    assert "conv1, conv2, conv3, fc" in message


BAD_FILES = [
    ("unknown top field", {"optimiser": "adam"}, ["unknown field(s) ['optimiser']", "allowed"]),
    ("unknown layer field", {"layers": {"bits": 4}}, ["layers", "['bits']", "allowed"]),
    ("unknown anneal field", {"anneal": {"shape": "normal"}}, ["anneal", "['shape']", "allowed"]),
    ("bad regex", {"overrides": [{"match": "conv(", "w_bits": 8}]},
     ["overrides[0]", "bad regex 'conv('", "fix it"]),
    ("match and index", {"overrides": [{"match": "fc", "index": 0, "w_bits": 8}]},
     ["overrides[0]", "exactly one of 'match'"]),
    ("empty rule", {"overrides": [{"match": "fc"}]}, ["overrides[0]", "add e.g. w_bits: 8"]),
    ("unknown estimator", {"layers": {"estimator": ["ana", "magic"]}},
     ["unknown estimator 'magic'", "choose one of", "ste"]),
    ("unknown estimator in a rule", {"overrides": [{"index": 0, "estimator": "magic"}]},
     ["unknown estimator 'magic'", "choose one of"]),
    ("unknown model", {"model": "resnet99"}, ["unknown model 'resnet99'", "resnet20"]),
    ("unknown dataset", {"dataset": "imagenet"}, ["unknown dataset 'imagenet'", "imagefolder"]),
    ("zero bits", {"layers": {"w_bits": [8, 0]}}, ["layers.w_bits", "integer from 1 to 16"]),
    ("too many bits", {"layers": {"a_bits": 17}}, ["layers.a_bits", "integer from 1 to 16"]),
    ("bits in a rule", {"overrides": [{"match": "fc", "w_bits": 64}]},
     ["overrides[0].w_bits", "integer from 1 to 16"]),
    ("bits range", {"layers": {"w_bits": {"low": 8, "high": 2}}},
     ["layers.w_bits", "must be below high"]),
    ("unknown format", {"layers": {"a_format": "ternary"}},
     ["layers.a_format", "choose from"]),
    ("pow2 with 1 bit", {"layers": {"w_format": ["int", "pow2"], "w_bits": [4, 1]}},
     ["layers", "pow2", "drop 1 from w_bits"]),
    ("pow2 with 1 bit in a rule", {"layers": {"w_format": "pow2", "w_bits": 4},
                                   "overrides": [{"match": "conv2", "w_bits": [2, 1]}]},
     ["overrides[0]", "pow2", "drop 1 from w_bits"]),
    ("start equals end", {"anneal": {"start": 0.5, "end": 0.5}},
     ["anneal.start", "keep every start below every end"]),
    ("start reaches end", {"anneal": {"start": {"low": 0.0, "high": 0.6}, "end": [0.9, 0.5]}},
     ["anneal.start", "keep every start below every end"]),
    ("unknown noise", {"anneal": {"noise": ["normal", "cauchy"]}},
     ["anneal.noise", "'cauchy' is not allowed", "choose from"]),
    ("range on a name", {"anneal": {"noise": {"low": 0, "high": 1}}},
     ["anneal.noise", "a value or a list of choices"]),
    ("objectives without accuracy", {"objectives": ["generic.bops"]},
     ["objectives must include accuracy", "add '- accuracy'"]),
    ("objective not model.metric", {"objectives": ["accuracy", "bops"]},
     ["objectives[1]", "'cost_model.metric'"]),
    ("constraint on accuracy", {"constraints": [{"metric": "accuracy", "max": 0.9}]},
     ["constraints[0]", "budgets apply to costs"]),
    ("constraint without budget", {"constraints": [{"cost": "generic.bops"}]},
     ["constraints[0]", "'max' must be a number"]),
    ("seed in train", {"train": {"seed": 3}}, ["train.seed", "use --seed"]),
    ("zero lr", {"train": {"lr": 0.0}}, ["train.lr", "> 0.0"]),
    ("missing model", {"model": None}, ["'model'", "registered name"]),
]


@pytest.mark.parametrize("changes, fragments", [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_a_bad_file_raises_one_line_naming_file_field_and_fix(tmp_path, changes, fragments):
    path = write(tmp_path, {**BASE, **changes})
    with pytest.raises(CodesignError) as err:
        load_space(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"search space {path}:"), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_a_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "model: digits_cnn\ndataset: [digits\nobjectives: [accuracy]\n")
    with pytest.raises(CodesignError) as err:
        load_space(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and "at line" in message and "fix the YAML syntax" in message


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = write(tmp_path, "- model: digits_cnn\n")
    with pytest.raises(CodesignError, match="expected a mapping at the top level"):
        load_space(path)


def test_a_missing_file_or_unknown_name_says_what_exists(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CodesignError, match="does not exist; check the path") as err:
        load_space(missing)
    assert str(missing) in str(err.value)
    with pytest.raises(CodesignError) as err:
        load_space("no_such_space")
    assert "unknown search space 'no_such_space'" in str(err.value)
    assert all(name in str(err.value) for name in SHIPPED)


def test_a_dataset_argument_problem_surfaces_when_layers_are_built(tmp_path):
    space = space_of(tmp_path, model="resnet20", dataset="imagefolder",
                     dataset_args={"image_size": 32})
    with pytest.raises(CodesignError, match="give num_classes, image_size and in_channels"):
        space.layer_names()
