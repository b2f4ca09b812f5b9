"""A space file's mapping, validated field by field into a `SearchSpace`.

Every mistake is one `CodesignError` line naming the file, the field and the fix; names of
models, datasets and estimators are checked against their registries here, at load time, not
at the first trial.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from codesign.config import AnnealConfig, checked_shape
from codesign.errors import CodesignError, reject_unknown
from codesign.formats import MAX_POW2_BITS, MIN_POW2_BITS, bits_problem
from codesign.refs import canonical
from codesign.space._choice import Choice, parse_choice
from codesign.space._fields import (
    ANNEAL_FIELDS,
    AUTO_FORMAT,
    LAYER_FIELDS,
    TRAIN_FIELDS,
    FieldRule,
)
from codesign.space._init import parse_init
from codesign.space._objectives import parse_constraints, parse_objectives
from codesign.space._rules import LayerRule
from codesign.space._space import SearchSpace

_TOP_KEYS = {
    "name", "description", "model", "model_args", "dataset", "dataset_args",
    "train", "layers", "overrides", "anneal", "objectives", "constraints", "resources",
    "input_shape", "num_classes", "init", "search",
}
# Keys of the `search` section: how a study over the space starts.
SEARCH_KEYS = ("seeds",)
# What one trial reserves on a Ray cluster; `--cpus-per-trial` / `--gpus-per-trial` win.
RESOURCE_KEYS = ("cpus_per_trial", "gpus_per_trial")


def parse_space(raw: Any, source: str, default_name: str = "space") -> SearchSpace:
    """Validate a space mapping (already read from YAML); errors name `source` and the field."""
    where = f"search space {source}"
    if not isinstance(raw, dict):
        raise CodesignError(f"{where}: expected a mapping at the top level (model: ..., ...)")
    reject_unknown(raw, _TOP_KEYS, where)
    for key in ("model", "dataset", "objectives"):
        if key not in raw:
            raise CodesignError(f"{where}: missing field '{key}'")
    for key in ("model", "dataset"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise CodesignError(
                f"{where}: '{key}' must be a registered name, path/to/file.py:function or "
                "package.module:function"
            )
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
    base_dir = _base_dir(source)
    space = SearchSpace(
        name=str(raw.get("name", default_name)),
        source=source,
        model=canonical(raw["model"], base_dir),
        dataset=canonical(raw["dataset"], base_dir),
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
        num_classes=_num_classes(raw.get("num_classes"), where),
        input_shape=_input_shape(raw.get("input_shape"), where),
        init=parse_init(raw.get("init"), base_dir, where),
        seeds=_seeds(raw.get("search"), where),
    )
    _check_registered(space, where)
    return space


def _base_dir(source: str) -> Path | None:
    """The folder of the space file, against which file references resolve."""
    path = Path(source)
    return path.resolve().parent if path.is_file() or path.is_absolute() else None


def _num_classes(raw: Any, where: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 2:
        raise CodesignError(f"{where}: num_classes is {raw!r}; use an integer >= 2")
    return raw


def _input_shape(raw: Any, where: str) -> tuple[int, ...] | None:
    if raw is None:
        return None
    try:
        return checked_shape(raw)
    except CodesignError as err:
        raise CodesignError(f"{where}: {err}") from None


def _seeds(raw: Any, where: str) -> int:
    """`search: {seeds: K}`: sensitivity-seeded trials a new study starts with (0: none)."""
    if raw is None:
        return 0
    if not isinstance(raw, dict):
        raise CodesignError(f"{where}: search must be a mapping, e.g. search: {{seeds: 4}}")
    reject_unknown(raw, SEARCH_KEYS, f"{where}: search", "key")
    seeds = raw.get("seeds", 0)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 0:
        raise CodesignError(f"{where}: search.seeds is {seeds!r}; use 0 (off) or more")
    return seeds


def _resources(raw: Any, where: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CodesignError(
            f"{where}: resources must be a mapping with {' and/or '.join(RESOURCE_KEYS)}"
        )
    reject_unknown(raw, RESOURCE_KEYS, f"{where}: resources", "key")
    cpus, gpus = raw.get("cpus_per_trial", 1), raw.get("gpus_per_trial", 0)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise CodesignError(f"{where}: resources.cpus_per_trial is {cpus!r}; use 1 or more")
    if isinstance(gpus, bool) or not isinstance(gpus, int | float) or not 0 <= gpus < math.inf:
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
    reject_unknown(raw, rules, where)
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
    from codesign.refs import DATASET_GROUP, MODEL_GROUP, load_function, names_user_code

    for kind, registry, name, group in (("model", MODELS, space.model, MODEL_GROUP),
                                        ("dataset", DATASETS, space.dataset, DATASET_GROUP)):
        if names_user_code(name, registry, group):
            try:
                load_function(name, group, kind)
            except CodesignError as err:
                raise CodesignError(f"{where}: {err}") from None
        elif name not in registry:
            raise CodesignError(
                f"{where}: unknown {kind} '{name}'; choose one of: {', '.join(registry.names())}"
                ", or give path/to/file.py:function"
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
