"""Does the lower 2sED rank finished trials? Kendall tau against training error and test accuracy.

Reads a finished search's run directory (`--out DIR`: `trials.csv` with columns `number`,
`status`, `val_accuracy`, `test_accuracy`, and `trials/trial-N/config.json` plus
`result.json` per trained trial), measures every finished trial's lower 2sED before training
(`codesign.capacity.trial_capacity`), and prints a markdown table and one JSON line.

Each row also gives the lower 2sED's Fisher term (the part above zeta d), the cap on the
Fisher's rank (min(d, samples x (classes - 1))) and the most the Fisher term can be at that
rank: a term near its cap measures the sample count more than the network.

Training error is 1 - the training accuracy of the last epoch in `result.json` (the running
accuracy of the ANA-trained network in training mode). The cost per trial is the capacity's
seconds over the mean seconds of one training epoch of the same trial.

    python scripts/capacity_study.py --out runs/search-digits --samples 32 --draws 4
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import kendalltau

from codesign.capacity import trial_capacity
from codesign.config import TrialConfig
from codesign.errors import CodesignError
from codesign.record import Key, Status


def _epoch_stats(result_path: Path) -> tuple[float, float]:
    """(training error of the last epoch, mean seconds per epoch); NaN when not recorded."""
    if not result_path.exists():
        return math.nan, math.nan
    curves = json.loads(result_path.read_text()).get("curves") or []
    if not curves:
        return math.nan, math.nan
    seconds = [c["seconds"] for c in curves if "seconds" in c]
    train_error = 1.0 - curves[-1]["train_accuracy"] if "train_accuracy" in curves[-1] else math.nan
    return train_error, (sum(seconds) / len(seconds)) if seconds else math.nan


def study(out: Path, samples: int, draws: int, seed: int) -> pd.DataFrame:
    """One row per finished trial: its lower 2sED, errors, accuracy and relative cost."""
    table = out / "trials.csv"
    if not table.exists():
        raise CodesignError(f"{table} does not exist; pass the run directory of a finished search")
    trials = pd.read_csv(table)
    missing = {"number", Key.STATUS, Key.TEST_ACCURACY} - set(trials.columns)
    if missing:
        raise CodesignError(f"{table} lacks column(s) {sorted(missing)}; is it a search's table?")
    rows = []
    for _, trial in trials[trials[Key.STATUS].isin([Status.OK, "COMPLETE", "complete"])].iterrows():
        folder = out / "trials" / f"trial-{int(trial['number'])}"
        if not (folder / "config.json").exists():
            continue
        cfg = TrialConfig.from_json_file(folder / "config.json")
        result = trial_capacity(cfg, samples=samples, seed=seed, draws=draws)
        train_error, epoch_seconds = _epoch_stats(folder / "result.json")
        print(f"trial {int(trial['number'])}: lower 2sED {result.lower_two_scale_ed:.1f}, "
              f"Fisher term {result.fisher_term:.1f} of cap {result.fisher_cap:.1f} "
              f"({result.seconds:.0f} s)", file=sys.stderr)
        rows.append({
            "number": int(trial["number"]),
            "params": result.params,
            "lower_2sed": result.lower_two_scale_ed,
            "fisher_term": result.fisher_term,
            "rank_cap": result.rank_cap,
            "fisher_cap": result.fisher_cap,
            "2sed": result.two_scale_ed,
            "train_error": train_error,
            "test_accuracy": float(trial["test_accuracy"]),
            "capacity_seconds": result.seconds,
            "epoch_seconds": epoch_seconds,
        })
    return pd.DataFrame(rows)


def summarise(frame: pd.DataFrame) -> dict[str, float | int]:
    """Kendall tau (and p-value) of lower 2sED against training error and test accuracy."""

    def tau(column: str) -> tuple[float, float]:
        pair = frame[["lower_2sed", column]].dropna()
        if len(pair) < 3:
            return math.nan, math.nan
        stat = kendalltau(pair["lower_2sed"], pair[column])
        return float(stat.statistic), float(stat.pvalue)

    tau_train, p_train = tau("train_error")
    tau_test, p_test = tau("test_accuracy")
    relative = (frame["capacity_seconds"] / frame["epoch_seconds"]).dropna()
    return {
        "trials": int(len(frame)),
        "fisher_term_min": float(frame["fisher_term"].min()),
        "fisher_term_max": float(frame["fisher_term"].max()),
        "fisher_term_over_cap_mean": float((frame["fisher_term"] / frame["fisher_cap"]).mean()),
        "rank_cap": int(frame["rank_cap"].max()),
        "kendall_tau_train_error": tau_train,
        "p_train_error": p_train,
        "kendall_tau_test_accuracy": tau_test,
        "p_test_accuracy": p_test,
        "capacity_seconds_mean": float(frame["capacity_seconds"].mean()),
        "epoch_seconds_mean": float(frame["epoch_seconds"].mean()),
        "cost_in_epochs_median": float(relative.median()) if len(relative) else math.nan,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="run directory of a search")
    parser.add_argument("--samples", type=int, default=32, help="inputs for the Fisher")
    parser.add_argument("--draws", type=int, default=4, help="parameter draws per trial")
    parser.add_argument("--seed", type=int, default=0, help="seed of inputs and draws")
    args = parser.parse_args(argv)
    try:
        frame = study(args.out, args.samples, args.draws, args.seed)
    except CodesignError as err:
        print(f"capacity_study: error: {err}", file=sys.stderr)
        return 2
    if frame.empty:
        print(f"capacity_study: error: no finished trial with a config under {args.out}",
              file=sys.stderr)
        return 2
    print(frame.sort_values("lower_2sed").to_markdown(index=False, floatfmt=".4g"))
    print()
    print(json.dumps(summarise(frame)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
