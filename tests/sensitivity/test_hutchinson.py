"""Hutchinson's estimator against the exact Hessian trace, for weights and for a layer's
input, with the error it states against the exact standard error."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codesign.sensitivity import TraceEstimate, hutchinson_traces, measure_sensitivity

SAMPLES = 400


def _net() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 4))
    return net, torch.randn(16, 5), torch.randint(0, 4, (16,))


def _exact(fn, tensors: list[torch.Tensor]) -> list[tuple[float, float]]:
    """Per tensor: (trace of its Hessian block, standard error of the mean of SAMPLES draws
    of one joint Rademacher vector). One draw's variance for block i is
    2 sum_{j != k} (H_ii)_jk^2 + ||H_i,rest||_F^2 (the cross blocks add zero-mean noise)."""
    sizes = [t.numel() for t in tensors]
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])

    def of_flat(vector: torch.Tensor) -> torch.Tensor:
        parts = vector.split(sizes)
        return fn(*[p.reshape(t.shape) for p, t in zip(parts, tensors, strict=True)])

    hessian = torch.autograd.functional.hessian(of_flat, flat)
    found, start = [], 0
    for size in sizes:
        rows = hessian[start:start + size]
        block = rows[:, start:start + size]
        diagonal = block.diagonal()
        cross = float((rows**2).sum() - (block**2).sum())
        variance = 2 * float((block**2).sum() - (diagonal**2).sum()) + cross
        found.append((float(diagonal.sum()), (variance / SAMPLES) ** 0.5))
        start += size
    return found


def _close(estimate: TraceEstimate, exact: tuple[float, float]) -> None:
    """Within 4 standard errors of the exact trace, the stated error matching the exact one."""
    trace, stderr = exact
    assert abs(estimate.trace - trace) <= 4 * stderr, (estimate, exact)
    assert 0.75 * stderr <= estimate.stderr <= 1.25 * stderr, (estimate, exact)


def test_weight_traces_match_the_exact_hessian_blocks():
    net, x, y = _net()
    first, second = net[0].weight, net[2].weight

    def loss_with(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(x @ w1.T + net[0].bias.detach())
        return nn.functional.cross_entropy(hidden @ w2.T + net[2].bias.detach(), y)

    estimates = hutchinson_traces(lambda: nn.functional.cross_entropy(net(x), y),
                                  [first, second], SAMPLES, seed=1)
    for estimate, exact in zip(estimates, _exact(loss_with, [first, second]), strict=True):
        _close(estimate, exact)


def test_layer_input_trace_matches_the_exact_hessian_of_the_input():
    net, x, y = _net()
    hidden = torch.tanh(net[0](x)).detach()

    def loss_with(w2: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(h @ w2.T + net[2].bias.detach(), y)

    exact = _exact(loss_with, [net[2].weight, hidden])
    found = measure_sensitivity(net, x, y, {"2": {"w": [("int", 4)], "a": [("int", 4)]}},
                                samples=SAMPLES, seed=2).layer("2")
    assert found.input_elements == hidden.numel()
    _close(TraceEstimate(found.weight_trace, found.weight_trace_stderr, SAMPLES), exact[0])
    _close(TraceEstimate(found.input_trace, found.input_trace_stderr, SAMPLES), exact[1])


def test_quantization_error_falls_with_bits_and_the_terms_follow():
    net, x, y = _net()
    options = [("int", 8), ("int", 4), ("int", 2), ("binary", 1)]
    found = measure_sensitivity(net, x, y, {"0": {"w": options, "a": [("float", 32)]}},
                                samples=8).layer("0")
    errors = [found.weight_error[f"{fmt}:{bits}"] for fmt, bits in options]
    assert errors == sorted(errors) and errors[0] > 0
    assert found.input_error["float:32"] == 0.0
    trace = max(found.weight_trace, found.weight_trace_stderr)
    assert found.weight_term("int", 2) == pytest.approx(
        trace / found.weight_elements * found.weight_error["int:2"])
