"""What a search keeps in its Optuna storage besides the trials: where the study lives (the
run directory's manifest, the storage URL) and the settings every process of the search
agrees on. The bottom layer of the search: it imports nothing else of `codesign.search`.
"""

from codesign.search.store._settings import (
    CAPACITY_SAMPLES,
    EARLY_STOP,
    SearchSettings,
    cost_columns,
    objectives_for,
    parse_hw,
    scored_models,
)
from codesign.search.store._storage import (
    MANIFEST,
    Manifest,
    count_complete,
    default_storage_url,
    load_study,
    locate_study,
    open_storage,
)

__all__ = [
    "CAPACITY_SAMPLES",
    "EARLY_STOP",
    "MANIFEST",
    "Manifest",
    "SearchSettings",
    "cost_columns",
    "count_complete",
    "default_storage_url",
    "load_study",
    "locate_study",
    "objectives_for",
    "open_storage",
    "parse_hw",
    "scored_models",
]
