"""One trial: build the quantized network, train it with ANA, judge it hard-quantized.

The accuracy a trial reports is always that of the genuinely quantized network (eval mode: hard
stair functions, no noise), on the validation split for selection and on the test split once,
for the epoch with the best validation accuracy. The annealing controller steps every batch so
that short trials anneal smoothly.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from codesign.config import TrialConfig
from codesign.data import load_dataset, make_loaders
from codesign.models import create_model
from codesign.nn import convert, layer_quantizers
from codesign.quant import AnnealingController
from codesign.record import Key, Status

# A loss this many times the loss of a uniform guess means the run has diverged.
DIVERGENCE_FACTOR = 50.0

EpochCallback = Callable[[dict[str, Any]], bool]


@dataclass
class TrialResult:
    """What one trial hands to the search: hard-quantized accuracies, curves, checkpoint."""

    status: Status  # OK, FAILED (NaN / divergence, with reason) or STOPPED (by on_epoch)
    reason: str | None = None
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    best_epoch: int | None = None
    epochs: int = 0
    curves: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    checkpoint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The headline fields (no curves), as `codesign train --json` prints and a search
        records."""
        return {
            Key.STATUS: self.status,
            Key.REASON: self.reason,
            Key.VAL_ACCURACY: self.val_accuracy,
            Key.TEST_ACCURACY: self.test_accuracy,
            Key.EPOCHS: self.epochs,
            Key.BEST_EPOCH: self.best_epoch,
            Key.SECONDS: round(self.seconds, 3),
            Key.CHECKPOINT: self.checkpoint,
        }


class TrialDiverged(Exception):
    """The training loss became NaN, infinite or exploded."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(cfg: TrialConfig, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """The float model of `cfg`, converted to its quantized form."""
    model = create_model(cfg.model, num_classes, in_channels, image_size, **cfg.model_args)
    return convert(model, cfg)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader) -> float:
    """Accuracy of the hard-quantized network (eval mode: no noise)."""
    model.eval()
    correct = total = 0
    for inputs, targets in loader:
        correct += (model(inputs).argmax(dim=1) == targets).sum().item()
        total += targets.numel()
    return correct / max(total, 1)


def _make_optimizer(cfg: TrialConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.train.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.train.lr, momentum=0.9, nesterov=True,
            weight_decay=cfg.train.weight_decay,
        )
    return torch.optim.Adam(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)


def _train_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    controller: AnnealingController,
    first_step: int,
    total_steps: int,
    divergence_loss: float,
) -> tuple[float, float, int]:
    """One pass over the training data; returns (mean loss, accuracy, steps taken)."""
    model.train()
    loss_sum = correct = seen = 0.0
    step = first_step
    for inputs, targets in loader:
        controller.step(step / total_steps)
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits, targets)
        value = loss.item()
        if not math.isfinite(value) or value > divergence_loss:
            raise TrialDiverged(
                f"training loss {value:.4g} at step {step} "
                f"(limit {divergence_loss:.3g}); lower the learning rate"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += value * targets.numel()
        correct += (logits.argmax(dim=1) == targets).sum().item()
        seen += targets.numel()
        step += 1
    return loss_sum / max(seen, 1), correct / max(seen, 1), step - first_step


def save_checkpoint(model: nn.Module, cfg: TrialConfig, result: TrialResult, out_dir: Path) -> None:
    """State dict (loadable with `torch.load(weights_only=True)`) plus config and result JSON."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / "model.pt")
    (out_dir / "config.json").write_text(cfg.to_json())
    (out_dir / "result.json").write_text(json.dumps(result.to_dict(), indent=2))


def train_trial(
    cfg: TrialConfig,
    out_dir: str | Path | None = None,
    on_epoch: EpochCallback | None = None,
    num_threads: int | None = None,
) -> TrialResult:
    """Train one configuration; never raises for a diverging run (status FAILED instead).

    `on_epoch` receives each epoch's metrics and returns True to stop the trial early
    (status STOPPED); search backends use it to report and prune.
    """
    started = time.perf_counter()
    if num_threads:
        torch.set_num_threads(num_threads)
    seed_everything(cfg.train.seed)
    splits = load_dataset(cfg.dataset, **cfg.dataset_args)
    info = splits.info
    model = build_model(cfg, info.num_classes, info.in_channels, info.image_size)
    train_loader, val_loader, test_loader = make_loaders(
        splits, cfg.train.batch_size, seed=cfg.train.seed
    )
    controller = AnnealingController(layer_quantizers(model), cfg.anneal)
    optimizer = _make_optimizer(cfg, model)
    total_steps = cfg.train.epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    divergence_loss = DIVERGENCE_FACTOR * math.log(info.num_classes)

    result = TrialResult(status=Status.OK)
    best_state: dict[str, torch.Tensor] | None = None
    best_val = -1.0
    step = 0
    for epoch in range(1, cfg.train.epochs + 1):
        epoch_start = time.perf_counter()
        try:
            loss, train_acc, steps = _train_epoch(
                model, train_loader, optimizer, scheduler, controller,
                step, total_steps, divergence_loss,
            )
        except TrialDiverged as err:
            result.status, result.reason = Status.FAILED, f"diverged at epoch {epoch}: {err}"
            break
        step += steps
        val_acc = evaluate(model, val_loader)
        metrics = {
            "epoch": epoch,
            "train_loss": loss,
            "train_accuracy": train_acc,
            "val_accuracy": val_acc,
            "seconds": time.perf_counter() - epoch_start,
        }
        result.curves.append(metrics)
        result.epochs = epoch
        if val_acc > best_val:
            best_val, result.best_epoch = val_acc, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if on_epoch is not None and on_epoch(dict(metrics)):
            result.status, result.reason = Status.STOPPED, f"stopped after epoch {epoch}"
            break

    if best_state is not None:
        model.load_state_dict(best_state)
        result.val_accuracy = best_val
        result.test_accuracy = evaluate(model, test_loader)
    result.seconds = time.perf_counter() - started
    if out_dir is not None:
        out_dir = Path(out_dir)
        result.checkpoint = str(out_dir)
        save_checkpoint(model, cfg, result, out_dir)
    return result
