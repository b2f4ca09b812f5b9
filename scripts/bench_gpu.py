"""Benchmark: training on a device. ANA against float and against PyTorch's fused
fake-quantization, per training step, and digits trials per hour.

    python scripts/bench_gpu.py                 # on CUDA (the default device, cuda:0)
    python scripts/bench_gpu.py --device cpu    # the same measurements, small, in a minute

Step = forward, cross-entropy, backward and an Adam update on 3x32x32 inputs, for the
benchmark CNN (3 conv + 1 linear, as in bench_quant.py) and ResNet-20, every conv / linear
layer's weights and input activations quantized at 2, 4 and 8 bits. ANA: normal noise,
`expectation` forward, full noise, with the default compile policy (`CODESIGN_COMPILE`).
Fused fake-quantization: torch.ao `FusedMovingAvgObsFakeQuantize` (observer and fake-quant in
one op) on the same tensors at the same bits. Medians of `--repeats` steps, round-robin over
the variants, each step timed between two device synchronisations.
Digits trials per hour: the digits_cnn space's default trial, run back to back in `--parallel`
processes sharing the device (several trials per GPU), after one warm-up trial per process.
Targets on a GPU: ANA / float <= 1.3 at every bit-width, ANA / fused fake-quant <= 1.1. The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.ao.quantization import FusedMovingAvgObsFakeQuantize, MovingAverageMinMaxObserver

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_quant import ana_model, cifar_cnn  # noqa: E402  (the same CNN and conversion)

from codesign.device import resolve_device  # noqa: E402
from codesign.models import create_model  # noqa: E402

BITS = (2, 4, 8)
TARGET_ANA_OVER_FLOAT = 1.3
TARGET_ANA_OVER_FAKE_QUANT = 1.1
# What a run measures by default: (batch, repeats, digits trials per process, parallel).
DEFAULTS = {"cuda": (256, 30, 8, "1,4"), "cpu": (16, 3, 1, "1")}


MODELS: dict[str, Callable[[], nn.Module]] = {
    "cnn": cifar_cnn,
    "resnet20": lambda: create_model("resnet20", 10, 3, 32),
}


def _quantized_names(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


class FakeQuantized(nn.Module):
    """A conv / linear layer with fused fake-quantized weights and inputs at `bits`."""

    def __init__(self, layer: nn.Conv2d | nn.Linear, bits: int) -> None:
        super().__init__()
        self.layer = layer
        self.input_fq = FusedMovingAvgObsFakeQuantize(
            observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=2**bits - 1,
            dtype=torch.quint8, qscheme=torch.per_tensor_affine,
        )  # fmt: skip
        half = 2 ** (bits - 1)
        self.weight_fq = FusedMovingAvgObsFakeQuantize(
            observer=MovingAverageMinMaxObserver, quant_min=-half, quant_max=half - 1,
            dtype=torch.qint8, qscheme=torch.per_tensor_symmetric,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_fq(self.layer.weight)
        x = self.input_fq(x)
        if isinstance(self.layer, nn.Conv2d):
            return self.layer._conv_forward(x, weight, self.layer.bias)
        return nn.functional.linear(x, weight, self.layer.bias)


def fake_quant_model(float_model: nn.Module, bits: int) -> nn.Module:
    import copy

    model = copy.deepcopy(float_model)
    for name in _quantized_names(model):
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, FakeQuantized(getattr(parent, child), bits))
    return model


def step_timer(model: nn.Module, batch: int, device: torch.device) -> Callable[[], float]:
    """One timed training step of `model` on a fixed random batch."""
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, generator=generator).to(device)
    y = torch.randint(0, 10, (batch,), generator=generator).to(device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def step() -> float:
        sync()
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        sync()
        return time.perf_counter() - start

    return step


def step_ratios(name: str, batch: int, repeats: int, device: torch.device) -> dict:
    """Median step times (ms) of float, ANA and fused fake-quant at each bit-width."""
    torch.manual_seed(0)
    base = MODELS[name]()
    steps = {"float": step_timer(base, batch, device)}
    for bits in BITS:
        steps[f"ana_{bits}"] = step_timer(ana_model(base, bits), batch, device)
        steps[f"fake_quant_{bits}"] = step_timer(fake_quant_model(base, bits), batch, device)
    first = {key: step() for key, step in steps.items()}  # compiles ANA's kernels
    for _ in range(3):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {key: [] for key in steps}
    for _ in range(repeats):
        for key, step in steps.items():
            times[key].append(step())
    ms = {key: 1000 * statistics.median(t) for key, t in times.items()}
    out: dict = {"batch": batch, "ms": {k: round(v, 3) for k, v in ms.items()},
                 "first_ana_step_s": round(first["ana_2"], 2)}
    for bits in BITS:
        out[f"ana_over_float_{bits}"] = round(ms[f"ana_{bits}"] / ms["float"], 3)
        out[f"ana_over_fake_quant_{bits}"] = round(ms[f"ana_{bits}"] / ms[f"fake_quant_{bits}"], 3)
        out[f"fake_quant_over_float_{bits}"] = round(ms[f"fake_quant_{bits}"] / ms["float"], 3)
    return out


def _digits_worker(device: str, trials: int, barrier, results) -> None:  # noqa: ANN001
    from codesign.space import load_space
    from codesign.train import train_trial

    cfg = load_space("digits_cnn").fixed_config()
    warm = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=1))
    train_trial(warm, device=device)  # compiles the kernels this process needs
    barrier.wait()
    accuracies = [train_trial(cfg, device=device).test_accuracy for _ in range(trials)]
    results.put(accuracies)


def digits_per_hour(device: str, trials: int, parallel: int) -> dict:
    """Digits trials per hour with `parallel` processes sharing the device."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(parallel + 1)
    results = context.Queue()
    workers = [context.Process(target=_digits_worker, args=(device, trials, barrier, results))
               for _ in range(parallel)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    accuracies = [a for _ in workers for a in results.get()]
    seconds = time.perf_counter() - start
    for worker in workers:
        worker.join()
    return {
        "parallel": parallel,
        "trials": len(accuracies),
        "seconds": round(seconds, 2),
        "trials_per_hour": round(3600 * len(accuracies) / seconds, 1),
        "mean_test_accuracy": round(statistics.mean(accuracies), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--batch", type=int, help="step batch (default 256 on CUDA, 16 on CPU)")
    parser.add_argument("--repeats", type=int, help="timed steps per variant")
    parser.add_argument("--trials", type=int, help="timed digits trials per process")
    parser.add_argument("--parallel", help="comma-separated process counts sharing the device")
    args = parser.parse_args()
    started = time.perf_counter()
    device = resolve_device(args.device)
    batch, repeats, trials, parallel = DEFAULTS[device.type]
    batch, repeats = args.batch or batch, args.repeats or repeats
    trials, parallel = args.trials or trials, args.parallel or parallel
    if device.type == "cuda":
        torch.cuda.set_device(device)

    result: dict = {
        "device": str(device),
        "name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
    }
    for name in MODELS:
        result[name] = step_ratios(name, batch, repeats, device)
        print(f"{name}: {json.dumps(result[name])}", flush=True)
    result["digits"] = [digits_per_hour(str(device), trials, int(p))
                        for p in parallel.split(",")]
    print(f"digits: {json.dumps(result['digits'])}", flush=True)
    ratios = [result[m][f"ana_over_float_{b}"] for m in MODELS for b in BITS]
    versus = [result[m][f"ana_over_fake_quant_{b}"] for m in MODELS for b in BITS]
    result["max_ana_over_float"] = max(ratios)
    result["max_ana_over_fake_quant"] = max(versus)
    result["targets_met"] = (max(ratios) <= TARGET_ANA_OVER_FLOAT
                             and max(versus) <= TARGET_ANA_OVER_FAKE_QUANT)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
