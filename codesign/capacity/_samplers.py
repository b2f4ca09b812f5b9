"""Where the Monte Carlo over parameters draws its samples: the registry `PARAM_SAMPLERS`.

The effective dimension averages det(I + kappa F(theta))^(1/2) over the parameter space Theta.
A network has no natural compact Theta, so the sampler stands in for it: `init` draws from the
architecture's own initialisation (what training starts from, the choice for ranking configs
before training), `uniform` from the box [-scale, scale]^d of Abbas et al. (arXiv 2011.00027),
and `current` keeps the parameters the model has (a trained network, one sample).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from codesign._registry import Registry


@dataclass(frozen=True)
class ParamSampler:
    """`draw(model, seed, scale)` overwrites the model's parameters in place.

    `draws` is False for a sampler that keeps the parameters: it yields one sample whatever the
    requested count, and the model keeps its calibration (batch-norm statistics, quanta).
    """

    draw: Callable[[nn.Module, int, float], None]
    draws: bool
    description: str


PARAM_SAMPLERS: Registry[ParamSampler] = Registry("parameter sampler")


def _init(model: nn.Module, seed: int, scale: float) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset) and any(True for _ in module.parameters(recurse=False)):
                reset()
        if scale != 1.0:
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(scale)


def _uniform(model: nn.Module, seed: int, scale: float) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                noise = torch.rand(p.shape, generator=generator, dtype=torch.float64)
                p.copy_(((2.0 * noise - 1.0) * scale).to(p.dtype))


def _current(model: nn.Module, seed: int, scale: float) -> None:
    del model, seed, scale


for _name, _sampler in (
    ("init", ParamSampler(_init, True, "the layers' own initialisation (reset_parameters)")),
    ("uniform", ParamSampler(_uniform, True, "uniform in [-scale, scale] per parameter")),
    ("current", ParamSampler(_current, False, "the model's current parameters, one sample")),
):
    PARAM_SAMPLERS.add(_name, _sampler, _sampler.description)
