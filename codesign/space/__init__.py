"""Search spaces: YAML files that say what a search may choose, turned into trial configs.

`load_space("digits_cnn")` reads a shipped file (package `search_spaces`) or any YAML path;
`SearchSpace.sample(trial)` draws a `TrialConfig` through Optuna (define-by-run, per layer of
the real model); `SearchSpace.fixed_config(w_bits, a_bits)` gives a uniform-precision
baseline. A malformed file raises one `CodesignError` line naming the file, field and fix.
"""

from codesign.space._choice import Choice
from codesign.space._objectives import Constraint
from codesign.space._space import (
    LayerRule,
    SearchSpace,
    load_space,
    shipped_spaces,
    space_from_dict,
)

__all__ = [
    "Choice",
    "Constraint",
    "LayerRule",
    "SearchSpace",
    "load_space",
    "shipped_spaces",
    "space_from_dict",
]
