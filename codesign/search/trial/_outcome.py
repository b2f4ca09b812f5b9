"""How a trial ends when its own code fails: recorded as failed with its reason, never fatal.

A trial that raises, or whose objective values are not numbers (NaN), is one bad point of the
space, not a broken search: the backends record it (status ERROR and its reason), tell Optuna
FAIL and go on. A `CodesignError` (a user's mistake, such as a missing data root, that every
trial would meet), a fault of the machine (a full disk, `codesign.faults`) and interrupts
(KeyboardInterrupt, SystemExit) still stop a worker. Every
trial also records where it ran (`Key.NODE`), which is how a cluster's work can be traced.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codesign.record import Key, Status

# A worker whose trials keep failing stops instead of burning the whole budget on errors.
MAX_FAILURES_IN_A_ROW = 5

SetAttr = Callable[[str, Any], None]


@dataclass(frozen=True)
class Failure:
    """Why a trial's own code failed: one line for its `reason`."""

    reason: str


def attempt(run: Callable[[], list[float]]) -> list[float] | Failure:
    """The values `run` gives, or the `Failure` when it raises or gives NaN."""
    from codesign.errors import CodesignError
    from codesign.faults import fault_line

    try:
        values = run()
    except CodesignError:
        raise  # a user's mistake (missing data root, ...) hits every trial: stop with its line
    except Exception as err:
        if fault_line(err) is not None:
            raise  # a full or read-only disk hits every trial too
        return Failure(describe_error(err))
    bad = [v for v in values if not isinstance(v, int | float) or math.isnan(v)]
    if bad:
        return Failure(f"objective values {values} are not numbers")
    return values


def describe_error(err: BaseException) -> str:
    text = str(err).strip()
    first = text.splitlines()[0] if text else ""
    return f"raised {type(err).__name__}: {first}" if first else f"raised {type(err).__name__}"


def record_failure(set_attr: SetAttr, reason: str) -> None:
    set_attr(Key.STATUS, Status.ERROR)
    set_attr(Key.REASON, reason)


def this_process() -> str:
    """`host:pid`, the `node` of a trial run by a worker process."""
    return f"{socket.gethostname()}:{os.getpid()}"
