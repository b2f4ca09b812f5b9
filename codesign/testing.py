"""Helpers for tests of codesign and of its plug-ins.

- `write_space`: a small, fast search space on the embedded digits data (the default CNN, two
  epochs, two bit choices per inner layer), so a search of a few trials runs in seconds.
- `calibrated`, `trained`, `mixed_bits`: quantized networks whose quantizers and batch-norm
  statistics hold real values, as an export or a cost check needs them.
- `run_cli`, `start_cli`: the `codesign` command in a fresh process, as a user runs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from codesign.config import LayerQuant, TrialConfig

# The folder that holds the `codesign` package: first on a child process's path, so that it
# runs this code whether or not the package is installed.
CODE_ROOT = Path(__file__).resolve().parents[1]

SMALL_SPACE: dict[str, Any] = {
    "name": "digits_small",
    "model": "digits_cnn",
    "dataset": "digits",
    "train": {"epochs": 2, "batch_size": 64, "optimizer": "adam", "lr": 3.0e-3},
    "layers": {"w_bits": [8, 2], "a_bits": [8, 4]},
    "overrides": [{"match": "conv1|fc", "w_bits": 8, "a_bits": 8}],
    "anneal": {"noise": ["normal", "uniform"], "sync": ["overlapped", "same_start"],
               "end": 0.8},
    "objectives": ["accuracy", "generic.bops", "generic.model_size_bytes"],
}


def write_space(folder: Path, **changes: Any) -> Path:
    """The small space with top-level fields replaced, written as YAML; returns its path."""
    import yaml

    path = folder / f"{changes.get('name', SMALL_SPACE['name'])}.yaml"
    path.write_text(yaml.safe_dump({**SMALL_SPACE, **changes}, sort_keys=False))
    return path


def calibrated(cfg: TrialConfig, batches: list[torch.Tensor], num_classes: int = 10,
               per_channel: bool = False) -> nn.Module:
    """The quantized network of `cfg` in eval mode, weights as initialised: batch-norm
    statistics from the float network on `batches`, then the activation quantizers
    calibrated on them."""
    import torch
    from torch import nn

    from codesign.models import create_model
    from codesign.nn import convert

    torch.manual_seed(0)
    shape = batches[0].shape
    model = create_model(cfg.model, num_classes, shape[1], shape[-1], **cfg.model_args)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = None  # a plain average over the batches
    model.train()
    with torch.no_grad():
        for x in batches:
            model(x)
    model = convert(model, cfg, per_channel=per_channel).eval()
    with torch.no_grad():
        for x in batches:
            model(x)
    return model


def mixed_bits(names: list[str]) -> dict[str, LayerQuant]:
    """Integer layers cycling through 8, 4, 6 weight bits and 8, 6, 4 activation bits; the
    first and last layers at 8 bits."""
    from codesign.config import LayerQuant

    w_cycle, a_cycle = (8, 4, 6), (8, 6, 4)
    layers = {name: LayerQuant(w_cycle[i % 3], a_cycle[i % 3]) for i, name in enumerate(names)}
    layers[names[0]] = layers[names[-1]] = LayerQuant(8, 8)
    return layers


def trained(cfg: TrialConfig, inputs: torch.Tensor, targets: torch.Tensor,
            per_channel: bool = False, epochs: int = 3) -> nn.Module:
    """The quantized network of `cfg` trained briefly with ANA (the annealing run to the
    end), in eval mode: a network whose predictions mean something."""
    import torch
    from torch import nn

    from codesign.models import create_model
    from codesign.nn import convert, layer_quantizers
    from codesign.quant import AnnealingController

    torch.manual_seed(0)
    model = create_model(cfg.model, 10, inputs.shape[1], inputs.shape[-1], **cfg.model_args)
    model = convert(model, cfg, per_channel=per_channel).train()
    controller = AnnealingController(layer_quantizers(model), cfg.anneal)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    batches = list(zip(inputs.split(64), targets.split(64), strict=True))
    steps = epochs * len(batches)
    for step in range(steps):
        x, y = batches[step % len(batches)]
        controller.step(step / steps)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def _cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(CODE_ROOT), "OMP_NUM_THREADS": "1"}


def run_cli(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`codesign ARGS` in a fresh process, run to its end."""
    return subprocess.run([sys.executable, "-m", "codesign", *args], cwd=cwd, env=_cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def finish_cli(process: subprocess.Popen[str], limit_s: float) -> str:
    """Wait for a `codesign` process started in a session of its own; its merged output, once
    it exited 0. One that runs past `limit_s` is killed with its whole process group."""
    try:
        output, _ = process.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    assert process.returncode == 0, output[-3000:]
    return output


def start_cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """`codesign ARGS` started in a fresh process (output merged into its stdout)."""
    return subprocess.Popen([sys.executable, "-m", "codesign", *args], cwd=cwd, env=_cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
