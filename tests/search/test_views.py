"""What a user reads of a real study: its figure, its re-scored report beside the run's own,
the export of a re-scored study, and the study as optuna-dashboard shows it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codesign.cli import main
from codesign.record import Key, Status
from codesign.report import pareto_figure
from codesign.search import Manifest, SearchRequest, load_study, report_study, run_search
from codesign.search.results import report_title
from codesign.testing import write_space

BUDGET = 2.0e7  # generic BOPs: the 16-bit baseline (1.5e8) is over it, the 2-bit one (2.4e6) under
OBJECTIVES = ["val_accuracy", "generic.bops", "generic.model_size_bytes"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """Three one-epoch trials: the 16-bit and 2-bit baselines and one sampled, every layer
    searchable, so the BOPs span more than a decade and one trial is over budget."""
    folder = tmp_path_factory.mktemp("views")
    space = write_space(folder, layers={"w_bits": [16, 2], "a_bits": [16, 2]}, overrides=[],
                        constraints=[{"cost": "generic.bops", "max": BUDGET}])
    out = folder / "run"
    run_search(SearchRequest(space=str(space), trials=3, epochs=1, seed=0, out=out))
    return out


def trials_by_status(out: Path) -> dict[str, list]:
    found: dict[str, list] = {}
    for trial in load_study(Manifest.read(out)).get_trials(deepcopy=False):
        found.setdefault(trial.user_attrs[Key.STATUS], []).append(trial)
    return found


def test_the_figure_of_the_study_has_log_costs_and_no_over_budget_accuracy(run, tmp_path):
    report = report_study(Manifest.read(run), tmp_path)
    statuses = trials_by_status(run)
    over = [t.number for t in statuses[Status.INFEASIBLE]]
    trained = [t.number for t in statuses[Status.OK]]
    assert over and trained
    title = report_title("digits_small", "digits_small", report.objectives)
    assert title == "digits_small: accuracy against generic costs"
    figure = pareto_figure(report.frame, report.objectives, title=title,
                           budgets={"generic.bops": BUDGET})
    axes = {ax.get_label(): ax for ax in figure.axes}
    assert axes["front:generic.bops"].get_xscale() == "log"
    table = report.frame.set_index("number")
    for column in OBJECTIVES[1:]:
        drawn = np.concatenate([c.get_offsets() for c in axes[f"front:{column}"].collections
                                if len(c.get_offsets())])
        # Only trained trials in the accuracy range, each at its own accuracy and cost.
        assert set(map(tuple, drawn)) == {
            (table.loc[n, column], table.loc[n, "val_accuracy"]) for n in trained}
        strip = axes[f"over_budget:{column}"]
        marks = np.concatenate([c.get_offsets() for c in strip.collections])
        assert sorted(marks[:, 0]) == sorted(table.loc[over, column])
    assert report.paths["layers"].is_file() and figure.get_suptitle() == title


def test_the_dashboard_names_the_values_and_sees_infeasible_trials(run):
    study = load_study(Manifest.read(run))
    assert study.metric_names == OBJECTIVES
    statuses = trials_by_status(run)
    for trial in statuses[Status.INFEASIBLE]:
        # optuna-dashboard reads the list form; Optuna's samplers read the same values.
        (excess,) = trial.system_attrs["constraints"]
        assert excess > 0 and list(trial.constraints.values()) == [excess]
        assert trial.user_attrs[Key.CONSTRAINTS] == {"generic.bops": excess}
        assert trial.user_attrs[Key.PRECISION]["conv1"] == "w int16, a int16"
    for trial in statuses[Status.OK]:
        assert all(v <= 0 for v in trial.system_attrs["constraints"])
        assert set(trial.user_attrs[Key.PRECISION]) == {"conv1", "conv2", "conv3", "fc"}


def test_rescoring_leaves_the_runs_report_and_export_carries_its_costs(run, tmp_path, capsys):
    report_files = ["trials.csv", "pareto.csv", "pareto.png", "pareto.html", "layers.png",
                    "summary.json"]
    before = {name: (run / name).read_bytes() for name in report_files}
    assert main(["pareto", "--out", str(run), "--hw", "bitfusion"]) == 0
    rescored = run / "rescored-bitfusion"
    front = pd.read_csv(rescored / "pareto.csv")
    assert "bitfusion.latency_s" in front.columns and (rescored / "pareto.png").is_file()
    assert {name: (run / name).read_bytes() for name in report_files} == before
    assert main(["pareto", "--out", str(run), "--hw", "npu_int8",
                 "--report-dir", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "pareto.csv").is_file() and not (run / "rescored-npu_int8").exists()
    capsys.readouterr()

    trained = trials_by_status(run)[Status.OK][0].number
    assert main(["export", "--out", str(run), "--trial", str(trained),
                 "--dest", str(tmp_path / "export")]) == 0
    costs = pd.read_csv(tmp_path / "export" / "costs.csv")
    for column in ("generic.bops", "bitfusion.latency_s", "npu_int8.latency_s"):
        assert column in costs.columns
