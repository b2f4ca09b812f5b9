"""Log-determinants of I + c F for a Fisher F = J^T J that is often far from full rank.

A Monte Carlo Fisher built from N score rows (inputs times output classes) has rank at most N,
and for a CNN N is usually far below the parameter count P. Sylvester's identity
det(I_P + c J^T J) = det(I_N + c J J^T) lets every log-determinant use the smaller of the two
matrices, and the non-zero eigenvalues of J^T J and J J^T are the same, so a spectrum computed
once in the smaller form serves every scale c. Everything here runs in float64: with c up to
1e6 and hundreds of eigenvalues, float32 loses the small ones that carry the dimension count.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from codesign.errors import CodesignError

FORMS = ("auto", "gram", "direct")


def logdet_identity_plus(jacobian: torch.Tensor, scale: float, form: str = "auto") -> float:
    """log det(I + scale * J^T J) for J of shape (rows, params), in float64.

    `form`: `gram` uses the rows x rows matrix I + scale J J^T (Sylvester), `direct` the
    params x params one, `auto` the smaller. Both give the same number; `gram` is the cheap
    one whenever there are fewer score rows than parameters.
    """
    if form not in FORMS:
        raise CodesignError(f"unknown log-determinant form '{form}'; choose one of: {FORMS}")
    if jacobian.dim() != 2:
        raise CodesignError(f"expected a 2-D Jacobian (rows, params), got {tuple(jacobian.shape)}")
    if scale < 0:
        raise CodesignError(f"scale={scale} is negative; log det(I + c F) needs c >= 0")
    j = jacobian.detach().to(torch.float64)
    rows, params = j.shape
    if form == "auto":
        form = "gram" if rows <= params else "direct"
    small = j @ j.T if form == "gram" else j.T @ j
    matrix = torch.eye(small.shape[0], dtype=torch.float64) + scale * small
    factor, info = torch.linalg.cholesky_ex(matrix)
    if int(info) == 0:
        return float(2.0 * torch.log(torch.diagonal(factor)).sum())
    sign, value = torch.linalg.slogdet(matrix)  # pragma: no cover - I + PSD is always PD
    return float(value) if float(sign) > 0 else math.nan


def fisher_eigenvalues(blocks: list[torch.Tensor], rows_per_fisher: int) -> list[np.ndarray]:
    """Non-zero spectra of the Fisher restricted to the first k column blocks, for every k.

    `blocks[k]` holds the score rows of the k-th parameter group (rows, params_k); the Fisher of
    the first k groups is J_<=k^T J_<=k / rows_per_fisher. Each spectrum comes from the smaller
    of its Gram (rows x rows, accumulated block by block) and direct (params x params) forms;
    eigenvalues are clipped at zero (round-off) and returned in float64.
    """
    if not blocks:
        raise CodesignError("the model has no trainable parameters to measure")
    rows = blocks[0].shape[0]
    gram = torch.zeros(rows, rows, dtype=torch.float64)
    spectra = []
    seen = 0
    for k, block in enumerate(blocks):
        b = block.detach().to(torch.float64)
        gram += b @ b.T
        seen += b.shape[1]
        if seen < rows:
            j = torch.cat([x.detach().to(torch.float64) for x in blocks[: k + 1]], dim=1)
            small = j.T @ j
        else:
            small = gram
        eig = torch.linalg.eigvalsh(small).clamp_(min=0.0) / rows_per_fisher
        spectra.append(eig.numpy())
    return spectra


def half_logdets(spectra: list[np.ndarray], scale: float) -> np.ndarray:
    """1/2 log det(I + scale * F) for each spectrum (one per parameter sample)."""
    return np.array([0.5 * np.log1p(scale * eig).sum() for eig in spectra], dtype=np.float64)


def log_mean_exp(values: np.ndarray) -> float:
    """log(mean(exp(values))) without overflow: the Monte Carlo log of an average determinant."""
    top = float(np.max(values))
    return top + math.log(float(np.mean(np.exp(values - top))))
