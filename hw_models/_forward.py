"""One observed forward pass: the way layer extraction and the activation trace run a model."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.overrides import TorchFunctionMode


def hooked_forward(
    model: nn.Module,
    x: torch.Tensor,
    modules: Iterable[nn.Module],
    pre_hook: Callable[..., None],
    post_hook: Callable[..., None],
    mode: TorchFunctionMode,
) -> Any:
    """`model(x)` in eval mode without gradients, with forward pre- and post-hooks on
    `modules` and every torch call seen by `mode`; hooks and train/eval flags are restored."""
    import torch

    handles = []
    for module in modules:
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    flags = {module: module.training for module in model.modules()}
    try:
        model.eval()
        with torch.no_grad(), mode:
            return model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in flags.items():
            module.training = training
