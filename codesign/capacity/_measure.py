"""The effective dimension, the two-scale effective dimension (2sED) and its layer-wise bound.

Definitions (d trainable parameters, F(theta) the Fisher of one parameter draw, draws theta_j
from a parameter sampler standing in for the parameter space Theta):

- normalised Fisher (Abbas et al., arXiv 2011.00027): F^(theta) = d F(theta) / E_theta tr F,
  so that E tr F^ = d whatever the output scale;
- effective dimension at scale kappa > 1 (same paper):
  ED(kappa) = 2 log E_theta[det(I + kappa F^(theta))^(1/2)] / log kappa;
- 2sED at micro-scale eps in (0, 1) and mixing zeta in [0, 1) (Datres et al., arXiv
  2401.09184): d_zeta(eps) = zeta d + (1 - zeta) ED(kappa) with kappa = eps^(-2 (1 - zeta)).
  This is the covering-number count of the model at radius eps when Theta is first cut into
  meso-scale boxes of side eps^zeta (there are eps^(-zeta d) of them, hence zeta d) and each
  box holds about det(I + eps^(-2(1-zeta)) F^)^(1/2) balls. It never falls below zeta d,
  tends to zeta d + (1 - zeta) rank(F^) as eps -> 0, and zeta = 0 gives the effective
  dimension at kappa = eps^-2. The paper's text was not available to confirm this exponent
  convention; the properties above are the checks it was built to satisfy.
- layer-wise lower bound: with the parameters split into layers 1..L (input first), the chain
  rule log det(I + kappa F^) = sum_k [log det(I + kappa F^_<=k) - log det(I + kappa F^_<k)]
  (F^_<=k the Fisher restricted to layers 1..k) gives each layer the capacity it adds on top of
  the layers before it. Averaging each increment over the draws in the log domain,
  lower = zeta d + (1 - zeta) 2 E_theta[1/2 log det(I + kappa F^)] / log kappa,
  is at most d_zeta(eps) by Jensen's inequality (log E >= E log), with equality when the
  Fisher does not depend on theta. The paper builds its lower 2sED for Markovian models layer
  by layer as well; whether its recursion is exactly this one could not be confirmed.

- the Fisher term and its cap: the lower 2sED is zeta d plus a Fisher term
  (1 - zeta) E_theta[log det(I + kappa F^)] / log kappa. N samples of a classifier with C
  classes give F^ rank at most r = min(d, N (C - 1)); with its trace d fixed by the
  normalisation, log det is largest when the trace is spread evenly over r eigenvalues, so the
  term is at most (1 - zeta) r log(1 + kappa d / r) / log kappa (`fisher_cap`). A term near its
  cap measures the number of samples more than the network.

Spectra are computed once per draw and prefix in float64 (the Gram form when the Fisher has
fewer score rows than parameters), then reused at any scale.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from codesign.capacity._fisher import parameter_groups, score_blocks
from codesign.capacity._linalg import fisher_eigenvalues, half_logdets, log_mean_exp
from codesign.capacity._outputs import OUTPUTS
from codesign.capacity._samplers import PARAM_SAMPLERS
from codesign.errors import CodesignError

DEFAULT_ZETA = 0.5
DEFAULT_DRAWS = 4

ModelForDraw = Callable[[int], nn.Module]


def kappa_for(zeta: float, eps: float) -> float:
    """The Fisher scale eps^(-2 (1 - zeta)) of the 2sED at micro-scale eps."""
    if not 0.0 <= zeta < 1.0:
        raise CodesignError(f"zeta={zeta} is outside [0, 1); pick a mixing in [0, 1)")
    if not 0.0 < eps < 1.0:
        raise CodesignError(f"eps={eps} is outside (0, 1); pick a covering radius in (0, 1)")
    return eps ** (-2.0 * (1.0 - zeta))


def eps_for_samples(n: int, zeta: float = DEFAULT_ZETA, gamma: float = 1.0) -> float:
    """The micro-scale whose Fisher scale equals Abbas et al.'s gamma n / (2 pi log n).

    Ties the resolution to the data: n observations resolve the model to about 1/sqrt(n).
    """
    if n < 3:
        raise CodesignError(f"n={n} observations are too few to set the scale; give eps")
    kappa = gamma * n / (2.0 * math.pi * math.log(n))
    if kappa <= 1.0:
        raise CodesignError(
            f"gamma n / (2 pi log n) = {kappa:.3g} <= 1 for n={n}; give eps explicitly"
        )
    return kappa ** (-1.0 / (2.0 * (1.0 - zeta)))


def _normaliser(full_spectra: list[np.ndarray], d: int) -> float:
    mean_trace = float(np.mean([eig.sum() for eig in full_spectra]))
    if not mean_trace > 0.0:
        raise CodesignError(
            "the Fisher is zero for every draw (no gradient reaches the parameters); "
            "quantizers need noise s > 0 (beta_s > 0) to be measured"
        )
    return d / mean_trace


def fisher_cap(rank: int, d: int, zeta: float, kappa: float) -> float:
    """The largest Fisher term of a 2sED when the normalised Fisher has rank `rank`."""
    if rank < 1:
        return 0.0
    return (1.0 - zeta) * rank * math.log1p(kappa * d / rank) / math.log(kappa)


def effective_dimension(spectra: list[np.ndarray], d: int, kappa: float) -> float:
    """ED(kappa) from the Fisher spectra of the draws (normalised here)."""
    if kappa <= 1.0:
        raise CodesignError(f"kappa={kappa} must exceed 1")
    scale = _normaliser(spectra, d)
    halves = half_logdets([scale * eig for eig in spectra], kappa)
    return 2.0 * log_mean_exp(halves) / math.log(kappa)


def two_scale_ed(spectra: list[np.ndarray], d: int, zeta: float, eps: float) -> float:
    """d_zeta(eps) = zeta d + (1 - zeta) ED(eps^(-2 (1 - zeta)))."""
    return zeta * d + (1.0 - zeta) * effective_dimension(spectra, d, kappa_for(zeta, eps))


@dataclass(frozen=True)
class LayerCapacity:
    """One layer's share of the lower 2sED: zeta d_l plus the capacity it adds to layers < l."""

    name: str
    params: int
    contribution: float


@dataclass
class CapacityResult:
    """Full and layer-wise 2sED of one model, with what they were computed from.

    `fisher_term` is the lower 2sED less zeta d (the part that depends on the Fisher);
    `rank_cap` bounds the Fisher's rank (parameters, or samples times independent rows per
    sample) and `fisher_cap` the Fisher term at that rank (see the module doc).
    """

    params: int
    two_scale_ed: float
    lower_two_scale_ed: float
    fisher_term: float
    rank_cap: int
    fisher_cap: float
    effective_dimension: float
    zeta: float
    eps: float
    kappa: float
    draws: int
    samples: int
    layers: list[LayerCapacity] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def layerwise(
    prefix_spectra: list[list[np.ndarray]], sizes: list[int], names: list[str],
    zeta: float, eps: float,
) -> tuple[float, list[LayerCapacity]]:
    """Lower 2sED and per-layer contributions from the prefix spectra of every draw."""
    d = sum(sizes)
    kappa = kappa_for(zeta, eps)
    scale = _normaliser([draw[-1] for draw in prefix_spectra], d)
    halves = np.array(
        [[0.5 * np.log1p(kappa * scale * eig).sum() for eig in draw] for draw in prefix_spectra]
    )
    increments = np.diff(halves, axis=1, prepend=0.0).mean(axis=0)
    weight = (1.0 - zeta) * 2.0 / math.log(kappa)
    layers = [
        LayerCapacity(name, size, zeta * size + weight * float(inc))
        for name, size, inc in zip(names, sizes, increments, strict=True)
    ]
    return sum(layer.contribution for layer in layers), layers


def module_draws(model: nn.Module, sampler: str = "init", scale: float = 1.0,
                 seed: int = 0) -> tuple[ModelForDraw, bool]:
    """Draw i of a plain module: its parameters redrawn in place by `PARAM_SAMPLERS[sampler]`.

    Returns the draw function and whether more than one draw is meaningful.
    """
    entry = PARAM_SAMPLERS.get(sampler)

    def draw(i: int) -> nn.Module:
        entry.draw(model, seed + i, scale)
        return model

    return draw, entry.draws


def measure_capacity(
    model_for_draw: ModelForDraw,
    inputs: torch.Tensor,
    draws: int = DEFAULT_DRAWS,
    zeta: float = DEFAULT_ZETA,
    eps: float | None = None,
    output: str = "softmax",
    sigma: float = 1.0,
) -> CapacityResult:
    """2sED, its layer-wise lower bound and ED of the models `model_for_draw(0..draws-1)`.

    Each model must be ready to measure (per-sample forward: batch-norm in eval mode). `eps`
    None ties the scale to the number of inputs (`eps_for_samples`).
    """
    if draws < 1:
        raise CodesignError(f"draws={draws}; use at least one parameter draw")
    if inputs.shape[0] < 1:
        raise CodesignError("no input samples to estimate the Fisher from; use samples >= 1")
    eps = eps_for_samples(int(inputs.shape[0]), zeta) if eps is None else eps
    kappa = kappa_for(zeta, eps)
    started = time.perf_counter()
    samples = int(inputs.shape[0])
    prefix_spectra = []
    names: list[str] = []
    sizes: list[int] = []
    rows = 0
    for i in range(draws):
        model = model_for_draw(i)
        groups = parameter_groups(model)
        names, sizes = [g.name for g in groups], [g.size for g in groups]
        blocks = score_blocks(model, inputs, groups, output, sigma)
        rows = int(blocks[0].shape[0])
        prefix_spectra.append(fisher_eigenvalues(blocks, samples))
    d = sum(sizes)
    full = [draw[-1] for draw in prefix_spectra]
    lower, layers = layerwise(prefix_spectra, sizes, names, zeta, eps)
    rank_cap = min(d, rows - samples * OUTPUTS.get(output).dependent_rows)
    return CapacityResult(
        params=d,
        two_scale_ed=two_scale_ed(full, d, zeta, eps),
        lower_two_scale_ed=lower,
        fisher_term=lower - zeta * d,
        rank_cap=rank_cap,
        fisher_cap=fisher_cap(rank_cap, d, zeta, kappa),
        effective_dimension=effective_dimension(full, d, kappa),
        zeta=zeta,
        eps=eps,
        kappa=kappa,
        draws=draws,
        samples=samples,
        layers=layers,
        seconds=time.perf_counter() - started,
    )
