"""Which activation tensors are alive together during a forward pass, and at which widths.

Peak activation memory is the largest total size of the tensors alive at one step of the
forward pass, not one layer's input plus output: a residual block's input stays alive across
the block for the skip. One forward pass records the tensors each op reads and writes (each
costed layer call is one op; any other torch call outside a costed layer is another); a
tensor lives from the op that writes it to the last op that reads it, the network output to
the end. An op on one tensor that keeps its size (batch-norm, activation functions, dropout,
reshapes) is fused into the op that wrote that tensor, unless the tensor is read again later
(then both are kept). Ops that combine tensors (add, concatenation) or change their size
(pooling, padding, slicing) write a new tensor. Ops on weights or constants alone are not
activations.

A tensor is stored at the widest precision its readers take: a costed layer reads it at its
activation bits; an add or pooling passes on what its own output's readers take; the network
output, and a tensor nothing reads, stay float. The same pass records whether each costed
layer's input is non-negative (after a ReLU), which decides the grid of a 1-bit activation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hw_models._forward import hooked_forward

if TYPE_CHECKING:
    import torch
    from torch import nn

# Seed of the standard normal input of the tracing pass: zero-mean, like normalised data, so
# a layer's input is non-negative only where the network makes it so.
TRACE_SEED = 0


@dataclass(frozen=True)
class ActivationGraph:
    """Activation tensors of one forward pass, and the ops (steps) they live across.

    `sizes[v]` are the elements of tensor v; `readers[v]` the costed layers whose activation
    bits it is stored at, `kept_float[v]` whether float readers (the network output) keep it
    at 32 bits too. `live[t]` are the tensors alive at step t; `step_layer[t]` the costed
    layer step t is charged to (the last costed layer run, the first one before it).
    `outputs[l]` are the tensors costed layer l writes; `unsigned_input[l]` whether every
    input it was given was non-negative.
    """

    sizes: tuple[int, ...]
    readers: tuple[tuple[int, ...], ...]
    kept_float: tuple[bool, ...]
    live: tuple[tuple[int, ...], ...]
    step_layer: tuple[int, ...]
    outputs: tuple[tuple[int, ...], ...]
    unsigned_input: tuple[bool, ...]

    def widths(self, layer_bits: np.ndarray, float_bits: float) -> np.ndarray:
        """Storage width of every tensor (C x V) given each layer's activation bits (C x L)."""
        widths = np.zeros((layer_bits.shape[0], len(self.sizes)))
        for v, readers in enumerate(self.readers):
            if readers:
                widths[:, v] = layer_bits[:, list(readers)].max(axis=1)
            if self.kept_float[v]:
                widths[:, v] = np.maximum(widths[:, v], float_bits)
        return widths

    def output_widths(self, layer_bits: np.ndarray, float_bits: float) -> np.ndarray:
        """Width each costed layer's output is stored at (C x L)."""
        widths = self.widths(layer_bits, float_bits)
        out_widths = np.zeros(layer_bits.shape)
        for layer, out in enumerate(self.outputs):
            out_widths[:, layer] = widths[:, list(out)].max(axis=1, initial=0.0)
        return out_widths

    def peak_bits(self, layer_bits: np.ndarray, float_bits: float) -> np.ndarray:
        """Largest total of live tensor bits over the steps charged to each layer (C x L)."""
        sized = self.widths(layer_bits, float_bits) * np.asarray(self.sizes, dtype=np.float64)
        live = np.zeros((len(self.live), len(self.sizes)))
        for step, alive in enumerate(self.live):
            live[step, list(alive)] = 1.0
        per_step = sized @ live.T
        step_layer = np.asarray(self.step_layer)
        peak = np.zeros(layer_bits.shape)
        for layer in range(layer_bits.shape[1]):
            peak[:, layer] = per_step[:, step_layer == layer].max(axis=1, initial=0.0)
        return peak


@dataclass
class _Op:
    """One recorded call: the costed layer it is (or None), tensor keys read and written."""

    layer: int | None
    reads: list[tuple[int, int]]
    writes: list[tuple[tuple[int, int], int]]  # (key, elements)


def _tensors(obj: Any) -> Iterable[torch.Tensor]:
    import torch

    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


class _Recording:
    """The tensors every op reads and writes: each costed layer call is one op (seen by its
    hooks), every torch call outside a costed layer another (seen by `mode`)."""

    def __init__(self, layer_of: dict[Any, int]) -> None:
        from torch.overrides import TorchFunctionMode
        from torch.utils.weak import WeakIdKeyDictionary

        self.layer_of = layer_of
        self.ops: list[_Op] = []
        self.negative_input: set[int] = set()
        # A serial number per tensor object, forgotten when it is freed (ids are reused).
        self.serials: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.counter = itertools.count()
        self.calls: list[list[tuple[int, int]]] = []  # reads of the costed calls in progress
        self.paused = False  # the recording's own torch calls are not the model's
        recording = self

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                return recording.call(func, args, kwargs or {})

        self.mode = Mode()

    def keys(self, obj: Any) -> list[tuple[int, int]]:
        self.paused = True
        keys = [self.key(t) for t in _tensors(obj)]
        self.paused = False
        return keys

    def sized(self, obj: Any) -> list[tuple[tuple[int, int], int]]:
        """(key, elements) of every tensor in `obj`."""
        self.paused = True
        sized = [(self.key(t), int(t.numel())) for t in _tensors(obj)]
        self.paused = False
        return sized

    def key(self, tensor: torch.Tensor) -> tuple[int, int]:
        """A tensor object at one version: an in-place op makes a new key."""
        serial = self.serials.get(tensor)
        if serial is None:
            serial = self.serials[tensor] = next(self.counter)
        return serial, tensor._version

    def pre_hook(self, module: Any, args: tuple) -> None:
        self.calls.append(self.keys(args))
        self.paused = True
        if len(self.calls) == 1 and float(args[0].min()) < 0:
            self.negative_input.add(self.layer_of[module])
        self.paused = False

    def post_hook(self, module: Any, args: tuple, output: Any) -> None:
        reads = self.calls.pop()
        if not self.calls:
            self.ops.append(_Op(self.layer_of[module], reads, self.sized(output)))

    def call(self, func: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
        if self.calls or self.paused:
            return func(*args, **kwargs)
        reads = self.keys((args, kwargs))
        result = func(*args, **kwargs)
        writes = self.sized(result)
        if writes:
            self.ops.append(_Op(None, reads, writes))
        return result


def trace_activations(
    model: nn.Module, input_shape: Sequence[int], costed: Sequence[str]
) -> ActivationGraph:
    """Run one forward pass on a seeded normal input and build its `ActivationGraph`.

    `costed` are the names of the costed modules in layer order; the model's train/eval
    flags are restored afterwards.
    """
    import torch

    index = {name: i for i, name in enumerate(costed)}
    layer_of = {module: index[name] for name, module in model.named_modules() if name in index}
    rec = _Recording(layer_of)
    x = torch.randn(tuple(input_shape), generator=torch.Generator().manual_seed(TRACE_SEED))
    out = hooked_forward(model, x, layer_of, rec.pre_hook, rec.post_hook, rec.mode)
    ops, negative_input = rec.ops, rec.negative_input
    rec.paused = True
    input_key, output_keys = rec.key(x), [rec.key(t) for t in _tensors(out)]
    graph = _build(ops, input_key, int(x.numel()), output_keys, len(costed))
    unsigned = tuple(layer not in negative_input for layer in range(len(costed)))
    return ActivationGraph(**graph, unsigned_input=unsigned)


def _build(ops: list[_Op], input_key: tuple[int, int], input_size: int,
           output_keys: list[tuple[int, int]], num_layers: int) -> dict[str, Any]:
    """Tensors, steps and liveness from the recorded ops (see the module docstring)."""
    last_read: dict[tuple[int, int], int] = {}
    for i, op in enumerate(ops):
        for key in op.reads:
            last_read[key] = i
    value_of = {input_key: 0}
    sizes = [input_size]
    keys_of: list[list[tuple[int, int]]] = [[input_key]]
    born, last = [0], [0]
    steps: list[_Op] = []
    step_reads: list[list[int]] = []
    step_writes: list[list[int]] = []
    for i, op in enumerate(ops):
        reads = list(dict.fromkeys(value_of[k] for k in op.reads if k in value_of))
        op.writes = [(key, size) for key, size in op.writes if key not in value_of]
        if not reads or not op.writes:
            continue  # weights or constants alone, or an op handing back its input
        if op.layer is None and len(reads) == 1 and len(op.writes) == 1:
            (key, size), v = op.writes[0], reads[0]
            read_later = max(last_read.get(k, -1) for k in keys_of[v]) > i
            if size == sizes[v] and not read_later:
                value_of[key] = v  # fused into the op that wrote v
                keys_of[v].append(key)
                continue
        step = len(steps)
        for v in reads:
            last[v] = step
        written = []
        for key, size in op.writes:
            value_of[key] = len(sizes)
            written.append(len(sizes))
            sizes.append(size)
            keys_of.append([key])
            born.append(step)
            last.append(step)
        steps.append(op)
        step_reads.append(reads)
        step_writes.append(written)
    outputs = {value_of[k] for k in output_keys if k in value_of}
    for v in outputs:
        last[v] = len(steps) - 1
    readers: list[set[int]] = [set() for _ in sizes]
    kept_float = [v in outputs for v in range(len(sizes))]
    for op, reads, written in zip(steps[::-1], step_reads[::-1], step_writes[::-1],
                                  strict=True):
        for w in written:
            kept_float[w] = kept_float[w] or not readers[w]
        for v in reads:
            if op.layer is not None:
                readers[v].add(op.layer)
                continue
            for w in written:
                readers[v] |= readers[w]
                kept_float[v] = kept_float[v] or kept_float[w]
    layer_outputs: list[list[int]] = [[] for _ in range(num_layers)]
    step_layer, current = [], None
    for op, written in zip(steps, step_writes, strict=True):
        if op.layer is not None:
            current = op.layer
            layer_outputs[op.layer].extend(written)
        step_layer.append(current)
    first = next((layer for layer in step_layer if layer is not None), 0)
    return {
        "sizes": tuple(sizes),
        "readers": tuple(tuple(sorted(r)) for r in readers),
        "kept_float": tuple(kept_float),
        "live": tuple(
            tuple(v for v in range(len(sizes)) if born[v] <= t <= last[v])
            for t in range(len(steps))
        ),
        "step_layer": tuple(first if layer is None else layer for layer in step_layer),
        "outputs": tuple(tuple(out) for out in layer_outputs),
    }
