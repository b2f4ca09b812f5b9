"""One trial: build the quantized network, train it with ANA, judge it hard-quantized.

The accuracy a trial reports is always that of the genuinely quantized network (eval mode: hard
stair functions, no noise), on the validation split for selection and on the test split once,
for the epoch with the best validation accuracy. The annealing controller steps every batch so
that short trials anneal smoothly.

Every tensor lives on the trial's device (`train.device`, see `codesign.device`). The batch
loop never waits for the device: loss and accuracy are summed as tensors and divergence is a
device-side flag, all read once per epoch. The checkpoint is written as CPU tensors, so a GPU
trial's `model.pt` loads anywhere with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from codesign.config import TrialConfig
from codesign.data import DatasetInfo, device_loaders, load_dataset, make_loaders
from codesign.device import resolve_device
from codesign.network import float_network
from codesign.nn import convert, layer_quantizers
from codesign.quant import AnnealingController
from codesign.record import Key, Status

# A loss this many times the loss of a uniform guess means the run has diverged.
DIVERGENCE_FACTOR = 50.0
# Said beside an epoch's accuracy while the annealing window is open (`annealing` in a curve).
ANNEALING_NOTE = (
    "annealing: the hard-quantized accuracy is expected to stay low until the annealing "
    "window closes"
)

EpochCallback = Callable[[dict[str, Any]], bool]
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


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


def clock(seconds: float) -> str:
    """Elapsed or remaining time as m:ss, as progress lines show it."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


class TrialDiverged(Exception):
    """The training loss became NaN, infinite or exploded."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(cfg: TrialConfig) -> nn.Module:
    """The float model of `cfg` (with the weights of `cfg.init`), converted to its quantized
    form."""
    return convert(float_network(cfg), cfg)


def with_data_shape(cfg: TrialConfig, info: DatasetInfo) -> TrialConfig:
    """`cfg` with the classes and input shape it leaves open taken from the loaded data."""
    return dataclasses.replace(
        cfg,
        num_classes=cfg.num_classes or info.num_classes,
        input_shape=cfg.input_shape or info.input_shape,
    )


def model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters live (the CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


@torch.no_grad()
def evaluate(model: nn.Module, loader: Batches) -> float:
    """Accuracy of the hard-quantized network (eval mode: no noise), on the model's device.

    Always in float32, also for a trial trained with `amp`: the accuracy a trial reports is
    that of the quantized network itself, not of its bfloat16 rounding.
    """
    model.eval()
    device = model_device(model)
    correct = torch.zeros((), dtype=torch.long, device=device)
    total = 0
    for inputs, targets in loader:
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        correct += (model(inputs).argmax(dim=1) == targets).sum()
        total += targets.numel()
    return int(correct) / max(total, 1)


def autocast(device: torch.device, amp: str) -> torch.autocast:
    """The mixed-precision context of `train.amp` (`off`: a disabled one)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp == "bf16")


def _make_optimizer(cfg: TrialConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.train.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.train.lr, momentum=0.9, nesterov=True,
            weight_decay=cfg.train.weight_decay,
        )
    return torch.optim.Adam(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)


class EpochTally:
    """Loss and accuracy sums and the first diverging step, kept as tensors on the device so
    that a batch never waits for the host; `read` copies them back once."""

    def __init__(self, device: torch.device, divergence_loss: float) -> None:
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.long, device=device)
        self.bad_step = torch.full((), -1, dtype=torch.long, device=device)
        self.bad_loss = torch.zeros((), dtype=torch.float64, device=device)
        self.limit = divergence_loss
        self.seen = 0

    def add(self, step: int, loss: torch.Tensor, logits: torch.Tensor,
            targets: torch.Tensor) -> None:
        loss = loss.detach().double()
        self.loss_sum += loss * targets.numel()
        self.correct += (logits.argmax(dim=1) == targets).sum()
        self.seen += targets.numel()
        first = (~torch.isfinite(loss) | (loss > self.limit)) & (self.bad_step < 0)
        self.bad_step = torch.where(first, step, self.bad_step)
        self.bad_loss = torch.where(first, loss, self.bad_loss)

    def read(self) -> tuple[float, float]:
        """(mean loss, accuracy); raises `TrialDiverged` naming the first bad step."""
        if int(self.bad_step) >= 0:
            raise TrialDiverged(
                f"training loss {float(self.bad_loss):.4g} at step {int(self.bad_step)} "
                f"(limit {self.limit:.3g}); lower the learning rate"
            )
        seen = max(self.seen, 1)
        return float(self.loss_sum) / seen, int(self.correct) / seen


def _train_epoch(
    model: nn.Module,
    loader: Batches,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    controller: AnnealingController,
    first_step: int,
    total_steps: int,
    divergence_loss: float,
    amp: str = "off",
) -> tuple[float, float, int]:
    """One pass over the training data; returns (mean loss, accuracy, steps taken)."""
    model.train()
    tally = EpochTally(model_device(model), divergence_loss)
    step = first_step
    for inputs, targets in loader:
        train_step(model, inputs, targets, optimizer, scheduler, controller,
                   step / total_steps, tally, step, amp)
        step += 1
    loss_mean, accuracy = tally.read()
    return loss_mean, accuracy, step - first_step


def train_step(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    controller: AnnealingController,
    progress: float,
    tally: EpochTally,
    step: int,
    amp: str = "off",
) -> None:
    """One batch: anneal to `progress`, forward, backward, update; nothing read on the host."""
    controller.step(progress)
    with autocast(inputs.device, amp):  # batches live where the model does
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits, targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()
    tally.add(step, loss, logits, targets)


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state as CPU tensors of their own (a copy even for a model on the CPU)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def save_checkpoint(model: nn.Module, cfg: TrialConfig, result: TrialResult, out_dir: Path) -> None:
    """State dict as CPU tensors (loadable with `torch.load(weights_only=True)` on any
    machine) plus config and result JSON."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(cpu_state_dict(model), out_dir / "model.pt")
    (out_dir / "config.json").write_text(cfg.to_json())
    (out_dir / "result.json").write_text(json.dumps(result.to_dict(), indent=2))


def train_trial(
    cfg: TrialConfig,
    out_dir: str | Path | None = None,
    on_epoch: EpochCallback | None = None,
    num_threads: int | None = None,
    device: str | None = None,
) -> TrialResult:
    """Train one configuration; never raises for a diverging run (status FAILED instead).

    `on_epoch` receives each epoch's metrics and returns True to stop the trial early
    (status STOPPED); search backends use it to report and prune. An epoch's `annealing` is
    True while the annealing window is still open at its end (see `ANNEALING_NOTE`).
    `device` (auto, cpu, cuda, cuda:N) wins over the config's `train.device`.
    """
    started = time.perf_counter()
    where = resolve_device(device or cfg.train.device)
    if num_threads:
        torch.set_num_threads(num_threads)
    if where.type == "cuda":
        torch.cuda.set_device(where)
    seed_everything(cfg.train.seed)
    splits = load_dataset(cfg.dataset, **cfg.dataset_args)
    info = splits.info
    model = build_model(with_data_shape(cfg, info)).to(where)
    train_loader, val_loader, test_loader = device_loaders(
        splits, cfg.train.batch_size, where, seed=cfg.train.seed,
        num_workers=cfg.train.num_workers,
    )
    amp = cfg.train.amp
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
                step, total_steps, divergence_loss, amp,
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
            "annealing": controller.window_open(step / total_steps),
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


def evaluate_float(cfg: TrialConfig) -> tuple[float, float]:
    """(validation, test) accuracy of the config's float network with the weights of
    `cfg.init`: the float reference of a study started from a checkpoint."""
    splits = load_dataset(cfg.dataset, **cfg.dataset_args)
    model = float_network(with_data_shape(cfg, splits.info))
    _, val_loader, test_loader = make_loaders(splits, cfg.train.batch_size, seed=cfg.train.seed)
    return evaluate(model, val_loader), evaluate(model, test_loader)
