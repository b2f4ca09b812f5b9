"""The trial configuration: the one object that flows from the sampler to training and costing.

Costs are a pure function of (architecture, TrialConfig, input shape), so everything a cost
model needs (bits and number formats per layer) lives here, not in data-dependent state.
Layer names are module names of the float model (`model.named_modules()`); conversion keeps
them, so the same key addresses a layer in the float model, the quantized model and the
cost tables. Layers absent from `TrialConfig.layers` stay float.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from codesign.device import check_device_name
from codesign.errors import CodesignError, reject_unknown
from codesign.formats import ACTIVATION_FORMATS, WEIGHT_FORMATS, check_bits, format_for_bits
from codesign.formats import FLOAT_BITS as FLOAT_BITS  # re-exported for config readers
from codesign.formats import MAX_INT_BITS as MAX_INT_BITS

STRATEGIES = ("expectation", "mode", "random")
ANNEAL_MODES = ("static", "dynamic")
SYNCS = ("overlapped", "same_start", "same_end", "partition")
POWER_LAWS = ("homogeneous", "progressive")
OPTIMIZERS = ("adam", "sgd")
AMP_MODES = ("off", "bf16")


def check_field_types(config: Any) -> None:
    """Each field of a config dataclass holds a value of its declared type: `int` an integer,
    `float` a finite number, a `dict` a mapping (None only where allowed; names are checked
    against their choices by each class).
    The first check of every config, so that a trial JSON's `epochs: 1.5`, `lr: NaN` or
    `model_args: [..]` is one line naming the field."""
    for item in fields(config):
        value = getattr(config, item.name)
        kind = str(item.type)
        if value is None and kind.endswith("| None"):
            continue
        kind = kind.removesuffix(" | None")
        problem = _type_problem(value, kind)
        if problem:
            raise CodesignError(f"{item.name}={value!r} {problem}")


def _type_problem(value: Any, kind: str) -> str | None:
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        return "is not an integer; write a whole number such as 8"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "is not a number"
        if not math.isfinite(value):
            return "is not a finite number"
    if kind.startswith("dict") and not isinstance(value, dict):
        return "is not a mapping; write {name: value, ...}"
    return None


def _choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise CodesignError(f"unknown {what} '{value}'; choose one of: {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class LayerQuant:
    """Precision of one conv / linear layer: its weights and its input activations.

    `w_format`: int (signed k-bit, symmetric), binary (+-1), ternary (-1, 0, 1), pow2 (0 and
    +-2^-p, shift hardware) or float. `a_format`: int (k-bit; signedness is calibrated from
    data and does not change the cost), binary (+-1) or float. `estimator` names the gradient
    estimator in `codesign.quant.ESTIMATORS` (ana, ste, aqe, aqe_annealed, mirror_descent).
    """

    w_bits: int = 8
    a_bits: int = 8
    w_format: str = "int"
    a_format: str = "int"
    estimator: str = "ana"

    def __post_init__(self) -> None:
        check_field_types(self)
        _choice(self.w_format, WEIGHT_FORMATS, "weight format")
        _choice(self.a_format, ACTIVATION_FORMATS, "activation format")
        check_bits(self.w_bits, self.w_format, "weight bits")
        check_bits(self.a_bits, self.a_format, "activation bits")

    @classmethod
    def of(cls, w_bits: int, a_bits: int, estimator: str = "ana") -> LayerQuant:
        """Integer layer of the given bits, with 1 bit read as binary and 32 as float."""
        return cls(
            w_bits=w_bits,
            a_bits=a_bits,
            w_format=format_for_bits(w_bits),
            a_format=format_for_bits(a_bits),
            estimator=estimator,
        )


@dataclass(frozen=True)
class AnnealConfig:
    """How the ANA noise is shaped and annealed (docs/design.md, "ANA").

    `noise` names an entry of the `codesign.quant.NOISES` registry, the one list of noises: a
    space file is checked against it at load time, a config when its quantizers are built.

    `start` and `end` bound the annealing window as fractions of training; the window is split
    into one slot per quantized layer for the `same_start`, `same_end` and `partition`
    synchronisations. It ends with training by default: after it every ANA quantizer is the
    hard stair with no gradient, so only float parameters (batch-norm, biases) would still
    train. `beta_s` None takes the noise's default (mass inside +-0.5 steps of the grid).
    """

    noise: str = "normal"
    strategy: str = "expectation"
    mean: str = "static"
    variance: str = "dynamic"
    sync: str = "overlapped"
    power: str = "homogeneous"
    start: float = 0.0
    end: float = 1.0
    beta_s: float | None = None
    beta_mu: float = -0.5

    def __post_init__(self) -> None:
        check_field_types(self)
        _choice(self.strategy, STRATEGIES, "forward strategy")
        _choice(self.mean, ANNEAL_MODES, "mean annealing")
        _choice(self.variance, ANNEAL_MODES, "variance annealing")
        _choice(self.sync, SYNCS, "synchronisation")
        _choice(self.power, POWER_LAWS, "power law")
        if not 0.0 <= self.start < self.end <= 1.0:
            raise CodesignError(
                f"annealing window start={self.start}, end={self.end} is invalid; "
                "need 0 <= start < end <= 1"
            )
        if self.beta_s is not None and self.beta_s < 0:
            raise CodesignError(f"beta_s={self.beta_s} is negative; use a scale >= 0")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation budget of one trial, and where it runs.

    `device`: auto, cpu, cuda or cuda:N (see `codesign.device`). `num_workers`: data-loading
    processes per loader (in-memory sets such as digits need none). `amp`: `bf16` runs the
    layers under bfloat16 autocast while every quantizer still computes in float32.
    """

    epochs: int = 15
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    amp: str = "off"

    def __post_init__(self) -> None:
        check_field_types(self)
        _choice(self.optimizer, OPTIMIZERS, "optimizer")
        _choice(self.amp, AMP_MODES, "amp mode")
        check_device_name(self.device)
        if not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise CodesignError(
                f"num_workers={self.num_workers!r}; use 0 (load in the trial's process) or more"
            )
        if self.epochs < 1:
            raise CodesignError(f"epochs={self.epochs}; train for at least 1 epoch")
        if self.batch_size < 1:
            raise CodesignError(f"batch_size={self.batch_size}; use a positive batch size")
        if self.lr <= 0:
            raise CodesignError(f"lr={self.lr}; use a positive learning rate")


@dataclass(frozen=True)
class TrialConfig:
    """One point of the search: architecture, data, per-layer precision, annealing, budget.

    `model` / `dataset` are registered names or references to user code (`codesign.refs`).
    `num_classes` and `input_shape` (one sample, no batch dimension) fix the shapes before any
    data loads; None reads them from the dataset. `init` is a float state dict of the model
    that training starts from (a checkpoint or the study's pretrained network).
    """

    model: str
    dataset: str
    layers: dict[str, LayerQuant] = field(default_factory=dict)
    anneal: AnnealConfig = field(default_factory=AnnealConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    model_args: dict[str, Any] = field(default_factory=dict)
    dataset_args: dict[str, Any] = field(default_factory=dict)
    num_classes: int | None = None
    input_shape: tuple[int, ...] | None = None
    init: str | None = None

    def __post_init__(self) -> None:
        check_field_types(self)
        for name in ("model", "dataset"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise CodesignError(f"{name}={value!r}; give a registered name or a reference "
                                    "(path/to/file.py:function)")
        if self.init is not None and not isinstance(self.init, str):
            raise CodesignError(f"init={self.init!r}; give the path of a float checkpoint")
        if self.num_classes is not None and (
            not isinstance(self.num_classes, int) or self.num_classes < 2
        ):
            raise CodesignError(f"num_classes={self.num_classes!r}; use an integer >= 2")
        if self.input_shape is not None:
            object.__setattr__(self, "input_shape", checked_shape(self.input_shape))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "trial config") -> TrialConfig:
        if not isinstance(data, dict):
            raise CodesignError(f"{source}: expected a JSON object at the top level")
        reject_unknown(data, [f.name for f in fields(cls)], source)
        for required in ("model", "dataset"):
            if required not in data:
                raise CodesignError(f"{source}: missing field '{required}'")
        layers_raw = data.get("layers", {})
        if not isinstance(layers_raw, dict):
            raise CodesignError(f"{source}: 'layers' must map layer names to precisions")
        layers = {
            name: _build(LayerQuant, spec, f"{source}: layers.{name}")
            for name, spec in layers_raw.items()
        }
        anneal = _build(AnnealConfig, data.get("anneal", {}), f"{source}: anneal")
        train = _build(TrainConfig, data.get("train", {}), f"{source}: train")
        args = {key: data.get(key, {}) for key in ("model_args", "dataset_args")}
        try:
            return cls(
                model=data["model"],
                dataset=data["dataset"],
                layers=layers,
                anneal=anneal,
                train=train,
                **{key: dict(v) if isinstance(v, dict) else v for key, v in args.items()},
                num_classes=data.get("num_classes"),
                input_shape=data.get("input_shape"),
                init=data.get("init"),
            )
        except CodesignError as err:
            raise CodesignError(f"{source}: {err}") from None

    @classmethod
    def from_json_file(cls, path: str | Path) -> TrialConfig:
        from codesign.userfile import load_json

        return cls.from_dict(load_json(path, "trial config"), source=str(path))


def checked_shape(shape: Any, what: str = "input_shape") -> tuple[int, ...]:
    """One sample's shape (no batch dimension) as a tuple of positive sizes."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, list | tuple) or not shape or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape
    ):
        raise CodesignError(
            f"{what}={shape!r}; give one sample's sizes without the batch, e.g. [1, 28, 28] "
            "or [64]"
        )
    return tuple(shape)


def _build(kind: type, values: Any, where: str) -> Any:
    """Construct a config dataclass from a mapping, naming the bad field on failure."""
    if not isinstance(values, dict):
        raise CodesignError(f"{where}: expected a mapping, got {type(values).__name__}")
    reject_unknown(values, [f.name for f in fields(kind)], where)
    try:
        return kind(**values)
    except CodesignError as err:
        raise CodesignError(f"{where}: {err}") from None
    except TypeError as err:
        raise CodesignError(f"{where}: {err}") from None
