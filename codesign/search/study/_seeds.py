"""Sensitivity seeds: the configurations an integer program picks from per-layer
sensitivities and costs, queued as a new study's first trials after the uniform baselines.

Once per study, before its first trial: the float network the trials start from is measured
(`codesign.sensitivity`: Hutchinson's Hessian trace times the quantization error of each
offered precision, per layer), the sensitivity is stored in the study (`Key.SENSITIVITY`,
JSON) and written to the run directory (`sensitivity.csv`, `sensitivity.png`), and for K
budgets of the study's first cost objective the least sensitive configuration within that
budget and every constraint of the space is queued, tagged with its budget
(`Key.SEED_BUDGET`). The budgets: the cost of each uniform baseline within the constraints
(the seed there is the least sensitive configuration other than the uniform one: mixed
precision at the uniform's own budget, as HAWQ-V3 compares them), and the rest spread
between the cheapest configuration and the cheapest of those baselines, where no uniform
precision reaches.

Per-layer costs: a layer's cost at each precision is its own row of the cost model's
per-layer metrics, the other layers at the space's default precision. That is exact for
metrics that are sums of independent per-layer terms (BOPs, MACs, weight bits, model size, op
counts); a metric whose total is the maximum over layers (peak activation memory) becomes
one linear constraint per layer; for metrics whose layers interact (activation traffic reads
the width of the next layer; `fpga_dataflow` folds the whole network into its LUT budget) the
per-layer rows are an approximation, so every seed's real costs are checked against the
space's constraints before it is queued.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from codesign.errors import CodesignError
from codesign.record import Key

if TYPE_CHECKING:
    import optuna

    from codesign.config import LayerQuant
    from codesign.objective import Objective
    from codesign.search.store import SearchSettings
    from codesign.sensitivity import Sensitivity
    from codesign.space import Precision, SearchSpace

# Rademacher draws and calibration samples of the sensitivity (docs/benchmarks.md, its cost).
HESSIAN_SAMPLES = 16
CALIBRATION_BATCH = 128
SENSITIVITY_CSV = "sensitivity.csv"
SENSITIVITY_PNG = "sensitivity.png"

Option = tuple["Precision", "Precision"]  # (weight, input activation) of one layer


@dataclass(frozen=True)
class Seed:
    """A configuration picked by the integer program: its Optuna parameters, the budget it
    was picked under, and its predicted cost and sensitivity."""

    params: dict[str, Any]
    budget: float
    cost: float
    sensitivity: float


def layer_options(space: SearchSpace) -> dict[str, list[Option]]:
    """Every (weight, input) precision pair each layer may take."""
    options = {}
    for name in space.layer_names():
        found = space.layer_precisions(name)
        options[name] = list(itertools.product(found["w"], found["a"]))
    return options


def measure_space(space: SearchSpace, weights: str | None, seed: int,
                  samples: int = HESSIAN_SAMPLES,
                  batch: int = CALIBRATION_BATCH) -> Sensitivity:
    """Sensitivity of the network the trials start from (`weights`, else its random
    initialisation under `seed`) on `batch` training samples drawn with `seed`."""
    import torch

    from codesign.data import load_dataset
    from codesign.network import load_float_weights
    from codesign.sensitivity import measure_sensitivity

    torch.manual_seed(seed)
    model = space.float_model()
    if weights:
        load_float_weights(model, weights)
    train = load_dataset(space.dataset, **space.dataset_args).train
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))  # type: ignore[arg-type]
    picked = [train[int(i)] for i in order[:batch]]
    inputs = torch.stack([torch.as_tensor(x) for x, _ in picked]).float()
    targets = torch.as_tensor([int(y) for _, y in picked])
    precisions = {
        name: {role: [(p.fmt, p.bits) for p in found] for role, found in
               space.layer_precisions(name).items()}
        for name in space.layer_names()
    }
    return measure_sensitivity(model, inputs, targets, precisions, samples=samples, seed=seed)


def option_sensitivity(sensitivity: Sensitivity, options: dict[str, list[Option]]
                       ) -> list[np.ndarray]:
    """Omega_w + Omega_a of every option of every layer."""
    return [
        np.array([sensitivity.layer(name).weight_term(w.fmt, w.bits)
                  + sensitivity.layer(name).input_term(a.fmt, a.bits) for w, a in opts])
        for name, opts in options.items()
    ]


def option_costs(space: SearchSpace, options: dict[str, list[Option]],
                 column: str) -> tuple[list[np.ndarray], bool, float]:
    """(per-layer cost of every option, whether the total is a sum, the part of the total
    no layer carries) of metric `column` = `cost_model.metric`; a refused option costs inf."""
    from codesign.network import network_layers
    from hw_models import BitMatrix, get_cost_model

    model_name, metric = column.rsplit(".", 1)
    model = get_cost_model(model_name)
    reference = space.fixed_config()
    costed = network_layers(reference)
    names = list(costed.names)
    base = BitMatrix.from_layer_quants([reference.layers], names)
    additive = metric not in model.max_metrics
    offset = 0.0
    if additive:
        total = float(model.totals(costed.arrays, base)[metric][0])
        offset = total - float(model.layer_metrics(costed.arrays, base)[metric].sum())
    costs = []
    for name, opts in options.items():
        configs = [{**reference.layers, name: _quant(reference.layers[name], w, a)}
                   for w, a in opts]
        costs.append(_layer_costs(model, costed.arrays, configs, names, names.index(name),
                                  metric))
    return costs, additive, offset


def _quant(template: LayerQuant, w: Precision, a: Precision) -> LayerQuant:
    import dataclasses

    return dataclasses.replace(template, w_format=w.fmt, w_bits=w.bits, a_format=a.fmt,
                               a_bits=a.bits)


def _layer_costs(model: Any, arrays: Any, configs: list[dict[str, LayerQuant]],
                 names: list[str], column: int, metric: str) -> np.ndarray:
    """Column `column` of `metric` for each config; inf where the model refuses one."""
    from hw_models import BitMatrix

    def costs(batch: list[dict[str, LayerQuant]]) -> np.ndarray:
        bits = BitMatrix.from_layer_quants(batch, names)
        return np.asarray(model.layer_metrics(arrays, bits)[metric][:, column], dtype=float)

    try:
        return costs(configs)
    except CodesignError:
        values = []
        for config in configs:
            try:
                values.append(float(costs([config])[0]))
            except CodesignError:
                values.append(math.inf)
        return np.array(values)


def pick_seeds(space: SearchSpace, objectives: list[Objective], sensitivity: Sensitivity,
               count: int) -> list[Seed]:
    """Up to `count` distinct least-sensitive configurations of the first cost objective,
    within every constraint, cheapest budget first: one at the cost of each uniform baseline
    (other than the baseline itself), the rest spread below the cheapest of them."""
    from codesign.sensitivity import Budget, least_sensitive, spread_budgets

    first = next((o for o in objectives if o.is_cost and o.direction == "min"), None)
    if first is None or count < 1:
        return []
    options = layer_options(space)
    scores = option_sensitivity(sensitivity, options)
    costs, additive, offset = option_costs(space, options, first.column)
    constraints = []
    for constraint in space.constraints:
        c_costs, c_additive, c_offset = option_costs(space, options, constraint.column)
        constraints.append(Budget(tuple(c_costs), constraint.limit - c_offset, c_additive))
    combine = sum if additive else max

    def total(choice: list[int]) -> float:
        return combine(c[i] for c, i in zip(costs, choice, strict=True)) + offset

    finite = [c[np.isfinite(c)] for c in costs]
    cheapest = combine(float(c.min()) for c in finite) + offset
    dearest = combine(float(c.max()) for c in finite) + offset
    for constraint in space.constraints:
        if constraint.column == first.column:
            dearest = min(dearest, constraint.limit)
    uniform = [choice for choice in uniform_choices(space, options)
               if cheapest < total(choice) <= dearest][-count:]
    plans = [(total(choice), [choice]) for choice in uniform]
    below = min((budget for budget, _ in plans), default=dearest)
    plans += [(budget, []) for budget in spread_budgets(cheapest, below, count - len(plans))]
    seeds: list[Seed] = []
    for budget, exclude in sorted(plans, key=lambda plan: plan[0]):
        limits = [Budget(tuple(costs), budget - offset, additive), *constraints]
        choice = least_sensitive(scores, limits, exclude=exclude)
        if choice is None:
            continue
        params = _params(space, options, choice)
        if any(seed.params == params for seed in seeds):
            continue
        seeds.append(Seed(
            params=params, budget=budget, cost=total(choice),
            sensitivity=float(sum(s[i] for s, i in zip(scores, choice, strict=True))),
        ))
    return seeds


def uniform_choices(space: SearchSpace, options: dict[str, list[Option]]) -> list[list[int]]:
    """The option index per layer of each uniform baseline the space holds, dearest first."""
    from codesign.search.study._baselines import uniform_bits

    found = []
    for bits in uniform_bits(space):
        layers = space.fixed_config(w_bits=bits, a_bits=bits).layers
        choice = []
        for name, opts in options.items():
            q = layers[name]
            wanted = (q.w_format, q.w_bits, q.a_format, q.a_bits)
            index = next((i for i, (w, a) in enumerate(opts)
                          if (w.fmt, w.bits, a.fmt, a.bits) == wanted), None)
            if index is None:
                break
            choice.append(index)
        else:
            found.append(choice)
    return found


def _params(space: SearchSpace, options: dict[str, list[Option]],
            choice: list[int]) -> dict[str, Any]:
    from codesign.search.study._baselines import default_params

    params: dict[str, Any] = {}
    for (_, opts), index in zip(options.items(), choice, strict=True):
        w, a = opts[index]
        params.update(w.params)
        params.update(a.params)
    return {**params, **default_params(space)}


def seed_study(study: optuna.Study, settings: SearchSettings, space: SearchSpace,
               count: int, limit: int, stream: TextIO | None = None) -> list[Seed]:
    """Measure the sensitivity and queue up to `min(count, limit)` seeds, once per study and
    only before its first trial ran; returns the seeds queued (none on a later run)."""
    from optuna.trial import TrialState

    from codesign.search.study._baselines import enqueue_seeds
    from codesign.search.trial._float import start_weights

    out = stream or sys.stdout
    if count < 1 or limit < 1 or Key.SENSITIVITY in study.user_attrs:
        return []
    if any(t.state != TrialState.WAITING for t in study.get_trials(deepcopy=False)):
        return []
    started = time.perf_counter()
    sensitivity = measure_space(space, start_weights(space, settings), settings.seed)
    seeds = pick_seeds(space, settings.objective_list, sensitivity, min(count, limit))
    seeds = [s for s in seeds if _within_constraints(space, s)]
    record = {**sensitivity.to_dict(), "seeds": [s.budget for s in seeds],
              "seed_seconds": round(time.perf_counter() - started, 3)}
    study.set_user_attr(Key.SENSITIVITY, record)
    if settings.run_dir:
        write_sensitivity(sensitivity, Path(settings.run_dir))
    enqueue_seeds(study, seeds)
    out.write(
        f"sensitivity: {sensitivity.estimator} Hessian trace ({sensitivity.samples} draws, "
        f"{sensitivity.batch} samples) x quantization error, {sensitivity.seconds:.1f} s; "
        f"{len(seeds)} seed trial(s) from the integer program at budgets "
        f"{', '.join(f'{s.budget:.4g}' for s in seeds)}\n")
    out.flush()
    return seeds


def _within_constraints(space: SearchSpace, seed: Seed) -> bool:
    """Whether the seed's real costs meet every budget (per-layer costs may approximate)."""
    import optuna

    from codesign.search.trial import constraint_values, score, within_budgets

    cfg = space.sample(optuna.trial.FixedTrial(seed.params))
    costs, refusals = score(cfg, space.cost_models)
    return within_budgets(constraint_values(space, costs, refusals))


def write_sensitivity(sensitivity: Sensitivity, run_dir: Path) -> dict[str, Path]:
    """The per-layer table (CSV) and figure (PNG) of the sensitivity."""
    from codesign.report import write_sensitivity_figure

    run_dir.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    table = pd.DataFrame(sensitivity.rows())
    csv = run_dir / SENSITIVITY_CSV
    table.to_csv(csv, index=False)
    png = write_sensitivity_figure(table, run_dir / SENSITIVITY_PNG)
    return {"sensitivity_csv": csv, "sensitivity_png": png}
