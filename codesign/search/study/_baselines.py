"""The trials a new study starts from: the uniform-precision baselines, then the
sensitivity seeds.

Every layer at the same bits (the highest, the median and the lowest that every searchable
weight and activation field admits) is queued as the first trials of a new study, so that its
front is never worse than them and the samplers start from known corners. The seeds, the
least sensitive configurations at spread cost budgets (`_seeds.py`), follow them, tagged
with their budget; both keep every field other than the layers' precision at its default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codesign.record import Key

if TYPE_CHECKING:
    import optuna

    from codesign.search.study._seeds import Seed
    from codesign.space import SearchSpace

# Baselines queued at most: the highest, median and lowest common bits.
MAX_BASELINES = 3


def uniform_bits(space: SearchSpace) -> list[int]:
    """Bit-widths every searchable weight and activation field admits: the highest, the
    lowest and the median of them, highest first."""
    names = space.layer_names()
    fields_ = [space.layer_choices(n)[key] for n in names for key in ("w_bits", "a_bits")]
    searchable = [c for c in fields_ if not c.is_fixed]
    if not searchable:
        return []
    common = sorted({int(b) for c in searchable for b in c.candidates()
                     if all(other.admits(b) for other in searchable)}, reverse=True)
    if len(common) <= MAX_BASELINES:
        return common
    return [common[0], common[len(common) // 2], common[-1]]


def uniform_params(space: SearchSpace, bits: int) -> dict[str, Any] | None:
    """Optuna parameters of the config with every searchable layer at `bits` and every other
    field at its default (`SearchSpace.fixed_config`), for `study.enqueue_trial`; None when
    that config lies outside the space (a format the space does not offer)."""
    cfg = space.fixed_config(w_bits=bits, a_bits=bits)
    params: dict[str, Any] = {}
    for name, quant in cfg.layers.items():
        for key, choice in space.layer_choices(name).items():
            if not choice.is_fixed:
                value = getattr(quant, key)
                if not choice.admits(value):
                    return None
                params[f"{name}.{key}"] = value
    return {**params, **default_params(space)}


def default_params(space: SearchSpace) -> dict[str, Any]:
    """Optuna parameters of every searchable field outside the layers at its default."""
    cfg = space.fixed_config()
    params: dict[str, Any] = {}
    for section, choices in (("anneal", space.anneal), ("train", space.train)):
        values = getattr(cfg, section)
        for key, choice in choices.items():
            if not choice.is_fixed:
                params[f"{section}.{key}"] = getattr(values, key)
    return params


def enqueue_baselines(
    study: optuna.Study, space: SearchSpace, limit: int = MAX_BASELINES
) -> list[int]:
    """Queue the uniform-precision configs as the first trials of `study`, at most `limit`;
    returns the bits queued."""
    queued = []
    for bits in uniform_bits(space)[:limit]:
        params = uniform_params(space, bits)
        if params is not None:
            study.enqueue_trial(params, user_attrs={Key.BASELINE_BITS: bits})
            queued.append(bits)
    return queued


def enqueue_seeds(study: optuna.Study, seeds: list[Seed]) -> None:
    """Queue the sensitivity seeds (after the baselines), each tagged with its budget."""
    for seed in seeds:
        study.enqueue_trial(seed.params, user_attrs={Key.SEED_BUDGET: seed.budget})
