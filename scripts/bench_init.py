"""Benchmark: quantized accuracy after a few epochs, from scratch vs from the trained float network.

    python scripts/bench_init.py [--seeds 3] [--epochs 1,2,3,5,10] [--threads 2]

Two tasks: `digits_cnn` on the embedded 8x8 digits, and an MLP (30-64-32-2) on scikit-learn's
bundled breast-cancer table (569 rows, 30 features, 2 classes; a 60/20/20 split standardised
on the training rows). For each seed the float network (no layer quantized) is trained once for
`--float-epochs`, then every configuration is trained for 1, 2, 3, 5 and 10 epochs twice: from
random initialisation and from those float weights (`TrialConfig.init`), with the same
optimiser (Adam, the digits space's lr 3e-3, batch 64) and the annealing defaults of
search_spaces/digits_cnn.yaml. Configurations: every layer at 2 bits, every layer at 4 bits,
and one mixed (first and last layer 8 bits, the inner ones 4 then 2). Scored by the
hard-quantized test accuracy of the best-validation epoch; seeds change the initialisation and
batch order, never the split. Mean and sample standard deviation over seeds; the float
training is paid once per study, not per trial, so it is not charged to the epochs. The last
line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

from codesign.config import AnnealConfig, LayerQuant, TrainConfig, TrialConfig  # noqa: E402
from codesign.train import train_trial  # noqa: E402

HERE = Path(__file__).resolve()
TASKS = {
    "digits": {"model": "digits_cnn", "dataset": "digits"},
    "breast_cancer": {"model": f"{HERE}:mlp", "dataset": f"{HERE}:breast_cancer"},
}


def mlp(num_classes: int, input_shape: tuple[int, ...]) -> nn.Module:
    """The tabular task's network: two hidden layers."""
    (features,) = input_shape
    return nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                         nn.Linear(32, num_classes))


def breast_cancer(seed: int = 0) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
    """scikit-learn's bundled breast-cancer table, split 60/20/20 and standardised."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    mean, std = x[order[:a]].mean(0), x[order[:a]].std(0)
    x = torch.tensor((x - mean) / std, dtype=torch.float32)
    y = torch.tensor(y)

    def part(idx: np.ndarray) -> TensorDataset:
        return TensorDataset(x[idx], y[idx])

    return part(order[:a]), part(order[a:b]), part(order[b:])


def configs(layers: list[str]) -> dict[str, dict[str, LayerQuant]]:
    """Uniform 2 and 4 bits, and the mixed one: 8 at the ends, 4 then 2 inside."""
    inner = layers[1:-1]
    mixed = {name: LayerQuant.of(8, 8) for name in (layers[0], layers[-1])}
    for i, name in enumerate(inner):
        bits = 4 if i < (len(inner) + 1) // 2 else 2
        mixed[name] = LayerQuant.of(bits, bits)
    return {
        "uniform 2": {name: LayerQuant.of(2, 2) for name in layers},
        "uniform 4": {name: LayerQuant.of(4, 4) for name in layers},
        "mixed": mixed,
    }


def layer_names(task: dict[str, str]) -> list[str]:
    from codesign.network import float_network
    from codesign.nn import quantizable_layers

    return quantizable_layers(float_network(TrialConfig(**task)))


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    anneal = AnnealConfig(sync="partition")
    with tempfile.TemporaryDirectory() as tmp:
        for task_name, task in TASKS.items():
            variants = configs(layer_names(task))
            for seed in range(args.seeds):
                train = TrainConfig(epochs=args.float_epochs, batch_size=64, lr=3e-3, seed=seed)
                weights = Path(tmp) / f"{task_name}-{seed}"
                float_run = train_trial(TrialConfig(**task, train=train), out_dir=weights)
                print(f"{task_name} seed {seed}: float test acc {float_run.test_accuracy:.4f}",
                      flush=True)
                rows.append({"task": task_name, "config": "float", "start": "float",
                             "epochs": args.float_epochs, "seed": seed,
                             "test_accuracy": float_run.test_accuracy})
                for config_name, layers in variants.items():
                    for epochs in args.epochs:
                        for start in ("scratch", "float"):
                            cfg = TrialConfig(
                                **task, layers=layers, anneal=anneal,
                                train=TrainConfig(epochs=epochs, batch_size=64, lr=3e-3,
                                                  seed=seed),
                                init=str(weights / "model.pt") if start == "float" else None,
                            )
                            result = train_trial(cfg)
                            rows.append({"task": task_name, "config": config_name,
                                         "start": start, "epochs": epochs, "seed": seed,
                                         "test_accuracy": result.test_accuracy})
                        print(f"{task_name} seed {seed} {config_name} {epochs} epochs: "
                              f"scratch {rows[-2]['test_accuracy']:.4f}, "
                              f"float {rows[-1]['test_accuracy']:.4f}", flush=True)
    return rows


def table(rows: list[dict], epochs: list[int]) -> str:
    """Markdown: one row per (task, config, start), one column per epoch budget."""
    def cell(values: list[float]) -> str:
        if len(values) > 1:
            return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"
        return f"{values[0]:.3f}"

    lines = ["| task | configuration | start | " + " | ".join(f"{e} ep" for e in epochs) + " |",
             "|---|---|---|" + "---|" * len(epochs)]
    keys = dict.fromkeys(
        (r["task"], r["config"], r["start"]) for r in rows if r["config"] != "float"
    )
    for task, config, start in keys:
        cells = []
        for e in epochs:
            values = [r["test_accuracy"] for r in rows if (r["task"], r["config"], r["start"],
                                                           r["epochs"]) == (task, config, start, e)]
            cells.append(cell(values))
        lines.append(f"| {task} | {config} | {start} | " + " | ".join(cells) + " |")
    lines.append("")
    for task in dict.fromkeys(r["task"] for r in rows):
        values = [r["test_accuracy"] for r in rows if r["task"] == task and r["config"] == "float"]
        lines.append(f"float network, {task}: test accuracy {cell(values)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", default="1,2,3,5,10", help="comma-separated budgets")
    parser.add_argument("--float-epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    args.epochs = [int(e) for e in args.epochs.split(",")]
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    rows = run(args)
    print(table(rows, args.epochs))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
