"""Write a quantized network as a deployable file, with its configuration and report.

`export_network` turns the eval-mode network into one file per format: `model.onnx` (QDQ),
`model.qonnx.onnx` (QONNX) or `model.pt` (the state dict). ONNX files carry the trial's
configuration and costs as metadata (`codesign.config`, `codesign.costs`, ...), and each
export writes `<file>.report.csv`: per layer, the format in the file and the expected kernel.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from codesign.deploy._graph import Dialect, LayerRow, build_graph
from codesign.errors import CodesignError

FORMATS = ("onnx", "qonnx", "pytorch")
FILE_NAMES = {"onnx": "model.onnx", "qonnx": "model.qonnx.onnx", "pytorch": "model.pt"}
EXTRA = "deploy"


def parse_formats(text: str) -> list[str]:
    """'onnx,qonnx' -> ['onnx', 'qonnx'], refusing unknown names."""
    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise CodesignError(
            f"unknown export format '{(unknown or [text])[0]}'; choose from: {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(formats))


def dialect(fmt: str) -> Dialect:
    """The graph dialect of an ONNX-based format; needs the `deploy` extra."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise CodesignError(
            f"the {fmt} export needs onnx, onnxruntime and qonnx: pip install 'codesign[{EXTRA}]'"
        ) from None
    from codesign.deploy._qdq import QDQDialect
    from codesign.deploy._qonnx import QONNXDialect

    if fmt == "onnx":
        return QDQDialect()
    if fmt == "qonnx":
        return QONNXDialect()
    raise CodesignError(f"format '{fmt}' is not an ONNX format; choose onnx or qonnx")


def export_network(model: nn.Module, sample: torch.Tensor, fmt: str, dest: Path,
                   metadata: dict[str, Any] | None = None) -> tuple[Path, list[LayerRow]]:
    """Write `model` (eval mode, hard quantized) in `fmt` into `dest`; returns (file, report).

    `sample` is one input batch of the shape the network expects (its values only drive
    shape propagation). `metadata` values are stored as JSON strings under `codesign.<key>`.
    """
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / FILE_NAMES[fmt]
    model = model.eval()
    if fmt == "pytorch":
        torch.save(model.state_dict(), path)
        return path, []
    import onnx

    props = {f"codesign.{key}": value if isinstance(value, str) else json.dumps(value)
             for key, value in (metadata or {}).items()}
    proto, rows = build_graph(model, sample, dialect(fmt), props)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    write_report(rows, path.with_name(path.name + ".report.csv"))
    return path, rows


def write_report(rows: list[LayerRow], path: Path) -> Path:
    import pandas as pd

    frame = pd.DataFrame([asdict(r) for r in rows],
                         columns=["layer", "op", "weights", "activations", "batchnorm", "kernel"])
    frame.to_csv(path, index=False)
    return path
