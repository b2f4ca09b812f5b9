"""Annealing schedules: how the noise of every quantized layer decays over training.

Progress `tau` in [0, 1] is the fraction of training done and is stepped every batch, so short
trials anneal smoothly. Each layer gets a decay window inside [AnnealConfig.start,
AnnealConfig.end] (its synchronisation) and a pair of powers (its power law); the controller
turns those into decay values g_mu, g_s in [0, 1] (1 = full noise, 0 = hard) and hands them to
the layer's quantizers, which map them to mu = beta_mu g_mu and s = beta_s g_s
(docs/design.md, "ANA"). It also hands them the layer's progress through its window (0 before,
1 after, linear in between, whatever the mean and variance modes), which drives the estimators
that anneal a parameter of their own (annealed AQE's alpha, mirror descent's beta).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from codesign.config import AnnealConfig
from codesign.errors import CodesignError


class Annealable(Protocol):
    """Anything the controller can drive: every quantizer of `codesign.quant`."""

    def set_annealing(self, g_mu: float, g_s: float, progress: float) -> None: ...


def decay(tau: float, tau_start: float, tau_end: float, alpha: float) -> float:
    """((tau_end - clamp(tau, tau_start, tau_end)) / (tau_end - tau_start)) ** alpha.

    1 before the window, 0 after it; a window of zero width is a step at tau_start.
    """
    if tau_end <= tau_start:
        return 1.0 if tau < tau_start else 0.0
    clamped = min(max(tau, tau_start), tau_end)
    return ((tau_end - clamped) / (tau_end - tau_start)) ** alpha


def layer_window(layer: int, num_layers: int, sync: str, start: float, end: float) -> tuple[
    float, float
]:
    """The (tau_start, tau_end) of `layer` (0 = input side) among `num_layers` quantized layers.

    The window [start, end] is split into `num_layers` equal slots: `overlapped` uses the whole
    window for every layer, `same_start` ends layer l at slot l+1, `same_end` starts layer l at
    slot L-l-1 and `partition` gives layer l slot l only.
    """
    if not 0 <= layer < num_layers:
        raise ValueError(f"layer {layer} outside 0..{num_layers - 1}")
    slot = (end - start) / num_layers

    def edge(k: int) -> float:
        return end if k == num_layers else start + k * slot

    if sync == "overlapped":
        return start, end
    if sync == "same_start":
        return start, edge(layer + 1)
    if sync == "same_end":
        return edge(num_layers - layer - 1), end
    if sync == "partition":
        return edge(layer), edge(layer + 1)
    raise CodesignError(
        f"unknown synchronisation '{sync}'; choose one of: overlapped, same_start, same_end, "
        "partition"
    )


def layer_powers(layer: int, num_layers: int, power: str) -> tuple[float, float]:
    """(alpha_mu, alpha_s): `homogeneous` (1, 2); `progressive` (L - l, 2 (L - l))."""
    if power == "homogeneous":
        return 1.0, 2.0
    if power == "progressive":
        depth = num_layers - layer
        return float(depth), 2.0 * depth
    raise CodesignError(f"unknown power law '{power}'; choose one of: homogeneous, progressive")


def layer_decays(tau: float, layer: int, num_layers: int, anneal: AnnealConfig) -> tuple[
    float, float
]:
    """(g_mu, g_s) of one layer at progress `tau`.

    A static mean gives g_mu = 0 (mu = 0 whatever beta_mu); a static variance keeps g_s = 1
    (s = beta_s throughout, a classical straight-through estimator).
    """
    t0, t1 = layer_window(layer, num_layers, anneal.sync, anneal.start, anneal.end)
    alpha_mu, alpha_s = layer_powers(layer, num_layers, anneal.power)
    g_mu = decay(tau, t0, t1, alpha_mu) if anneal.mean == "dynamic" else 0.0
    g_s = decay(tau, t0, t1, alpha_s) if anneal.variance == "dynamic" else 1.0
    return g_mu, g_s


def layer_progress(tau: float, layer: int, num_layers: int, anneal: AnnealConfig) -> float:
    """How far `layer` is through its window at progress `tau`: 0 before, 1 after, linear."""
    t0, t1 = layer_window(layer, num_layers, anneal.sync, anneal.start, anneal.end)
    return 1.0 - decay(tau, t0, t1, 1.0)


class AnnealingController:
    """Steps the noise of every quantized layer; call `.step(tau)` before every batch.

    `quantizers_in_layer_order[l]` holds the quantizers of layer l (its weight and input
    activation quantizers), l = 0 at the input; layers without quantizers may be left out.
    """

    def __init__(
        self,
        quantizers_in_layer_order: Sequence[Sequence[Annealable]],
        anneal: AnnealConfig,
    ) -> None:
        self.layers = [list(quantizers) for quantizers in quantizers_in_layer_order]
        self.anneal = anneal
        self.tau: float | None = None
        if self.layers:
            self.step(0.0)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def decays(self, tau: float) -> list[tuple[float, float]]:
        """(g_mu, g_s) for every layer at progress `tau`, without touching the quantizers."""
        return [layer_decays(tau, l, self.num_layers, self.anneal) for l in range(self.num_layers)]

    def window_open(self, tau: float) -> bool:
        """Some layer has not finished its annealing window at progress `tau`: its noise is
        still on, so the hard-quantized network (what evaluation measures) lags the network
        that trains, and its accuracy is expected to be low until the window closes."""
        return any(
            layer_progress(tau, layer, self.num_layers, self.anneal) < 1.0
            for layer in range(self.num_layers)
        )

    def step(self, tau: float) -> None:
        """Set every quantizer's noise for progress `tau` (clamped to [0, 1])."""
        tau = min(max(float(tau), 0.0), 1.0)
        for layer, (quantizers, (g_mu, g_s)) in enumerate(
            zip(self.layers, self.decays(tau), strict=True)
        ):
            progress = layer_progress(tau, layer, self.num_layers, self.anneal)
            for quantizer in quantizers:
                quantizer.set_annealing(g_mu, g_s, progress)
        self.tau = tau
