"""STE, AQE and mirror descent: forward and backward against their closed forms."""

import math

import pytest
import torch

from codesign.config import AnnealConfig
from codesign.errors import CodesignError
from codesign.quant import (
    ESTIMATORS,
    AnnealingController,
    MirrorDescentQuantizer,
    make_quantizer,
)

ANNEAL = AnnealConfig()
# (format, bits) pairs the straight-through estimators support, with their clipping range.
FORMATS = [("int", 3, -3.0, 3.0), ("binary", 1, -1.0, 1.0), ("ternary", 2, -1.0, 1.0),
           ("pow2", 3, -1.0, 1.0)]


@pytest.fixture(autouse=True)
def eager(monkeypatch):
    monkeypatch.setenv("CODESIGN_COMPILE", "0")


def weights(seed=0, shape=(6, 5)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def nearest_level(u, levels):
    """Hard quantization by brute force: the nearest level, ties upward (H(0) = 1)."""
    levels = torch.tensor(levels)
    distance = (u[..., None] - levels).abs()
    best = distance.min(-1, keepdim=True).values
    index = torch.where(distance <= best + 1e-7, torch.arange(len(levels)), -1).amax(-1)
    return levels[index]


def run(quantizer, x):
    x = x.clone().requires_grad_()
    out = quantizer(x)
    grad_out = torch.linspace(0.5, 1.5, x.numel()).reshape(x.shape)
    out.backward(grad_out)
    return out.detach(), x.grad, grad_out


@pytest.mark.parametrize("fmt, bits, lo, hi", FORMATS)
def test_ste_forward_is_the_stair_and_backward_the_clipped_identity(fmt, bits, lo, hi):
    q = make_quantizer("weight", fmt, bits, "ste", ANNEAL).train()
    x = weights() * 2
    out, grad, grad_out = run(q, x)
    eps = q.eps
    u = x / eps
    assert torch.allclose(out, nearest_level(u, q.grid.levels) * eps, atol=1e-6)
    inside = ((u >= lo) & (u <= hi)).float()
    assert 0 < inside.mean() < 1  # both branches of the gradient are exercised
    assert torch.allclose(grad, grad_out * inside)


def test_ste_per_channel_quanta():
    q = make_quantizer("weight", "int", 2, "ste", ANNEAL, per_channel=True).train()
    x = weights(1, (4, 3, 3, 3)) * torch.tensor([0.1, 1.0, 3.0, 10.0]).view(-1, 1, 1, 1)
    out, grad, grad_out = run(q, x)
    eps = q.eps.view(-1, 1, 1, 1)
    assert q.eps.shape == (4,) and q.eps[3] > 10 * q.eps[0]
    u = x / eps
    assert torch.allclose(out, u.round().clamp(-1, 1) * eps, atol=1e-6)
    assert torch.allclose(grad, grad_out * ((u >= -1) & (u <= 1)).float())


@pytest.mark.parametrize(
    "estimator, progress, alpha",
    [("aqe", 0.0, 0.5), ("aqe", 1.0, 0.5), ("aqe_annealed", 0.0, 0.5),
     ("aqe_annealed", 0.6, 0.8), ("aqe_annealed", 1.0, 1.0)],
)
@pytest.mark.parametrize("fmt, bits, lo, hi", FORMATS[:2])
def test_aqe_blends_stair_and_identity_with_gradient_two_alpha(
    estimator, progress, alpha, fmt, bits, lo, hi
):
    q = make_quantizer("weight", fmt, bits, estimator, ANNEAL).train()
    q.set_annealing(1.0, 1.0 - progress, progress)
    assert q.alpha == pytest.approx(alpha)
    x = weights(2) * 2
    out, grad, grad_out = run(q, x)
    eps = q.eps
    u = x / eps
    hard = nearest_level(u, q.grid.levels)
    assert torch.allclose(out, (alpha * hard + (1 - alpha) * u) * eps, atol=1e-6)
    inside = ((u >= lo) & (u <= hi)).float()
    assert torch.allclose(grad, grad_out * 2 * alpha * inside)


def test_aqe_has_the_ste_gradient_at_every_point_of_the_schedule():
    x = weights(3) * 2
    ste = make_quantizer("weight", "int", 4, "ste", ANNEAL).train()
    aqe = make_quantizer("weight", "int", 4, "aqe", ANNEAL).train()
    for progress in (0.0, 0.5, 1.0):
        aqe.set_annealing(1.0 - progress, 1.0 - progress, progress)
        assert torch.equal(run(ste, x)[1], run(aqe, x)[1])


def chained_gradient(estimator: str, progress: float, depth: int = 8) -> torch.Tensor:
    """d out / d x through `depth` activation quantizers applied one after the other."""
    chain = [make_quantizer("activation", "int", 4, estimator, ANNEAL).train()
             for _ in range(depth)]
    x = torch.linspace(0.05, 1.0, 64)
    for q in chain:  # calibrate on the chain's own inputs, then freeze
        q(x)
        q.set_annealing(1.0 - progress, 1.0 - progress, progress)
    x = x.clone().requires_grad_()
    y = x
    for q in chain:
        y = q(y)
    y.sum().backward()
    return x.grad


def test_aqe_gradient_through_eight_chained_quantizers_is_unscaled_by_default():
    for progress in (0.0, 1.0):
        grad = chained_gradient("aqe", progress)
        assert grad.max() == 1.0 and grad.min() >= 0.0
        assert (grad == 1.0).float().mean() > 0.5


@pytest.mark.parametrize("progress", [0.0, 0.5, 1.0])
def test_annealed_aqe_gain_is_one_plus_progress_per_quantizer(progress):
    grad = chained_gradient("aqe_annealed", progress)
    gain = (1.0 + progress) ** 8
    assert grad.max() == pytest.approx(gain) and gain <= 2.0**8
    assert torch.all((grad == 0) | (grad - gain).abs().le(1e-4 * gain))


@pytest.mark.parametrize(
    "progress, beta", [(0.0, 1.0), (0.4, 1000.0**0.4), (0.5, math.sqrt(1000.0)), (1.0, 1000.0)]
)
def test_mirror_descent_forward_tanh_backward_straight_through(progress, beta):
    q = make_quantizer("weight", "binary", 1, "mirror_descent", ANNEAL).train()
    q.set_annealing(0.0, 1.0, progress)
    assert q.beta == pytest.approx(beta)
    w_aux = weights(4)
    out, grad, grad_out = run(q, w_aux)
    eps = q.eps
    assert eps == pytest.approx(w_aux.abs().mean().item(), rel=0.02)  # binary MSE optimum
    assert torch.allclose(out, eps * torch.tanh(beta * w_aux / eps), atol=1e-6)
    # The gradient taken at w updates w~ unchanged (not multiplied by tanh's derivative).
    assert torch.equal(grad, grad_out)


def test_mirror_descent_beta_is_multiplied_by_a_constant_every_step():
    """The continuous form of beta <- rho beta every T steps: equal steps of training
    multiply beta by the same factor, whatever the power law of the noise."""
    q = make_quantizer("weight", "binary", 1, "mirror_descent", ANNEAL)
    anneal = AnnealConfig(start=0.0, end=0.8, power="progressive")
    controller = AnnealingController([[q]], anneal)
    betas = []
    for step in range(11):
        controller.step(0.1 * step)
        betas.append(q.beta)
    ratios = [b / a for a, b in zip(betas, betas[1:], strict=False)]
    assert ratios[:8] == pytest.approx([1000.0 ** (1 / 8)] * 8)
    assert betas[4] == pytest.approx(math.sqrt(1000.0))  # tau 0.4: half-way through the window
    assert betas[8:] == pytest.approx([1000.0] * 3) and ratios[8:] == [1.0, 1.0]


def test_mirror_descent_final_weights_are_signs():
    q = make_quantizer("weight", "binary", 1, "mirror_descent", ANNEAL).train()
    w_aux = weights(5)
    q(w_aux)
    eps = q.eps.clone()
    q.eval()
    assert torch.equal(q(w_aux), torch.where(w_aux >= 0, eps, -eps))


def test_mirror_descent_sgd_step_moves_the_auxiliary_by_the_gradient_at_w():
    q = make_quantizer("weight", "binary", 1, "mirror_descent", ANNEAL).train()
    w_aux = torch.nn.Parameter(weights(6))
    target = weights(7)
    w = q(w_aux)
    ((w - target) ** 2).sum().backward()
    expected = w_aux.detach() - 0.1 * 2 * (w.detach() - target)
    torch.optim.SGD([w_aux], lr=0.1).step()
    assert torch.allclose(w_aux.detach(), expected)


@pytest.mark.parametrize("estimator", ESTIMATORS.names())
def test_every_estimator_is_the_hard_stair_in_eval(estimator):
    fmt, bits = ("binary", 1) if estimator == "mirror_descent" else ("int", 3)
    q = make_quantizer("weight", fmt, bits, estimator, ANNEAL).train()
    q.set_annealing(0.7, 0.7, 0.3)
    x = weights(8) * 2
    train_out = q(x)
    q.eval()
    eps = q.eps
    hard = nearest_level(x / eps, q.grid.levels) * eps
    assert torch.allclose(q(x), hard, atol=1e-6)
    assert not torch.allclose(train_out, hard, atol=1e-3) or estimator == "ste"


@pytest.mark.parametrize("estimator", ["ste", "aqe", "aqe_annealed"])
def test_activation_quantizers_calibrate_and_quantize(estimator):
    q = make_quantizer("activation", "int", 4, estimator, ANNEAL).train()
    x = torch.relu(weights(9, (2, 3, 8, 8)))
    out, grad, _ = run(q, x)
    assert q.grid.lo == 0 and q.grid.hi == 15  # non-negative data: unsigned grid
    q.eval()
    assert torch.allclose(q(x), (x / q.eps).round().clamp(0, 15) * q.eps, atol=1e-6)


@pytest.mark.parametrize("variance", ["dynamic", "static"])
def test_controller_anneals_aqe_and_mirror_descent_under_either_variance(variance):
    aqe = [make_quantizer("weight", "int", 2, "aqe_annealed", ANNEAL) for _ in range(2)]
    mirror = [make_quantizer("weight", "binary", 1, "mirror_descent", ANNEAL) for _ in range(2)]
    anneal = AnnealConfig(start=0.0, end=0.5, variance=variance, sync="partition")
    controller = AnnealingController([[aqe[0], mirror[0]], [aqe[1], mirror[1]]], anneal)
    assert [q.alpha for q in aqe] == [0.5, 0.5] and [q.beta for q in mirror] == [1.0, 1.0]
    controller.step(0.125)  # layer 0 half-way through [0, 0.25], layer 1 not started
    assert [q.alpha for q in aqe] == pytest.approx([0.75, 0.5])
    assert [q.beta for q in mirror] == pytest.approx([math.sqrt(1000.0), 1.0])
    controller.step(0.5)
    assert [q.alpha for q in aqe] == [1.0, 1.0] and [q.beta for q in mirror] == [1000.0] * 2


@pytest.mark.parametrize(
    "args, culprit",
    [
        (("activation", "int", 4, "mirror_descent"), "mirror descent trains weights only"),
        (("weight", "int", 4, "mirror_descent"), "needs binary weights.*'int' with 4"),
        (("weight", "ternary", 2, "mirror_descent"), "needs binary weights.*'ternary'"),
        (("weight", "int", 4, "sgd"), "unknown estimator 'sgd'"),
        (("weight", "int", 0, "ste"), "0 bits"),
        (("activation", "int", 0, "aqe"), "0 bits"),
    ],
)
def test_bad_input_names_the_culprit(args, culprit):
    with pytest.raises(CodesignError, match=culprit):
        make_quantizer(*args, ANNEAL)


def test_mirror_descent_names_its_activation_estimator():
    assert MirrorDescentQuantizer.ACTIVATION_ESTIMATOR in ESTIMATORS
    assert MirrorDescentQuantizer.ACTIVATION_ESTIMATOR != "mirror_descent"


def test_fused_straight_through_kernels_match_eager(monkeypatch):
    x = weights(10, (4, 8, 6, 6)) * 3
    results = []
    for mode in ("0", "1"):
        monkeypatch.setenv("CODESIGN_COMPILE", mode)
        q = make_quantizer("activation", "int", 3, "aqe_annealed", ANNEAL).train()
        q.set_annealing(1.0, 0.4, 0.6)
        results.append(run(q, x)[:2])
    (out0, grad0), (out1, grad1) = results
    torch.testing.assert_close(out1, out0)
    assert torch.equal(grad1, grad0)
