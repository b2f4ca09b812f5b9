"""Every registered model: built for its input, converted to mixed precision, trained a step."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from codesign.config import AnnealConfig, LayerQuant, TrialConfig
from codesign.errors import CodesignError
from codesign.models import MODELS, create_model
from codesign.nn import QuantLayer, convert, layer_quantizers, quantizable_layers
from codesign.quant import AnnealingController

NUM_CLASSES = 7
BATCH = 4  # batch norm in training needs more than one sample per channel
SMALL_IMAGE = 16
IMAGENET_STEM_SIZE = 64  # the smallest input that keeps the ImageNet models' own stems

# One of each weight / activation format and estimator, cycled over a model's layers.
MIXED = [
    LayerQuant.of(8, 8),
    LayerQuant(w_format="ternary", w_bits=2, a_bits=4),
    LayerQuant(w_format="binary", w_bits=1, a_format="binary", a_bits=1, estimator="ste"),
    LayerQuant(w_format="pow2", w_bits=3, a_bits=4),
    None,  # stays float
    LayerQuant(w_bits=4, a_bits=2, estimator="aqe"),
    LayerQuant(w_format="binary", w_bits=1, a_bits=4, estimator="mirror_descent"),
    LayerQuant(w_bits=3, a_format="float", a_bits=32),
]


@pytest.fixture(autouse=True)
def eager_and_one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small tensors: compiling the quantizer kernels or spreading ops over threads costs more
    than it saves, above all on cores shared with other processes."""
    monkeypatch.setenv("CODESIGN_COMPILE", "0")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_input(name: str) -> tuple[int, int]:
    """(channels, size): the model's own channels at its natural size, at most SMALL_IMAGE."""
    channels, size = MODELS.get(name).natural_input
    return channels, min(size, SMALL_IMAGE)


def mixed_config(name: str, model: nn.Module) -> TrialConfig:
    layers = {
        layer: quant
        for layer, quant in zip(quantizable_layers(model), itertools.cycle(MIXED), strict=False)
        if quant is not None
    }
    return TrialConfig(model=name, dataset="synthetic", layers=layers, anneal=AnnealConfig())


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_gives_logits_at_its_natural_input(name: str) -> None:
    """ImageNet-sized models at 64 pixels: their stems are the ones used at 224."""
    torch.manual_seed(0)
    channels, size = MODELS.get(name).natural_input
    size = min(size, IMAGENET_STEM_SIZE)
    model = create_model(name, NUM_CLASSES, channels, size).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, channels, size, size))
    assert logits.shape == (1, NUM_CLASSES) and torch.isfinite(logits).all()
    assert quantizable_layers(model), "a model needs conv or linear layers to quantize"


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_trains_a_step_with_mixed_precision(name: str) -> None:
    torch.manual_seed(0)
    channels, size = small_input(name)
    model = create_model(name, NUM_CLASSES, channels, size)
    cfg = mixed_config(name, model)
    quantized = convert(model, cfg)
    assert sum(isinstance(m, QuantLayer) for m in quantized.modules()) == len(cfg.layers)
    # The first step of training: every quantizer is noisy and passes gradients.
    AnnealingController(layer_quantizers(quantized), cfg.anneal).step(0.0)
    optimizer = torch.optim.Adam(quantized.parameters(), lr=1e-3)
    before = {n: p.detach().clone() for n, p in quantized.named_parameters()}

    x = torch.randn(BATCH, channels, size, size)
    y = torch.arange(BATCH) % NUM_CLASSES
    loss = nn.functional.cross_entropy(quantized.train()(x), y)
    assert torch.isfinite(loss)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    after = dict(quantized.named_parameters())
    assert all(torch.isfinite(p).all() for p in after.values())
    unchanged = [layer for layer in cfg.layers
                 if torch.equal(before[f"{layer}.weight"], after[f"{layer}.weight"])]
    assert not unchanged, f"quantized layers that did not learn: {unchanged}"
    with torch.no_grad():
        logits = quantized.eval()(x)
    assert logits.shape == (BATCH, NUM_CLASSES) and torch.isfinite(logits).all()


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_takes_other_channel_counts(name: str) -> None:
    channels, size = small_input(name)
    other = 1 if channels != 1 else 3
    model = create_model(name, NUM_CLASSES, other, size).eval()
    with torch.no_grad():
        assert model(torch.randn(2, other, size, size)).shape == (2, NUM_CLASSES)


def test_unknown_model_lists_the_choices() -> None:
    with pytest.raises(CodesignError) as caught:
        create_model("resnet1000", 10, 3, 32)
    message = str(caught.value)
    assert message.startswith("unknown model 'resnet1000'; choose one of: ")
    assert all(name in message for name in MODELS.names())


@pytest.mark.parametrize(
    "kwargs, culprit",
    [
        ({"width": 0}, "digits_cnn width=0"),
        ({"depth": 3},
         r"model 'digits_cnn': model_args: unknown argument\(s\) \['depth'\]; "
         r"allowed: \['width'\]"),
    ],
)
def test_bad_model_args_name_the_culprit(kwargs: dict, culprit: str) -> None:
    with pytest.raises(CodesignError, match=culprit):
        create_model("digits_cnn", 10, 1, 8, **kwargs)


@pytest.mark.parametrize("num_classes, in_channels, image_size", [(1, 3, 32), (10, 0, 32),
                                                                   (10, 3, 0)])
def test_impossible_shapes_are_refused(num_classes: int, in_channels: int,
                                       image_size: int) -> None:
    with pytest.raises(CodesignError, match="use an integer >= "):
        create_model("resnet20", num_classes, in_channels, image_size)
