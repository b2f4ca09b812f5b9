"""Per-layer sensitivity of a float network to quantizing its weights and its input
activations (HAWQ-V2 / V3, Dong et al. 2020, Yao et al. 2021).

For layer l and a precision p, the expected loss increase is approximated by the second-order
term with the Hessian replaced by its average diagonal:

    Omega_w(l, p) = Tr(H_Wl) / n_Wl * ||Q_p(W_l) - W_l||^2
    Omega_a(l, p) = Tr(H_Xl) / n_Xl * ||Q_p(X_l) - X_l||^2

W_l is the layer's weight (n_Wl elements), X_l its input on a calibration batch (n_Xl
elements, the batch included), H the Hessian of the batch's mean cross-entropy, its traces by
Hutchinson's estimator (`_hutchinson.py`) and Q_p the quantizer a trial would use (the same
grid and error-minimising quantum, per tensor; activations calibrated on the batch, signed or
unsigned as the trial's quantizer decides). A trace estimate below its standard error (not
told apart from zero, or negative: a non-convex direction) counts as its standard error, so
no layer looks free to quantize on the strength of a noisy estimate. The sum over layers of
Omega_w + Omega_a is the sensitivity of a configuration that the integer program minimises.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import nn

from codesign.config import AnnealConfig
from codesign.errors import CodesignError
from codesign.sensitivity._hutchinson import hutchinson_traces

ESTIMATOR = "hutchinson-rademacher"
ROLES = {"w": "weight", "a": "activation"}


def precision_key(fmt: str, bits: int) -> str:
    """How a precision is named in the stored sensitivity and its table: `int:4`, `binary:1`."""
    return f"{fmt}:{bits}"


@dataclass
class LayerSensitivity:
    """One layer: Hessian traces of its weight and input, and squared quantization errors
    per precision key."""

    layer: str
    weight_elements: int
    input_elements: int
    weight_trace: float
    weight_trace_stderr: float
    input_trace: float
    input_trace_stderr: float
    weight_error: dict[str, float] = field(default_factory=dict)
    input_error: dict[str, float] = field(default_factory=dict)

    def weight_term(self, fmt: str, bits: int) -> float:
        """Omega_w: expected loss increase from quantizing the weight at (fmt, bits)."""
        return _floored(self.weight_trace, self.weight_trace_stderr) / self.weight_elements * (
            self.weight_error[precision_key(fmt, bits)])

    def input_term(self, fmt: str, bits: int) -> float:
        """Omega_a: expected loss increase from quantizing the input at (fmt, bits)."""
        return _floored(self.input_trace, self.input_trace_stderr) / self.input_elements * (
            self.input_error[precision_key(fmt, bits)])


def _floored(trace: float, stderr: float) -> float:
    """The trace used in a term: at least its standard error (see the module doc)."""
    return max(trace, stderr)


@dataclass
class Sensitivity:
    """Every layer's sensitivity and how it was measured (JSON-safe through `to_dict`)."""

    layers: list[LayerSensitivity]
    estimator: str
    samples: int
    batch: int
    seconds: float

    def layer(self, name: str) -> LayerSensitivity:
        return next(item for item in self.layers if item.layer == name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sensitivity:
        """Read `to_dict`'s mapping back; other keys stored beside it are left out."""
        layers = [LayerSensitivity(**item) for item in data["layers"]]
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in data.items() if k in known}, "layers": layers})

    def rows(self) -> list[dict[str, Any]]:
        """One row per (layer, tensor, precision): the sensitivity table."""
        rows = []
        for item in self.layers:
            for role, errors, trace, stderr, count in (
                ("weight", item.weight_error, item.weight_trace, item.weight_trace_stderr,
                 item.weight_elements),
                ("input", item.input_error, item.input_trace, item.input_trace_stderr,
                 item.input_elements),
            ):
                for key, error in errors.items():
                    fmt, bits = key.split(":")
                    term = (item.weight_term if role == "weight" else item.input_term)(
                        fmt, int(bits))
                    rows.append({
                        "layer": item.layer, "tensor": role, "precision": key,
                        "hessian_trace": trace, "trace_stderr": stderr, "elements": count,
                        "quant_error": error, "sensitivity": term,
                    })
        return rows


def measure_sensitivity(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    precisions: Mapping[str, Mapping[str, Iterable[tuple[str, int]]]],
    samples: int = 32,
    seed: int = 0,
) -> Sensitivity:
    """Sensitivity of `model` (evaluation mode, float) on one batch, for the layers named in
    `precisions` ({layer: {"w": [(fmt, bits), ...], "a": [...]}})."""
    started = time.perf_counter()
    model.eval()
    modules = dict(model.named_modules())
    names = list(precisions)
    missing = [n for n in names if n not in modules or not hasattr(modules[n], "weight")]
    if missing:
        raise CodesignError(f"sensitivity: the model has no weighted layer {missing[0]}")
    captured = _layer_inputs(model, [modules[n] for n in names], inputs)
    deltas = [torch.zeros_like(x, requires_grad=True) for x in captured]
    handles = [modules[n].register_forward_pre_hook(_adder(d)) for n, d in zip(names, deltas,
                                                                                 strict=True)]
    weights = [modules[n].weight for n in names]
    try:
        traces = hutchinson_traces(
            lambda: nn.functional.cross_entropy(model(inputs), targets),
            [*weights, *deltas], samples, seed,
        )
    finally:
        for handle in handles:
            handle.remove()
    layers = []
    for i, name in enumerate(names):
        w_trace, a_trace = traces[i], traces[len(names) + i]
        layers.append(LayerSensitivity(
            layer=name,
            weight_elements=weights[i].numel(),
            input_elements=captured[i].numel(),
            weight_trace=w_trace.trace, weight_trace_stderr=w_trace.stderr,
            input_trace=a_trace.trace, input_trace_stderr=a_trace.stderr,
            weight_error=_errors("weight", weights[i].detach(), precisions[name]["w"]),
            input_error=_errors("activation", captured[i], precisions[name]["a"]),
        ))
    return Sensitivity(layers=layers, estimator=ESTIMATOR, samples=samples,
                       batch=int(inputs.shape[0]), seconds=time.perf_counter() - started)


def _layer_inputs(model: nn.Module, layers: Sequence[nn.Module],
                  inputs: torch.Tensor) -> list[torch.Tensor]:
    """Each layer's input on the batch (float network, no gradient)."""
    seen: dict[int, torch.Tensor] = {}

    def keep(index: int) -> Any:
        def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
            seen[index] = args[0].detach()
        return hook

    handles = [layer.register_forward_pre_hook(keep(i)) for i, layer in enumerate(layers)]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return [seen[i] for i in range(len(layers))]


def _adder(delta: torch.Tensor) -> Any:
    """A pre-hook adding the zero perturbation `delta` to a layer's input, so that the
    Hessian with respect to the input is the Hessian with respect to `delta`."""
    def hook(_module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (args[0] + delta, *args[1:])
    return hook


@torch.no_grad()
def _errors(role: str, tensor: torch.Tensor,
            precisions: Iterable[tuple[str, int]]) -> dict[str, float]:
    """||Q(x) - x||^2 under the quantizer a trial builds for each precision."""
    from codesign.quant import make_quantizer

    errors = {}
    for fmt, bits in precisions:
        quantizer = make_quantizer(role, fmt, bits, "ste", AnnealConfig()).eval()
        errors[precision_key(fmt, bits)] = float(((quantizer.hard(tensor) - tensor) ** 2).sum())
    return errors
