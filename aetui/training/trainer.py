"""The Python loop around the kernels: chunks of updates, knobs, pause/step/stop,
held-out measurements, divergence, snapshots and checkpoints.

One thread calls `run()` and owns the weights; any other thread may call
`set_knob`, `pause`, `resume`, `step_once`, `stop`, `reset`, `snapshot` and
`save`. Work happens in chunks of a few tens of milliseconds (one nogil kernel
call each); everything another thread asks for takes effect between chunks.

Beside it: L-BFGS's loop (lbfgs_loop.py), and the mixins on the same state for
checkpoints and lab strings (trainer_records.py), and measurements and
snapshots (trainer_measuring.py). The loss
curve's rows in checkpoints have one codec (snapshots.point_to_row).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from aetui.config import Settings, resolve_sigma
from aetui.engine import engine, objective, reference
from aetui.engine.model import Params, init_params
from aetui.knob_table import BY_NAME, FRESH_OPTIMIZER, NEW_WEIGHTS, RETIE
from aetui.speed import SpeedMeter
from aetui.training import labstring
from aetui.training.checkpoint import MAX_COUNTER, Checkpoint
from aetui.training.labstring import KnobEvent
from aetui.training.lbfgs_loop import ONE, RUN, WAIT, lbfgs_session
from aetui.training.quick_start import QuickStartMixin
from aetui.training.session import KnobSession
from aetui.training.snapshots import (
    DIVERGED,
    PAUSED,
    STOPPED,
    TRAINING,
    KnobChange,
    LossPoint,
    LossTerms,
    Snapshot,
)
from aetui.training.trainer_measuring import MeasuringMixin
from aetui.training.trainer_records import CheckpointMixin, ReplayMixin

CHUNK_SECONDS = 0.02  # one kernel call; knobs and stop land within this
EVAL_BUDGET = 0.03  # held-out measurements may take this share of training time


class Trainer(CheckpointMixin, MeasuringMixin, ReplayMixin, QuickStartMixin):
    """Trains one autoencoder on `train_x` (N×n: uint8 digits, or float32 rows such as
    prepared natural-image patches), measuring on `test_x` (same dtype).
    `image_shape` is how a row is drawn (default: square when n is a square).

    See docs/CONTRACTS.md for the thread contract. Callbacks run on the
    trainer thread and must return quickly.
    """

    def __init__(self, settings: Settings, train_x: np.ndarray, test_x: np.ndarray, *,
                 checkpoint: Checkpoint | None = None, val_count: int = 1000,
                 display_count: int = 8, snapshot_interval: float = 0.25,
                 on_snapshot: Callable[[Snapshot], None] | None = None,
                 on_epoch: Callable[[dict], None] | None = None,
                 on_diverged: Callable[[str], None] | None = None,
                 threads: int | None = 1, knobs: KnobSession | None = None,
                 image_shape: tuple[int, int] | None = None) -> None:
        # A relative σ (--sigma-std) becomes --sigma for these data, once, here.
        settings = resolve_sigma(settings.validate(), train_x)
        # Knob changes arrive through this session (the lab's own, if it passes one).
        self.knobs = knobs if knobs is not None else KnobSession(settings)
        # uint8 pixels stay uint8 (the kernel scales a batch at a time); anything
        # else is taken as prepared float rows.
        dtype = np.uint8 if np.asarray(train_x).dtype == np.uint8 else np.float32
        self.images = np.ascontiguousarray(train_x, dtype=dtype)
        if self.images.ndim != 2 or len(self.images) == 0:
            raise ValueError("train_x must be a non-empty N×n array")
        self.n_in = int(self.images.shape[1])
        self.image_shape = tuple(image_shape) if image_shape else _image_shape(self.n_in)
        if self.image_shape[0] * self.image_shape[1] != self.n_in:
            raise ValueError(f"image_shape {self.image_shape} does not hold {self.n_in} inputs")
        test_x = np.ascontiguousarray(test_x, dtype=dtype)
        # A fixed held-out subset (every training image is trained on) and fixed display digits.
        self.val_x = test_x[:val_count] if len(test_x) else self.images[:val_count]
        self.display_x = (test_x if len(test_x) else self.images)[:display_count]
        self.val_count = len(self.val_x)
        # The held-out cross-entropy no model can go below (README, "Conventions").
        # The cross-entropy's floor: for pixel intensities (digits), not for float rows.
        self.val_floor = (objective.cross_entropy_floor(self.val_x)
                          if self.val_x.dtype == np.uint8 else None)
        self.snapshot_interval = snapshot_interval
        self.on_snapshot = on_snapshot
        self.on_epoch = on_epoch
        self.on_diverged = on_diverged
        # A step runs in parts on this many threads (engine.parts_for; numba's threads
        # of the training thread, set when warm_up() and run() start; None: leave
        # them, one part). 1 by default: the tests; `aetui train --threads` and the
        # lab pass theirs (README, "Threads").
        self.threads = threads
        # The threads a step is split for: the run's own, kept on resume and replay (a
        # split runs on any number of threads and gives the same bits; README "Threads").
        self.split = max(1, int(threads or 1))
        # Where the corruption comes from (engine.NOISE_STREAMS): new runs take the
        # counter stream; a checkpoint or a replayed string keeps its own.
        self.noise_stream = engine.STREAM_COUNTER
        self._init_quick_start()
        if checkpoint is not None and checkpoint.lab_string:
            with contextlib.suppress(labstring.LabStringError):
                self.split = labstring.decode(checkpoint.lab_string).split

        self._lock = threading.RLock()  # held while the weights change; snapshots take it
        self._wake = threading.Event()
        self.knobs.on_change = self._wake.set
        self._stop = threading.Event()
        self._paused = False
        self._step_requests = 0
        self._reset_hidden: int | None = None
        self._reset_init: str | None = None
        self._filter_units: tuple[int, ...] = tuple(range(64))
        self.state = PAUSED
        self.message = ""
        self._compiled = False
        # Samples processed ÷ wall time while training, one way (aetui/speed.py): the
        # run's recent speed (status bar, progress) and the epoch's (its record).
        self.speed = SpeedMeter()
        self._epoch_speed = SpeedMeter()
        # The data's name for lab strings (the caller knows it: a folder's name, say).
        self.data_name: str | None = None
        self._data_hash: str | None = None
        self._replay: list[KnobEvent] = []  # scheduled changes, oldest first
        self._pause_at: int | None = None
        # Extra named arrays for checkpoints (the lab's history store, training/history.py):
        # called on the saving thread; a loaded checkpoint's extras are kept otherwise.
        self.checkpoint_extras: Callable[[], dict[str, np.ndarray]] | None = None
        self.loaded_extras: dict[str, np.ndarray] = {}

        if checkpoint is not None:
            self._start_from_checkpoint(checkpoint, settings)
        else:
            self._start_fresh(settings)

    # ----- set-up -------------------------------------------------------------------

    def _start_fresh(self, settings: Settings) -> None:
        self._applied = settings
        self.knobs.adopt(settings)
        self.params = init_params(self.n_in, settings.hidden, settings.seed, settings.tied,
                                  init=settings.init)
        self._zero_optimizer()
        self.step = 0
        self.epoch_index = 0
        self._order_rng = np.random.default_rng([settings.seed, 1])
        self._noise_rng = np.random.default_rng([settings.seed, 2])
        self.order = self._order_rng.permutation(len(self.images))
        self.pos = 0
        self.history: list[dict[str, Any]] = []
        self.knob_log: list[KnobChange] = []
        self.curve: list[LossPoint] = []
        self._clear_measurements()

    def _zero_optimizer(self) -> None:
        p = self.params
        V_shape = (p.hidden, p.n_in) if p.V is not None else (1, 1)
        self.opt = {
            "opt_W": np.zeros((2, *p.W.shape), np.float32),
            "opt_b": np.zeros((2, *p.b.shape), np.float32),
            "opt_c": np.zeros((2, *p.c.shape), np.float32),
            "opt_V": np.zeros((2, *V_shape), np.float32),
        }
        self.adam_t = 0

    def _clear_measurements(self) -> None:
        self._sums = np.zeros(4, np.float64)  # since the last curve point
        self._epoch_sums = np.zeros(4, np.float64)
        self.speed.reset()
        self._epoch_speed.reset()
        self.last_train: LossTerms | None = None
        self.last_val: LossTerms | None = None
        self.last_val_corrupted: float | None = None
        self.h_range: np.ndarray | None = None
        self.rho_hat = np.zeros(self.params.hidden, np.float32)
        self._eval_cost = 0.0
        self._last_eval = 0.0

    def _workspace(self, batch: int) -> engine.Workspace:
        return engine.Workspace.allocate(batch, self.n_in, self.params.hidden)

    def _hyper(self) -> engine.Hyper:
        """The applied settings as the kernels take them."""
        return engine.Hyper.from_settings(self._applied)

    # ----- the thread contract ------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """Current settings, pending knob changes included."""
        return self.knobs.settings

    @property
    def epoch(self) -> float:
        """Epochs done, fractional: 1.5 is halfway through the second pass."""
        return self.epoch_index + self.pos / len(self.images)

    @property
    def filter_units(self) -> tuple[int, ...]:
        return self._filter_units

    @filter_units.setter
    def filter_units(self, units) -> None:
        self._filter_units = tuple(int(u) for u in units)

    def set_knob(self, name: str, value: Any) -> None:
        """Request a live knob change (any thread); validated, applied at the next chunk.
        (The lab sets its knobs through the session it handed over, `knobs`.)"""
        self.knobs.set(name, value, live_only=True)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def step_once(self) -> None:
        """Exactly one update (meant for a paused trainer)."""
        self._paused = True
        self._step_requests += 1
        self._wake.set()

    def next_move(self) -> str:
        """The one pause / step rule, for both training loops (called on the training
        thread between updates): ONE when a single step was asked for (taken now),
        else WAIT while paused, else RUN. Sets the state to match."""
        if self._step_requests > 0:
            self._step_requests -= 1
            self._clock(True)
            return ONE
        if self._paused:
            self._clock(False)  # pauses are not training time
            if self.state != DIVERGED:
                self.state = PAUSED
            return WAIT
        self._clock(True)
        self.state = TRAINING
        return RUN

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def reset(self, hidden: int | None = None, init: str | None = None) -> None:
        """Fresh weights from the seed at the next chunk: k = `hidden` and the
        initialisation `init` (config.INITS) if given, else the current ones."""
        if hidden is not None or init is not None:
            Settings().replace(**({"hidden": int(hidden)} if hidden is not None else {}),
                               **({"init": init} if init is not None else {}))  # validates
        self._reset_init = init
        self._reset_hidden = int(hidden) if hidden is not None else self.params.hidden
        self._wake.set()

    def weights(self) -> Params:
        with self._lock:
            return self.params.copy()

    # ----- running ------------------------------------------------------------------

    def _parts(self) -> int:
        """The parts a step is split into (engine.parts_for, for the run's split)."""
        s = self._applied
        return engine.parts_for(self.split, s.batch, self.n_in, s.hidden)

    def run(self, max_steps: int | None = None, max_epochs: int | None = None) -> None:
        """Train until stop(), or `max_steps` more updates, or `max_epochs` more epochs."""
        self._stop.clear()
        self.warm_up()
        self._clock(True)  # training's wall time: all of run() but compiling and pauses
        if self.threads is not None:
            engine.use_threads(self.threads)  # numba's count is per calling thread
        if self.state != DIVERGED:
            self.state = PAUSED if self._paused else TRAINING
        # Limits count this call's work, so a reset mid-run does not move the goal.
        steps_done = 0
        epochs_done = 0
        ws = self._workspace(self._applied.batch)
        chunk_steps = 1
        last_publish = 0.0
        if self._last_eval == 0.0:
            self._evaluate()
        try:
            while not self._stop.is_set():
                self._apply_knobs()
                if self._reset_hidden is not None:
                    self._do_reset()
                    ws = self._workspace(self._applied.batch)
                if max_steps is not None and steps_done >= max_steps:
                    break
                if max_epochs is not None and epochs_done >= max_epochs:
                    break
                # After the limits: a replay stopped at step s holds the weights the run
                # had at s, before the changes logged at s (apply_due_changes adds them).
                self.apply_due_changes()
                if ws.hidden != self.params.hidden or ws.batch != self._applied.batch:
                    ws = self._workspace(self._applied.batch)
                if self._pause_at is not None and self.step >= self._pause_at:
                    self._pause_at = None
                    self._paused = True
                    self.message = f"replayed to step {self.step:,}; paused"
                move = self.next_move()
                if move == WAIT:
                    if time.perf_counter() - last_publish >= self.snapshot_interval:
                        self._publish()
                        last_publish = time.perf_counter()
                    self._wake.wait(self.snapshot_interval)
                    self._wake.clear()
                    continue
                single = move == ONE
                n_steps = 1 if single else chunk_steps
                if max_steps is not None:
                    n_steps = min(n_steps, max_steps - steps_done)
                # The step counter stops at the limit a checkpoint may hold (else the run
                # would save a file the reader refuses).
                n_steps = min(n_steps, MAX_COUNTER - self.step)
                if n_steps <= 0:
                    self.message = f"the step counter is at its limit ({MAX_COUNTER:,})"
                    break
                to_event = self._steps_to_next_event()
                if to_event is not None and to_event > 0:
                    n_steps = min(n_steps, to_event)  # a replayed change lands exactly there
                if self._applied.optimizer == "lbfgs":
                    # One L-BFGS iteration is one update and one epoch (a full pass).
                    limits = [n - d for n, d in ((max_steps, steps_done),
                                                 (max_epochs, epochs_done)) if n is not None]
                    self._on_reference()  # a quick start ends here: L-BFGS needs the kernels
                    self._await_kernels()
                    done = self._lbfgs_session(
                        1 if single else min([*limits, MAX_COUNTER - self.step]))
                    steps_done += done
                    epochs_done += done
                    last_publish = time.perf_counter()
                    continue
                started = time.perf_counter()
                done = self._train_chunk(n_steps, ws)
                elapsed = time.perf_counter() - started
                steps_done += done
                if done > 0 and not single:
                    per_step = elapsed / done
                    chunk_steps = max(1, min(100_000, int(CHUNK_SECONDS / per_step)))
                if self.pos >= len(self.images):
                    self._finish_epoch()
                    epochs_done += 1
                now = time.perf_counter()
                if now - self._last_eval > max(0.25, self._eval_cost / EVAL_BUDGET):
                    self._evaluate()
                if single or now - last_publish >= self.snapshot_interval:
                    self._publish()
                    last_publish = now
        finally:
            self.state = DIVERGED if self.state == DIVERGED else STOPPED
            if self._sums[3] > 0:
                self._evaluate()
            self._clock(False)
            self._publish()

    def _train_chunk(self, n_steps: int, ws: engine.Workspace) -> int:
        s = self._applied
        p = self.params
        on_reference = self._on_reference()
        if not on_reference:
            self._await_kernels()  # before the lock: snapshots never wait on a compile
        with self._lock:
            # What a divergence restores. Plain SGD never touches the optimizer
            # state, so copying it (2 × the weights) would only slow every chunk.
            opt_saved = self.opt if s.optimizer == "sgd" else {
                k: v.copy() for k, v in self.opt.items()}
            saved = (p.copy(), opt_saved, self.adam_t, self.pos,
                     self._noise_rng.bit_generator.state)
            sums = np.zeros(4, np.float64)
            if on_reference:
                done, pos, finite = reference.train_chunk(
                    self.images, self.order, self.pos, n_steps, p, self.opt, self.adam_t, s,
                    ws.batch, sums, s.seed, self.step)
            else:
                done, pos, finite = engine.train_chunk(
                    self.images, self.order, self.pos, n_steps, self._noise_rng, p, self.opt,
                    self.adam_t, self._hyper(), ws, sums, parts=self._parts(),
                    stream=self.noise_stream, seed=s.seed, step=self.step)
            if not finite:
                # Non-finite loss or weights: go back to the chunk's start and pause.
                failed_at = self.step + done + 1
                self.params, self.opt, self.adam_t, self.pos = saved[0], saved[1], saved[2], \
                    saved[3]
                self._noise_rng.bit_generator.state = saved[4]
                if n_steps > 1:
                    # Again one update at a time: the weights kept are then those before
                    # the first failing update whatever the chunking, so a replay (README
                    # "Share and replay") reaches the same ones.
                    redone = 0
                    while redone < n_steps and self._train_chunk(1, ws) == 1:
                        redone += 1
                    return redone
                self.state = DIVERGED
                self._paused = True
                self._step_requests = 0
                self.message = (f"diverged: the loss or weights became non-finite at step "
                                f"{failed_at}; restored the weights of step {self.step} and "
                                f"paused. {divergence_advice(self.knob_log, s)}")
                if self.on_diverged is not None:
                    self.on_diverged(self.message)
                return 0
            processed = int(pos) - self.pos  # the last batch of an epoch may be short
            self.pos = int(pos)
            self.step += int(done)
            self.adam_t += int(done)
        self._sums += sums
        self._epoch_sums += sums
        self._count(processed)
        if self.message.startswith("diverged"):
            self.message = ""
        return int(done)

    def _apply_knobs(self) -> bool:
        """Take the session's pending changes and carry out each one's side effect
        (the knob table's `effect`); True if any changed."""
        pending = self.knobs.take()
        changed = False
        with self._lock:
            for name, new in pending.items():
                old = getattr(self._applied, name)
                if old == new:
                    continue
                changed = True
                effect = BY_NAME[name].effect
                if effect == NEW_WEIGHTS:
                    # A new model from the requested settings (k and init included).
                    self._reset_hidden = int(self.knobs.settings.hidden)
                    continue
                if effect == RETIE:
                    self._retie(new)
                elif effect == FRESH_OPTIMIZER:
                    for array in self.opt.values():
                        array[...] = 0
                    self.adam_t = 0
                # Validated once, by the session that handed it over.
                self._applied = dataclasses.replace(self._applied, **{name: new})
                self.knob_log.append(KnobChange(self.step, name, old, new))
        return changed

    def _lbfgs_session(self, limit: int | None) -> int:
        """L-BFGS iterations from the current weights (lbfgs_loop.py); the count done."""
        return lbfgs_session(self, limit)

    def _retie(self, tied: bool) -> None:
        """Untie: V starts as a copy of Wᵀ. Tie: keep W (the encoder), drop V."""
        p = self.params
        if tied:
            self.params = Params(p.W, p.b, p.c, None)
            self.opt["opt_V"] = np.zeros((2, 1, 1), np.float32)
        else:
            self.params = Params(p.W, p.b, p.c, np.ascontiguousarray(p.W.T))
            self.opt["opt_V"] = np.zeros((2, p.hidden, p.n_in), np.float32)

    def _do_reset(self) -> None:
        hidden = self._reset_hidden
        self._reset_hidden = None
        with self._lock:
            fresh = self.knobs.restart(hidden=hidden, init=self._reset_init)
            self._reset_init = None
            units = self._filter_units
            self._start_fresh(fresh)
            self._filter_units = units
            self._replay, self._pause_at = [], None  # a reset ends a replay
            if not self._live_reference:  # a new run: on the kernels from its first step
                self._reference_until = 0
            self._paused = self._paused and self.state != DIVERGED
            self.state = PAUSED if self._paused else TRAINING
            self.message = ""
        self._evaluate()

def divergence_advice(knob_log: list[KnobChange], settings: Settings) -> str:
    """What to try after a divergence: undo the knobs changed last (they are the likely
    cause: a large β, σ or λ diverges as surely as a large lr), else the learning rate."""
    if knob_log:
        last = knob_log[-1].step
        changed = ", ".join(f"{c.name} {c.old}→{c.new}" for c in knob_log if c.step == last)
        return (f"Changed last (step {last}): {changed}; undo that, or lower the learning "
                f"rate (lr={settings.lr:g}), or reset.")
    return (f"No knob changed since the start: lower the learning rate (lr={settings.lr:g}) "
            f"or reset.")


def _image_shape(n_in: int) -> tuple[int, int]:
    side = round(n_in**0.5)
    return (side, side) if side * side == n_in else (1, n_in)
