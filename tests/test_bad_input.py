"""Every user mistake is one line on stderr and exit code 2, and touches nothing stored.

A table of malformed inputs (space files, accelerator files, trial JSON, flags, environment
values) is run against the run directory of a real, finished study: each must be refused
with one line naming the culprit, no traceback, and every file under the run directory
byte-for-byte as it was. The cases run in-process through `codesign.cli.main`; a few run as
the real command, for its exit code. docs/reliability.md quotes the tally of this table.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from codesign.cli import main
from codesign.errors import MAX_MESSAGE, CodesignError
from codesign.search import SearchRequest, prepare
from codesign.space import load_space
from codesign.testing import SMALL_SPACE, run_cli
from codesign.userfile import parse_yaml

# The study's space: one epoch in large batches, so the study is made in seconds.
SPACE: dict[str, Any] = {**SMALL_SPACE, "name": "tiny",
                         "train": {**SMALL_SPACE["train"], "epochs": 1, "batch_size": 1024}}

ACCELERATOR: dict[str, Any] = {
    "name": "mychip",
    "clock_hz": 4.0e8,
    "padding": "up",
    "precisions": [{"w_bits": 8, "a_bits": 8, "macs_per_cycle": 256, "energy_per_mac_pj": 0.3},
                   {"w_bits": 4, "a_bits": 8, "macs_per_cycle": 512, "energy_per_mac_pj": 0.18}],
    "memory": [{"name": "sram", "holds": "activations", "pj_per_bit": 0.16,
                "bits_per_cycle": 1024}],
    "layer_kinds": {"conv": 1.0, "depthwise": 0.25, "linear": 1.0},
}

# A valid trial JSON of the digits CNN (fields left out take their defaults).
TRIAL: dict[str, Any] = {
    "model": "digits_cnn", "dataset": "digits",
    "layers": {name: {"w_bits": 8, "a_bits": 8} for name in ("conv1", "conv2", "conv3", "fc")},
    "train": {"epochs": 1, "batch_size": 1024, "lr": 0.003},
}

NAN, INF = float("nan"), float("inf")


def bomb(levels: int) -> str:
    """A "billion laughs" value: a list whose every level repeats the one before nine times,
    9^(levels + 1) items once expanded (a billion at 9 levels) in a few hundred bytes."""
    items = ["&a0 [" + ", ".join(["lol"] * 9) + "]"]
    items += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "[" + ", ".join(items) + "]"


def with_yaml(mapping: dict[str, Any], **raw: str) -> str:
    """`mapping` as YAML with top-level fields written as raw YAML text."""
    rest = {k: v for k, v in mapping.items() if k not in raw}
    return yaml.safe_dump(rest, sort_keys=False) + "".join(f"{k}: {v}\n" for k, v in raw.items())


def space(**top: Any) -> dict[str, Any]:
    return {**SPACE, **top}


def section(name: str, **fields: Any) -> dict[str, Any]:
    return space(**{name: {**SPACE.get(name, {}), **fields}})


def accelerator(**top: Any) -> dict[str, Any]:
    return {**ACCELERATOR, **top}


def precision(**fields: Any) -> dict[str, Any]:
    return accelerator(precisions=[{**ACCELERATOR["precisions"][0], **fields}])


def memory(**fields: Any) -> dict[str, Any]:
    return accelerator(memory=[{**ACCELERATOR["memory"][0], **fields}])


def trial(**top: Any) -> dict[str, Any]:
    return {**TRIAL, **top}


def trial_section(name: str, **fields: Any) -> dict[str, Any]:
    return trial(**{name: {**TRIAL.get(name, {}), **fields}})


# (id, space file: a mapping, YAML text or bytes, the text the one line must hold)
SPACE_CASES: list[tuple[str, Any, str]] = [
    ("not-utf8", b"name: tiny\nmodel: digits_cnn\xff\xfe\n", "not UTF-8"),
    ("latin1-comment", b"# caf\xe9\nname: tiny\n", "not UTF-8"),
    ("empty", "", "mapping"),
    ("only-a-comment", "# nothing here\n", "mapping"),
    ("top-level-list", "- model\n- dataset\n", "mapping"),
    ("top-level-scalar", "digits_cnn\n", "mapping"),
    ("unclosed-bracket", "name: tiny\nmodel: [digits_cnn\n", "YAML"),
    ("tab-indent", "name: tiny\nlayers:\n\tw_bits: 8\n", "YAML"),
    ("undefined-alias", "name: tiny\nmodel: *nowhere\n", "YAML"),
    ("python-tag", "name: !!python/object:os.system {}\n", "YAML"),
    ("unhashable-key", "? [a, b]\n: 1\n", "YAML"),
    ("huge-integer", "name: tiny\nnum_classes: 1" + "0" * 5000 + "\n", "YAML"),
    # 9^7 items: printed in an error or stored with the study, they would take hundreds of MB
    ("alias-bomb-description", with_yaml(SPACE, description=bomb(6)), "aliases"),
    ("alias-bomb-model-args", with_yaml(SPACE, model_args=f"{{width: {bomb(6)}}}"), "aliases"),
    ("alias-cycle", "name: tiny\nlayers: &l {w_bits: *l}\n", "cycle"),
    ("deep-nesting", "name: tiny\nmodel: " + "[" * 3000 + "\n", "nested too deeply"),
    ("long-value", space(model="x" * 200_000), "unknown model"),
    ("newline-in-value", space(model="no\nsuch\nnet"), "unknown model"),
    ("unknown-top-field", space(modle="digits_cnn"), "modle"),
    ("missing-model", {k: v for k, v in SPACE.items() if k != "model"}, "'model'"),
    ("missing-objectives", {k: v for k, v in SPACE.items() if k != "objectives"}, "objectives"),
    ("model-not-a-name", space(model=3), "'model'"),
    ("unknown-model", space(model="nosuchnet"), "nosuchnet"),
    ("unknown-dataset", space(dataset="nosuchdata"), "nosuchdata"),
    ("missing-model-file", space(model="nowhere.py:build"), "nowhere.py"),
    ("model-args-list", space(model_args=[1, 2]), "model_args"),
    ("model-args-unknown", space(model_args={"depth": 3}), "depth"),
    ("model-args-bad-width", space(model_args={"width": -4}), "width"),
    ("model-args-width-float", space(model_args={"width": 1.5}), "width"),
    ("dataset-args-list", space(dataset_args=["val_fraction"]), "dataset_args"),
    ("dataset-args-unknown", space(dataset_args={"shuffle": True}), "shuffle"),
    ("dataset-args-bad-fraction", space(dataset_args={"val_fraction": 1.5}), "val_fraction"),
    ("override-selects-no-layer", space(overrides=[{"match": "^attention", "w_bits": 8}]),
     "selects no layer"),
    ("override-index-out-of-range", space(overrides=[{"index": 9, "w_bits": 8}]),
     "selects no layer"),
    ("override-bad-regex", space(overrides=[{"match": "conv(", "w_bits": 8}]), "regex"),
    ("override-match-and-index", space(overrides=[{"match": "fc", "index": 0, "w_bits": 8}]),
     "exactly one"),
    ("override-sets-nothing", space(overrides=[{"match": "fc"}]), "sets no field"),
    ("overrides-not-a-list", space(overrides={"match": "fc"}), "overrides"),
    ("override-bad-bits", space(overrides=[{"match": "fc", "w_bits": 3.5}]), "w_bits"),
    ("unknown-layer-field", section("layers", w_bitz=4), "w_bitz"),
    ("bits-float", section("layers", w_bits=3.5), "w_bits"),
    ("bits-zero", section("layers", w_bits=0), "w_bits"),
    ("bits-word", section("layers", w_bits="eight"), "w_bits"),
    ("bits-nan", section("layers", w_bits=NAN), "w_bits"),
    ("bits-empty-list", section("layers", a_bits=[]), "a_bits"),
    ("bits-repeated", section("layers", a_bits=[8, 8]), "a_bits"),
    ("bits-range-no-high", section("layers", w_bits={"low": 2}), "w_bits"),
    ("bits-range-reversed", section("layers", w_bits={"low": 8, "high": 2}), "w_bits"),
    ("unknown-format", section("layers", w_format="posit"), "posit"),
    ("unknown-estimator", section("layers", estimator="magic"), "magic"),
    ("layers-not-a-mapping", space(layers=8), "layers"),
    ("unknown-noise", section("anneal", noise="pink"), "pink"),
    ("window-reversed", section("anneal", start=0.9, end=0.5), "anneal.start"),
    ("end-above-one", section("anneal", end=1.5), "anneal.end"),
    ("beta-mu-nan", section("anneal", beta_mu=NAN), "beta_mu"),
    ("beta-mu-inf", section("anneal", beta_mu=INF), "beta_mu"),
    ("beta-mu-minus-inf", section("anneal", beta_mu=-INF), "beta_mu"),
    ("beta-mu-nan-text", section("anneal", beta_mu="nan"), "beta_mu"),
    ("beta-s-negative", section("anneal", beta_s=-1.0), "beta_s"),
    ("beta-s-nan", section("anneal", beta_s=NAN), "beta_s"),
    ("beta-s-range-nan", section("anneal", beta_s={"low": 0.1, "high": NAN}), "beta_s"),
    ("start-range-reversed", section("anneal", start={"low": 0.5, "high": 0.1}),
     "anneal.start"),
    ("unknown-strategy", section("anneal", strategy="best"), "best"),
    ("unknown-sync", section("anneal", sync="never"), "never"),
    ("epochs-float", section("train", epochs=1.5), "epochs"),
    ("epochs-word", section("train", epochs="ten"), "epochs"),
    ("epochs-zero", section("train", epochs=0), "epochs"),
    ("lr-nan", section("train", lr=NAN), "lr"),
    ("lr-inf", section("train", lr=INF), "lr"),
    ("lr-zero", section("train", lr=0), "lr"),
    ("lr-negative", section("train", lr=-0.1), "lr"),
    ("lr-word", section("train", lr="fast"), "lr"),
    ("lr-range-with-step-and-log",
     section("train", lr={"low": 1e-4, "high": 1e-2, "log": True, "step": 1e-4}), "lr"),
    ("lr-range-step-inf", section("train", lr={"low": 1e-4, "high": 1e-2, "step": INF}), "lr"),
    ("batch-size-zero", section("train", batch_size=0), "batch_size"),
    ("unknown-optimizer", section("train", optimizer="lion"), "lion"),
    ("seed-in-space", section("train", seed=3), "seed"),
    ("unknown-device", section("train", device="tpu"), "tpu"),
    ("unknown-amp", section("train", amp="fp8"), "fp8"),
    ("num-workers-negative", section("train", num_workers=-1), "num_workers"),
    ("weight-decay-nan", section("train", weight_decay=NAN), "weight_decay"),
    ("objectives-empty", space(objectives=[]), "objectives"),
    ("objectives-no-accuracy", space(objectives=["generic.bops"]), "accuracy"),
    ("objective-unknown-metric", space(objectives=["accuracy", "generic.bogus"]), "bogus"),
    ("objective-unknown-model", space(objectives=["accuracy", "nochip.latency"]), "nochip"),
    ("objective-repeated", space(objectives=["accuracy", "generic.bops", "generic.bops"]),
     "repeat"),
    ("objective-a-number", space(objectives=["accuracy", 3]), "objectives[1]"),
    ("constraint-unknown-metric", space(constraints=[{"cost": "generic.bogus", "max": 1}]),
     "bogus"),
    ("constraint-unknown-model", space(constraints=[{"cost": "nochip.bops", "max": 1}]),
     "nochip"),
    ("constraint-max-nan", space(constraints=[{"cost": "generic.bops", "max": NAN}]), "max"),
    ("constraint-max-inf", space(constraints=[{"cost": "generic.bops", "max": INF}]), "max"),
    ("constraint-max-word", space(constraints=[{"cost": "generic.bops", "max": "lots"}]),
     "max"),
    ("constraint-on-accuracy", space(constraints=[{"metric": "accuracy", "max": 1}]),
     "accuracy"),
    ("constraints-not-a-list", space(constraints={"cost": "generic.bops"}), "constraints"),
    ("cpus-per-trial-zero", space(resources={"cpus_per_trial": 0}), "cpus_per_trial"),
    ("gpus-per-trial-nan", space(resources={"gpus_per_trial": NAN}), "gpus_per_trial"),
    ("one-class", space(num_classes=1), "num_classes"),
    ("input-shape-zero", space(input_shape=[0, 8, 8]), "input_shape"),
    ("init-missing-file", space(init={"checkpoint": "missing.pt"}), "missing.pt"),
]

# (id, accelerator file, the text the one line must hold)
ACCELERATOR_CASES: list[tuple[str, Any, str]] = [
    ("not-utf8", b"name: mychip\nclock_hz: 4\xff\n", "not UTF-8"),
    ("alias-bomb", with_yaml(ACCELERATOR, description=bomb(6)), "aliases"),
    ("unclosed-bracket", "name: mychip\nprecisions: [\n", "YAML"),
    ("top-level-list", "- mychip\n", "mapping"),
    ("empty", "", "mapping"),
    ("unknown-field", accelerator(frequency=1e9), "frequency"),
    ("missing-clock", {k: v for k, v in ACCELERATOR.items() if k != "clock_hz"}, "clock_hz"),
    ("clock-nan", accelerator(clock_hz=NAN), "clock_hz"),
    ("clock-inf", accelerator(clock_hz=INF), "clock_hz"),
    ("clock-nan-text", accelerator(clock_hz="nan"), "clock_hz"),
    ("clock-negative", accelerator(clock_hz=-1), "clock_hz"),
    ("clock-word", accelerator(clock_hz="fast"), "clock_hz"),
    ("bad-name", accelerator(name="My Chip"), "name"),
    ("bad-padding", accelerator(padding="sideways"), "sideways"),
    ("no-precisions", accelerator(precisions=[]), "precisions"),
    ("energy-nan", precision(energy_per_mac_pj=NAN), "energy_per_mac_pj"),
    ("energy-inf", precision(energy_per_mac_pj=INF), "energy_per_mac_pj"),
    ("energy-negative", precision(energy_per_mac_pj=-0.1), "energy_per_mac_pj"),
    ("macs-zero", precision(macs_per_cycle=0), "macs_per_cycle"),
    ("macs-inf", precision(macs_per_cycle=INF), "macs_per_cycle"),
    ("precision-bits-float", precision(w_bits=3.5), "w_bits"),
    ("precision-repeated", accelerator(precisions=[ACCELERATOR["precisions"][0]] * 2),
     "repeats"),
    ("memory-energy-nan", memory(pj_per_bit=NAN), "pj_per_bit"),
    ("memory-width-inf", memory(bits_per_cycle=INF), "bits_per_cycle"),
    ("memory-holds-snacks", memory(holds="snacks"), "snacks"),
    ("utilisation-above-one", accelerator(layer_kinds={"conv": 1.5}), "layer_kinds.conv"),
    ("utilisation-zero", accelerator(layer_kinds={"conv": 0}), "layer_kinds.conv"),
    ("utilisation-negative", accelerator(layer_kinds={"linear": -0.5}), "layer_kinds.linear"),
    ("utilisation-nan", accelerator(layer_kinds={"conv": NAN}), "layer_kinds.conv"),
    ("unknown-layer-kind", accelerator(layer_kinds={"warp": 1.0}), "warp"),
]

# (id, trial JSON: a mapping or raw text, the text the one line must hold)
TRIAL_CASES: list[tuple[str, Any, str]] = [
    ("epochs-float", trial_section("train", epochs=1.5), "epochs"),
    ("epochs-word", trial_section("train", epochs="ten"), "epochs"),
    ("epochs-bool", trial_section("train", epochs=True), "epochs"),
    ("batch-size-float", trial_section("train", batch_size=64.0), "batch_size"),
    ("seed-float", trial_section("train", seed=1.5), "seed"),
    ("lr-nan", trial_section("train", lr=NAN), "lr"),
    ("lr-inf", trial_section("train", lr=INF), "lr"),
    ("lr-text", trial_section("train", lr="0.1"), "lr"),
    ("device-number", trial_section("train", device=5), "device"),
    ("model-args-list", trial(model_args=[["width", 8]]), "model_args"),
    ("dataset-args-list", trial(dataset_args=[1]), "dataset_args"),
    ("model-a-number", trial(model=5), "model"),
    ("missing-model", {k: v for k, v in TRIAL.items() if k != "model"}, "model"),
    ("unknown-field", trial(epochs=3), "epochs"),
    ("layers-list", trial(layers=[8, 8]), "layers"),
    ("layer-bits-float", trial(layers={"conv1": {"w_bits": 3.5, "a_bits": 8}}), "w_bits"),
    ("layer-bits-text", trial(layers={"conv1": {"w_bits": "8", "a_bits": 8}}), "w_bits"),
    ("beta-mu-nan", trial_section("anneal", beta_mu=NAN), "beta_mu"),
    ("beta-s-inf", trial_section("anneal", beta_s=INF), "beta_s"),
    ("start-text", trial_section("anneal", start="0"), "start"),
    ("num-classes-float", trial(num_classes=2.5), "num_classes"),
    ("deep-nesting", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("not-json", "{model: digits_cnn", "not valid JSON"),
    ("not-utf8", b'{"model": "digits\xff"}', "not UTF-8"),
    ("top-level-list", "[1, 2]", "JSON object"),
    ("huge-integer", '{"model": "digits_cnn", "dataset": "digits", "num_classes": 1'
     + "0" * 5000 + "}", "not valid JSON"),
]

# (id, options after `codesign search --space SPACE --out RUN --trials 1`, the culprit);
# {run} is the study's run directory, {tmp} a fresh folder.
FLAG_CASES: list[tuple[str, list[str], str]] = [
    ("trials-zero", ["--trials", "0"], "--trials"),
    ("trials-word", ["--trials", "abc"], "--trials"),
    ("epochs-zero", ["--epochs", "0"], "--epochs"),
    ("epochs-float", ["--epochs", "1.5"], "--epochs"),
    ("workers-zero", ["--workers", "0"], "--workers"),
    ("cpus-zero", ["--cpus-per-trial", "0"], "--cpus-per-trial"),
    ("gpus-nan", ["--gpus-per-trial", "nan"], "--gpus-per-trial"),
    ("gpus-inf", ["--gpus-per-trial", "inf"], "--gpus-per-trial"),
    ("gpus-negative", ["--gpus-per-trial", "-1"], "--gpus-per-trial"),
    ("capacity-negative", ["--capacity", "-1"], "--capacity"),
    ("unknown-sampler", ["--sampler", "nope"], "--sampler"),
    ("unknown-backend", ["--backend", "nope"], "--backend"),
    ("misspelt-flag", ["--trails", "3"], "--trails"),
    ("address-without-ray", ["--address", "127.0.0.1:1"], "--backend ray"),
    ("unknown-cost-model", ["--hw", "nosuchchip"], "nosuchchip"),
    ("unknown-cost-metric", ["--hw", "generic.bogus"], "bogus"),
    ("empty-hw-item", ["--hw", "generic,"], "--hw"),
    ("unknown-device", ["--device", "tpu"], "tpu"),
    ("missing-accelerator-file", ["--hw", "{tmp}/missing.yaml"], "missing.yaml"),
    ("accelerator-folder", ["--hw", "{tmp}/"], "folder"),
    ("space-folder", ["--space", "{tmp}"], "folder"),
    ("space-missing", ["--space", "{tmp}/missing.yaml"], "missing.yaml"),
    ("space-unknown-name", ["--space", "nosuchspace"], "nosuchspace"),
    ("out-a-file", ["--out", "{run}/search.json"], "--out"),
    ("out-below-a-file", ["--out", "{run}/study.db/run"], "--out"),
    ("other-study-same-out", ["--study", "another"], "holds the search"),
    ("other-seed", ["--seed", "5"], "seed"),
    ("other-epochs", ["--epochs", "3"], "epochs"),
    ("other-storage-same-out", ["--storage", "sqlite:///{tmp}/other.db"], "holds the search"),
    ("bad-storage-url", ["--storage", "nosuch://x", "--out", "{tmp}/other"],
     "cannot open the study storage"),
]

# (id, options after `codesign worker --storage STUDY`, the culprit)
WORKER_CASES: list[tuple[str, list[str], str]] = [
    ("unknown-study", ["--study", "nosuch", "--trials", "2"], "nosuch"),
    ("no-study", ["--trials", "2"], "--study"),
    ("trials-zero", ["--study", "tiny", "--trials", "0"], "--trials"),
    ("trials-word", ["--study", "tiny", "--trials", "two"], "--trials"),
    ("threads-zero", ["--study", "tiny", "--trials", "2", "--threads", "0"], "--threads"),
    ("unknown-device", ["--study", "tiny", "--trials", "2", "--device", "tpu"], "tpu"),
    ("bad-space", ["--study", "tiny", "--trials", "2", "--space", "{tmp}"], "folder"),
]

# (id, a whole command line, the culprit); {run} is the study's run directory, {trial} a valid
# trial JSON
COMMAND_CASES: list[tuple[str, list[str], str]] = [
    ("pareto-out-a-file", ["pareto", "--out", "{run}/search.json"], "is a file"),
    ("pareto-report-dir-a-file",
     ["pareto", "--out", "{run}", "--report-dir", "{run}/search.json"], "--report-dir"),
    ("pareto-unknown-cost-model", ["pareto", "--out", "{run}", "--hw", "nosuchchip"],
     "nosuchchip"),
    ("export-dest-a-file", ["export", "--out", "{run}", "--trial", "0", "--dest",
                            "{run}/search.json"], "--dest"),
    ("export-missing-trial", ["export", "--out", "{run}", "--trial", "99"], "no trial 99"),
    ("export-unknown-format", ["export", "--out", "{run}", "--trial", "0", "--format", "tflite"],
     "tflite"),
    ("train-out-a-file", ["train", "--config", "{trial}", "--out", "{run}/search.json"],
     "--out"),
    ("train-bits-with-config", ["train", "--config", "{trial}", "--out", "{run}", "--w-bits",
                                "4"], "--w-bits"),
]

# (id, CODESIGN_COMPILE, the culprit): refused by search, train and worker alike
COMPILE_CASES: list[tuple[str, str, str]] = [
    ("maybe", "maybe", "CODESIGN_COMPILE='maybe'"),
    ("two", "2", "CODESIGN_COMPILE='2'"),
    ("yes", "yes", "CODESIGN_COMPILE='yes'"),
    ("true", "true", "CODESIGN_COMPILE='true'"),
    ("minus-one", "-1", "CODESIGN_COMPILE='-1'"),
]

# (id, CODESIGN_HW_PATH under a fresh folder, files written there, the culprit), for
# `codesign search --hw mychip`
HW_PATH_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("missing-folder", "nowhere", {}, "nowhere does not exist"),
    ("a-file", "chips/mychip.yaml", {"mychip.yaml": ACCELERATOR}, "is a file"),
    ("bad-yaml", "chips", {"bad.yaml": "name: [\n"}, "bad.yaml"),
    ("alias-bomb", "chips", {"bomb.yaml": with_yaml(ACCELERATOR, source=bomb(6))}, "aliases"),
    ("clock-nan", "chips", {"mychip.yaml": accelerator(clock_hz=NAN)}, "clock_hz"),
    ("utilisation-above-one", "chips",
     {"mychip.yaml": accelerator(layer_kinds={"conv": 2.0})}, "layer_kinds.conv"),
]


def snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` (folders listed too), by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "folder" for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """A finished one-trial study: (its space file, its run directory, the hashes of its files)."""
    folder = tmp_path_factory.mktemp("study")
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(SPACE, sort_keys=False))
    out = folder / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODESIGN_COMPILE", "0")  # one small trial: compiling would cost more
        assert main(["search", "--space", str(path), "--out", str(out), "--trials", "1",
                     "--no-baselines"]) == 0
    return path, out, snapshot(out)


def write(path: Path, content: Any, as_json: bool = False) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content) if as_json else yaml.safe_dump(content))
    return path


def refused(argv: list[str], culprit: str, study: tuple[Path, Path, dict[str, str]],
            capsys: pytest.CaptureFixture[str]) -> None:
    """`codesign ARGV` exits 2 with one line naming `culprit`; the study is untouched."""
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured.err[-2000:]
    assert len(lines) == 1, captured.err[:2000]
    assert lines[0].startswith("codesign: error: ") and culprit in lines[0], lines[0]
    assert len(lines[0]) < MAX_MESSAGE + 100
    assert "Traceback" not in captured.out + captured.err
    assert snapshot(study[1]) == study[2]


def storage(study: tuple[Path, Path, dict[str, str]]) -> str:
    return f"sqlite:///{study[1] / 'study.db'}"


def search(study: tuple[Path, Path, dict[str, str]], *extra: str) -> list[str]:
    return ["search", "--space", str(study[0]), "--out", str(study[1]), "--trials", "1",
            *extra]


@pytest.mark.parametrize("content, culprit", [c[1:] for c in SPACE_CASES],
                         ids=[c[0] for c in SPACE_CASES])
def test_a_bad_space_file_is_one_line(study, tmp_path, capsys, content, culprit):
    path = write(tmp_path / "tiny.yaml", content)
    argv = search(study, "--space", str(path))
    refused(argv, culprit, study, capsys)


@pytest.mark.parametrize("content, culprit", [c[1:] for c in ACCELERATOR_CASES],
                         ids=[c[0] for c in ACCELERATOR_CASES])
def test_a_bad_accelerator_file_is_one_line(study, tmp_path, capsys, content, culprit):
    if isinstance(content, dict) and content.get("name") == ACCELERATOR["name"]:
        # A name of its own: a file wrongly accepted would take the name from the next case.
        content = {**content, "name": tmp_path.name.lower()}
    path = write(tmp_path / "mychip.yaml", content)
    refused(search(study, "--hw", str(path)), culprit, study, capsys)


@pytest.mark.parametrize("content, culprit", [c[1:] for c in TRIAL_CASES],
                         ids=[c[0] for c in TRIAL_CASES])
def test_a_bad_trial_json_is_one_line(study, tmp_path, capsys, content, culprit):
    path = write(tmp_path / "trial.json", content, as_json=True)
    refused(["train", "--config", str(path), "--out", str(study[1])], culprit, study, capsys)


@pytest.mark.parametrize("extra, culprit", [c[1:] for c in FLAG_CASES],
                         ids=[c[0] for c in FLAG_CASES])
def test_a_bad_flag_is_one_line(study, tmp_path, capsys, extra, culprit):
    extra = [e.format(run=study[1], tmp=tmp_path) for e in extra]
    refused(search(study, *extra), culprit, study, capsys)


@pytest.mark.parametrize("extra, culprit", [c[1:] for c in WORKER_CASES],
                         ids=[c[0] for c in WORKER_CASES])
def test_a_bad_worker_option_is_one_line(study, tmp_path, capsys, extra, culprit):
    extra = [e.format(tmp=tmp_path) for e in extra]
    refused(["worker", "--storage", storage(study), *extra], culprit, study, capsys)


@pytest.mark.parametrize("argv, culprit", [c[1:] for c in COMMAND_CASES],
                         ids=[c[0] for c in COMMAND_CASES])
def test_a_bad_option_of_another_command_is_one_line(study, tmp_path, capsys, argv, culprit):
    config = write(tmp_path / "trial.json", TRIAL, as_json=True)
    argv = [a.format(run=study[1], trial=config) for a in argv]
    refused(argv, culprit, study, capsys)


@pytest.mark.parametrize("value, culprit", [c[1:] for c in COMPILE_CASES],
                         ids=[c[0] for c in COMPILE_CASES])
def test_a_bad_compile_setting_is_one_line(study, monkeypatch, capsys, value, culprit):
    monkeypatch.setenv("CODESIGN_COMPILE", value)
    refused(search(study), culprit, study, capsys)
    path = write(study[1].parent / "trial.json", TRIAL, as_json=True)
    refused(["train", "--config", str(path), "--out", str(study[1])], culprit, study, capsys)
    refused(["worker", "--storage", storage(study), "--study", "tiny", "--trials", "2"], culprit,
            study, capsys)


@pytest.mark.parametrize("where, files, culprit", [c[1:] for c in HW_PATH_CASES],
                         ids=[c[0] for c in HW_PATH_CASES])
def test_a_bad_accelerator_path_is_one_line(study, tmp_path, monkeypatch, capsys, where, files,
                                            culprit):
    (tmp_path / "chips").mkdir()
    for name, content in files.items():
        write(tmp_path / "chips" / name, content)
    monkeypatch.setenv("CODESIGN_HW_PATH", str(tmp_path / where))
    refused(search(study, "--hw", "mychip"), culprit, study, capsys)


def test_the_table_holds_a_hundred_malformed_inputs():
    tables = (SPACE_CASES, ACCELERATOR_CASES, TRIAL_CASES, FLAG_CASES, WORKER_CASES,
              COMMAND_CASES, COMPILE_CASES, HW_PATH_CASES)
    assert sum(len(table) for table in tables) >= 100


# A mistake found late used to leave a study behind, and the corrected file was then refused
# at the same --out as "another version of space".
@pytest.mark.parametrize("mistake, culprit", [
    (space(overrides=[{"match": "^attention", "w_bits": 8}]), "selects no layer"),
    (space(model_args={"depth": 3}), "depth"),
    (space(dataset_args={"shuffle": True}), "shuffle"),
    (space(constraints=[{"cost": "generic.bogus", "max": 1}]), "bogus"),
], ids=["override", "model-args", "dataset-args", "constraint"])
def test_a_corrected_space_is_accepted_at_the_same_out(tmp_path, capsys, mistake, culprit):
    path, out = tmp_path / "tiny.yaml", tmp_path / "run"
    write(path, mistake)
    assert main(["search", "--space", str(path), "--out", str(out), "--trials", "1"]) == 2
    assert culprit in capsys.readouterr().err
    assert not out.exists()
    write(path, SPACE)
    manifest, settings, run_dir = prepare(SearchRequest(space=str(path), out=out, trials=1))
    assert run_dir == out.resolve() and settings.space == load_space(path).raw
    assert (out / "study.db").is_file()


def test_a_bad_compile_setting_creates_no_study(tmp_path, monkeypatch, capsys):
    path, out = write(tmp_path / "tiny.yaml", SPACE), tmp_path / "run"
    monkeypatch.setenv("CODESIGN_COMPILE", "maybe")
    assert main(["search", "--space", str(path), "--out", str(out), "--trials", "1"]) == 2
    assert "CODESIGN_COMPILE='maybe'" in capsys.readouterr().err
    assert not out.exists()


def test_a_billion_laughs_is_refused_before_it_expands():
    """The loader counts each shared node once: a billion items are refused in milliseconds
    (a regression returns the shared structure, unexpanded, and fails here harmlessly)."""
    with pytest.raises(CodesignError, match="more than 100000 values") as err:
        parse_yaml(f"description: {bomb(8)}\n", "search space x.yaml")
    assert len(str(err.value)) < 200
    assert parse_yaml(f"description: {bomb(3)}\n", "x")["description"][3][0][0][0][0] == "lol"


def test_the_real_command_exits_2_with_one_line(study, tmp_path):
    """The exit code and output of the command a user runs, not of `main`."""
    bombed = write(tmp_path / "bomb.yaml", with_yaml(SPACE, description=bomb(6)))
    deep = write(tmp_path / "deep.json", "[" * 100_000)
    for args, culprit in (
        (["search", "--space", str(bombed), "--out", str(study[1])], "aliases"),
        (["train", "--config", str(deep), "--out", str(study[1])], "nested too deeply"),
        (["search", "--space", str(study[0]), "--out", str(study[1]), "--trials", "x"],
         "--trials"),
    ):
        result = run_cli(args, cwd=tmp_path, timeout=120)
        lines = result.stderr.splitlines()
        assert result.returncode == 2 and len(lines) == 1 and culprit in lines[0], result.stderr
        assert snapshot(study[1]) == study[2]
