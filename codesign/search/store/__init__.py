"""What a search keeps in its Optuna storage besides the trials: where the study lives (the
run directory's manifest, the storage URL and its password), the settings every process of
the search agrees on, and the trials whose worker died (heartbeats, one retry). The bottom
layer of the search: it imports nothing else of `codesign.search`.
"""

from codesign.search.store._lost import (
    HEARTBEAT_ENV,
    ask,
    fail_lost,
    heartbeat,
    heartbeat_seconds,
    retry_once,
    settle_lost,
)
from codesign.search.store._password import (
    STORAGE_ENV,
    masked_url,
    storage_from_env,
)
from codesign.search.store._settings import (
    CAPACITY_SAMPLES,
    EARLY_STOP,
    SearchSettings,
    cost_columns,
    model_of,
    objectives_for,
    parse_hw,
    scored_models,
)
from codesign.search.store._storage import (
    MANIFEST,
    Manifest,
    check_store,
    count_complete,
    default_storage_url,
    load_study,
    locate_study,
    open_storage,
    sqlite_path,
)

__all__ = [
    "CAPACITY_SAMPLES",
    "EARLY_STOP",
    "HEARTBEAT_ENV",
    "MANIFEST",
    "STORAGE_ENV",
    "Manifest",
    "SearchSettings",
    "ask",
    "check_store",
    "cost_columns",
    "count_complete",
    "default_storage_url",
    "fail_lost",
    "heartbeat",
    "heartbeat_seconds",
    "load_study",
    "locate_study",
    "masked_url",
    "model_of",
    "objectives_for",
    "open_storage",
    "parse_hw",
    "retry_once",
    "scored_models",
    "settle_lost",
    "sqlite_path",
    "storage_from_env",
]
