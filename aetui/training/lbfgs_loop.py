"""L-BFGS's training loop, beside the trainer's minibatch loop (trainer.py): full-batch
L-BFGS-B iterations (the minimiser: aetui/engine/lbfgs.py) that update the trainer's
weights, measurements and snapshots as its chunks do, and obey the same pause /
single-step rule (Trainer.next_move).
"""

from __future__ import annotations

import numpy as np

from aetui.engine import engine
from aetui.engine.lbfgs import FullBatchLBFGS
from aetui.training.snapshots import PAUSED

# Trainer.next_move's answers: one update asked for (taken), paused, or train freely.
ONE, WAIT, RUN = "one", "wait", "run"


def lbfgs_session(trainer, limit: int | None) -> int:
    """Full-batch L-BFGS-B iterations (aetui/engine/lbfgs.py) from the current weights,
    with a fresh memory, until `limit` iterations, stop, reset, a knob change (which
    restarts the memory: said in the message, the change is in the knob log) or
    convergence (then it pauses). Pausing and single steps are served inside, so
    the memory survives them. Returns the iterations done."""

    run = FullBatchLBFGS(trainer.images, trainer.params.hidden, trainer._hyper())
    done = 0
    ended_by = ""

    def on_iteration(theta: np.ndarray) -> None:
        nonlocal done, ended_by
        fresh = run.unpack(theta)
        with trainer._lock:
            p = trainer.params
            p.W[...], p.b[...], p.c[...] = fresh.W, fresh.b, fresh.c
            if p.V is not None:
                p.V[...] = fresh.V
            trainer.step += 1
        done += 1
        sums = np.array([*run.last_terms, 1.0])
        trainer._sums += sums
        trainer._epoch_sums += sums
        samples = len(trainer.images) * max(run.evaluations, 1)  # images through the model
        trainer._count(samples)
        run.evaluations = 0
        trainer._finish_epoch()
        trainer._publish()
        while True:
            if trainer._stop.is_set() or trainer._reset_hidden is not None:
                raise StopIteration
            if trainer._apply_knobs():
                ended_by = "a knob change"
                raise StopIteration
            if limit is not None and done >= limit:
                raise StopIteration
            if trainer.next_move() != WAIT:  # the trainer's one pause / step rule
                return
            trainer._wake.wait(trainer.snapshot_interval)
            trainer._wake.clear()
            trainer._publish()

    # Full-batch products (1,000 rows a chunk) are large enough for BLAS's own
    # threads; the minibatch steps keep it at one (engine.use_threads).
    if trainer.threads is not None:
        engine.use_blas_threads(trainer.threads)
    try:
        result = run.minimize(run.pack(trainer.params), on_iteration,
                              limit if limit is not None else 10**9)
    finally:
        if trainer.threads is not None:
            engine.use_blas_threads(1)
    if ended_by:
        trainer.message = f"L-BFGS memory restarted after {ended_by} (step {trainer.step})"
    elif result.status != 99:  # 99: on_iteration ended it
        # Ended by itself (converged, or no further decrease): nothing more to do.
        trainer._paused = True
        trainer.state = PAUSED
        trainer.message = f"L-BFGS stopped at step {trainer.step}: {result.message}"
    return done
