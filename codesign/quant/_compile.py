"""When the ANA kernels run fused by `torch.compile`, and how they avoid recompiling.

Eager, every elementwise step of the windowed op writes a full tensor; fused by inductor the
whole forward (and the whole backward) is one loop over the input. Policy, from the
environment variable `CODESIGN_COMPILE`:

- `auto` (default), decided per device: on the CPU a kernel is compiled the first time it
  meets a tensor of at least `AUTO_MIN_NUMEL` elements, where fusion pays for the compile
  (seconds, once per process and kernel variant, less with inductor's on-disk cache); from
  then on it runs compiled for every size, and a kernel that only ever sees small tensors stays
  eager. On CUDA it is compiled at once (inductor writes Triton kernels): eager, each of the
  op's dozens of elementwise steps is a kernel launch, which costs more than the math at any
  size.
- `1` / `on`: always compiled.  `0` / `off`: never (debugging, or no C++ compiler / Triton).

Each device type keeps its own compiled function, and a compile failure on one (no C++
compiler for the CPU, no Triton for CUDA) leaves the other compiled.

Recompilation: every number that changes during a search or a training run (bit-width bounds,
eps, mu, s) is a tensor input, shapes are dynamic, and the input is flattened to 1-D (or 2-D per
channel) so tensor rank never varies. Each variant (noise, strategy, window) gets its own code
object, so dynamo keeps a separate, small cache per variant instead of running into its
recompile limit on one shared function. A compile failure falls back to eager with a warning.
Those numbers become tensors with `scalar`, filled on the device: `torch.tensor(value,
device=...)` would copy from the host and make the host wait for the device at every batch.
"""

from __future__ import annotations

import logging
import os
import types
import warnings
from collections.abc import Callable

import torch

from codesign.errors import CodesignError

ENV_VAR = "CODESIGN_COMPILE"
AUTO_MIN_NUMEL = 1 << 15
_MODES = {"auto": "auto", "1": "on", "on": "on", "0": "off", "off": "off"}


def compile_mode() -> str:
    """'auto', 'on' or 'off' from `CODESIGN_COMPILE` (read at every call, so tests can flip it)."""
    raw = os.environ.get(ENV_VAR, "auto").strip().lower()
    try:
        return _MODES[raw]
    except KeyError:
        raise CodesignError(
            f"{ENV_VAR}={raw!r} is not understood; use auto, 1 (on) or 0 (off)"
        ) from None


def scalar(value: float, like: torch.Tensor) -> torch.Tensor:
    """A 0-d tensor of `value` with `like`'s dtype and device, filled without a host copy."""
    return torch.full((), float(value), dtype=like.dtype, device=like.device)


class Fusable:
    """A pure tensor function that runs eagerly or compiled, per `compile_mode()` and device."""

    def __init__(self, fn: Callable[..., torch.Tensor], name: str) -> None:
        self.eager = fn
        self.name = name
        self._compiled: dict[str, Callable[..., torch.Tensor]] = {}
        self._broken: set[str] = set()

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        device = args[0].device.type
        if self._use_compiled(device, args[0].numel()):
            try:
                return self._get_compiled(device)(*args)
            except Exception as err:  # noqa: BLE001 - any compiler failure degrades to eager
                self._broken.add(device)
                warnings.warn(
                    f"torch.compile failed for {self.name} on {device} "
                    f"({type(err).__name__}: {err}); running it eagerly "
                    f"(set {ENV_VAR}=0 to skip compiling)",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return self.eager(*args)

    def _use_compiled(self, device: str, numel: int) -> bool:
        if device in self._broken:
            return False
        mode = compile_mode()
        if mode == "auto":
            if device == "cuda":
                return True
            return device in self._compiled or numel >= AUTO_MIN_NUMEL
        return mode == "on"

    def _get_compiled(self, device: str) -> Callable[..., torch.Tensor]:
        compiled = self._compiled.get(device)
        if compiled is None:
            # Inductor's CPU build looks for CUDA and warns on every CPU-only machine.
            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
            compiled = self._compiled[device] = torch.compile(
                _fresh_function(self.eager, f"{self.name}_{device}"),
                dynamic=True,
                fullgraph=True,
            )
        return compiled


def _fresh_function(fn: Callable[..., torch.Tensor], name: str) -> Callable[..., torch.Tensor]:
    """A copy of `fn` with its own code object (dynamo caches compiled graphs per code object)."""
    code = fn.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)
