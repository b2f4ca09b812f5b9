"""A search space: a validated space file that turns an Optuna trial into a `TrialConfig`.

Sampling is define-by-run: the per-layer fields are suggested for the layers the model really
has (`codesign.nn.quantizable_layers`), so one file serves any depth. Parameter names are
`<layer>.<field>` (e.g. `conv1.w_bits`), `anneal.<field>` and `train.<field>`; a field fixed
in the file is not a parameter at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.config import (
    AnnealConfig,
    LayerQuant,
    TrainConfig,
    TrialConfig,
)
from codesign.errors import CodesignError
from codesign.formats import (
    IMPLIED_BITS,
    MAX_POW2_BITS,
    MIN_POW2_BITS,
    bits_problem,
    format_for_bits,
)
from codesign.space._choice import Choice, parse_choice
from codesign.space._fields import (
    ANNEAL_FIELDS,
    AUTO_FORMAT,
    LAYER_FIELDS,
    TRAIN_FIELDS,
    FieldRule,
)
from codesign.space._objectives import (
    Constraint,
    Objective,
    parse_constraints,
    parse_objectives,
)

if TYPE_CHECKING:
    import optuna

_TOP_KEYS = {
    "name", "description", "model", "model_args", "dataset", "dataset_args",
    "train", "layers", "overrides", "anneal", "objectives", "constraints", "resources",
}
# What one trial reserves on a Ray cluster; `--cpus-per-trial` / `--gpus-per-trial` win.
RESOURCE_KEYS = ("cpus_per_trial", "gpus_per_trial")


@dataclass(frozen=True)
class LayerRule:
    """An override: layers whose name fully matches `pattern` (or at `index`) get `fields`.

    A rule that sets bits but no format gives its layers the format those bits imply, so
    `w_bits: 8` means 8 bits even where `layers` offers ternary or binary weights.
    """

    fields: dict[str, Choice]
    pattern: str | None = None
    index: int | None = None

    def selects(self, name: str, position: int, count: int) -> bool:
        if self.pattern is not None:
            return re.fullmatch(self.pattern, name) is not None
        return -count <= self.index < count and position == self.index % count

    def describe(self) -> str:
        return f"match '{self.pattern}'" if self.pattern is not None else f"index {self.index}"


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
    _layers: list[str] | None = field(default=None, repr=False)

    # ---- the model's layers -------------------------------------------------------------
    def layer_names(self) -> list[str]:
        """Quantizable layers of the float model, in registration order (built once)."""
        if self._layers is None:
            from codesign.data import dataset_info
            from codesign.models import create_model
            from codesign.nn import quantizable_layers

            info = dataset_info(self.dataset, **self.dataset_args)
            model = create_model(
                self.model, info.num_classes, info.in_channels, info.image_size,
                **self.model_args,
            )
            names = list(quantizable_layers(model))
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

    # ---- the objectives -----------------------------------------------------------------
    @property
    def cost_models(self) -> list[str]:
        """Cost models the objectives and constraints need, in order of first use."""
        names = [o.cost_model for o in self.objectives if o.cost_model]
        names += [c.cost_model for c in self.constraints]
        return list(dict.fromkeys(names))

    # ---- configurations -----------------------------------------------------------------
    def sample(
        self, trial: optuna.Trial, epochs: int | None = None, seed: int | None = None
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

    def uniform_bits(self) -> list[int]:
        """Bit-widths every searchable weight and activation field admits: the highest, the
        lowest and the median of them, highest first (the uniform baselines of a search)."""
        names = self.layer_names()
        fields_ = [self.layer_choices(n)[key] for n in names for key in ("w_bits", "a_bits")]
        searchable = [c for c in fields_ if not c.is_fixed]
        if not searchable:
            return []
        common = sorted({int(b) for c in searchable for b in c.candidates()
                         if all(other.admits(b) for other in searchable)}, reverse=True)
        if len(common) <= 3:
            return common
        return [common[0], common[len(common) // 2], common[-1]]

    def uniform_params(self, bits: int) -> dict[str, Any] | None:
        """Optuna parameters of the config with every searchable layer at `bits` and every
        other field at its default (see `fixed_config`), for `study.enqueue_trial`; None when
        that config lies outside the space (a format the space does not offer)."""
        cfg = self.fixed_config(w_bits=bits, a_bits=bits)
        params: dict[str, Any] = {}
        for name, quant in cfg.layers.items():
            for key, choice in self.layer_choices(name).items():
                if not choice.is_fixed:
                    value = getattr(quant, key)
                    if not choice.admits(value):
                        return None
                    params[f"{name}.{key}"] = value
        for section, choices in (("anneal", self.anneal), ("train", self.train)):
            values = getattr(cfg, section)
            for key, choice in choices.items():
                if not choice.is_fixed:
                    params[f"{section}.{key}"] = getattr(values, key)
        return params

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
        try:
            return TrialConfig(
                model=self.model,
                dataset=self.dataset,
                layers=layers,
                anneal=AnnealConfig(**anneal),
                train=TrainConfig(**train),
                model_args=dict(self.model_args),
                dataset_args=dict(self.dataset_args),
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


# ---- parsing ----------------------------------------------------------------------------
def parse_space(raw: Any, source: str, default_name: str = "space") -> SearchSpace:
    """Validate a space mapping (already read from YAML); errors name `source` and the field."""
    where = f"search space {source}"
    if not isinstance(raw, dict):
        raise CodesignError(f"{where}: expected a mapping at the top level (model: ..., ...)")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise CodesignError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    for key in ("model", "dataset", "objectives"):
        if key not in raw:
            raise CodesignError(f"{where}: missing field '{key}'")
    for key in ("model", "dataset"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise CodesignError(f"{where}: '{key}' must be a registered name")
    for key in ("model_args", "dataset_args"):
        if not isinstance(raw.get(key, {}), dict):
            raise CodesignError(f"{where}: '{key}' must be a mapping of keyword arguments")

    layer_fields = _section(raw.get("layers", {}), LAYER_FIELDS, f"{where}: layers")
    layer_fields = {**_layer_defaults(), **layer_fields}
    rules = _rules(raw.get("overrides", []), where)
    anneal = _section(raw.get("anneal", {}), ANNEAL_FIELDS, f"{where}: anneal")
    if isinstance(raw.get("train"), dict) and "seed" in raw["train"]:
        raise CodesignError(f"{where}: train.seed is set per search; use --seed instead")
    train = _section(raw.get("train", {}), TRAIN_FIELDS, f"{where}: train")
    _check_window(anneal, where)
    for scope, fields_ in [("layers", layer_fields)] + [
        (f"overrides[{i}]", {**layer_fields, **r.fields}) for i, r in enumerate(rules)
    ]:
        _check_pow2_bits(fields_, f"{where}: {scope}")
    space = SearchSpace(
        name=str(raw.get("name", default_name)),
        source=source,
        model=raw["model"],
        dataset=raw["dataset"],
        model_args=dict(raw.get("model_args", {})),
        dataset_args=dict(raw.get("dataset_args", {})),
        layer_fields=layer_fields,
        rules=rules,
        anneal=anneal,
        train=train,
        objectives=parse_objectives(raw["objectives"], where),
        constraints=parse_constraints(raw.get("constraints"), where),
        raw=raw,
        description=str(raw.get("description", "")),
        resources=_resources(raw.get("resources"), where),
    )
    _check_registered(space, where)
    return space


def _resources(raw: Any, where: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - set(RESOURCE_KEYS):
        raise CodesignError(
            f"{where}: resources must be a mapping with {' and/or '.join(RESOURCE_KEYS)}"
        )
    cpus, gpus = raw.get("cpus_per_trial", 1), raw.get("gpus_per_trial", 0)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise CodesignError(f"{where}: resources.cpus_per_trial is {cpus!r}; use 1 or more")
    if isinstance(gpus, bool) or not isinstance(gpus, int | float) or gpus < 0:
        raise CodesignError(f"{where}: resources.gpus_per_trial is {gpus!r}; use 0 or more")
    return dict(raw)


def _layer_defaults() -> dict[str, Choice]:
    fixed = {"w_bits": 8, "a_bits": 8, "w_format": AUTO_FORMAT, "a_format": AUTO_FORMAT,
             "estimator": "ana"}
    return {k: Choice(kind="fixed", values=(v,), default=v) for k, v in fixed.items()}


def _section(raw: Any, rules: dict[str, FieldRule], where: str) -> dict[str, Choice]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CodesignError(f"{where}: expected a mapping of field: choices")
    unknown = sorted(set(raw) - set(rules))
    if unknown:
        raise CodesignError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(rules)}")
    return {
        key: parse_choice(value, f"{where}.{key}", *rules[key]) for key, value in raw.items()
    }


def _rules(raw: Any, where: str) -> list[LayerRule]:
    if not isinstance(raw, list):
        raise CodesignError(
            f"{where}: 'overrides' must be a list of {{match: REGEX, <field>: ...}} rules"
        )
    rules = []
    for i, item in enumerate(raw):
        here = f"{where}: overrides[{i}]"
        if not isinstance(item, dict):
            raise CodesignError(f"{here}: write {{match: REGEX, w_bits: 8}} or {{index: 0, ...}}")
        item = dict(item)
        pattern, index = item.pop("match", None), item.pop("index", None)
        if (pattern is None) == (index is None):
            raise CodesignError(f"{here}: give exactly one of 'match' (a regex) or 'index'")
        if pattern is not None:
            if not isinstance(pattern, str):
                raise CodesignError(f"{here}: 'match' must be a regex string")
            try:
                re.compile(pattern)
            except re.error as err:
                raise CodesignError(f"{here}: bad regex '{pattern}' ({err}); fix it") from None
        elif isinstance(index, bool) or not isinstance(index, int):
            raise CodesignError(f"{here}: 'index' must be an integer (0 first, -1 last)")
        if not item:
            raise CodesignError(f"{here}: the rule sets no field; add e.g. w_bits: 8")
        fields_ = _section(item, LAYER_FIELDS, here)
        rules.append(LayerRule(fields=fields_, pattern=pattern, index=index))
    return rules


def _check_window(anneal: dict[str, Choice], where: str) -> None:
    defaults = AnnealConfig()
    start = anneal.get("start")
    end = anneal.get("end")
    latest_start = max(start.candidates()) if start else defaults.start
    earliest_end = min(end.candidates()) if end else defaults.end
    if not latest_start < earliest_end:
        raise CodesignError(
            f"{where}: anneal.start (up to {latest_start}) can reach anneal.end "
            f"(from {earliest_end}); keep every start below every end"
        )


def _check_pow2_bits(fields_: dict[str, Choice], where: str) -> None:
    bad = sorted(b for b in fields_["w_bits"].candidates() if bits_problem(b, "pow2"))
    if "pow2" in fields_["w_format"].candidates() and bad:
        raise CodesignError(
            f"{where}: w_format may be pow2 while w_bits may be {bad[0]}; power-of-two "
            f"weights need {MIN_POW2_BITS} to {MAX_POW2_BITS} bits, so drop {bad[0]} from "
            "w_bits or pow2 from w_format"
        )


def _check_registered(space: SearchSpace, where: str) -> None:
    """Unknown model, dataset or estimator names fail at load time, not at the first trial."""
    from codesign.data import DATASETS
    from codesign.models import MODELS

    for kind, registry, name in (("model", MODELS, space.model),
                                 ("dataset", DATASETS, space.dataset)):
        if name not in registry:
            raise CodesignError(
                f"{where}: unknown {kind} '{name}'; choose one of: {', '.join(registry.names())}"
            )
    from codesign.quant import ESTIMATORS

    estimators = set(space.layer_fields["estimator"].candidates())
    for rule in space.rules:
        if "estimator" in rule.fields:
            estimators.update(rule.fields["estimator"].candidates())
    for name in sorted(estimators):
        if name not in ESTIMATORS:
            raise CodesignError(
                f"{where}: unknown estimator '{name}'; choose one of: "
                f"{', '.join(ESTIMATORS.names())}"
            )


def space_path(name_or_path: str | Path) -> tuple[Path | None, str]:
    """Resolve a shipped space name or a file path to (path, display name)."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate, candidate.stem
    from importlib import resources

    shipped = resources.files("search_spaces") / f"{text}.yaml"
    if shipped.is_file():
        return Path(str(shipped)), text
    return None, text


def shipped_spaces() -> list[str]:
    """Names of the space files shipped in the `search_spaces` package."""
    from importlib import resources

    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files("search_spaces").iterdir()
        if entry.name.endswith(".yaml")
    )


def load_space(name_or_path: str | Path) -> SearchSpace:
    """A shipped space by name (`digits_cnn`) or a YAML file by path, validated."""
    import yaml

    path, name = space_path(name_or_path)
    if path is None:
        raise CodesignError(
            f"unknown search space '{name}'; give a YAML file or one of: "
            f"{', '.join(shipped_spaces())}"
        )
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CodesignError(f"search space file {path} does not exist; check the path") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise CodesignError(f"search space {path}: {problem}{at}; fix the YAML syntax") from None
    return parse_space(raw, source=str(path), default_name=name)


def space_from_dict(raw: dict[str, Any], source: str) -> SearchSpace:
    """Rebuild a space stored with a study (its raw mapping), e.g. for re-scoring or a worker."""
    return parse_space(raw, source=source, default_name=str(raw.get("name", "space")))
