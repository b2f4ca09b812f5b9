"""Pareto analysis of a search: dominance, non-dominated sorting, hypervolume, knee point.

Array functions take an (n points x d objectives) table of values as stored plus one
direction per column (`"max"` or `"min"`); frame functions take the trial table (one row per
trial) and a list of objectives (`codesign.objective.Objective`s or `"column:max"`
strings). All are pure: they return new arrays or frames.
"""

from codesign.pareto._dominance import non_dominated_mask, pareto_ranks
from codesign.pareto._frame import (
    eligible_rows,
    feasible_rows,
    front_hypervolume,
    objective_values,
    pareto_frame,
    sort_front,
)
from codesign.pareto._hypervolume import DEFAULT_MARGIN, hypervolume, reference_point
from codesign.pareto._knee import knee_index
from codesign.pareto._objective import Objective, as_objectives, to_minimisation

__all__ = [
    "DEFAULT_MARGIN",
    "Objective",
    "as_objectives",
    "eligible_rows",
    "feasible_rows",
    "front_hypervolume",
    "hypervolume",
    "knee_index",
    "non_dominated_mask",
    "objective_values",
    "pareto_frame",
    "pareto_ranks",
    "reference_point",
    "sort_front",
    "to_minimisation",
]
