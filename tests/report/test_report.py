"""Reports: bits strings, CSV round trips, the PNG and HTML figures and the terminal table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codesign.errors import CodesignError
from codesign.record import Key
from codesign.report import (
    bits_string,
    build_panels,
    front_frame,
    layer_columns,
    layer_grid,
    layers_figure,
    pareto_figure,
    read_trials_csv,
    report_frame,
    summary_table,
    write_layers_png,
    write_pareto_html,
    write_pareto_png,
    write_report,
)

OBJECTIVES = ["val_accuracy:max", "generic.bops:min"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def trial_table() -> pd.DataFrame:
    """Eight trials whose front is known by hand: on (accuracy max, BOPs min) among the
    eligible rows {0, 1, 2, 4, 5, 7}, trial 5 is dominated by 0 and 4 by 1; 3 is over budget
    (costed, never trained) and 6 failed. Normalised over the front {2, 0, 1, 7}, the sums of
    the objectives are 1, .67, .61, 1, so the knee is trial 1."""
    return pd.DataFrame(
        {
            "number": range(8),
            "state": ["COMPLETE"] * 6 + ["FAIL", "COMPLETE"],
            "val_accuracy": [0.90, 0.80, 0.95, np.nan, 0.70, 0.85, np.nan, 0.60],
            "test_accuracy": [0.89, 0.79, 0.94, np.nan, 0.69, 0.84, np.nan, 0.59],
            "generic.bops": [5.0, 2.0, 9.0, 1.0, 3.0, 6.0, 4.0, 0.5],
            "bitfusion.latency_s": [0.5, 0.1, 0.9, 0.05, 0.2, 0.3, 0.4, 0.01],
            "feasible": [True, True, True, False, True, True, True, True],
            "cfg.layers.conv1.w_bits": [8, 4, 8, 2, 4, 8, 8, 2],
            "cfg.layers.conv1.w_format": ["int", "int", "int", "ternary", "int", "int", "int",
                                          "ternary"],
            "cfg.layers.conv1.a_bits": [8, 4, 8, 4, 4, 8, 8, 2],
            "cfg.layers.conv1.a_format": ["int"] * 8,
            "cfg.layers.features.3.w_bits": [8, 1, 8, 1, 1, 4, 8, 1],
            "cfg.layers.features.3.w_format": ["int", "binary", "int", "binary", "binary",
                                               "pow2", "int", "binary"],
            "cfg.layers.features.3.a_bits": [8, 2, 8, 2, 2, 4, 8, 1],
            "cfg.layers.features.3.a_format": ["int", "int", "int", "int", "int", "int", "int",
                                               "binary"],
            "cfg.anneal.noise": ["normal"] * 8,
        }
    )


def test_bits_string_reads_the_layer_columns_in_order():
    df = trial_table()
    layers = layer_columns(df)
    assert list(layers) == ["conv1", "features.3"]
    assert bits_string(df.iloc[0], layers) == "w:8,8 a:8,8"
    assert bits_string(df.iloc[5], layers) == "w:8,p4 a:8,4"
    assert bits_string(df.iloc[7], layers) == "w:t,b a:2,b"
    # A layer absent from a trial's configuration stays float.
    row = df.iloc[1].copy()
    row["cfg.layers.features.3.w_bits"] = np.nan
    row["cfg.layers.features.3.w_format"] = np.nan
    assert bits_string(row, layers) == "w:4,f a:4,2"
    assert bits_string(df.iloc[0], layer_columns(df[["number"]])) == ""


def test_report_frame_and_front_order():
    frame = report_frame(trial_table(), OBJECTIVES)
    assert frame["on_front"].tolist() == [True, True, True, False, False, False, False, True]
    assert frame["pareto_rank"].isna().tolist() == [False] * 3 + [True, False, False, True,
                                                                   False]
    assert frame.loc[frame["knee"], "number"].tolist() == [1]
    assert frame.loc[1, "bits"] == "w:4,b a:4,2"
    assert front_frame(trial_table(), OBJECTIVES)["number"].tolist() == [2, 0, 1, 7]


@pytest.mark.parametrize("name", ["trials", "pareto"])
def test_csvs_round_trip_through_pandas(tmp_path, name):
    df = trial_table()
    df.loc[2, "val_accuracy"] = 0.1 + 0.2  # a float whose shortest repr has 17 digits
    paths = write_report(df, OBJECTIVES, tmp_path)
    expected = report_frame(df, OBJECTIVES) if name == "trials" else front_frame(df, OBJECTIVES)
    back = read_trials_csv(paths[name])
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert back["pareto_rank"].dtype == "Int64"
    assert back["on_front"].dtype == bool and back["knee"].dtype == bool
    np.testing.assert_array_equal(  # exact floats, NaN where untrained
        back["val_accuracy"].to_numpy(float), expected["val_accuracy"].to_numpy(float)
    )
    # A plain pandas read sees the same table, up to the dtypes it guesses.
    plain = pd.read_csv(paths[name])
    assert plain["number"].tolist() == expected["number"].tolist()
    assert plain["bits"].tolist() == expected["bits"].tolist()


def _axes(figure, prefix: str) -> dict[str, object]:
    """The figure's axes labelled `prefix:<cost column>` (see `pareto_figure`), by column."""
    return {ax.get_label().split(":", 1)[1]: ax for ax in figure.axes
            if ax.get_label().startswith(prefix + ":")}


def test_png_is_written_and_lays_its_panels_out_as_a_grid(tmp_path):
    from matplotlib.image import imread

    one = write_pareto_png(trial_table(), OBJECTIVES, tmp_path / "one.png")
    assert one.read_bytes()[:8] == PNG_SIGNATURE and imread(one).shape[2] in (3, 4)
    four = ["bitfusion.latency_s:min", "generic.model_size_bytes:min", "cfg.anneal.x:min"]
    df = trial_table()
    df["generic.model_size_bytes"] = df["generic.bops"] * 3
    df["cfg.anneal.x"] = df["generic.bops"] + 1
    figure = pareto_figure(df, OBJECTIVES + four, title="digits: accuracy against costs")
    fronts = _axes(figure, "front")
    assert list(fronts) == ["generic.bops", "bitfusion.latency_s", "generic.model_size_bytes",
                            "cfg.anneal.x"]
    # Four panels make a 2x2 grid, each with its strip of over-budget trials under it.
    corners = sorted({(round(ax.get_position().x0, 2), round(ax.get_position().y0, 2))
                      for ax in fronts.values()})
    assert len({x for x, _ in corners}) == 2 and len({y for _, y in corners}) == 2
    assert set(_axes(figure, "over_budget")) == set(fronts)
    # One legend, outside every panel, naming each role once; the title once.
    assert len(figure.legends) == 1 and all(ax.get_legend() is None for ax in figure.axes)
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert len(labels) == len(set(labels)) and "over budget (not trained)" in labels
    assert figure.get_suptitle() == "digits: accuracy against costs"


def test_over_budget_trials_sit_apart_at_their_cost_and_the_budget_is_a_line():
    df = trial_table()
    df["generic.bops"] = df["generic.bops"] * 1e6
    df.loc[3, "generic.bops"] = 3.9e8  # one trial far over budget stretches the axis
    figure = pareto_figure(df, OBJECTIVES, float_accuracy=0.97,
                           budgets={"generic.bops": 2e8})
    front, = _axes(figure, "front").values()
    strip, = _axes(figure, "over_budget").values()
    assert front.get_xscale() == "log" and strip.get_xscale() == "log"
    # Inside the accuracy axes: only trained trials, at their own accuracy.
    drawn = np.concatenate([c.get_offsets() for c in front.collections if len(c.get_offsets())])
    trained = df[df["feasible"] & df["val_accuracy"].notna()]
    assert sorted(set(drawn[:, 0])) == sorted(trained["generic.bops"])
    assert set(drawn[:, 1]) == set(trained["val_accuracy"])
    # The over-budget trial: in its strip, at its cost, hollow.
    marks, = [c for c in strip.collections if c.get_gid() == "over_budget"]
    assert marks.get_offsets()[:, 0].tolist() == [3.9e8]
    assert len(marks.get_facecolors()) == 0 or marks.get_facecolors()[0][3] == 0
    # The budget, vertical in both, and the float network's accuracy, horizontal.
    lines = [(tuple(line.get_xdata()), tuple(line.get_ydata())) for line in front.get_lines()]
    assert ((2e8, 2e8), (0, 1)) in lines and ((0, 1), (0.97, 0.97)) in lines
    assert front.xaxis.get_major_formatter()(1e7) == "10M"


def test_html_is_self_contained_and_hovers_show_trials(tmp_path):
    path = write_pareto_html(
        trial_table(), OBJECTIVES + ["bitfusion.latency_s:min"], tmp_path / "p.html"
    )
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith(("<html", "<!doctype html"))
    assert "plotly.js" in text.lower() and 'src="https://cdn' not in text
    # Every costed trial is drawn (the failed trial 6 has no place in the figure).
    for number in (0, 1, 2, 3, 4, 5, 7):
        assert f'"trial {number}\\u003cbr\\u003e' in text
    assert '"trial 6\\u003cbr\\u003e' not in text
    # Each layer by name with its weight and activation precision; the script is there once.
    assert "conv1: w int4, a int4\\u003cbr\\u003efeatures.3: w binary, a int2" in text
    assert "<script src=" not in text


def test_panels_staircase_and_over_budget():
    panels = build_panels(trial_table(), OBJECTIVES + ["bitfusion.latency_s:min"])
    assert [p.x.column for p in panels] == ["generic.bops", "bitfusion.latency_s"]
    bops = panels[0]
    assert bops.staircase["number"].tolist() == [7, 1, 0, 2]  # by cost, cheapest first
    # Over all three objectives trial 5 is on the front: its latency beats trial 0's.
    assert bops.front["number"].tolist() == [0, 1, 2, 5, 7]
    assert bops.knee["number"].tolist() == [1]
    assert bops.over_budget["number"].tolist() == [3]
    assert sorted(bops.dominated["number"]) == [4]
    with pytest.raises(CodesignError, match="two objectives"):
        build_panels(trial_table(), ["val_accuracy:max"])


def test_costs_spanning_more_than_a_decade_get_a_log_axis():
    df = trial_table()
    df["generic.bops"] = np.linspace(2.0, 19.0, 8)  # a span of 9.5
    assert not build_panels(df, OBJECTIVES)[0].log_x
    df.loc[3, "generic.bops"] = 21.0  # over budget: it counts, it is drawn at its cost
    assert build_panels(df, OBJECTIVES)[0].log_x
    # A budget line far off the points widens the axis too.
    df.loc[3, "generic.bops"] = 19.0
    assert build_panels(df, OBJECTIVES, budgets={"generic.bops": 200.0})[0].log_x


def test_layers_figure_lists_the_front_best_first_with_each_layers_precision(tmp_path):
    grid = layer_grid(trial_table(), OBJECTIVES)
    assert grid.trials[0].startswith("trial 2") and grid.trials[2].startswith("* trial 1")
    assert grid.layers == ["conv1", "features.3"]
    assert grid.codes["w"] == [["8", "8"], ["8", "8"], ["4", "b"], ["t", "b"]]
    assert grid.codes["a"][3] == ["2", "b"]
    assert grid.bits["w"][3].tolist() == [2.0, 1.0]
    figure = layers_figure(trial_table(), OBJECTIVES)
    cells = [t.get_text() for ax in figure.axes if ax.get_label() == "layers:w"
             for t in ax.texts]
    assert cells == ["8", "8", "8", "8", "4", "b", "t", "b"]
    path = write_layers_png(trial_table(), OBJECTIVES, tmp_path / "layers.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    no_front = trial_table().assign(feasible=False)
    assert write_layers_png(no_front, OBJECTIVES, tmp_path / "none.png") is None


def test_summary_table_lists_the_front_best_accuracy_first():
    text = summary_table(trial_table(), OBJECTIVES)
    lines = text.splitlines()
    assert lines[0].startswith("Pareto front: 4 of 8 trials")
    assert "1 over budget, 1 failed" in lines[0]
    assert lines[1].split() == ["trial", "val_accuracy", "test_accuracy", "generic.bops",
                                "bits"]
    rows = [line.split() for line in lines[2:6]]
    assert [r[0] for r in rows] == ["2", "0", "*", "7"]
    assert rows[2][:6] == ["*", "1", "0.8000", "0.7900", "2", "w:4,b"]
    assert rows[0][-2:] == ["w:8,8", "a:8,8"]
    assert lines[-1] == "* knee of the front"
    short = summary_table(trial_table(), OBJECTIVES, max_rows=2).splitlines()
    assert "... and 2 more on the front" in short[-2]


def test_summary_table_names_where_each_front_trial_came_from():
    df = trial_table()
    df[Key.BASELINE_BITS] = [None, 2, None, None, None, None, None, None]
    df[Key.SEED_BUDGET] = [None, None, 3.0e6, None, None, None, None, None]
    df[Key.RETRY_OF] = None
    lines = summary_table(df, OBJECTIVES).splitlines()
    assert lines[1].split()[:2] == ["trial", "from"]
    rows = [line.split() for line in lines[2:6]]
    cells = [row[1:] if row[0] == "*" else row for row in rows]
    assert {c[0]: c[1] for c in cells} == {"2": "seed", "0": "sampler", "1": "uniform",
                                           "7": "sampler"}


def test_report_of_a_search_without_a_trained_trial(tmp_path):
    df = trial_table()
    df["feasible"] = False
    assert summary_table(df, OBJECTIVES).splitlines()[-1] == "no trial is on the front yet"
    paths = write_report(df, OBJECTIVES, tmp_path)
    assert sorted(paths) == ["html", "pareto", "png", "trials"]
    assert paths["png"].read_bytes()[:8] == PNG_SIGNATURE
    assert read_trials_csv(paths["pareto"]).empty
    only_accuracy = write_report(trial_table(), ["val_accuracy"], tmp_path / "one")
    assert sorted(only_accuracy) == ["pareto", "trials"]
