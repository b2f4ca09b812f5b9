"""onnxruntime latency and file size of the int8 QDQ export against the float export.

For digits_cnn (8x8) and ResNet-18 (64x64, 10 classes): the network with every layer at 8
bits (per-channel weights, quantizers calibrated on random data) written as `onnx` (QDQ),
and the float network written the same way; each run in onnxruntime on CPU at batch 1 and
32, median of repeated runs after warm-up. Also lists the kernels onnxruntime's optimised
graph runs (QLinearConv, ConvInteger, ... or float Conv / FusedConv). Prints a Markdown
table for docs/deploy.md.

    python scripts/bench_deploy.py [--repeats 50] [--threads N]
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from codesign.config import LayerQuant, TrialConfig
from codesign.deploy import export_network
from codesign.models import create_model
from codesign.nn import convert, quantizable_layers

NETWORKS = {"digits_cnn": (1, 8), "resnet18": (3, 64)}


def network(name: str, quantized: bool) -> torch.nn.Module:
    channels, size = NETWORKS[name]
    torch.manual_seed(0)
    model = create_model(name, 10, channels, size)
    layers = {n: LayerQuant(8, 8) for n in quantizable_layers(model)} if quantized else {}
    cfg = TrialConfig(model=name, dataset="digits", layers=layers)
    model.train()
    with torch.no_grad():
        model(torch.randn(16, channels, size, size))  # batch-norm statistics
    model = convert(model, cfg, per_channel=True).eval()
    with torch.no_grad():
        model(torch.randn(16, channels, size, size).relu())  # activation calibration
    return model


def median_ms(session: ort.InferenceSession, x: np.ndarray, repeats: int) -> float:
    for _ in range(3):
        session.run(None, {"input": x})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, {"input": x})
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def kernels(path: Path, threads: int) -> str:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    optimised = path.with_suffix(".optimised.onnx")
    options.optimized_model_filepath = str(optimised)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ops = collections.Counter(n.op_type for n in onnx.load(optimised).graph.node)
    heavy = [op for op in ops if "Conv" in op or "Gemm" in op or "MatMul" in op]
    return ", ".join(f"{op} x{ops[op]}" for op in sorted(heavy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ.setdefault("CODESIGN_COMPILE", "0")
    print(f"onnxruntime {ort.__version__}, {args.threads} intra-op threads, "
          f"median of {args.repeats} runs\n")
    print("| network | export | file size | batch 1 (ms) | batch 32 (ms) | kernels run |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (channels, size) in NETWORKS.items():
            for quantized in (False, True):
                model = network(name, quantized)
                label = "int8 QDQ" if quantized else "float"
                dest = Path(tmp) / f"{name}-{label.replace(' ', '_')}"
                path, _ = export_network(model, torch.zeros(2, channels, size, size), "onnx",
                                         dest)
                options = ort.SessionOptions()
                options.intra_op_num_threads = args.threads
                session = ort.InferenceSession(str(path), options,
                                               providers=["CPUExecutionProvider"])
                rng = np.random.default_rng(0)
                ms = [median_ms(session, rng.standard_normal(
                    (batch, channels, size, size)).astype(np.float32),
                    args.repeats if batch == 1 else max(5, args.repeats // 5))
                    for batch in (1, 32)]
                size_kib = path.stat().st_size / 1024
                print(f"| {name} {size}x{size} | {label} | {size_kib:,.0f} KiB | {ms[0]:.3f} | "
                      f"{ms[1]:.3f} | {kernels(path, args.threads)} |")


if __name__ == "__main__":
    main()
