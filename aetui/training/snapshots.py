"""What the trainer hands to the front: frozen records holding *copies*.

The trainer thread owns the live weights and its nogil kernels write them in
place, so nothing here may alias a live array. Every array is a fresh,
read-only copy, safe to keep and draw from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Trainer states, as the status bar shows them.
COMPILING = "compiling"
TRAINING = "training"
PAUSED = "paused"
DIVERGED = "diverged"
STOPPED = "stopped"
STATES = (COMPILING, TRAINING, PAUSED, DIVERGED, STOPPED)


def frozen_copy(array: np.ndarray | None, dtype=np.float32) -> np.ndarray | None:
    """A read-only copy of `array` (None stays None)."""
    if array is None:
        return None
    out = np.array(array, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class LossTerms:
    """One measurement of the objective's terms, per example (averaged over the batch).

    recon: reconstruction loss summed over pixels, mean over examples.
    l2: λ·‖W‖² (+ λ·‖V‖² untied) -- the term as it enters the objective.
    sparsity: β·Ω, Ω = Σₗ KL(ρ‖ρ̂ₗ) -- the term as it enters the objective.
    """

    recon: float
    l2: float
    sparsity: float

    @property
    def total(self) -> float:
        return self.recon + self.l2 + self.sparsity


@dataclass(frozen=True)
class LossPoint:
    """A point of the loss curve: train is the running mean since the last point;
    val is measured on the fixed held-out subset (None if not measured then)."""

    step: int
    epoch: float
    train: LossTerms
    val: LossTerms | None
    rho_hat_mean: float | None = None  # held-out mean ρ̂ then (None in older checkpoints)
    samples_per_s: float | None = None  # training speed then
    # held-out recon on inputs corrupted as in training (like for like with train.recon)
    val_corrupted: float | None = None


@dataclass(frozen=True)
class KnobChange:
    """A knob change as it took effect: at the start of update number `step`."""

    step: int
    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Snapshot:
    """Everything the front draws, as of update `step`.

    rho_hat: (k,) mean activation of each hidden unit on the held-out subset.
    filters: (units, n_in) rows Wₗ/‖Wₗ‖ for `filter_units` (the units asked for).
    clean / corrupted / recon: (d, n_in) in [0, 1] (corrupted may leave [0, 1]
        under Gaussian noise) for the fixed display digits, with the current noise.
    curve: the loss curve so far (decimated so it stays a few thousand points).
    knob_log: every knob change so far.
    params: a copy of the weights the snapshot was taken from (model.Params), for
        the panels that run the model themselves (unit inspector, drawing); None
        where a producer has no weights to give (a stored history snapshot).
    h_range: (2, k) least and greatest activation of each unit on the held-out subset.
    """

    step: int
    epoch: float
    state: str
    samples_per_s: float
    settings: dict[str, Any]
    train: LossTerms | None
    val: LossTerms | None
    rho_hat: np.ndarray
    filter_units: tuple[int, ...]
    filters: np.ndarray
    clean: np.ndarray
    corrupted: np.ndarray
    recon: np.ndarray
    curve: tuple[LossPoint, ...] = ()
    knob_log: tuple[KnobChange, ...] = ()
    message: str = ""
    n_in: int = 784
    image_shape: tuple[int, int] = (28, 28)
    params: Any = None
    # (2, k): each unit's least and greatest activation on the held-out subset, the
    # dead/saturated rule's input (experiments/unit_health.py); None where not measured.
    h_range: np.ndarray | None = None

    @property
    def hidden(self) -> int:
        return int(self.rho_hat.shape[0])


def point_to_row(point: LossPoint) -> list:
    """A loss-curve point as a flat JSON row: the one codec for the curve kept in
    checkpoints (state["curve"]); the trainer and the export bundle decode with
    point_from_row."""
    val = point.val
    return [point.step, point.epoch, point.train.recon, point.train.l2, point.train.sparsity,
            *((val.recon, val.l2, val.sparsity) if val is not None else (None, None, None)),
            point.rho_hat_mean, point.samples_per_s, point.val_corrupted]


def point_from_row(row: list) -> LossPoint:
    """Rows are [step, epoch, train×3] (+ [held-out×3 or nulls] + [mean ρ̂, samples/s]
    + [held-out recon on corrupted inputs])."""
    val = LossTerms(*row[5:8]) if len(row) >= 8 and row[5] is not None else None
    extra = row[8:10] if len(row) >= 10 else (None, None)
    corrupted = row[10] if len(row) >= 11 else None
    return LossPoint(int(row[0]), float(row[1]), LossTerms(*row[2:5]), val, *extra, corrupted)
