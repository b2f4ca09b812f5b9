"""Hutchinson's estimator of the Hessian trace, block by block (HAWQ-V2, Dong et al. 2020).

For a Rademacher vector v (entries +-1 with equal odds), E[v^T H v] = Tr(H). One draw of v
over every tensor at once gives, per tensor i, v_i^T (H v)_i, whose mean is the trace of the
diagonal block H_ii (the cross blocks cancel in expectation); H v comes from a double
backward pass (torch.autograd.grad of the gradient), never from H itself. The standard error
of the mean over `samples` draws is reported beside each trace: the variance of one draw is
2 sum_{j != k} H_jk^2 over the block, so a block with a strong diagonal converges fastest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TraceEstimate:
    """Mean of v^T H v over the draws and its standard error (std / sqrt(samples))."""

    trace: float
    stderr: float
    samples: int


def hutchinson_traces(
    loss_fn: Callable[[], torch.Tensor],
    tensors: Sequence[torch.Tensor],
    samples: int,
    seed: int = 0,
) -> list[TraceEstimate]:
    """Trace of the Hessian of `loss_fn()` with respect to each of `tensors` (each must
    require grad), from `samples` Rademacher draws seeded by `seed`."""
    if samples < 2:
        raise ValueError(f"samples={samples}; Hutchinson's estimator needs at least 2 draws")
    generator = torch.Generator().manual_seed(int(seed))
    loss = loss_fn()
    grads = torch.autograd.grad(loss, list(tensors), create_graph=True)
    draws = torch.zeros(samples, len(tensors), dtype=torch.float64)
    for s in range(samples):
        vs = [
            (torch.randint(0, 2, t.shape, generator=generator) * 2 - 1).to(t.dtype)
            for t in tensors
        ]
        hvs = torch.autograd.grad(grads, list(tensors), grad_outputs=vs,
                                  retain_graph=s < samples - 1)
        for i, (v, hv) in enumerate(zip(vs, hvs, strict=True)):
            draws[s, i] = float((v * hv).sum())
    mean = draws.mean(dim=0)
    stderr = draws.std(dim=0, unbiased=True) / samples**0.5
    return [TraceEstimate(float(m), float(e), samples) for m, e in zip(mean, stderr, strict=True)]
