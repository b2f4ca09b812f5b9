"""Small ONNX graphs of single layers, float or int8 QDQ, for measuring them in onnxruntime.

An int8 layer is written in the QDQ form (QuantizeLinear / DequantizeLinear around the input,
int8 weights behind a DequantizeLinear, the output re-quantized), which onnxruntime's graph
optimizer fuses into its integer kernels (QLinearConv, QLinearMatMul). The input's spatial
size and padding are recovered from the layer's element counts (square maps, symmetric
padding), enough to reproduce its MACs.
"""

from __future__ import annotations

import math

import numpy as np

from hw_models import LayerSpec

OPSET = 17
INT8, FLOAT = "int8", "float"


def input_shape(spec: LayerSpec) -> tuple[int, ...]:
    """The layer's input tensor shape (N, C, *spatial), or (N, C) for a linear layer."""
    if spec.kind == "linear":
        return (spec.batch, spec.in_channels)
    return (spec.batch, spec.in_channels, *spec.in_size)


def _pads(spec: LayerSpec) -> list[int]:
    pads = []
    for out, k, s, size in zip(spec.out_size, spec.kernel, spec.stride, spec.in_size,
                               strict=True):
        pads.append(max(0, math.ceil(((out - 1) * s + k - size) / 2)))
    return pads + pads


def layer_graph(spec: LayerSpec, precision: str, seed: int = 0) -> bytes:
    """A serialized ONNX model computing `spec` alone at `precision` (int8 or float)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    shape = input_shape(spec)
    nodes, inits = [], []
    linear = spec.kind == "linear"
    if linear:
        weight = rng.standard_normal((spec.in_channels, spec.out_channels)).astype(np.float32)
        out_shape: list[int] = [spec.batch, spec.out_channels]
    else:
        weight = rng.standard_normal(
            (spec.out_channels, spec.in_channels // spec.groups, *spec.kernel)
        ).astype(np.float32)
        out_shape = [spec.batch, spec.out_channels, *spec.out_size]
    x, w = "x", "w"
    if precision == INT8:
        scale = float(np.abs(weight).max() / 127)
        q_weight = np.clip(np.round(weight / scale), -127, 127).astype(np.int8)
        inits += [
            numpy_helper.from_array(q_weight, "w_q"),
            numpy_helper.from_array(np.array(scale, np.float32), "w_scale"),
            numpy_helper.from_array(np.array(0, np.int8), "w_zero"),
            numpy_helper.from_array(np.array(0.05, np.float32), "a_scale"),
            numpy_helper.from_array(np.array(128, np.uint8), "a_zero"),
        ]
        nodes += [
            helper.make_node("QuantizeLinear", ["x", "a_scale", "a_zero"], ["x_q"]),
            helper.make_node("DequantizeLinear", ["x_q", "a_scale", "a_zero"], ["x_dq"]),
            helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w_dq"]),
        ]
        x, w = "x_dq", "w_dq"
    else:
        inits.append(numpy_helper.from_array(weight, "w"))
    y = "y_f" if precision == INT8 else "y"
    if linear:
        nodes.append(helper.make_node("MatMul", [x, w], [y]))
    else:
        nodes.append(helper.make_node(
            "Conv", [x, w], [y], strides=list(spec.stride), group=spec.groups,
            kernel_shape=list(spec.kernel), pads=_pads(spec)))
    if precision == INT8:
        nodes += [
            helper.make_node("QuantizeLinear", [y, "a_scale", "a_zero"], ["y_q"]),
            helper.make_node("DequantizeLinear", ["y_q", "a_scale", "a_zero"], ["y"]),
        ]
    graph = helper.make_graph(
        nodes, spec.name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return model.SerializeToString()
