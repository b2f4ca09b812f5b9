"""Optuna samplers by name (`--sampler`), sized for searches of tens to hundreds of trials.

Every sampler reads the budgets from the trials' constraints (`Trial.set_constraint`), so an
over-budget config steers the search away without being trained. Seeds make a search
reproducible; a resumed search shifts the seed by the trials already stored so that a
random stream does not replay the configurations it already proposed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codesign._registry import Registry

if TYPE_CHECKING:
    import optuna

SAMPLERS: Registry = Registry("sampler")


def _startup(n_trials: int) -> int:
    """Random trials before a model-based sampler takes over: a third of the budget, 4..10."""
    return max(4, min(10, n_trials // 3))


@SAMPLERS.register("nsga2")
def nsga2_sampler(seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """NSGA-II: a genetic multi-objective search (population sized to the budget)."""
    import optuna

    population = max(4, min(50, n_trials // 3))
    return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)


@SAMPLERS.register("tpe")
def tpe_sampler(seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """Multi-objective, multivariate TPE with a constant liar for parallel trials."""
    import optuna

    return optuna.samplers.TPESampler(
        seed=seed, multivariate=True, group=True, constant_liar=True,
        n_startup_trials=_startup(n_trials),
    )


@SAMPLERS.register("gp")
def gp_sampler(seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """Gaussian-process Bayesian optimisation (log-EHVI for several objectives)."""
    import optuna

    return optuna.samplers.GPSampler(
        seed=seed, n_startup_trials=_startup(n_trials), deterministic_objective=False,
    )


@SAMPLERS.register("random")
def random_sampler(seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """Uniform random sampling: the baseline every other sampler must beat."""
    import optuna

    return optuna.samplers.RandomSampler(seed=seed)


def make_sampler(name: str, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """The sampler `name` (unknown names list the choices), seeded."""
    return SAMPLERS.get(name)(seed, n_trials)
