"""Noise samples drawn from each noise's stated meaning of s, independently of `Noise.cdf`."""

from collections.abc import Callable

import pytest
import torch

Draw = Callable[[str, float, int, torch.Generator], torch.Tensor]


def draw_noise(name: str, s: float, n: int, gen: torch.Generator) -> torch.Tensor:
    """n float64 draws: uniform and triangular of half-width s, normal of std s, logistic of
    scale s."""
    def rand() -> torch.Tensor:
        return torch.rand(n, dtype=torch.float64, generator=gen)

    if name == "uniform":
        return (2 * rand() - 1) * s
    if name == "triangular":
        return (rand() + rand() - 1) * s
    if name == "normal":
        return torch.randn(n, dtype=torch.float64, generator=gen) * s
    if name == "logistic":
        u = rand().clamp(1e-300, 1 - 1e-16)
        return torch.log(u / (1 - u)) * s
    raise NotImplementedError(f"no sampler for noise '{name}'; add one to {__file__}")


@pytest.fixture
def draw() -> Draw:
    """`draw_noise`, for tests that compare the op against noisy samples."""
    return draw_noise

