"""2sED: closed forms, the Gram identity, the layer-wise bound, width, the trial and the CLI."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from codesign.capacity import (
    effective_dimension,
    fisher_cap,
    fisher_eigenvalues,
    kappa_for,
    logdet_identity_plus,
    measure_capacity,
    module_draws,
    parameter_groups,
    prepare_smoothed,
    score_blocks,
    smoothed_config,
    trial_capacity,
    two_scale_ed,
)
from codesign.config import LayerQuant, TrainConfig, TrialConfig
from codesign.errors import CodesignError


def _mlp(width: int, depth: int = 2, inputs: int = 4, classes: int = 3) -> nn.Module:
    layers: list[nn.Module] = []
    size = inputs
    for _ in range(depth - 1):
        layers += [nn.Linear(size, width), nn.Tanh()]
        size = width
    layers.append(nn.Linear(size, classes))
    return nn.Sequential(*layers)


def _closed_form_2sed(fishers: list[np.ndarray], zeta: float, eps: float) -> float:
    d = fishers[0].shape[0]
    kappa = eps ** (-2 * (1 - zeta))
    normaliser = d / np.mean([np.trace(f) for f in fishers])
    dets = [np.linalg.det(np.eye(d) + kappa * normaliser * f) ** 0.5 for f in fishers]
    return zeta * d + (1 - zeta) * 2 * math.log(np.mean(dets)) / math.log(kappa)


def test_linear_gaussian_matches_closed_form() -> None:
    torch.manual_seed(0)
    x = torch.randn(40, 3) * torch.tensor([2.0, 1.0, 0.1])
    model = nn.Linear(3, 1, bias=False)
    draw, _ = module_draws(model, "uniform")
    result = measure_capacity(draw, x, draws=3, zeta=0.3, eps=0.05, output="gaussian", sigma=0.7)
    fisher = (x.T @ x).double().numpy() / (40 * 0.7**2)
    assert result.two_scale_ed == pytest.approx(_closed_form_2sed([fisher], 0.3, 0.05), rel=1e-6)
    # The Fisher does not depend on the parameters: the layer-wise bound is tight.
    assert result.lower_two_scale_ed == pytest.approx(result.two_scale_ed, rel=1e-6)


def test_logistic_model_matches_closed_form() -> None:
    torch.manual_seed(1)
    x = torch.randn(30, 2)
    model = nn.Linear(2, 2, bias=False)
    draw, _ = module_draws(model, "uniform", scale=2.0)
    fishers = []
    for i in range(4):
        w = draw(i).weight.detach().double()
        p = torch.softmax(x.double() @ w.T, dim=1).numpy()
        xs = x.double().numpy()
        f = np.zeros((4, 4))
        for n in range(len(xs)):
            cov = np.diag(p[n]) - np.outer(p[n], p[n])
            f += np.kron(cov, np.outer(xs[n], xs[n]))
        fishers.append(f / len(xs))
    result = measure_capacity(draw, x, draws=4, zeta=0.5, eps=0.01)
    assert result.two_scale_ed == pytest.approx(_closed_form_2sed(fishers, 0.5, 0.01), rel=1e-6)
    assert result.lower_two_scale_ed < result.two_scale_ed


def test_gram_and_direct_logdet_agree() -> None:
    torch.manual_seed(2)
    for rows, cols in ((5, 40), (40, 5), (12, 12)):
        j = torch.randn(rows, cols)
        for scale in (1e-3, 1.0, 1e4):
            gram = logdet_identity_plus(j, scale, "gram")
            direct = logdet_identity_plus(j, scale, "direct")
            assert gram == pytest.approx(direct, rel=1e-9, abs=1e-9)
            assert logdet_identity_plus(j, scale) == pytest.approx(gram, rel=1e-9)


def test_prefix_spectra_match_direct_eigenvalues() -> None:
    torch.manual_seed(3)
    blocks = [torch.randn(6, 2), torch.randn(6, 5), torch.randn(6, 9)]
    spectra = fisher_eigenvalues(blocks, rows_per_fisher=3)
    for k, eig in enumerate(spectra):
        j = torch.cat(blocks[: k + 1], dim=1).double()
        direct = torch.linalg.eigvalsh(j.T @ j / 3).clamp(min=0).numpy()
        nonzero = np.sort(direct)[-min(6, j.shape[1]):]
        assert np.sort(eig)[-len(nonzero):] == pytest.approx(nonzero, abs=1e-9)


@pytest.mark.parametrize("width", [3, 6])
def test_layerwise_bound_is_below_full(width: int) -> None:
    torch.manual_seed(4)
    x = torch.randn(12, 4)
    draw, _ = module_draws(_mlp(width, depth=3), "uniform", scale=1.5)
    result = measure_capacity(draw, x, draws=5, zeta=0.4, eps=0.02)
    assert result.lower_two_scale_ed <= result.two_scale_ed
    assert result.lower_two_scale_ed > 0.4 * result.params
    assert sum(layer.contribution for layer in result.layers) == pytest.approx(
        result.lower_two_scale_ed
    )


def test_rises_with_width() -> None:
    torch.manual_seed(5)
    x = torch.randn(16, 4)
    values = []
    for width in (1, 2, 4, 8):
        draw, _ = module_draws(_mlp(width), "init", seed=7)
        values.append(measure_capacity(draw, x, draws=2, zeta=0.0, eps=0.01))
    full = [r.two_scale_ed for r in values]
    lower = [r.lower_two_scale_ed for r in values]
    assert full == sorted(full) and len(set(full)) == len(full)
    assert lower == sorted(lower)


def test_effective_dimension_limits() -> None:
    spectra = [np.array([3.0, 1.0, 0.0])]
    assert two_scale_ed(spectra, 3, 0.0, 0.1) == pytest.approx(
        effective_dimension(spectra, 3, kappa_for(0.0, 0.1))
    )
    # zeta d + (1 - zeta) * rank as eps -> 0; never below zeta d.
    assert two_scale_ed(spectra, 3, 0.5, 1e-150) == pytest.approx(0.5 * 3 + 0.5 * 2, abs=0.01)
    assert two_scale_ed(spectra, 3, 0.9, 0.5) >= 0.9 * 3
    with pytest.raises(CodesignError, match="zeta"):
        kappa_for(1.0, 0.1)
    with pytest.raises(CodesignError, match="eps"):
        kappa_for(0.5, 2.0)


def test_score_rows_are_per_sample_gradients() -> None:
    torch.manual_seed(6)
    model = _mlp(3)
    x = torch.randn(2, 4)
    groups = parameter_groups(model)
    blocks = score_blocks(model, x, groups, "gaussian", sigma=2.0)
    assert [g.name for g in groups] == ["0", "2"]
    out = model(x[1:2])[0, 2]
    grads = torch.autograd.grad(out, [p for g in groups for p in g.params])
    expected = torch.cat([g.reshape(-1) for g in grads]).double() / 2.0
    row = torch.cat([b[5] for b in blocks])
    assert row == pytest.approx(expected.numpy(), abs=1e-12)


def _tiny_trial(**anneal: float) -> TrialConfig:
    layers = {name: LayerQuant.of(2, 4) for name in ("conv1", "conv2", "conv3", "fc")}
    return TrialConfig.from_dict({
        "model": "digits_cnn",
        "dataset": "digits",
        "layers": {k: vars(v) for k, v in layers.items()},
        "anneal": dict(anneal),
        "train": vars(TrainConfig(epochs=1)),
        "model_args": {"width": 1},
    })


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESIGN_COMPILE", "0")


def test_trial_capacity_of_smoothed_network(eager: None) -> None:
    result = trial_capacity(_tiny_trial(), samples=3, draws=1, seed=1)
    assert result.params == sum(layer.params for layer in result.layers)
    assert 0.5 * result.params < result.lower_two_scale_ed <= result.two_scale_ed + 1e-9
    # 3 samples of 10 classes: rank at most 27, and the Fisher term within its cap.
    assert result.rank_cap == min(result.params, 27)
    zeta_d = result.zeta * result.params
    assert result.fisher_term == pytest.approx(result.lower_two_scale_ed - zeta_d)
    assert 0 < result.fisher_term <= result.fisher_cap
    assert result.fisher_cap == pytest.approx(
        0.5 * 27 * math.log1p(result.kappa * result.params / 27) / math.log(result.kappa)
    )
    with pytest.raises(CodesignError, match="beta_s"):
        trial_capacity(_tiny_trial(beta_s=0.0), samples=3, draws=1)


def test_softmax_fisher_rank_is_samples_times_classes_less_one() -> None:
    torch.manual_seed(8)
    model = _mlp(6, inputs=4, classes=3)  # 30 + 21 = 51 parameters
    x = torch.randn(5, 4)
    blocks = score_blocks(model, x, parameter_groups(model), "softmax")
    jacobian = torch.cat(blocks, dim=1)
    assert jacobian.shape == (15, 51)
    # float32 gradients: the dependence holds to round-off
    assert int(torch.linalg.matrix_rank(jacobian, rtol=1e-5)) == 5 * (3 - 1)
    draw, _ = module_draws(model, "current")
    assert measure_capacity(draw, x, draws=1, zeta=0.5, eps=0.1).rank_cap == 10


def test_fisher_term_reaches_its_cap_only_for_an_even_spectrum() -> None:
    d, r, kappa = 40, 8, 30.0
    even = [np.full(r, d / r)]
    uneven = [np.array([d - 7.0] + [1.0] * 7)]
    for spectrum, at_cap in ((even, True), (uneven, False)):
        eps = 1 / kappa  # kappa = eps^(-2 (1 - zeta)) at zeta = 1/2
        assert kappa_for(0.5, eps) == pytest.approx(kappa)
        term = two_scale_ed(spectrum, d, 0.5, eps) - 0.5 * d
        cap = fisher_cap(r, d, 0.5, kappa)
        assert term == pytest.approx(cap) if at_cap else term < 0.8 * cap


def test_trial_capacity_does_not_depend_on_sample_order(eager: None) -> None:
    from codesign.data import load_dataset
    from codesign.train import build_model, with_data_shape

    splits = load_dataset("digits")
    cfg = with_data_shape(smoothed_config(_tiny_trial()), splits.info)
    inputs = torch.stack([splits.train[i][0] for i in range(10)])

    def model_for_draw(i: int) -> nn.Module:
        torch.manual_seed(i)
        model = build_model(cfg)
        return prepare_smoothed(model, cfg, inputs)  # quanta calibrated on the same batch

    results = [
        measure_capacity(model_for_draw, inputs[order], draws=1, eps=0.05)
        for order in (torch.arange(10), torch.arange(10).flip(0))
    ]
    first = results[0].lower_two_scale_ed
    assert results[0].fisher_term > 1.0
    assert all(r.lower_two_scale_ed == pytest.approx(first, rel=1e-9) for r in results)


def test_cli_end_to_end(eager: None, tmp_path, capsys: pytest.CaptureFixture) -> None:
    from codesign.commands import capacity

    path = tmp_path / "trial.json"
    path.write_text(_tiny_trial().to_json())
    parser = argparse.ArgumentParser()
    capacity.register(parser.add_subparsers())
    args = parser.parse_args(
        ["capacity", "--config", str(path), "--samples", "2", "--draws", "1", "--json"]
    )
    assert args.func(args) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["samples"] == 2 and line["lower_two_scale_ed"] <= line["two_scale_ed"] + 1e-9


def test_cli_bad_samples_is_one_line(eager: None, tmp_path, capsys) -> None:
    from codesign import cli

    path = tmp_path / "trial.json"
    path.write_text(_tiny_trial().to_json())
    code = cli.main(["capacity", "--config", str(path), "--samples", "0"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--samples" in err
