"""A search space: what a validated space file offers, turning an Optuna trial (or fixed bits)
into a `TrialConfig`.

Sampling is define-by-run: the per-layer fields are suggested for the layers the model really
has (`codesign.nn.quantizable_layers`), so one file serves any depth. Parameter names are
`<layer>.<field>` (e.g. `conv1.w_bits`), `anneal.<field>` and `train.<field>`; a field fixed
in the file is not a parameter at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from codesign.config import (
    AnnealConfig,
    LayerQuant,
    TrainConfig,
    TrialConfig,
)
from codesign.errors import CodesignError
from codesign.formats import IMPLIED_BITS, bits_problem, format_for_bits
from codesign.objective import Objective
from codesign.space._choice import Choice
from codesign.space._fields import AUTO_FORMAT
from codesign.space._init import InitSpec
from codesign.space._objectives import Constraint
from codesign.space._rules import LayerRule

if TYPE_CHECKING:
    import optuna


class Precision(NamedTuple):
    """One (format, bits) a layer's weights or input activations may take, and the Optuna
    parameters that select it (empty where the space fixes both)."""

    fmt: str
    bits: int
    params: dict[str, Any]


@dataclass
class SearchSpace:
    """Everything a search needs besides the sampler: model, data, choices, objectives."""

    name: str
    source: str
    model: str
    dataset: str
    model_args: dict[str, Any]
    dataset_args: dict[str, Any]
    layer_fields: dict[str, Choice]
    rules: list[LayerRule]
    anneal: dict[str, Choice]
    train: dict[str, Choice]
    objectives: list[Objective]
    constraints: list[Constraint]
    raw: dict[str, Any] = field(repr=False)
    description: str = ""
    resources: dict[str, float] = field(default_factory=dict)
    num_classes: int | None = None
    input_shape: tuple[int, ...] | None = None
    init: InitSpec | None = None
    # Sensitivity-seeded trials a new study starts with (`search: {seeds: K}`; 0: none).
    seeds: int = 0
    _layers: list[str] | None = field(default=None, repr=False)
    _shape: tuple[int, tuple[int, ...]] | None = field(default=None, repr=False)

    # ---- the data -----------------------------------------------------------------------
    def data_shape(self) -> tuple[int, tuple[int, ...]]:
        """(classes, one sample's shape): declared in the file, else read from the dataset
        (a user dataset is loaded once for it)."""
        if self._shape is None:
            from codesign.network import data_shape

            probe = TrialConfig(model=self.model, dataset=self.dataset,
                                dataset_args=dict(self.dataset_args),
                                num_classes=self.num_classes, input_shape=self.input_shape)
            try:
                self._shape = data_shape(probe)
            except CodesignError as err:
                raise CodesignError(f"search space {self.source}: {err}") from None
        return self._shape

    def float_model(self) -> Any:
        """The float model the space searches (random weights)."""
        from codesign.models import build_network

        classes, shape = self.data_shape()
        try:
            return build_network(self.model, classes, shape, **self.model_args)
        except CodesignError as err:
            raise CodesignError(f"search space {self.source}: {err}") from None

    # ---- the model's layers -------------------------------------------------------------
    def layer_names(self) -> list[str]:
        """Quantizable layers of the float model, in registration order (built once)."""
        if self._layers is None:
            from codesign.nn import quantizable_layers

            names = list(quantizable_layers(self.float_model()))
            if not names:
                raise CodesignError(
                    f"search space {self.source}: model '{self.model}' has no conv or linear "
                    "layer to quantize; pick another model"
                )
            for rule in self.rules:
                if not any(rule.selects(n, i, len(names)) for i, n in enumerate(names)):
                    raise CodesignError(
                        f"search space {self.source}: overrides rule {rule.describe()} selects "
                        f"no layer of '{self.model}'; its layers are: {', '.join(names)}"
                    )
            self._layers = names
        return self._layers

    def layer_choices(self, name: str) -> dict[str, Choice]:
        """The per-layer fields after the override rules (later rules win, field by field)."""
        names = self.layer_names()
        position = names.index(name)
        choices = dict(self.layer_fields)
        for rule in self.rules:
            if rule.selects(name, position, len(names)):
                choices.update(rule.fields)
        return choices

    def layer_precisions(self, name: str) -> dict[str, list[Precision]]:
        """Every precision layer `name` may take, for weights (`"w"`) and input activations
        (`"a"`), each once: what `sample` can draw for the layer, read the same way."""
        choices = self.layer_choices(name)
        overridden = self._overridden_fields(name)
        found: dict[str, list[Precision]] = {}
        for role in ("w", "a"):
            fmt_key, bits_key = f"{role}_format", f"{role}_bits"
            fmt_choice, bits_choice = choices[fmt_key], choices[bits_key]
            if bits_key in overridden and fmt_key not in overridden:
                formats, fmt_param = (AUTO_FORMAT,), False
            else:
                formats, fmt_param = fmt_choice.candidates(), not fmt_choice.is_fixed
            options: dict[tuple[str, int], Precision] = {}
            for fmt in formats:
                params = {f"{name}.{fmt_key}": fmt} if fmt_param else {}
                if fmt in IMPLIED_BITS:
                    options.setdefault((fmt, IMPLIED_BITS[fmt]),
                                       Precision(fmt, IMPLIED_BITS[fmt], params))
                    continue
                for bits in _int_values(bits_choice):
                    actual = format_for_bits(bits) if fmt == AUTO_FORMAT else fmt
                    if bits_problem(bits, actual) is None:
                        extra = {} if bits_choice.is_fixed else {f"{name}.{bits_key}": bits}
                        options.setdefault((actual, bits),
                                           Precision(actual, bits, {**params, **extra}))
            found[role] = list(options.values())
        return found

    # ---- the objectives -----------------------------------------------------------------
    @property
    def cost_models(self) -> list[str]:
        """Cost models the objectives and constraints need, in order of first use."""
        names = [o.cost_model for o in self.objectives if o.cost_model]
        names += [c.cost_model for c in self.constraints]
        return list(dict.fromkeys(names))

    # ---- configurations -----------------------------------------------------------------
    def sample(
        self, trial: optuna.trial.BaseTrial, epochs: int | None = None, seed: int | None = None
    ) -> TrialConfig:
        """Define-by-run: suggest every searchable field through `trial`."""

        def pick(choice: Choice, name: str) -> Any:
            return choice.suggest(trial, name)

        return self._build(pick, epochs=epochs, seed=seed)

    def fixed_config(
        self,
        w_bits: int | None = None,
        a_bits: int | None = None,
        epochs: int | None = None,
        seed: int | None = None,
    ) -> TrialConfig:
        """Every layer at the given bits (fields fixed by override rules still win);
        everything else at the space's defaults. The uniform-precision baseline of a search.
        """
        forced = {"w_bits": w_bits, "a_bits": a_bits}

        def pick(choice: Choice, name: str) -> Any:
            return choice.default

        return self._build(pick, epochs=epochs, seed=seed, forced=forced)

    def _build(
        self,
        pick: Any,
        epochs: int | None,
        seed: int | None,
        forced: dict[str, int | None] | None = None,
    ) -> TrialConfig:
        layers = {}
        for name in self.layer_names():
            layers[name] = self._layer(name, pick, forced or {})
        anneal = {key: pick(choice, f"anneal.{key}") for key, choice in self.anneal.items()}
        train = {key: pick(choice, f"train.{key}") for key, choice in self.train.items()}
        if epochs is not None:
            train["epochs"] = epochs
        if seed is not None:
            train["seed"] = seed
        where = f"search space {self.source}"
        classes, shape = self.data_shape()
        try:
            return TrialConfig(
                model=self.model,
                dataset=self.dataset,
                layers=layers,
                anneal=AnnealConfig(**anneal),
                train=TrainConfig(**train),
                model_args=dict(self.model_args),
                dataset_args=dict(self.dataset_args),
                num_classes=classes,
                input_shape=shape,
                init=self.init.checkpoint if self.init else None,
            )
        except CodesignError as err:
            raise CodesignError(f"{where}: {err}") from None

    def _layer(self, name: str, pick: Any, forced: dict[str, int | None]) -> LayerQuant:
        choices = self.layer_choices(name)
        overridden = self._overridden_fields(name)
        values: dict[str, Any] = {}
        for role in ("w", "a"):
            fmt_key, bits_key = f"{role}_format", f"{role}_bits"
            if bits_key in overridden and fmt_key not in overridden:
                # A rule's bits outrank a format inherited from `layers` (ternary has 2 bits).
                fmt_value = AUTO_FORMAT
            else:
                fmt_value = pick(choices[fmt_key], f"{name}.{fmt_key}")
            given = forced.get(bits_key)
            if given is not None and bits_key not in overridden:
                # The caller's bits win unless an override rule fixes the format.
                if fmt_value in IMPLIED_BITS and fmt_key not in overridden:
                    fmt_value = AUTO_FORMAT
                bits = given
            elif fmt_value in IMPLIED_BITS:
                bits = IMPLIED_BITS[fmt_value]
            else:
                bits = pick(choices[bits_key], f"{name}.{bits_key}")
            if fmt_value == AUTO_FORMAT:
                fmt_value = format_for_bits(bits)
            elif fmt_value in IMPLIED_BITS:
                bits = IMPLIED_BITS[fmt_value]
            values[fmt_key], values[bits_key] = fmt_value, bits
        values["estimator"] = pick(choices["estimator"], f"{name}.estimator")
        try:
            return LayerQuant(**values)
        except CodesignError as err:
            raise CodesignError(f"search space {self.source}: layer {name}: {err}") from None

    def _overridden_fields(self, name: str) -> set[str]:
        names = self.layer_names()
        position = names.index(name)
        fields_: set[str] = set()
        for rule in self.rules:
            if rule.selects(name, position, len(names)):
                fields_.update(rule.fields)
        return fields_



def _int_values(choice: Choice) -> list[int]:
    """Every value of an integer field: its choices, or each step of its range."""
    if choice.kind in ("fixed", "categorical"):
        return [int(v) for v in choice.values]
    low, high = choice.bounds()
    return list(range(int(low), int(high) + 1, int(choice.step or 1)))
