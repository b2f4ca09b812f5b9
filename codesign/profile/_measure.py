"""Timing onnxruntime sessions: warm-up runs, then the median of repeated runs."""

from __future__ import annotations

import statistics
import time

import numpy as np

from codesign.errors import CodesignError

RUNTIMES = ("onnxruntime",)


def require_runtime(runtime: str) -> str:
    """The onnxruntime version; a missing runtime or an unknown one is one line."""
    if runtime not in RUNTIMES:
        raise CodesignError(f"--runtime {runtime!r} is not supported; use one of: "
                            f"{', '.join(RUNTIMES)}")
    try:
        import onnxruntime
    except ImportError:
        raise CodesignError("measuring needs onnxruntime and onnx: pip install "
                            "'codesign[profile]'") from None
    return str(onnxruntime.__version__)


def session(model: bytes, threads: int):
    """An onnxruntime CPU session with every graph optimization (QDQ fusion included)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def median_seconds(sess, shape: tuple[int, ...], min_time: float = 0.2,
                   max_runs: int = 200, warmup: int = 3) -> float:
    """Median wall time of one run of `sess` on a random input of `shape`."""
    name = sess.get_inputs()[0].name
    feed = {name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    for _ in range(warmup):
        sess.run(None, feed)
    times: list[float] = []
    spent = 0.0
    while len(times) < max_runs and (spent < min_time or len(times) < 5):
        started = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - started)
        spent += times[-1]
    return statistics.median(times)
