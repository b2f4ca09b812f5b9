"""Search spaces: YAML files that say what a search may choose, turned into trial configs.

`load_space("digits_cnn")` reads a shipped file (package `search_spaces`) or any YAML path;
`SearchSpace.sample(trial)` draws a `TrialConfig` through Optuna (define-by-run, per layer of
the real model); `SearchSpace.fixed_config(w_bits, a_bits)` gives a uniform-precision
config. A malformed file raises one `CodesignError` line naming the file, field and fix.
Objectives are `codesign.objective.Objective`s; the search's uniform baselines live in
`codesign.search`.

Modules: `_load` (files), `_parse` (validation), `_space` (the space and its configs),
`_rules` (override rules), `_choice` and `_fields` (what one field may hold), `_objectives`
(objectives and budgets of a file).
"""

from codesign.space._choice import Choice
from codesign.space._load import load_space, shipped_spaces, space_from_dict
from codesign.space._objectives import Constraint
from codesign.space._rules import LayerRule
from codesign.space._space import Precision, SearchSpace

__all__ = [
    "Choice",
    "Constraint",
    "LayerRule",
    "Precision",
    "SearchSpace",
    "load_space",
    "shipped_spaces",
    "space_from_dict",
]
