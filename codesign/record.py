"""What a trial records in the Optuna storage: its user-attribute keys and its outcomes.

Every writer (the trainer's `TrialResult`, the search's trial, backends and resume) and every
reader (trial tables, progress, early stop, export, reports, commands) names a key or an
outcome through this module, so the stored schema has one definition (docs/design.md,
"What a trial records"). `Status` is a `str` enum: the stored values are the plain strings
(`"ok"`, `"failed"`, ...), and a value read back compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How a trial ended (user attribute `status`)."""

    OK = "ok"  # trained to the end of its epochs
    STOPPED = "stopped"  # trained, stopped early by the search (best checkpoint kept)
    FAILED = "failed"  # diverged (NaN or exploding loss): a result of its configuration
    INFEASIBLE = "infeasible"  # over a budget or refused by a cost model: never trained
    ERROR = "error"  # its code raised or gave NaN values: recorded, replaced
    SURPLUS = "surplus"  # asked for after other workers claimed the budget: never run
    LOST = "lost"  # its worker died or was stopped before it ended: failed, retried once

    @property
    def trained(self) -> bool:
        """The trial has hard-quantized accuracies (and a checkpoint when a run dir exists)."""
        return self in (Status.OK, Status.STOPPED)


class Key:
    """User-attribute keys of a trial, and of the study that holds the trials."""

    # Written before training, from the configuration alone.
    CONFIG = "config"  # the TrialConfig as a mapping
    COSTS = "costs"  # {cost_model: {metric: value}}
    FEASIBLE = "feasible"  # every budget met and every cost model accepts the config
    CONSTRAINTS = "constraints"  # {name: value}: each budget's relative excess (<= 0 met)
    PRECISION = "precision"  # {layer: "w int8, a int4"}: the config's bits at a glance
    # Written by training (`TrialResult.summary`) or by the search for untrained trials.
    STATUS = "status"  # a `Status` value
    REASON = "reason"  # one line: why it failed, stopped, was infeasible or surplus
    VAL_ACCURACY = "val_accuracy"
    TEST_ACCURACY = "test_accuracy"
    EPOCHS = "epochs"
    BEST_EPOCH = "best_epoch"
    SECONDS = "seconds"
    CHECKPOINT = "checkpoint"  # folder holding model.pt
    CURVES = "curves"  # per-epoch metrics (`annealing`: the window was still open)
    LATEST_EPOCH = "latest_epoch"  # while training: {epoch, epochs, val_accuracy, annealing}
    # {epoch: best val accuracy so far}, each epoch from the annealing window's end (MO-ASHA)
    ACCURACY_BY_EPOCH = "accuracy_by_epoch"
    CAPACITY_2SED = "capacity_2sed"
    CAPACITY_SECONDS = "capacity_seconds"
    # Written by the search's machinery.
    VALUES = "values"  # the objective values, written last: the trial is recorded
    NODE = "node"  # where it ran (host:pid or a Ray node id)
    RETRY_OF = "retry_of"  # the trial number it reruns after its worker died
    BASELINE_BITS = "baseline_bits"  # a uniform-precision baseline's bits
    SEED_BUDGET = "seed_budget"  # a sensitivity seed's budget of the first cost objective
    # Study attributes.
    SETTINGS = "codesign.search"  # `SearchSettings` as a mapping
    BUDGET = "codesign.trials"  # finished trials the workers of a study aim for
    FLOAT_REFERENCE = "codesign.float_reference"  # the float network the trials start from
    RESCORED = "codesign.rescored"  # cost models `codesign pareto --hw` re-scored it with
    SENSITIVITY = "codesign.sensitivity"  # per-layer sensitivity and the seeds' budgets


# The per-trial attributes a trial table shows as columns, in order.
TABLE_KEYS = (
    Key.STATUS, Key.REASON, Key.VAL_ACCURACY, Key.TEST_ACCURACY, Key.SECONDS, Key.EPOCHS,
    Key.BEST_EPOCH, Key.CHECKPOINT, Key.RETRY_OF, Key.BASELINE_BITS, Key.SEED_BUDGET,
    Key.CAPACITY_2SED, Key.CAPACITY_SECONDS,
)
# The headline attributes an exported trial's result.json repeats.
RESULT_KEYS = (
    Key.STATUS, Key.REASON, Key.VAL_ACCURACY, Key.TEST_ACCURACY, Key.EPOCHS, Key.BEST_EPOCH,
    Key.SECONDS, Key.FEASIBLE,
)
