"""The conditional distribution p(y | x; theta) a network's output defines: registry `OUTPUTS`.

The Fisher of a model is E_x E_{y ~ p(.|x)} [s s^T] with s the score d log p(y|x)/d theta. Each
entry turns the network's output vector into `values` to differentiate and per-row `weights`,
so that the Fisher is sum over rows of (weight * d value / d theta)(...)^T, averaged over x:

- `softmax` (classifiers): y is categorical with p = softmax(logits); the exact expectation over
  y gives rows sqrt(p_c) * d log p_c / d theta, one per class (no label sampling). They are
  linearly dependent (their sqrt(p_c)-weighted sum is d sum_c p_c / d theta = 0), so a sample
  adds at most classes - 1 to the Fisher's rank.
- `gaussian` (a deterministic network made stochastic as in Datres et al., arXiv 2401.09184:
  y = f(x; theta) + N(0, sigma^2 I)): rows d f_j / d theta / sigma. With the normalised Fisher
  sigma cancels; it matters only with `normalize=False`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from codesign._registry import Registry

Link = Callable[[torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class OutputDistribution:
    """`link(output, sigma) -> (values, weights)`, both shaped like the output vector;
    `dependent_rows` is how many of a sample's rows are linear combinations of the others."""

    link: Link
    description: str
    dependent_rows: int = 0


OUTPUTS: Registry[OutputDistribution] = Registry("output distribution")


def _softmax(output: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    del sigma
    log_p = torch.log_softmax(output, dim=-1)
    return log_p, torch.exp(0.5 * log_p.detach())


def _gaussian(output: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    return output, torch.full_like(output.detach(), 1.0 / sigma)


for _name, _dist in (
    ("softmax", OutputDistribution(_softmax, "categorical over softmax(output), exact over y", 1)),
    ("gaussian", OutputDistribution(_gaussian, "output + N(0, sigma^2 I) (regression view)")),
):
    OUTPUTS.add(_name, _dist, _dist.description)
