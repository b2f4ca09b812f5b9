"""Translate a quantized network (eval mode) into an ONNX graph, node by node.

The network is traced with torch.fx (quantized layers as leaves) and its shapes propagated on
a sample input; every node becomes ONNX operators. Quantization is delegated to a `Dialect`
(standard QDQ or QONNX), which decides how a layer's input activations and weights appear
in the file; everything else (batch norm, pooling, residual adds, flatten) is the same in both.
An operator with no translation stops the export with its name.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import fx, nn

from codesign.deploy._tensors import ActivationGrid, WeightCodes, activation_grid, weight_codes
from codesign.deploy._writer import GraphWriter
from codesign.errors import CodesignError
from codesign.nn import QuantLayer

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
BATCH_DIM = "batch"
_CONV = nn.Conv1d | nn.Conv2d


class Dialect(Protocol):
    """How one format writes quantized tensors (see `_qdq.py` and `_qonnx.py`)."""

    name: str
    fold_batchnorm: bool

    def opset_imports(self) -> list[Any]: ...

    def activation(self, g: GraphWriter, x: str, grid: ActivationGrid, layer: str
                   ) -> tuple[str, str]:
        """(quantized tensor, description for the report)."""
        ...

    def weight(self, g: GraphWriter, codes: WeightCodes, layer: str, op: str
               ) -> tuple[str, str]:
        """(float weight tensor for Conv / Gemm, description for the report)."""
        ...

    def kernel(self, weight: str, activation: str) -> str:
        """The runtime kernel expected for a layer with these weights and inputs."""
        ...


@dataclass
class LayerRow:
    """One line of the export report."""

    layer: str
    op: str
    weights: str
    activations: str
    batchnorm: str
    kernel: str


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, QuantLayer) or super().is_leaf_module(m, qualname)


def trace(model: nn.Module, sample: torch.Tensor) -> fx.GraphModule:
    """The fx graph of `model` with each node's output shape in `meta['shape']`."""
    try:
        graph = _Tracer().trace(model)
    except Exception as err:  # fx raises many types for data-dependent control flow
        raise CodesignError(
            f"the network cannot be traced for export ({type(err).__name__}: {err}); "
            "export needs a forward without data-dependent control flow"
        ) from None
    module = fx.GraphModule(model, graph)
    shapes: dict[str, tuple[int, ...]] = {}
    env: dict[str, Any] = {}

    class _Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            out = super().run_node(n)
            if isinstance(out, torch.Tensor):
                shapes[n.name] = tuple(out.shape)
            env[n.name] = out
            return out

    with torch.no_grad():
        _Recorder(module).run(sample)
    for n in module.graph.nodes:
        n.meta["shape"] = shapes.get(n.name)
    return module


def build_graph(model: nn.Module, sample: torch.Tensor, dialect: Dialect,
                metadata: dict[str, str]) -> tuple[Any, list[LayerRow]]:
    """The ONNX model of `model` (eval mode) in `dialect`, and its per-layer report."""
    from onnx import TensorProto, helper

    model = model.eval()
    for name, module in model.named_modules():
        if isinstance(module, QuantLayer):
            activation_grid(module.input_quantizer, name)  # fails before anything runs
    module = trace(model, sample)
    translator = _Translator(module, dialect)
    out = translator.run()
    g = translator.g
    in_shape: list[Any] = [BATCH_DIM, *sample.shape[1:]]
    out_shape: list[Any] = [BATCH_DIM, *translator.output_shape[1:]]
    graph = helper.make_graph(
        g.nodes, f"codesign_{dialect.name}",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
        initializer=g.initializers,
    )
    proto = helper.make_model(graph, opset_imports=dialect.opset_imports(),
                              producer_name="codesign")
    proto.ir_version = min(proto.ir_version, 10)
    helper.set_model_props(proto, metadata)
    return proto, translator.rows


class _Translator:
    def __init__(self, module: fx.GraphModule, dialect: Dialect) -> None:
        self.module = module
        self.dialect = dialect
        self.g = GraphWriter()
        self.names: dict[str, str] = {}
        self.rows: list[LayerRow] = []
        self.folded: dict[str, nn.BatchNorm2d | nn.BatchNorm1d] = {}
        self.modules = dict(module.named_modules())
        self.output_shape: tuple[int, ...] = ()

    def run(self) -> str:
        result = OUTPUT_NAME
        for n in self.module.graph.nodes:
            if n.op == "placeholder":
                self.g.fresh(INPUT_NAME)
                self.names[n.name] = INPUT_NAME
            elif n.op == "output":
                arg = n.args[0]
                if not isinstance(arg, fx.Node):
                    raise CodesignError("export needs a network with a single tensor output")
                result = self.g.node("Identity", [self.names[arg.name]], OUTPUT_NAME)
                self.output_shape = arg.meta["shape"]
            elif n.op == "get_attr":
                raise CodesignError(f"export cannot translate the tensor attribute '{n.target}'")
            else:
                self.names[n.name] = self._translate(n)
        return result

    # -- dispatch --------------------------------------------------------------------------

    def _x(self, n: Any) -> str:
        if not isinstance(n, fx.Node):
            raise CodesignError(f"export expected a tensor, got {n!r}")
        return self.names[n.name]

    def _translate(self, n: fx.Node) -> str:
        if n.op == "call_module":
            sub = self.modules[str(n.target)]
            return self._module(n, sub)
        if n.op == "call_function":
            handler = _FUNCTIONS.get(n.target)
            what = getattr(n.target, "__name__", str(n.target))
        else:
            handler = _METHODS.get(str(n.target))
            what = f"Tensor.{n.target}"
        if handler is None:
            raise CodesignError(f"export cannot translate the operation '{what}' (node {n.name})")
        return handler(self, n)

    def _module(self, n: fx.Node, sub: Any) -> str:
        name = str(n.target)
        x = self._x(n.args[0])
        if isinstance(sub, _CONV | nn.Linear):
            return self._layer(n, name, sub, x)
        if isinstance(sub, nn.BatchNorm1d | nn.BatchNorm2d):
            if name in self.folded:
                return x
            return self._batchnorm(sub, x, name)
        if isinstance(sub, nn.ReLU):
            return self.g.node("Relu", [x], name)
        if isinstance(sub, nn.ReLU6 | nn.Hardtanh):
            lo, hi = (0.0, 6.0) if isinstance(sub, nn.ReLU6) else (sub.min_val, sub.max_val)
            return self._clip(x, lo, hi, name)
        if isinstance(sub, nn.Identity | nn.Dropout):
            return x
        if isinstance(sub, nn.MaxPool2d | nn.AvgPool2d):
            return self._pool(sub, x, name)
        if isinstance(sub, nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool1d):
            return self._adaptive_avg(n, x, name, sub.output_size)
        if isinstance(sub, nn.Flatten):
            return self._flatten(n, x, name, sub.start_dim, sub.end_dim)
        raise CodesignError(
            f"export cannot translate module '{name}' ({type(sub).__name__})"
        )

    # -- layers ----------------------------------------------------------------------------

    def _layer(self, n: fx.Node, name: str, layer: Any, x: str) -> str:
        g, d = self.g, self.dialect
        is_conv = isinstance(layer, _CONV)
        op = "Conv" if is_conv else "Gemm"
        acts = "float"
        codes: WeightCodes | None = None
        if isinstance(layer, QuantLayer):
            grid = activation_grid(layer.input_quantizer, name)
            if grid is not None:
                x, acts = d.activation(g, x, grid, name)
            codes = weight_codes(layer)
        weight = layer.weight.detach().float().cpu().numpy()
        bias = None if layer.bias is None else layer.bias.detach().float().cpu().numpy()
        bn_note = "-"
        bn = self._foldable_batchnorm(n) if d.fold_batchnorm and is_conv else None
        if bn is not None:
            factor, shift = _batchnorm_affine(bn)
            bias = shift if bias is None else bias * factor + shift
            if codes is None:
                weight = weight * factor.reshape(-1, *([1] * (weight.ndim - 1)))
            else:
                codes = _fold_into_scale(codes, factor)
            bn_note = "folded into scale and bias"
            self.folded[str(next(iter(n.users)).target)] = bn
        elif is_conv and self._next_batchnorm(n) is not None:
            bn_note = "kept"
        if codes is None:
            w, weights = g.const(f"{name}.weight", weight.astype(np.float32)), "float32"
        else:
            w, weights = d.weight(g, codes, name, op)
        kernel = "float" if codes is None and acts == "float" else d.kernel(weights, acts)
        inputs = [x, w]
        separate_bias = bias is not None and d.fold_batchnorm and not kernel.startswith("int8")
        if bias is not None and not separate_bias:
            inputs.append(g.const(f"{name}.bias", bias.astype(np.float32)))
        if is_conv:
            out = g.node("Conv", inputs, name, **_conv_attributes(layer, name))
        else:
            shape = n.args[0].meta["shape"] if isinstance(n.args[0], fx.Node) else None
            if shape is None or len(shape) != 2:
                raise CodesignError(
                    f"layer '{name}': export handles Linear on [batch, features] inputs only"
                )
            out = g.node("Gemm", inputs, name, transB=1)
        if separate_bias and bias is not None:
            # onnxruntime would round a layer's bias to int32 (scale s_input * s_weight) even
            # where no integer kernel runs; a separate Add keeps it exact.
            shape = (-1, *([1] * (len(n.meta["shape"]) - 2))) if is_conv else (-1,)
            b = g.const(f"{name}.bias", bias.astype(np.float32).reshape(shape))
            out = g.node("Add", [out, b], f"{name}.add_bias")
        self.rows.append(LayerRow(name, op, weights, acts, bn_note, kernel))
        return out

    def _next_batchnorm(self, n: fx.Node) -> nn.Module | None:
        if len(n.users) != 1:
            return None
        user = next(iter(n.users))
        if user.op != "call_module":
            return None
        sub = self.modules[str(user.target)]
        return sub if isinstance(sub, nn.BatchNorm1d | nn.BatchNorm2d) else None

    def _foldable_batchnorm(self, n: fx.Node) -> nn.BatchNorm1d | nn.BatchNorm2d | None:
        bn = self._next_batchnorm(n)
        if bn is None or bn.running_mean is None:
            return None
        return bn  # type: ignore[return-value]

    def _batchnorm(self, bn: Any, x: str, name: str) -> str:
        g = self.g
        if bn.running_mean is None:
            raise CodesignError(f"batch norm '{name}' has no running statistics to export")
        channels = bn.num_features
        weight = bn.weight.detach().numpy() if bn.weight is not None else np.ones(channels)
        bias = bn.bias.detach().numpy() if bn.bias is not None else np.zeros(channels)
        inputs = [g.const(f"{name}.{part}", np.asarray(v, dtype=np.float32)) for part, v in (
            ("weight", weight), ("bias", bias), ("running_mean", bn.running_mean.numpy()),
            ("running_var", bn.running_var.numpy()))]
        return g.node("BatchNormalization", [x, *inputs], name, epsilon=float(bn.eps))

    # -- shape-preserving and pooling operators --------------------------------------------

    def _clip(self, x: str, lo: float, hi: float, name: str) -> str:
        g = self.g
        bounds = [g.const(f"{name}.{k}", np.asarray(v, dtype=np.float32))
                  for k, v in (("min", lo), ("max", hi))]
        return g.node("Clip", [x, *bounds], name)

    def _pool(self, pool: nn.MaxPool2d | nn.AvgPool2d, x: str, name: str) -> str:
        kernel = _pair(pool.kernel_size)
        stride = _pair(pool.stride or pool.kernel_size)
        padding = _pair(pool.padding)
        attrs: dict[str, Any] = {"kernel_shape": kernel, "strides": stride,
                                 "pads": padding + padding, "ceil_mode": int(pool.ceil_mode)}
        if isinstance(pool, nn.MaxPool2d):
            if _pair(pool.dilation) != [1, 1]:
                attrs["dilations"] = _pair(pool.dilation)
            return self.g.node("MaxPool", [x], name, **attrs)
        if pool.divisor_override is not None:
            raise CodesignError(f"average pool '{name}' has a divisor_override export lacks")
        attrs["count_include_pad"] = int(pool.count_include_pad)
        return self.g.node("AveragePool", [x], name, **attrs)

    def _adaptive_avg(self, n: fx.Node, x: str, name: str, size: Any) -> str:
        in_shape = n.args[0].meta["shape"]  # type: ignore[union-attr]
        spatial = list(in_shape[2:])
        wanted = [size] * len(spatial) if isinstance(size, int) else list(size)
        wanted = [s if o is None else o for s, o in zip(spatial, wanted, strict=True)]
        if all(o == 1 for o in wanted):
            return self.g.node("GlobalAveragePool", [x], name)
        if any(s % o for s, o in zip(spatial, wanted, strict=True)):
            raise CodesignError(
                f"adaptive pool '{name}': {spatial} to {wanted} is not a fixed-window pool, "
                "which ONNX needs; use an input size divisible by the output size"
            )
        kernel = [s // o for s, o in zip(spatial, wanted, strict=True)]
        return self.g.node("AveragePool", [x], name, kernel_shape=kernel, strides=kernel)

    def _flatten(self, n: fx.Node, x: str, name: str, start: int, end: int) -> str:
        rank = len(n.args[0].meta["shape"])  # type: ignore[union-attr]
        if start != 1 or end not in (-1, rank - 1):
            raise CodesignError(f"'{name}': export handles flatten from dim 1 to the end only")
        return self.g.node("Flatten", [x], name, axis=1)


# -- call_function / call_method handlers ------------------------------------------------------


def _add(t: _Translator, n: fx.Node) -> str:
    a, b = n.args[0], n.args[1]
    if not isinstance(b, fx.Node):
        b_name = t.g.const(f"{n.name}.const", np.asarray(b, dtype=np.float32))
        return t.g.node("Add", [t._x(a), b_name], n.name)
    return t.g.node("Add", [t._x(a), t._x(b)], n.name)


def _relu(t: _Translator, n: fx.Node) -> str:
    return t.g.node("Relu", [t._x(n.args[0])], n.name)


def _flatten_call(t: _Translator, n: fx.Node) -> str:
    start = n.args[1] if len(n.args) > 1 else n.kwargs.get("start_dim", 0)
    end = n.args[2] if len(n.args) > 2 else n.kwargs.get("end_dim", -1)
    return t._flatten(n, t._x(n.args[0]), n.name, int(start), int(end))  # type: ignore[arg-type]


def _reshape_to_2d(t: _Translator, n: fx.Node) -> str:
    src = n.args[0]
    out_shape, in_shape = n.meta["shape"], src.meta["shape"]  # type: ignore[union-attr]
    if len(out_shape) != 2 or out_shape[0] != in_shape[0]:
        raise CodesignError(
            f"export handles view / reshape to [batch, features] only (node {n.name})"
        )
    return t.g.node("Flatten", [t._x(src)], n.name, axis=1)


def _adaptive_avg_call(t: _Translator, n: fx.Node) -> str:
    size = n.args[1] if len(n.args) > 1 else n.kwargs["output_size"]
    return t._adaptive_avg(n, t._x(n.args[0]), n.name, size)


def _cat(t: _Translator, n: fx.Node) -> str:
    dim = n.args[1] if len(n.args) > 1 else n.kwargs.get("dim", 0)
    inputs = [t._x(a) for a in n.args[0]]  # type: ignore[union-attr]
    return t.g.node("Concat", inputs, n.name, axis=int(dim))  # type: ignore[arg-type]


Handler = Callable[[_Translator, fx.Node], str]
_FUNCTIONS: dict[Any, Handler] = {
    operator.add: _add, operator.iadd: _add, torch.add: _add,
    torch.relu: _relu, nn.functional.relu: _relu,
    torch.flatten: _flatten_call,
    nn.functional.adaptive_avg_pool2d: _adaptive_avg_call,
    torch.cat: _cat,
}
_METHODS: dict[str, Handler] = {
    "add": _add, "add_": _add, "relu": _relu, "flatten": _flatten_call,
    "view": _reshape_to_2d, "reshape": _reshape_to_2d,
}


# -- helpers -----------------------------------------------------------------------------------


def _pair(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, tuple | list) else [int(value)] * 2


def _conv_attributes(conv: Any, name: str) -> dict[str, Any]:
    if not isinstance(conv.padding, tuple) or conv.padding_mode != "zeros":
        raise CodesignError(
            f"conv '{name}': padding {conv.padding!r} / padding_mode '{conv.padding_mode}' has "
            "no export; use numeric zero padding"
        )
    pads = [int(p) for p in conv.padding]
    return {"kernel_shape": list(conv.kernel_size), "strides": list(conv.stride),
            "pads": pads + pads, "dilations": list(conv.dilation), "group": int(conv.groups)}


def _batchnorm_affine(bn: Any) -> tuple[np.ndarray, np.ndarray]:
    """BN(y) = factor * y + shift per channel (running statistics)."""
    var = bn.running_var.detach().double().numpy()
    mean = bn.running_mean.detach().double().numpy()
    gamma = bn.weight.detach().double().numpy() if bn.weight is not None else np.ones_like(var)
    beta = bn.bias.detach().double().numpy() if bn.bias is not None else np.zeros_like(var)
    factor = gamma / np.sqrt(var + bn.eps)
    return factor, beta - mean * factor


def _fold_into_scale(codes: WeightCodes, factor: np.ndarray) -> WeightCodes:
    """BN after a quantized conv: the per-channel factor joins the scale; a negative factor
    flips the channel's codes (every weight grid is symmetric), so scales stay positive."""
    sign = np.where(factor < 0, -1, 1)
    shaped = sign.reshape(-1, *([1] * (codes.codes.ndim - 1)))
    scale = np.broadcast_to(codes.scale.astype(np.float64), factor.shape) * np.abs(factor)
    return WeightCodes(codes=codes.codes * shaped, scale=scale.astype(np.float32),
                       fmt=codes.fmt, bits=codes.bits)
