"""One codec for the loss curve's rows in checkpoints (state["curve"]): the trainer
encodes its LossPoints, and the trainer (resuming) and the export bundle decode them.

A row is [step, epoch, train recon, l2, sparsity] + [held-out recon, l2, sparsity, or
three nulls] + [held-out mean ρ̂, samples/s]; older checkpoints stop after 5 or 8.
"""

from __future__ import annotations

from aetui.training.snapshots import LossPoint, LossTerms


def encode(point: LossPoint) -> list:
    """A loss-curve point as a flat JSON row (the curve is kept in checkpoints)."""
    val = point.val
    return [point.step, point.epoch, point.train.recon, point.train.l2, point.train.sparsity,
            *((val.recon, val.l2, val.sparsity) if val is not None else (None, None, None)),
            point.rho_hat_mean, point.samples_per_s]


def decode(row: list) -> LossPoint:
    """Rows are [step, epoch, train×3] (+ [held-out×3 or nulls] + [mean ρ̂, samples/s])."""
    val = LossTerms(*row[5:8]) if len(row) >= 8 and row[5] is not None else None
    extra = row[8:10] if len(row) >= 10 else (None, None)
    return LossPoint(int(row[0]), float(row[1]), LossTerms(*row[2:5]), val, *extra)
