"""The Quantizer base contract shared by every estimator: noise of the annealing config, the
eps refresh rule, float formats and checkpoints (module doc of codesign/quant/_quantizer.py)."""

import pytest
import torch

from codesign.config import AnnealConfig
from codesign.errors import CodesignError
from codesign.quant import ESTIMATORS, FloatQuantizer, _quantizer, make_quantizer, mse_quantum


@pytest.fixture(autouse=True)
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESIGN_COMPILE", "0")


def data(seed: int, shape: tuple[int, ...] = (8, 4, 3, 3)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    "mean, variance, beta_s, expected",
    [
        ("static", "static", None, (0.0, 0.2551)),
        ("static", "dynamic", None, (0.0, 0.2551 * 0.25)),
        ("dynamic", "static", 0.4, (-0.5 * 0.5, 0.4)),
        ("dynamic", "dynamic", 0.4, (-0.5 * 0.5, 0.4 * 0.25)),
    ],
)
def test_noise_follows_the_annealing_config(mean: str, variance: str, beta_s: float | None,
                                            expected: tuple[float, float]) -> None:
    anneal = AnnealConfig(noise="normal", mean=mean, variance=variance, beta_s=beta_s)
    q = make_quantizer("weight", "int", 4, "ana", anneal)
    start = (-0.5 if mean == "dynamic" else 0.0, 0.2551 if beta_s is None else beta_s)
    assert q.noise() == pytest.approx(start)  # g_mu = g_s = 1 until the controller steps
    q.set_annealing(0.5, 0.25, 0.5)
    assert q.noise() == pytest.approx(expected)


def test_eps_is_refreshed_in_warmup_then_periodically() -> None:
    assert (_quantizer.REFRESH_WARMUP, _quantizer.REFRESH_EVERY) == (8, 16)
    q = make_quantizer("weight", "int", 4, "ana", AnnealConfig()).train()
    w = data(1)
    counts = []
    for _ in range(33):
        q(w)
        counts.append(int(q.calibrations))
    # Forward n sees step n - 1: refreshes at steps 0..7, 16 and 32.
    assert counts[7] == 8 and counts[15] == 8 and counts[16] == 9
    assert counts[31] == 9 and counts[32] == 10


def test_weight_eps_follows_the_weights_and_evaluation_refreshes_it_once() -> None:
    q = make_quantizer("weight", "int", 3, "ana", AnnealConfig()).train()
    w = data(2)
    q(w)
    assert q.eps.item() == pytest.approx(mse_quantum(w.reshape(1, -1), q.grid)[0].item())
    q.eval()
    calibrations = int(q.calibrations)
    q(w)
    assert int(q.calibrations) == calibrations  # unchanged weights: no refresh
    with torch.no_grad():
        w.mul_(3.0)  # an optimizer step after the last refresh
    q(w)
    q(w)
    assert int(q.calibrations) == calibrations + 1
    assert q.eps.item() == pytest.approx(mse_quantum(w.reshape(1, -1), q.grid)[0].item())


def test_activation_eps_moves_by_a_moving_average_of_the_batch_optimum() -> None:
    q = make_quantizer("activation", "int", 4, "ana", AnnealConfig()).train()
    first, second = data(3).abs(), 4 * data(4).abs()
    q(first)
    start = q.eps.item()
    q(second)
    best = mse_quantum(second.reshape(1, -1), q.grid)[0].item()
    momentum = _quantizer.EPS_MOMENTUM
    assert q.eps.item() == pytest.approx(start + momentum * (best - start), rel=1e-5)
    q.eval()
    q(8 * second)
    assert q.eps.item() == pytest.approx(start + momentum * (best - start), rel=1e-5)


@pytest.mark.parametrize(
    "nonnegative, levels", [(True, (0.0, 1.0, 2.0, 3.0)), (False, (-2.0, -1.0, 0.0, 1.0))]
)
def test_activation_signedness_is_decided_by_the_first_batch(nonnegative: bool,
                                                            levels: tuple[float, ...]) -> None:
    q = make_quantizer("activation", "int", 2, "ana", AnnealConfig()).train()
    q(data(5).abs() if nonnegative else data(5))
    assert q.grid.levels == levels


def test_per_channel_eps_and_signedness_survive_a_checkpoint() -> None:
    weight = make_quantizer("weight", "int", 4, "ana", AnnealConfig(), per_channel=True).train()
    w = data(6) * torch.linspace(0.1, 5, 8).view(-1, 1, 1, 1)
    weight(w)
    assert weight.eps.shape == (8,) and weight.eps[-1] > 10 * weight.eps[0]
    act = make_quantizer("activation", "int", 4, "ana", AnnealConfig()).train()
    act(data(7).abs())
    for trained in (weight, act):
        fresh = make_quantizer(trained.role, "int", 4, "ana", AnnealConfig(),
                               per_channel=trained.per_channel)
        fresh.load_state_dict(trained.state_dict())
        assert torch.equal(fresh.eps, trained.eps)
        assert fresh.grid == trained.grid
        fresh.eval()
        trained.eval()
        x = w if trained is weight else data(8).abs()
        assert torch.equal(fresh(x), trained(x))


@pytest.mark.parametrize("estimator", ESTIMATORS.names())
@pytest.mark.parametrize("role", ["weight", "activation"])
def test_float_format_is_the_identity_for_every_estimator(estimator: str, role: str) -> None:
    q = make_quantizer(role, "float", 32, estimator, AnnealConfig())
    assert isinstance(q, FloatQuantizer) and q.grid is None and q.bits == 32
    x = data(9)
    assert q.train()(x) is x and q.eval()(x) is x
    with pytest.raises(CodesignError, match=f"a float {role} quantizer has no quantum"):
        q.quantum(x)


@pytest.mark.parametrize(
    "g_mu, g_s, progress, culprit",
    [(-0.1, 0.5, 0.5, "g_mu=-0.1"), (0.5, 1.01, 0.5, "g_s=1.01"),
     (0.5, 0.5, 1.5, "progress=1.5")],
)
def test_decay_values_outside_the_unit_interval_name_the_culprit(
    g_mu: float, g_s: float, progress: float, culprit: str
) -> None:
    q = make_quantizer("weight", "int", 4, "ana", AnnealConfig())
    with pytest.raises(CodesignError, match=f"{culprit} is outside"):
        q.set_annealing(g_mu, g_s, progress)
