"""Where trials run: a registry of backends and the samplers they ask.

`BACKENDS.get(name)(storage_url, study_name, target, run_dir, resources)` runs trials until the
study holds `target` finished trials in all; `local` (Optuna workers on this machine, `work`
is the loop any process can run) and `ray` (Ray Tune) are registered. Neither module imports
Ray until a Ray search runs.
"""

from codesign.search.backends._local import run_local, work
from codesign.search.backends._ray import plan, run_ray
from codesign.search.backends._reach import check_ray_head, split_address
from codesign.search.backends._registry import BACKENDS, Backend, Resources
from codesign.search.backends._samplers import SAMPLERS, make_sampler

__all__ = [
    "BACKENDS",
    "SAMPLERS",
    "Backend",
    "Resources",
    "check_ray_head",
    "make_sampler",
    "plan",
    "run_local",
    "run_ray",
    "split_address",
    "work",
]
