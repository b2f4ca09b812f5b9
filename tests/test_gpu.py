"""On a CUDA device: the quantizers agree with the CPU, a trial trains there without host
synchronisation and reaches the CPU's accuracy, and Ray puts two trials on one GPU.

Run on a GPU machine with `python -m pytest -q -m gpu tests/test_gpu.py`; everywhere else
every test is skipped with its reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from codesign.config import STRATEGIES, AnnealConfig, LayerQuant, TrainConfig, TrialConfig
from codesign.data import device_loaders, load_dataset
from codesign.nn import layer_quantizers
from codesign.quant import (
    COMPILE_ENV_VAR,
    NOISES,
    AnnealingController,
    ana_quantize,
    binary_grid,
    pow2_grid,
    signed_grid,
    straight_through,
    ternary_grid,
    unsigned_grid,
)
from codesign.space import load_space
from codesign.train import EpochTally, build_model, train_step, train_trial, with_data_shape

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="needs a CUDA device (torch.cuda.is_available() is False)"),
]

DIGITS = load_dataset("digits").info
NOISE_NAMES = tuple(NOISES.names())
CUDA = torch.device("cuda", 0)
TOLERANCE = 1e-5
NEAR_THRESHOLD = 1e-4  # quanta: where the stair jumps, one ulp may pick the other level


@pytest.fixture(params=["eager", "compiled"])
def compile_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CODESIGN_COMPILE", "0" if request.param == "eager" else "1")
    return request.param


def _inputs(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator) * 1.5


@contextlib.contextmanager
def _eager_on_the_cpu(device: torch.device) -> Iterator[None]:
    """The CPU reference runs eagerly (compiling it for the CPU would only cost time)."""
    saved = os.environ.get(COMPILE_ENV_VAR)
    if device.type == "cpu":
        os.environ[COMPILE_ENV_VAR] = "0"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(COMPILE_ENV_VAR, None)
        else:
            os.environ[COMPILE_ENV_VAR] = saved


def _run(x: torch.Tensor, eps: torch.Tensor, device: torch.device, **kwargs: object):
    x = x.to(device).requires_grad_(True)
    with _eager_on_the_cpu(device):
        out = ana_quantize(x, eps.to(device), **kwargs)  # type: ignore[arg-type]
        grad_out = torch.linspace(-1.0, 1.0, x.numel()).reshape(x.shape).to(device)
        (grad,) = torch.autograd.grad(out, x, grad_out)
    return out.detach().cpu(), grad.cpu()


def _away_from_thresholds(x: torch.Tensor, eps: torch.Tensor, thresholds, mu: float):
    u = (x / eps.reshape(-1, *[1] * (x.dim() - 1)) if eps.dim() else x / eps) - mu
    gaps = torch.stack([(u - t).abs() for t in thresholds]).amin(0)
    return gaps > NEAR_THRESHOLD


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("noise", NOISE_NAMES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_ana_op_on_cuda_equals_the_cpu(compile_mode: str, bits: int, noise: str,
                                       strategy: str) -> None:
    grid = signed_grid(bits)
    x = _inputs((32, 4096), seed=bits)  # 32 output channels: per-channel eps
    eps = (torch.rand(32, generator=torch.Generator().manual_seed(1)) + 0.5) * 3.0 / grid.hi
    args = {"grid": grid, "noise": noise, "strategy": strategy, "mu": -0.2, "s": 0.6}
    out_cpu, grad_cpu = _run(x, eps, torch.device("cpu"), **args)
    out_gpu, grad_gpu = _run(x, eps, CUDA, **args)
    torch.testing.assert_close(grad_gpu, grad_cpu, atol=TOLERANCE, rtol=0)
    if strategy == "random":  # other random numbers: the same law, checked by its mean
        levels = out_gpu / eps[:, None]
        assert torch.allclose(levels, levels.round(), atol=1e-3)
        mean = torch.stack([_run(x, eps, CUDA, **args)[0] for _ in range(64)]).mean(0)
        expected, _ = _run(x, eps, torch.device("cpu"), **{**args, "strategy": "expectation"})
        error = (mean - expected) / eps[:, None]  # in quanta; on the CPU 0.03 to 0.09
        assert error.abs().mean() < 0.15 and abs(float(error.mean())) < 0.005
        return
    keep = _away_from_thresholds(x, eps, grid.thresholds, mu=-0.2)
    assert keep.float().mean() > 0.99
    torch.testing.assert_close(out_gpu[keep], out_cpu[keep], atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("grid", [binary_grid(), ternary_grid(), pow2_grid(4), unsigned_grid(4)],
                         ids=["binary", "ternary", "pow2-4", "unsigned-4"])
@pytest.mark.parametrize("noise", NOISE_NAMES)
def test_ana_op_on_every_grid_on_cuda_equals_the_cpu(compile_mode: str, grid, noise) -> None:
    x = _inputs((65536,), seed=7) * grid.max_abs / 2.0
    eps = torch.tensor(0.9)
    args = {"grid": grid, "noise": noise, "strategy": "expectation", "s": 0.3}
    out_cpu, grad_cpu = _run(x, eps, torch.device("cpu"), **args)
    out_gpu, grad_gpu = _run(x, eps, CUDA, **args)
    torch.testing.assert_close(out_gpu, out_cpu, atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(grad_gpu, grad_cpu, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("alpha", [1.0, 0.75])  # the STE, and AQE halfway through annealing
def test_straight_through_peers_on_cuda_equal_the_cpu(compile_mode: str, alpha: float) -> None:
    grid = signed_grid(4)
    x = _inputs((16, 2048), seed=3)
    eps = torch.linspace(0.2, 0.6, 16)
    results = []
    for device in (torch.device("cpu"), CUDA):
        xd = x.to(device).requires_grad_(True)
        with _eager_on_the_cpu(device):
            out = straight_through(xd, eps.to(device), grid, alpha=alpha, gain=2.0 * alpha)
            (grad,) = torch.autograd.grad(out.sum(), xd)
        results.append((out.detach().cpu(), grad.cpu()))
    keep = _away_from_thresholds(x, eps, grid.thresholds, mu=0.0)
    torch.testing.assert_close(results[1][0][keep], results[0][0][keep], atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(results[1][1], results[0][1], atol=TOLERANCE, rtol=0)


def _digits_config(epochs: int, **train: object) -> TrialConfig:
    cfg = load_space("digits_cnn").fixed_config(w_bits=4, a_bits=4, epochs=epochs, seed=0)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train))


def test_a_digits_trial_on_cuda_reaches_the_cpu_accuracy(tmp_path: Path) -> None:
    cfg = _digits_config(epochs=2)
    on_gpu = train_trial(cfg, tmp_path / "gpu", device="cuda")
    on_cpu = train_trial(cfg, tmp_path / "cpu", device="cpu")
    assert on_gpu.status == on_cpu.status == "ok"
    assert abs(on_gpu.test_accuracy - on_cpu.test_accuracy) <= 0.01
    assert abs(on_gpu.val_accuracy - on_cpu.val_accuracy) <= 0.01
    state = torch.load(tmp_path / "gpu" / "model.pt", weights_only=True)
    assert all(v.device.type == "cpu" for v in state.values())


def test_a_bf16_trial_on_cuda_learns(tmp_path: Path) -> None:
    result = train_trial(_digits_config(epochs=2, amp="bf16"), device="cuda")
    assert result.status == "ok" and result.val_accuracy > 0.6


@pytest.mark.parametrize("estimator", ["ana", "ste", "aqe", "mirror_descent"])
def test_the_training_loop_never_synchronises_with_the_host(compile_mode: str,
                                                            estimator: str) -> None:
    cfg = _digits_config(epochs=1)
    w = (1, "binary") if estimator == "mirror_descent" else (2, "int")
    layers = {name: LayerQuant(w_bits=w[0], w_format=w[1], a_bits=4, estimator=estimator)
              for name in cfg.layers}
    cfg = dataclasses.replace(cfg, layers=layers, anneal=AnnealConfig(sync="partition"),
                              train=TrainConfig(epochs=1, optimizer="adam"))
    model = build_model(with_data_shape(cfg, DIGITS)).to(CUDA)
    train, _, _ = device_loaders(load_dataset("digits"), 64, CUDA)
    batches = list(train)
    controller = AnnealingController(layer_quantizers(model), cfg.anneal)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(batches))
    tally = EpochTally(CUDA, 100.0)
    model.train()

    def step(i: int) -> None:
        inputs, targets = batches[i]
        train_step(model, inputs, targets, optimizer, scheduler, controller,
                   i / len(batches), tally, i)

    step(0)  # first batch: signedness of each activation grid, grid constants, compilation
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            for i in range(1, len(batches)):
                step(i)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message).lower()]
    assert not syncs, syncs[:3]
    loss, accuracy = tally.read()
    assert loss > 0 and accuracy > 0.3


# -- several trials per GPU on Ray -------------------------------------------------------------


@pytest.fixture
def one_gpu_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("CODESIGN_COMPILE", "0")
    ray.init(num_cpus=4, num_gpus=1, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


def test_half_a_gpu_per_trial_puts_two_trials_on_one_gpu(one_gpu_ray, tmp_path: Path) -> None:
    """Ray's accounting of the one GPU: both halves held at once, by two running trials."""
    import ray

    from codesign.search import Manifest, SearchRequest, load_study, run_search

    free: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            free.append(ray.available_resources().get("GPU", 0.0))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run_search(SearchRequest(space="digits_cnn", trials=4, epochs=2, backend="ray",
                                 gpus_per_trial=0.5, out=tmp_path / "run", baselines=False))
    finally:
        done.set()
        watcher.join()
    study = load_study(Manifest.read(tmp_path / "run"))
    finished = [t for t in study.trials if t.user_attrs.get("status") == "ok"]
    assert len(finished) == 4 and all(t.user_attrs["val_accuracy"] > 0.3 for t in finished)
    assert min(free) == 0.0 and max(free) >= 0.5  # two trials at once, one at other times
