"""Monte Carlo score Jacobians: the rows whose outer products average to the Fisher.

For inputs x_1..x_N and one parameter draw, the Fisher is F = (1/N) sum_n sum_r s_nr s_nr^T,
with one row s_nr per output unit r of sample n (see `_outputs.py`). The rows come from one
`autograd.grad` per (sample, unit) through that sample's own forward: the quantizers'
autograd functions do not support `torch.func.vmap`, and a backward through a batched graph
costs the whole batch for every row. Every forward starts from the same buffers (restored
before each one), so state a forward updates, such as batch-norm statistics, cannot drift
from sample to sample; quantizers must have their quanta frozen (`prepare_smoothed`), or each
would refresh eps on the one sample it sees. The model must treat samples independently (batch-norm
in eval mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from codesign.capacity._outputs import OUTPUTS
from codesign.errors import CodesignError


@dataclass(frozen=True)
class ParamGroup:
    """The trainable parameters one module owns directly: one layer of the layer-wise bound."""

    name: str
    params: tuple[nn.Parameter, ...]

    @property
    def size(self) -> int:
        return sum(p.numel() for p in self.params)


def parameter_groups(model: nn.Module) -> list[ParamGroup]:
    """Trainable parameters grouped by owning module, in registration (input-to-output) order."""
    groups = []
    for name, module in model.named_modules():
        own = tuple(p for p in module.parameters(recurse=False) if p.requires_grad)
        if own:
            groups.append(ParamGroup(name or type(module).__name__, own))
    if not groups:
        raise CodesignError("the model has no trainable parameters to measure")
    return groups


def score_blocks(
    model: nn.Module,
    inputs: torch.Tensor,
    groups: list[ParamGroup],
    output: str = "softmax",
    sigma: float = 1.0,
) -> list[torch.Tensor]:
    """Score rows split by parameter group: block k has shape (N * outputs, groups[k].size).

    The Fisher of the draw is J^T J / N with J the blocks side by side.
    """
    link = OUTPUTS.get(output).link
    if sigma <= 0:
        raise CodesignError(f"sigma={sigma}; the output noise must have a positive scale")
    params = [p for group in groups for p in group.params]
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    rows = []
    for n in range(inputs.shape[0]):
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        out = model(inputs[n : n + 1])
        if out.dim() != 2:
            raise CodesignError(
                f"the model returns shape {tuple(out.shape)}; the Fisher needs (batch, outputs)"
            )
        values, weights = link(out, sigma)
        for r in range(values.shape[1]):
            grads = torch.autograd.grad(
                values[0, r], params, retain_graph=True, allow_unused=True
            )
            flat = [
                torch.zeros(p.numel(), device=p.device) if g is None else g.detach().reshape(-1)
                for p, g in zip(params, grads, strict=True)
            ]
            rows.append(torch.cat(flat).to(torch.float64) * float(weights[0, r]))
    # The spectra are computed on the host, in float64, from this one copy.
    jacobian = torch.stack(rows).cpu()
    sizes = [group.size for group in groups]
    return list(torch.split(jacobian, sizes, dim=1))
