"""The 2sED of a trial configuration, measured on its ANA-smoothed network before training.

Why the smoothed form: a hard stair has zero derivative almost everywhere, so the Fisher of
the genuinely quantized network is zero and its capacity is not defined by the Fisher.
ANA trains the network through the smoothed stair Q~ (the expectation of the stair under the
quantizer noise, s > 0), whose derivative is the gradient training follows; Q~ tends to the
stair as s -> 0. Measuring Q~ at the start of the annealing (tau = 0, full noise) is therefore
the network training actually sees, and the bits enter the measure through Q~'s shape: few
levels give a slope that vanishes between thresholds, many levels a slope close to one.
The `expectation` forward is used whatever the trial's strategy (`mode` and `random` share
its backward but are not smooth functions of the input). Other estimators (STE, AQE, mirror
descent) are measured through their own surrogate gradients in training mode.

Deterministic networks are made stochastic as the paper does for classifiers: the output is
categorical over softmax(logits), with the expectation over the label taken exactly.
Batch-norm runs in eval mode on statistics calibrated on the measured inputs, so each
sample's score is its own.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from codesign.capacity._measure import (
    DEFAULT_DRAWS,
    DEFAULT_ZETA,
    CapacityResult,
    eps_for_samples,
    measure_capacity,
)
from codesign.config import TrialConfig
from codesign.data import load_dataset
from codesign.errors import CodesignError
from codesign.nn import layer_quantizers
from codesign.quant import AnnealingController

DEFAULT_SAMPLES = 32


def smoothed_config(cfg: TrialConfig) -> TrialConfig:
    """`cfg` with the `expectation` forward; refuses a noise scale of zero."""
    if cfg.anneal.beta_s == 0:
        raise CodesignError(
            "anneal.beta_s=0 leaves every quantizer a hard stair with zero gradient; "
            "give beta_s > 0 (or leave it unset) to measure the capacity"
        )
    return dataclasses.replace(cfg, anneal=dataclasses.replace(cfg.anneal, strategy="expectation"))


def prepare_smoothed(model: nn.Module, cfg: TrialConfig, inputs: torch.Tensor) -> nn.Module:
    """Calibrate batch-norm and quanta on `inputs`, then freeze both and put every quantizer
    in its training (smoothed) form at the start of the annealing. Frozen quanta keep the
    per-sample forwards of the Fisher from refreshing eps on single samples, which would make
    the result depend on the order of the samples."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model(inputs)
    model.eval()
    quantizers = layer_quantizers(model)
    for layer in quantizers:
        for quantizer in layer:
            quantizer.train()
            quantizer.freeze_quantum()
    AnnealingController(quantizers, cfg.anneal).step(0.0)
    return model


def trial_capacity(
    cfg: TrialConfig,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    draws: int = DEFAULT_DRAWS,
    zeta: float = DEFAULT_ZETA,
    eps: float | None = None,
    device: str | None = None,
) -> CapacityResult:
    """2sED and lower 2sED of `cfg`'s quantized network over `draws` initialisations.

    `samples` training inputs (a seeded random subset) estimate the Fisher; `eps` None ties
    the scale to the size of the training split (`eps_for_samples`). The networks run on
    `device` (else the config's `train.device`); the spectra are computed on the host.
    """
    from codesign.device import resolve_device
    from codesign.train import build_model, with_data_shape

    where = resolve_device(device or cfg.train.device)
    if samples < 1:
        raise CodesignError(f"--samples {samples}; use at least one input sample")
    cfg = smoothed_config(cfg)
    splits = load_dataset(cfg.dataset, **cfg.dataset_args)
    # Capacity is a property of random initialisations: starting weights are left out.
    drawn = dataclasses.replace(with_data_shape(cfg, splits.info), init=None)
    n_train = len(splits.train)  # type: ignore[arg-type]  # map-style datasets are sized
    if samples > n_train:
        raise CodesignError(
            f"--samples {samples} exceeds the {n_train} training samples of '{cfg.dataset}'"
        )
    generator = torch.Generator().manual_seed(seed)
    picked = torch.randperm(n_train, generator=generator)[:samples].tolist()
    inputs = torch.stack([splits.train[i][0] for i in picked]).to(where)
    eps = eps_for_samples(n_train, zeta) if eps is None else eps

    def model_for_draw(i: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 1_000_003 + i)
            model = build_model(drawn)
        return prepare_smoothed(model.to(where), cfg, inputs)

    return measure_capacity(model_for_draw, inputs, draws=draws, zeta=zeta, eps=eps)


def capacity_2sed(cfg: TrialConfig, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                  device: str | None = None) -> float:
    """The lower 2sED of `cfg` before training: the per-trial metric a search can record."""
    return trial_capacity(cfg, samples=samples, seed=seed, device=device).lower_two_scale_ed
