"""Capacity of a network from its Fisher information: effective dimension and 2sED.

`trial_capacity(cfg)` measures a trial configuration before training (the ANA-smoothed
network at its initialisations); `capacity_2sed(cfg, samples, seed)` is its lower 2sED as one
number for a search; `measure_capacity` works on any module. Definitions in `_measure.py`
and docs/capacity.md.
"""

from codesign.capacity._fisher import ParamGroup, parameter_groups, score_blocks
from codesign.capacity._linalg import fisher_eigenvalues, logdet_identity_plus
from codesign.capacity._measure import (
    DEFAULT_DRAWS,
    DEFAULT_ZETA,
    CapacityResult,
    LayerCapacity,
    effective_dimension,
    eps_for_samples,
    fisher_cap,
    kappa_for,
    measure_capacity,
    module_draws,
    two_scale_ed,
)
from codesign.capacity._outputs import OUTPUTS, OutputDistribution
from codesign.capacity._samplers import PARAM_SAMPLERS, ParamSampler
from codesign.capacity._trial import (
    DEFAULT_SAMPLES,
    capacity_2sed,
    prepare_smoothed,
    smoothed_config,
    trial_capacity,
)

__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_SAMPLES",
    "DEFAULT_ZETA",
    "OUTPUTS",
    "PARAM_SAMPLERS",
    "CapacityResult",
    "LayerCapacity",
    "OutputDistribution",
    "ParamGroup",
    "ParamSampler",
    "capacity_2sed",
    "effective_dimension",
    "eps_for_samples",
    "fisher_cap",
    "fisher_eigenvalues",
    "kappa_for",
    "logdet_identity_plus",
    "measure_capacity",
    "module_draws",
    "parameter_groups",
    "prepare_smoothed",
    "score_blocks",
    "smoothed_config",
    "trial_capacity",
    "two_scale_ed",
]
