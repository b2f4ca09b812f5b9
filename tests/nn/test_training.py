"""A converted network really trains under every estimator, and is judged hard-quantized."""

import pytest
import torch
from torch import nn

from codesign.config import AnnealConfig, LayerQuant, TrialConfig
from codesign.nn import convert, layer_quantizers
from codesign.quant import ESTIMATORS, AnnealingController

STEPS = 150


def blobs(n, seed):
    """Four Gaussian classes in 8 dimensions, well separated."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(4, 8, generator=torch.Generator().manual_seed(99)) * 2.5
    labels = torch.randint(0, 4, (n,), generator=g)
    return centres[labels] + torch.randn(n, 8, generator=g), labels


@pytest.mark.parametrize("estimator", ESTIMATORS.names())
def test_training_reaches_high_hard_accuracy(estimator):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 4))
    if estimator == "mirror_descent":
        quant = LayerQuant(w_format="binary", w_bits=1, a_bits=4, estimator=estimator)
    else:
        quant = LayerQuant(w_bits=3, a_bits=3, estimator=estimator)
    cfg = TrialConfig("mlp", "blobs", layers={"0": quant, "2": quant, "4": LayerQuant.of(8, 8)},
                      anneal=AnnealConfig(sync="same_start", end=0.8))
    qmodel = convert(model, cfg)
    controller = AnnealingController(layer_quantizers(qmodel), cfg.anneal)
    optimizer = torch.optim.Adam(qmodel.parameters(), lr=1e-2)
    x, y = blobs(2048, seed=1)
    losses = []
    qmodel.train()
    for step in range(STEPS):
        controller.step(step / STEPS)
        batch = slice((step * 64) % 2048, (step * 64) % 2048 + 64)
        loss = nn.functional.cross_entropy(qmodel(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-20:]) < 0.5 * sum(losses[:20])
    x_test, y_test = blobs(1000, seed=2)
    qmodel.eval()
    with torch.no_grad():
        accuracy = (qmodel(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.9, accuracy
