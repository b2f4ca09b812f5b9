"""codesign: hardware-aware co-design of mixed-precision networks trained with ANA."""

from codesign.config import AnnealConfig, LayerQuant, TrainConfig, TrialConfig
from codesign.errors import CodesignError

__all__ = ["AnnealConfig", "CodesignError", "LayerQuant", "TrainConfig", "TrialConfig"]
__version__ = "0.1.0"
