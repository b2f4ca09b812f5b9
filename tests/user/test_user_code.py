"""User models and datasets of any input shape, through the real CLI: an MLP on a tabular set
scikit-learn bundles (costs against a hand count), a Conv1d network on 1-D sequences
(converted, trained, costed), a float checkpoint every trial starts from, and bad references
failing in one line before any trial trains, leaving an existing study as it was."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from codesign import cli
from codesign.nn import QuantConv1d
from codesign.space import load_space
from codesign.testing import run_cli
from codesign.train import build_model

MLP = '''
from torch import nn


def build(num_classes, input_shape, hidden=16):
    (features,) = input_shape
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
'''

WINE = '''
import numpy as np
import torch
from sklearn.datasets import load_wine
from torch.utils.data import TensorDataset


def load(seed=0):
    x, y = load_wine(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    x = (x - x.mean(0)) / x.std(0)
    x, y = torch.tensor(x[order], dtype=torch.float32), torch.tensor(y[order])
    return (TensorDataset(x[:110], y[:110]), TensorDataset(x[110:144], y[110:144]),
            TensorDataset(x[144:], y[144:]))
'''

CONV1D = '''
from torch import nn


def build(num_classes, input_shape):
    channels, length = input_shape
    return nn.Sequential(
        nn.Conv1d(channels, 8, 5, padding=2), nn.ReLU(),
        nn.Conv1d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, num_classes),
    )
'''

WAVES = '''
import torch
from torch.utils.data import TensorDataset


def load(length=32, per_class=150):
    """Noisy sine waves of random phase, one class per frequency band."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(3).repeat_interleave(per_class)
    cycles = torch.tensor([1.0, 3.0, 6.0])[y] + torch.rand(len(y), generator=g)
    phase = torch.rand(len(y), 1, generator=g)
    t = torch.linspace(0, 1, length)
    x = torch.sin(6.2832 * (cycles[:, None] * t + phase))
    x = (x + 0.2 * torch.randn(x.shape, generator=g)).unsqueeze(1)
    order = torch.randperm(len(y), generator=g)
    x, y = x[order], y[order]
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    return (TensorDataset(x[:a], y[:a]), TensorDataset(x[a:b], y[a:b]),
            TensorDataset(x[b:], y[b:]))
'''

LENET = '''
from torch import nn


def build(num_classes, input_shape):
    channels, height, width = input_shape
    return nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * height * width, num_classes),
    )


def not_a_module(num_classes, input_shape):
    return [nn.Linear(3, 3)]
'''


def write_space(folder, name, **fields):
    space = {"name": name, "train": {"epochs": 1, "batch_size": 32, "lr": 1.0e-2},
             "layers": {"w_bits": [4, 2], "a_bits": [8, 4]},
             "objectives": ["accuracy", "generic.bops"], **fields}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


def test_mlp_on_a_tabular_set_is_searched_and_costed_by_hand(tmp_path):
    (tmp_path / "mlp.py").write_text(MLP)
    (tmp_path / "wine.py").write_text(WINE)
    write_space(tmp_path, "wine", model="mlp.py:build", dataset="wine.py:load")
    done = run_cli(["search", "--space", "wine.yaml", "--trials", "3", "--out", "run"],
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert list(trials["status"]) == ["ok"] * 3
    assert trials["cfg.input_shape"].eq("[13]").all()
    macs = {"0": 13 * 16, "2": 16 * 3}  # wine: 13 features, 3 classes; hidden 16
    for _, row in trials.iterrows():
        bops = sum(m * row[f"cfg.layers.{n}.w_bits"] * row[f"cfg.layers.{n}.a_bits"]
                   for n, m in macs.items())
        assert row["generic.bops"] == bops
        assert row["generic.macs"] == sum(macs.values())
        assert row["val_accuracy"] > 0.5  # three classes, one epoch


def test_conv1d_network_on_sequences_is_converted_trained_and_costed(tmp_path):
    (tmp_path / "net1d.py").write_text(CONV1D)
    (tmp_path / "waves.py").write_text(WAVES)
    space = write_space(tmp_path, "waves", model="net1d.py:build", dataset="waves.py:load",
                        train={"epochs": 3, "batch_size": 32, "lr": 1.0e-2})
    cfg = load_space(space).fixed_config(w_bits=4, a_bits=4)
    assert cfg.input_shape == (1, 32) and cfg.num_classes == 3
    model = build_model(cfg)
    assert [type(model[i]) for i in (0, 2)] == [QuantConv1d, QuantConv1d]
    assert model(torch.zeros(2, 1, 32)).shape == (2, 3)

    done = run_cli(["train", "--space", "waves.yaml", "--w-bits", "4", "--a-bits", "4",
                    "--out", "trained", "--json"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == "ok" and result["test_accuracy"] > 0.6  # chance: 1/3

    costed = run_cli(["cost", "--config", "trained/config.json", "--json"], cwd=tmp_path)
    assert costed.returncode == 0, costed.stderr
    layers = {row["layer"]: row for row in json.loads(costed.stdout)["layers"]}
    hand = {"0": 32 * 8 * 1 * 5, "2": 32 * 8 * 8 * 3, "6": 8 * 3}
    assert {name: row["macs"] for name, row in layers.items()} == hand
    assert layers["2"]["kind"] == "conv" and layers["2"]["generic.bops"] == hand["2"] * 16


def test_trials_start_from_the_checkpoint_weights(tmp_path, digits_data_source):
    (tmp_path / "lenet.py").write_text(LENET)
    (tmp_path / "digits.py").write_text(digits_data_source)
    float_model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                nn.Linear(4 * 64, 10))
    torch.save(float_model.state_dict(), tmp_path / "float.pt")
    space = write_space(tmp_path, "ckpt", model="lenet.py:build", dataset="digits.py:load",
                        init={"checkpoint": "float.pt"})
    cfg = load_space(space).fixed_config(w_bits=2, a_bits=4)
    assert cfg.init == str(tmp_path / "float.pt")
    quantized = build_model(cfg).state_dict()
    for key, value in float_model.state_dict().items():
        assert torch.equal(quantized[key], value), key
    assert any(key.endswith("eps") for key in quantized if key not in float_model.state_dict())


@pytest.fixture(scope="module")
def existing_study(tmp_path_factory, digits_data_source):
    """A finished one-trial search from a checkpoint, next to the files bad spaces name."""
    tmp_path = tmp_path_factory.mktemp("existing")
    (tmp_path / "lenet.py").write_text(LENET)
    (tmp_path / "digits.py").write_text(digits_data_source)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 64, 10))
    torch.save(model.state_dict(), tmp_path / "float.pt")
    write_space(tmp_path, "user", model="lenet.py:build", dataset="digits.py:load",
                init={"checkpoint": "float.pt"})
    done = run_cli(["search", "--space", "user.yaml", "--trials", "1", "--no-baselines",
                    "--out", "run"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["float_reference"]["epochs"] == 0  # evaluated, not trained
    with (tmp_path / "digits.py").open("a") as f:
        f.write("\n\ndef load_wrong():\n    return {'train': None}\n")
    torch.save(nn.Sequential(nn.Linear(64, 10)).state_dict(), tmp_path / "other.pt")
    return tmp_path


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


BAD = [
    ({"model": "nowhere.py:build"}, "nowhere.py does not exist"),
    ({"model": "lenet.py:missing"}, "has no function 'missing'"),
    ({"model": "lenet.py:not_a_module"}, "returned a list, not a torch nn.Module"),
    ({"dataset": "digits.py:load_wrong"}, "returned a dict; return (train, val, test)"),
    ({"init": {"checkpoint": "other.pt"}}, "does not fit model Sequential: missing keys "
                                           "['3.weight', '3.bias']"),
]


@pytest.mark.parametrize("change, culprit", BAD, ids=[c for c, _ in (
    ("missing_file", 0), ("missing_function", 0), ("no_module", 0), ("bad_dataset", 0),
    ("other_checkpoint", 0))])
def test_bad_references_fail_in_one_line_and_leave_the_study(existing_study, capsys, change,
                                                              culprit, monkeypatch):
    folder = existing_study
    before = _digest(folder / "run")
    space = yaml.safe_load((folder / "user.yaml").read_text())
    (folder / "bad.yaml").write_text(yaml.safe_dump({**space, **change}))
    monkeypatch.chdir(folder)
    assert cli.main(["search", "--space", "bad.yaml", "--trials", "2", "--out", "run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("codesign: error:") and culprit in err
    assert _digest(folder / "run") == before
