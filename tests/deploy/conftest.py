"""Quantized networks with calibrated quantizers and batch-norm statistics, ready to export."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codesign.config import LayerQuant, TrialConfig
from codesign.models import create_model
from codesign.nn import convert

L = LayerQuant


@pytest.fixture(autouse=True, scope="module")
def eager_single_thread():
    """Small tensors: compiling the fused kernels would cost more than it saves, and small ops
    on 2 threads slow down tenfold when other processes share the cores. Module scope, so
    the module-scoped networks are built under it too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODESIGN_COMPILE", "0")
        yield
    torch.set_num_threads(threads)


def calibrated(cfg: TrialConfig, batches: list[torch.Tensor], num_classes: int = 10,
               per_channel: bool = False) -> nn.Module:
    """The quantized network of `cfg` in eval mode, weights as initialised: batch-norm
    statistics from the float network on `batches`, then the activation quantizers
    calibrated on them."""
    torch.manual_seed(0)
    shape = batches[0].shape
    model = create_model(cfg.model, num_classes, shape[1], shape[-1], **cfg.model_args)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = None  # a plain average over the batches
    model.train()
    with torch.no_grad():
        for x in batches:
            model(x)
    model = convert(model, cfg, per_channel=per_channel).eval()
    with torch.no_grad():
        for x in batches:
            model(x)
    return model


def mixed_bits(names: list[str]) -> dict[str, LayerQuant]:
    """Integer layers cycling through 8, 4, 6 weight bits and 8, 6, 4 activation bits; the
    first and last layers at 8 bits."""
    w_cycle, a_cycle = (8, 4, 6), (8, 6, 4)
    layers = {name: L(w_cycle[i % 3], a_cycle[i % 3]) for i, name in enumerate(names)}
    layers[names[0]] = layers[names[-1]] = L(8, 8)
    return layers



def trained(cfg: TrialConfig, inputs: torch.Tensor, targets: torch.Tensor,
            per_channel: bool = False, epochs: int = 3) -> nn.Module:
    """The quantized network of `cfg` trained briefly with ANA (the annealing run to the
    end), in eval mode: a network whose predictions mean something."""
    from codesign.nn import layer_quantizers
    from codesign.quant import AnnealingController

    torch.manual_seed(0)
    model = create_model(cfg.model, 10, inputs.shape[1], inputs.shape[-1], **cfg.model_args)
    model = convert(model, cfg, per_channel=per_channel).train()
    controller = AnnealingController(layer_quantizers(model), cfg.anneal)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    batches = list(zip(inputs.split(64), targets.split(64), strict=True))
    steps = epochs * len(batches)
    for step in range(steps):
        x, y = batches[step % len(batches)]
        controller.step(step / steps)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()
