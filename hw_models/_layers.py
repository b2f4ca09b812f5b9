"""One LayerSpec per conv / depthwise / linear layer of a torch model, by forward hooks.

Conv1d and Conv2d are costed alike (a kernel of one or two sizes); inputs may have any shape
(feature vectors, non-square images, 1-D sequences), batch first.

Extraction runs one forward pass on a zero input of the given shape and records, per costed
module, its MACs, weight count and activation sizes. Anything else that multiplies
(other conv kinds, matmul, einsum, attention inside a module we do not cost) is reported by
module name: a warning by default, a `CodesignError` with `strict=True`; never dropped in
silence. Torch is imported here only, so `import hw_models` stays light.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from hw_models._activations import ActivationGraph, trace_activations
from hw_models._forward import hooked_forward

if TYPE_CHECKING:
    from torch import nn

    from hw_models._arrays import LayerArrays

KINDS: tuple[str, ...] = ("conv", "depthwise", "linear")


class UncostedLayersWarning(UserWarning):
    """Some modules multiply but no cost model counts them; their names are in the message."""


@dataclass(frozen=True)
class LayerSpec:
    """Shape facts of one costed layer; bits are attached per trial, not stored here.

    `macs` and the activation element counts cover the whole input batch (`input_shape[0]`)
    and every call of the module in one forward pass. `in_elems` / `out_elems` are the largest
    single call's input and output (what must be buffered at once).
    """

    name: str
    kind: str
    macs: int
    params: int
    bias_params: int
    in_elems: int
    out_elems: int
    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    groups: int
    stride: tuple[int, ...]
    calls: int = 1
    out_size: tuple[int, ...] = ()  # output spatial size (H, W) of the largest call
    in_size: tuple[int, ...] = ()  # input spatial size of the same call

    @property
    def batch(self) -> int:
        """Images per call (the input shape's N)."""
        return max(1, self.out_elems // (self.out_channels * math.prod(self.out_size)))

    @property
    def fan_in(self) -> int:
        """Products summed into one output element (sets the accumulator width)."""
        per_output = self.in_channels // self.groups * math.prod(self.kernel)
        return max(1, per_output)


@dataclass(frozen=True)
class ModelLayers:
    """Everything cost models need about one architecture at one input shape."""

    layers: tuple[LayerSpec, ...]
    float_params: int
    input_shape: tuple[int, ...]
    activations: ActivationGraph
    uncosted: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    @cached_property
    def arrays(self) -> LayerArrays:
        """The same facts as numpy arrays (built once)."""
        from hw_models._arrays import LayerArrays

        return LayerArrays.from_layers(self)


# Functions that carry most of the arithmetic of a network; a call of one of them outside a
# costed Conv1d / Conv2d / Linear is reported as uncosted.
_MULTIPLYING_FUNCTIONS = (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "linear", "bilinear", "matmul", "mm", "bmm", "addmm", "baddbmm", "addbmm", "einsum",
    "__matmul__", "__rmatmul__", "scaled_dot_product_attention", "multi_head_attention_forward",
    "lstm", "gru", "rnn_tanh", "rnn_relu",
)


def _kind(module: nn.Module) -> str | None:
    from torch import nn

    if isinstance(module, nn.Conv1d | nn.Conv2d):
        if module.groups > 1 and module.groups == module.in_channels:
            return "depthwise"
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    return None


def _record(records: dict[str, dict[str, Any]], name: str, kind: str, module: Any,
            inputs: Any, output: Any) -> None:
    """Add one call of a costed module (a conv or linear layer) to its running record."""
    out_elems = int(output.numel())
    if kind == "linear":
        fan_in = module.in_features
        kernel, stride, groups = (1, 1), (1, 1), 1
        in_ch, out_ch = module.in_features, module.out_features
    else:
        kernel, stride, groups = tuple(module.kernel_size), tuple(module.stride), module.groups
        in_ch, out_ch = module.in_channels, module.out_channels
        fan_in = in_ch // groups * math.prod(kernel)
    rec = records.setdefault(name, {
        "kind": kind, "macs": 0, "calls": 0, "in_elems": 0, "out_elems": 0,
        "params": int(module.weight.numel()),
        "bias_params": 0 if module.bias is None else int(module.bias.numel()),
        "in_channels": in_ch, "out_channels": out_ch, "kernel": kernel, "groups": groups,
        "stride": stride, "out_size": tuple(int(d) for d in output.shape[2:]),
        "in_size": tuple(int(d) for d in inputs.shape[2:]),
    })
    rec["macs"] += out_elems * fan_in
    rec["calls"] += 1
    rec["in_elems"] = max(rec["in_elems"], int(inputs.numel()))
    rec["out_elems"] = max(rec["out_elems"], out_elems)


def extract_layers(
    model: nn.Module, input_shape: Sequence[int], strict: bool = False
) -> ModelLayers:
    """Run one forward pass on zeros of `input_shape` and return the costed layers in call order.

    Layer names are `model.named_modules()` names, the keys of `TrialConfig.layers`. The
    model's train/eval flags are restored afterwards. Parameters outside costed weights
    (biases, batch-norm, uncosted modules) are counted in `float_params`.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    shape = tuple(int(d) for d in input_shape)
    if len(shape) < 2 or any(d < 1 for d in shape):
        raise CodesignError(
            f"input shape {shape} is invalid; give positive sizes, batch first, like 1,3,32,32"
        )

    names = {module: name for name, module in model.named_modules()}
    kinds = {module: _kind(module) for module in names}
    records: dict[str, dict[str, Any]] = {}
    active: list[Any] = []
    uncosted: dict[str, None] = {}

    def pre_hook(module: nn.Module, args: tuple) -> None:
        active.append(module)

    def post_hook(module: nn.Module, args: tuple, output: Any) -> None:
        active.pop()
        kind = kinds[module]
        if kind is not None:
            _record(records, names[module], kind, module, args[0], output)

    class _Watch(TorchFunctionMode):
        """Notes every multiplying torch call made outside a costed module."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            fname = getattr(func, "__name__", "")
            if fname in _MULTIPLYING_FUNCTIONS and not any(kinds[m] for m in active):
                label = names[active[-1]] if active else ""
                uncosted[f"{label or '(top level)'} [{fname}]"] = None
            return func(*args, **(kwargs or {}))

    try:
        hooked_forward(model, torch.zeros(shape), names, pre_hook, post_hook, _Watch())
    except CodesignError:
        raise
    except Exception as err:  # a shape mismatch comes from the user's input shape
        raise CodesignError(
            f"model {type(model).__name__} does not run on input shape {shape} ({err}); "
            "check the input shape / the dataset's sample shape"
        ) from None

    layers = tuple(LayerSpec(name=name, **rec) for name, rec in records.items())
    costed = {name for name in records}
    costed_weights = {id(m.weight) for m, name in names.items() if name in costed and kinds[m]}
    float_params = sum(p.numel() for p in model.parameters() if id(p) not in costed_weights)
    report = tuple(uncosted)
    if report:
        message = (
            f"{len(report)} call(s) in {type(model).__name__} multiply outside a Conv1d / "
            f"Conv2d / Linear and are not costed (their parameters count as float): "
            f"{', '.join(report)}"
        )
        if strict:
            raise CodesignError(
                message + "; rewrite them as Conv1d / Conv2d / Linear or use strict=False"
            )
        warnings.warn(message, UncostedLayersWarning, stacklevel=2)
    activations = trace_activations(model, shape, [layer.name for layer in layers])
    return ModelLayers(
        layers=layers, float_params=int(float_params), input_shape=shape,
        activations=activations, uncosted=report,
    )
