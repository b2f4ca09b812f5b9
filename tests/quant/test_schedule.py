"""Annealing schedules against hand-computed values (docs/design.md, "ANA")."""

import pytest

from codesign.config import AnnealConfig
from codesign.quant import (
    AnnealingController,
    decay,
    layer_decays,
    layer_progress,
    layer_window,
)

# Window [0.2, 0.6] over L = 4 layers: slots of 0.1 starting at 0.2, 0.3, 0.4, 0.5.
L = 4


def cfg(**kw):
    base = dict(mean="dynamic", variance="dynamic", start=0.2, end=0.6)
    base.update(kw)
    return AnnealConfig(**base)


def test_decay_is_one_before_zero_after_and_a_power_inside():
    assert decay(0.1, 0.2, 0.6, 2) == 1.0
    assert decay(0.7, 0.2, 0.6, 2) == 0.0
    assert decay(0.5, 0.2, 0.6, 1) == pytest.approx(0.25)
    assert decay(0.5, 0.2, 0.6, 3) == pytest.approx(0.25**3)


@pytest.mark.parametrize(
    "sync, tau, expected_g",
    [
        # every layer over [0.2, 0.6]: (0.6 - 0.4) / 0.4
        ("overlapped", 0.4, [0.5, 0.5, 0.5, 0.5]),
        # layer l over [0.2, 0.3 + 0.1 l]
        ("same_start", 0.25, [0.05 / 0.1, 0.15 / 0.2, 0.25 / 0.3, 0.35 / 0.4]),
        # layer l over [0.5 - 0.1 l, 0.6]
        ("same_end", 0.55, [0.05 / 0.1, 0.05 / 0.2, 0.05 / 0.3, 0.05 / 0.4]),
        # layer l over [0.2 + 0.1 l, 0.3 + 0.1 l]
        ("partition", 0.35, [0.0, 0.5, 1.0, 1.0]),
    ],
)
def test_synchronisation_homogeneous(sync, tau, expected_g):
    anneal = cfg(sync=sync, power="homogeneous")
    for layer, g in enumerate(expected_g):
        g_mu, g_s = layer_decays(tau, layer, L, anneal)
        assert g_mu == pytest.approx(g)  # alpha_mu = 1
        assert g_s == pytest.approx(g**2)  # alpha_s = 2


def test_windows_tile_the_annealing_window():
    assert layer_window(0, L, "partition", 0.2, 0.6) == pytest.approx((0.2, 0.3))
    assert layer_window(3, L, "partition", 0.2, 0.6) == pytest.approx((0.5, 0.6))
    assert layer_window(0, L, "same_end", 0.2, 0.6) == pytest.approx((0.5, 0.6))
    assert layer_window(3, L, "same_end", 0.2, 0.6) == pytest.approx((0.2, 0.6))
    assert layer_window(0, L, "same_start", 0.2, 0.6) == pytest.approx((0.2, 0.3))
    assert layer_window(3, L, "same_start", 0.2, 0.6)[1] == 0.6


def test_progressive_power_law():
    anneal = cfg(sync="overlapped", power="progressive")
    # base decay 0.5; alpha_mu = L - l = 4, 3, 2, 1; alpha_s = 8, 6, 4, 2
    expected = [(1 / 16, 1 / 256), (1 / 8, 1 / 64), (1 / 4, 1 / 16), (1 / 2, 1 / 4)]
    for layer, (mu, s) in enumerate(expected):
        assert layer_decays(0.4, layer, L, anneal) == pytest.approx((mu, s))


def test_progressive_with_partition():
    anneal = cfg(sync="partition", power="progressive")
    # layer 1 over [0.3, 0.4] at tau = 0.375: base 0.25, alpha_mu = 3, alpha_s = 6
    assert layer_decays(0.375, 1, L, anneal) == pytest.approx((0.25**3, 0.25**6))


def test_static_mean_and_variance():
    anneal = cfg(mean="static", variance="static")
    for tau in (0.0, 0.4, 1.0):
        assert layer_decays(tau, 2, L, anneal) == (0.0, 1.0)
    anneal = cfg(mean="static", variance="dynamic")
    assert layer_decays(0.4, 0, L, anneal) == pytest.approx((0.0, 0.25))


class Recorder:
    def __init__(self):
        self.calls = []

    def set_annealing(self, g_mu, g_s, progress):
        self.calls.append((g_mu, g_s, progress))


def test_controller_drives_every_quantizer_of_every_layer():
    layers = [[Recorder(), Recorder()] for _ in range(L)]
    controller = AnnealingController(layers, cfg(sync="partition"))
    assert all(q.calls == [(1.0, 1.0, 0.0)] for layer in layers for q in layer)  # tau = 0
    controller.step(0.35)
    for layer, g in enumerate([0.0, 0.5, 1.0, 1.0]):
        for q in layers[layer]:
            assert q.calls[-1] == pytest.approx((g, g * g, 1 - g))
    controller.step(1.5)  # clamped to the end of training: everything hard
    assert all(q.calls[-1] == (0.0, 0.0, 1.0) for layer in layers for q in layer)
    assert controller.tau == 1.0


@pytest.mark.parametrize("variance", ["static", "dynamic"])
@pytest.mark.parametrize("mean", ["static", "dynamic"])
def test_progress_is_linear_in_the_window_whatever_the_noise_modes(mean, variance):
    anneal = cfg(sync="partition", mean=mean, variance=variance, power="progressive")
    # layer 2 over [0.4, 0.5]
    assert [layer_progress(tau, 2, L, anneal) for tau in (0.0, 0.4, 0.425, 0.45, 0.5, 1.0)] \
        == pytest.approx([0.0, 0.0, 0.25, 0.5, 1.0, 1.0])
