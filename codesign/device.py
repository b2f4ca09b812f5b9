"""Where a trial's tensors live: the one rule turning `auto | cpu | cuda | cuda:N` into a device.

`auto` is the GPU the scheduler gave this process, else the first CUDA device, else the CPU.
Schedulers hand out GPUs through `CUDA_VISIBLE_DEVICES` (Ray does so for every trial that
reserves GPUs, fractions included), and torch numbers the visible devices from 0, so the
given GPU is `cuda:0` of the process; a process given none sees no CUDA device at all.
Asking for CUDA where there is none is a `CodesignError`, raised before any trial starts.
"""

from __future__ import annotations

import re

import torch

from codesign.errors import CodesignError

DEVICE_NAMES = ("auto", "cpu", "cuda", "cuda:N")
NO_CUDA = "no CUDA device here; use --device cpu"
_PATTERN = re.compile(r"(auto|cpu|cuda(:\d+)?)")


def check_device_name(name: object) -> str:
    """`name` if it is one of `DEVICE_NAMES` (cuda:N with a number); never looks for hardware."""
    if not isinstance(name, str) or not _PATTERN.fullmatch(name):
        raise CodesignError(
            f"unknown device {name!r}; use {', '.join(DEVICE_NAMES)} (N a GPU number)"
        )
    return name


def resolve_device(name: str) -> torch.device:
    """The torch device of `name` on this machine (see the module doc for `auto`)."""
    check_device_name(name)
    if name == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if name == "auto":
        return torch.device("cuda", 0) if available else torch.device("cpu")
    if not available:
        raise CodesignError(NO_CUDA)
    index = int(name.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise CodesignError(
            f"device {name} does not exist: this machine shows {count} CUDA device(s), "
            f"cuda:0 to cuda:{count - 1}; pick one of them or use --device auto"
        )
    return torch.device("cuda", index)
