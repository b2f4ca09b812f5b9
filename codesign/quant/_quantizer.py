"""The quantizer module contract shared by every estimator (ANA, STE, AQE, mirror descent).

A `Quantizer` owns what all estimators have in common: the grid of its format and bit-width,
the quantum eps (section "eps rule" below), the annealing state set by the controller, and the
hard stair used in evaluation. An estimator subclass only decides what `forward` computes in
training and which gradient flows back. `make_quantizer` builds one from a layer's config.

eps rule (see `_calibration.py` for the error-minimising search):
- weights: computed from the current weights (detached, per tensor or per output channel), so
  the grid follows the weights as they train.
- activations: the first forward calibrates on its batch, picking signed or unsigned (int and
  binary formats) by whichever grid quantizes the batch with the lower error; later refreshes
  move eps by an exponential moving average (momentum `EPS_MOMENTUM`) of the batch's best eps,
  like batch-norm statistics.
- both are refreshed at each of the first `REFRESH_WARMUP` training forwards, when the scales
  move fast, then every `REFRESH_EVERY` training forwards (the search costs more than the
  quantizer itself). Evaluation uses the stored eps, calibrating first if it never was, and
  refreshes a weight eps once if the weights changed since (the last training steps).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from codesign._registry import Registry
from codesign.config import FLOAT_BITS, AnnealConfig
from codesign.errors import CodesignError
from codesign.quant._calibration import MAX_SAMPLE, mse_quantum, subsample
from codesign.quant._grid import Grid, grid_for

ESTIMATORS: Registry[type[Quantizer]] = Registry("estimator")

EPS_MOMENTUM = 0.25
REFRESH_WARMUP = 8
REFRESH_EVERY = 16
_UNDECIDED, _UNSIGNED, _SIGNED = -1, 0, 1


class Quantizer(nn.Module):
    """Quantizer of one tensor (a layer's weights or its input activations).

    `bits`, `fmt` and `role` restate the config; `grid` is the integer-domain stair (None for
    float); the `eps` buffer is the real step. `set_annealing` receives the controller's decay
    values and the layer's progress through its window; `noise()` turns the decays into the
    noise mean and scale of the annealing config. Subclasses implement `forward`; eval mode
    must give `hard(x)`.
    """

    eps: torch.Tensor
    calibrations: torch.Tensor
    signedness: torch.Tensor

    def __init__(
        self,
        role: str,
        fmt: str,
        bits: int,
        anneal: AnnealConfig,
        per_channel: bool = False,
    ) -> None:
        super().__init__()
        self.grid: Grid | None = grid_for(role, fmt, bits)
        if per_channel and role != "weight":
            raise CodesignError(
                "per-channel quanta are for weights only; use per_channel=False for activations"
            )
        self.role = role
        self.fmt = fmt
        self.bits = bits
        self.anneal = anneal
        self.per_channel = per_channel
        self.g_mu = 1.0
        self.g_s = 1.0
        self.progress = 0.0
        self.register_buffer("eps", torch.ones(()))
        self.register_buffer("calibrations", torch.zeros((), dtype=torch.long))
        self._training_steps = 0
        self._frozen = False
        self._weights_seen: tuple[int, int] | None = None
        signedness = _SIGNED if role == "weight" else _UNDECIDED
        self.register_buffer("signedness", torch.tensor(signedness, dtype=torch.int8))
        # Host copies of what the buffers say, so that deciding to calibrate never reads a
        # tensor (on a GPU that read would stall every batch).
        self._calibrated = False
        self._undecided = signedness == _UNDECIDED

    # -- annealing -------------------------------------------------------------------------

    def set_annealing(self, g_mu: float, g_s: float, progress: float) -> None:
        """Controller values in [0, 1]: decays g_mu, g_s (1 = full noise, 0 = annealed) and
        the layer's progress through its window (0 = not started, 1 = done)."""
        for name, g in (("g_mu", g_mu), ("g_s", g_s), ("progress", progress)):
            if not 0.0 <= g <= 1.0:
                raise CodesignError(f"{name}={g} is outside [0, 1]; the decay must lie in [0, 1]")
        self.g_mu = float(g_mu)
        self.g_s = float(g_s)
        self.progress = float(progress)

    def noise(self) -> tuple[float, float]:
        """(mu, s) in the integer domain. Static mean means mu = 0, static variance s = beta_s."""
        from codesign.quant._noise import default_beta_s

        beta_s = self.anneal.beta_s
        if beta_s is None:
            beta_s = default_beta_s(self.anneal.noise)
        mu = self.anneal.beta_mu * self.g_mu if self.anneal.mean == "dynamic" else 0.0
        s = beta_s * self.g_s if self.anneal.variance == "dynamic" else beta_s
        return mu, s

    # -- quantum and hard stair ------------------------------------------------------------

    def quantum(self, x: torch.Tensor) -> torch.Tensor:
        """eps, shaped to broadcast against `x`; updates it first in training (see module doc)."""
        if self.grid is None:
            raise CodesignError(f"a float {self.role} quantizer has no quantum")
        if self._due_for_refresh(x):
            with torch.no_grad():
                self._calibrate(x)
            self._weights_seen = _identity(x) if self.role == "weight" else None
        if self.training:
            self._training_steps += 1
        if self.per_channel:
            return self.eps.view(-1, *([1] * (x.dim() - 1)))
        return self.eps

    def freeze_quantum(self) -> None:
        """Keep eps as it is from now on (once calibrated), whatever the forwards: for
        measurements whose inputs must not move the grid (see `codesign.capacity`)."""
        self._frozen = True

    def _due_for_refresh(self, x: torch.Tensor) -> bool:
        if not self._calibrated:
            return True
        if self._frozen:
            return False
        if not self.training:
            # Weights trained since the last refresh get their final eps once.
            return self.role == "weight" and _identity(x) != self._weights_seen
        step = self._training_steps
        return step < REFRESH_WARMUP or step % REFRESH_EVERY == 0

    def hard(self, x: torch.Tensor) -> torch.Tensor:
        """eps * Q(x / eps): the truly quantized tensor."""
        if self.grid is None:
            return x
        eps = self.quantum(x)
        return self.grid.hard(x / eps) * eps

    def stair(self) -> Grid:
        """The grid, which every quantized (not float) quantizer has."""
        if self.grid is None:
            raise CodesignError(f"a float {self.role} quantizer has no grid")
        return self.grid

    def _calibrate(self, x: torch.Tensor) -> None:
        x = x.detach()
        if self.role == "weight":
            rows = x.reshape(x.shape[0], -1) if self.per_channel else x.reshape(1, -1)
            eps, _ = mse_quantum(subsample(rows, MAX_SAMPLE), self.stair())
            eps = eps if self.per_channel else eps.reshape(())
            if self.eps.shape != eps.shape:
                self.eps = eps.to(self.eps.dtype)
            else:
                self.eps.copy_(eps)
        else:
            sample = subsample(x.reshape(1, -1).float(), MAX_SAMPLE)
            if self._undecided:
                self._decide_signedness(sample)
            eps, _ = mse_quantum(sample, self.stair())
            eps = eps.reshape(())
            if not self._calibrated:
                self.eps.copy_(eps)
            else:
                self.eps.lerp_(eps.to(self.eps.dtype), EPS_MOMENTUM)
        self.calibrations.add_(1)
        self._calibrated = True

    def _decide_signedness(self, sample: torch.Tensor) -> None:
        # Once per quantizer, at its first calibration: the only host read of its training.
        self._undecided = False
        if self.fmt != "int" and self.fmt != "binary":
            self.signedness.fill_(_SIGNED)
            return
        errors = {}
        for flag in (_UNSIGNED, _SIGNED):
            candidate = grid_for(self.role, self.fmt, self.bits, bool(flag))
            assert candidate is not None  # int and binary formats always have a grid
            _, error = mse_quantum(sample, candidate)
            errors[flag] = float(error.max())
        self.signedness.fill_(_SIGNED if errors[_SIGNED] < errors[_UNSIGNED] else _UNSIGNED)
        self.grid = grid_for(self.role, self.fmt, self.bits, bool(int(self.signedness)))

    # -- state -----------------------------------------------------------------------------

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # Per-channel eps is sized by the first calibration, and the activation grid by the
        # calibrated signedness: adopt both from the checkpoint before loading.
        eps = state_dict.get(prefix + "eps")
        if eps is not None and eps.shape != self.eps.shape:
            self.eps = torch.empty_like(eps)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._calibrated = int(self.calibrations) > 0
        self._undecided = int(self.signedness) == _UNDECIDED
        if self.grid is not None and not self._undecided:
            self.grid = grid_for(self.role, self.fmt, self.bits, bool(int(self.signedness)))

    def extra_repr(self) -> str:
        mu, s = self.noise()
        return (
            f"role={self.role}, fmt={self.fmt}, bits={self.bits}, "
            f"per_channel={self.per_channel}, mu={mu:.4g}, s={s:.4g}"
        )


def _identity(x: torch.Tensor) -> tuple[int, int]:
    """Changes whenever the tensor is replaced or modified in place (optimizer steps)."""
    return x.data_ptr(), x._version


class FloatQuantizer(Quantizer):
    """The `float` format: identity, whatever the estimator."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def make_quantizer(
    role: str,
    fmt: str,
    bits: int,
    estimator: str,
    anneal: AnnealConfig,
    per_channel: bool = False,
) -> Quantizer:
    """The quantizer of one tensor: `estimator` names an entry of `ESTIMATORS`.

    A float format gives the identity quantizer (bits = 32) for any estimator.
    """
    cls = ESTIMATORS.get(estimator)
    if fmt == "float":
        grid_for(role, fmt, FLOAT_BITS if bits is None else bits)
        return FloatQuantizer(role, fmt, FLOAT_BITS, anneal, per_channel=False)
    return cls(role, fmt, bits, anneal, per_channel=per_channel)
