"""Benchmark: one training step of a small CNN, float vs ANA vs PyTorch's fused fake-quantization.

    python scripts/bench_quant.py [--repeats 15] [--threads 2] [--cold-cache]

Step = forward, cross-entropy, backward and an Adam update, at batch 128 on 3x32x32 inputs
(3 conv layers + 1 linear, every layer's weights and input activations quantized). Compared:
float; ANA (normal noise, expectation forward, full noise s = beta_s) at 2, 4 and 8 bits with
the default compile policy; ANA eager (CODESIGN_COMPILE=0); and torch.ao's `FakeQuantize`
(moving-average min/max observer + `torch.fake_quantize_per_tensor_affine`, the STE op of
PyTorch QAT) at 8 bits on the same layers. It also times a digits-sized step (1x8x8 inputs,
batch 64) eager and compiled, to judge whether compilation pays on short trials.
Medians of `--repeats` steps after warm-up, all in one process. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Must precede the first compilation: a fresh inductor cache makes compile times cold.
if "--cold-cache" in sys.argv:
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_quant_inductor_")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.ao.quantization import FakeQuantize, MovingAverageMinMaxObserver  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codesign.config import AnnealConfig, LayerQuant, TrialConfig  # noqa: E402
from codesign.nn import convert  # noqa: E402
from codesign.quant import COMPILE_ENV_VAR  # noqa: E402

BITS = (2, 4, 8)


def cifar_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 4 * 4, 10),
    )  # fmt: skip


def digits_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )  # fmt: skip


def ana_model(float_model: nn.Module, bits: int) -> nn.Module:
    layers = {
        name: LayerQuant(bits, bits, "int", "int", "ana")
        for name, module in float_model.named_modules()
        if isinstance(module, nn.Conv2d | nn.Linear)
    }
    anneal = AnnealConfig(noise="normal", strategy="expectation")
    return convert(float_model, TrialConfig("bench", "bench", layers=layers, anneal=anneal))


class FakeQuantLayer(nn.Module):
    """A conv / linear layer with torch.ao fake-quantized (8-bit) weights and inputs."""

    def __init__(self, layer: nn.Conv2d | nn.Linear) -> None:
        super().__init__()
        self.layer = layer
        self.input_fq = FakeQuantize(
            observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
            dtype=torch.quint8, qscheme=torch.per_tensor_affine,
        )  # fmt: skip
        self.weight_fq = FakeQuantize(
            observer=MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
            dtype=torch.qint8, qscheme=torch.per_tensor_symmetric,
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_fq(x)
        weight = self.weight_fq(self.layer.weight)
        if isinstance(self.layer, nn.Conv2d):
            return self.layer._conv_forward(x, weight, self.layer.bias)
        return nn.functional.linear(x, weight, self.layer.bias)


def torch_qat_model(float_model: nn.Module) -> nn.Module:
    model = nn.Sequential(
        *(
            FakeQuantLayer(m) if isinstance(m, nn.Conv2d | nn.Linear) else m
            for m in float_model.children()
        )
    )
    return model


def step_timer(model: nn.Module, shape: tuple[int, ...], batch: int) -> Callable[[], float]:
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *shape, generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)

    def step() -> float:
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def interleaved(
    steps: dict[str, Callable[[], float]], repeats: int, warmup: int = 3
) -> tuple[dict[str, float], dict[str, float]]:
    """(first step incl. any compilation, median step) per name, in seconds.

    Steps run round-robin, so a change in background load hits every variant alike.
    """
    first = {name: step() for name, step in steps.items()}
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(step())
    return first, {name: statistics.median(t) for name, t in times.items()}


def with_compile_mode(mode: str, step: Callable[[], float]) -> Callable[[], float]:
    def run() -> float:
        os.environ[COMPILE_ENV_VAR] = mode
        return step()

    return run


def run(repeats: int) -> dict:
    shape, batch = (3, 32, 32), 128
    torch.manual_seed(0)
    base = cifar_cnn()
    steps = {"float": step_timer(base, shape, batch)}
    for bits in BITS:
        model = ana_model(base, bits)
        steps[f"ana_{bits}"] = with_compile_mode("auto", step_timer(model, shape, batch))
    steps["torch_qat_8"] = step_timer(torch_qat_model(base), shape, batch)
    for bits in BITS:
        eager = step_timer(ana_model(base, bits), shape, batch)
        steps[f"ana_eager_{bits}"] = with_compile_mode("0", eager)
    first, median = interleaved(steps, repeats)

    digits_shape, digits_batch = (1, 8, 8), 64
    digits = digits_cnn()
    digit_steps = {"float": step_timer(digits, digits_shape, digits_batch)}
    for mode in ("0", "1"):
        model = ana_model(digits, 4)
        digit_steps[f"ana4_compile_{mode}"] = with_compile_mode(
            mode, step_timer(model, digits_shape, digits_batch)
        )
    digit_first, digit_median = interleaved(digit_steps, repeats * 4)
    os.environ[COMPILE_ENV_VAR] = "auto"
    return {
        "median": median,
        "first": first,
        "digits_median": digit_median,
        "digits_first": digit_first,
    }


def report(results: dict) -> dict:
    median, first = results["median"], results["first"]
    float_s, qat_s = median["float"], median["torch_qat_8"]
    print(f"{'variant':<16}{'median ms':>10}{'x float':>9}{'x QAT':>8}{'first s':>9}")
    for name, value in median.items():
        print(
            f"{name:<16}{1e3 * value:>10.1f}{value / float_s:>9.2f}{value / qat_s:>8.2f}"
            f"{first[name]:>9.2f}"
        )
    print("digits-sized step (1x8x8, batch 64, ANA 4 bit):")
    for name, value in results["digits_median"].items():
        print(f"{name:<16}{1e3 * value:>10.2f}{'':>17}{results['digits_first'][name]:>9.2f}")
    ana = {b: median[f"ana_{b}"] for b in BITS}
    summary = {
        "threads": torch.get_num_threads(),
        "step_ms": {name: round(1e3 * value, 2) for name, value in median.items()},
        "ratio_vs_float": {b: round(ana[b] / float_s, 3) for b in BITS},
        "ratio_vs_torch_qat": {b: round(ana[b] / qat_s, 3) for b in BITS},
        "ratio_8_vs_2_bits": round(ana[8] / ana[2], 3),
        "eager_ratio_vs_float": {b: round(median[f"ana_eager_{b}"] / float_s, 3) for b in BITS},
        "first_step_s": {name: round(value, 2) for name, value in first.items()},
        "digits_step_ms": {k: round(1e3 * v, 3) for k, v in results["digits_median"].items()},
        "digits_first_step_s": {k: round(v, 2) for k, v in results["digits_first"].items()},
    }
    print(json.dumps(summary))
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cold-cache", action="store_true", help="fresh inductor cache")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report(run(args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
