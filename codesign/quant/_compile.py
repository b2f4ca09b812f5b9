"""When the ANA kernels run fused by `torch.compile`, and how they avoid recompiling.

Eager, every elementwise step of the windowed op writes a full tensor; fused by inductor the
whole forward (and the whole backward) is one loop over the input. Policy, from the
environment variable `CODESIGN_COMPILE`:

- `auto` (default): a kernel is compiled the first time it meets a tensor of at least
  `AUTO_MIN_NUMEL` elements, where fusion pays for the compile (seconds, once per process and
  kernel variant, less with inductor's on-disk cache); from then on it runs compiled for every
  size. A kernel that only ever sees small tensors stays eager.
- `1` / `on`: always compiled.  `0` / `off`: never (debugging, or no C++ compiler).

Recompilation: every number that changes during a search or a training run (bit-width bounds,
eps, mu, s) is a tensor input, shapes are dynamic, and the input is flattened to 1-D (or 2-D per
channel) so tensor rank never varies. Each variant (noise, strategy, window) gets its own code
object, so dynamo keeps a separate, small cache per variant instead of running into its
recompile limit on one shared function. A compile failure falls back to eager with a warning.
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


class Fusable:
    """A pure tensor function that runs eagerly or compiled, per `compile_mode()`."""

    def __init__(self, fn: Callable[..., torch.Tensor], name: str) -> None:
        self.eager = fn
        self.name = name
        self._compiled: Callable[..., torch.Tensor] | None = None
        self._broken = False

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        if self._use_compiled(args[0].numel()):
            try:
                return self._get_compiled()(*args)
            except Exception as err:  # noqa: BLE001 - any compiler failure degrades to eager
                self._broken = True
                warnings.warn(
                    f"torch.compile failed for {self.name} ({type(err).__name__}: {err}); "
                    f"running it eagerly (set {ENV_VAR}=0 to skip compiling)",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return self.eager(*args)

    def _use_compiled(self, numel: int) -> bool:
        if self._broken:
            return False
        mode = compile_mode()
        if mode == "auto":
            return self._compiled is not None or numel >= AUTO_MIN_NUMEL
        return mode == "on"

    def _get_compiled(self) -> Callable[..., torch.Tensor]:
        if self._compiled is None:
            # Inductor's CPU build looks for CUDA and warns on every CPU-only machine.
            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
            self._compiled = torch.compile(
                _fresh_function(self.eager, self.name), dynamic=True, fullgraph=True
            )
        return self._compiled


def _fresh_function(fn: Callable[..., torch.Tensor], name: str) -> Callable[..., torch.Tensor]:
    """A copy of `fn` with its own code object (dynamo caches compiled graphs per code object)."""
    code = fn.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)
