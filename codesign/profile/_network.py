"""Whole-network ONNX graphs of a configuration: the float model exported by torch's
TorchScript-based exporter, then quantized to int8 QDQ by onnxruntime's static quantizer,
leaving float layers float. Every integer layer runs int8 (onnxruntime's narrowest kernels)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from codesign.config import FLOAT_BITS, TrialConfig

OPSET = 17


def float_network(cfg: TrialConfig, shape: tuple[int, ...]) -> bytes:
    """The configuration's float model as ONNX bytes (input `x` of `shape`)."""
    import warnings

    import torch

    from codesign.network import float_network as float_model

    model = float_model(cfg, with_init=False).eval()
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as folder:
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        path = Path(folder) / "float.onnx"
        torch.onnx.export(model, (torch.zeros(shape),), str(path), dynamo=False,
                          opset_version=OPSET, input_names=["x"], output_names=["y"])
        return path.read_bytes()


def layer_nodes(model: bytes) -> dict[str, str]:
    """Costed layer name -> ONNX node name (the exporter scopes nodes by module path)."""
    import onnx

    nodes = {}
    for node in onnx.load_from_string(model).graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul") and node.name.startswith("/"):
            scopes = node.name.strip("/").split("/")[:-1]
            if scopes:
                nodes[".".join(_relative(scopes))] = node.name
    return nodes


def _relative(scopes: list[str]) -> list[str]:
    """['layer1', 'layer1.0', 'conv1'] -> ['layer1', '0', 'conv1']."""
    parts: list[str] = []
    for scope in scopes:
        prefix = ".".join(parts)
        parts.append(scope[len(prefix) + 1:] if prefix and scope.startswith(prefix + ".")
                     else scope)
    return parts


def int8_network(model: bytes, shape: tuple[int, ...], float_nodes: list[str]) -> bytes:
    """`model` with every Conv / MatMul / Gemm quantized to int8 QDQ except `float_nodes`."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Random(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.batches = iter([{"x": rng.standard_normal(shape).astype(np.float32)}
                                 for _ in range(2)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "float.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(model)
        logging.disable(logging.WARNING)  # the quantizer's advice on pre-processing
        try:
                quantize_static(str(source), str(target), Random(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=["Conv", "MatMul", "Gemm"],
                            nodes_to_exclude=float_nodes)
        finally:
            logging.disable(logging.NOTSET)
        return target.read_bytes()


def float_layers(cfg: TrialConfig) -> list[str]:
    """Layers of the configuration that run float (either operand at 32 bits, or unnamed)."""
    return [name for name, quant in cfg.layers.items()
            if FLOAT_BITS in (quant.w_bits, quant.a_bits) or "float" in
            (quant.w_format, quant.a_format)]
