"""The Python loop around the kernels: chunks of updates, knobs, pause/step/stop,
held-out measurements, divergence, snapshots and checkpoints.

One thread calls `run()` and owns the weights; any other thread may call
`set_knob`, `pause`, `resume`, `step_once`, `stop`, `reset`, `snapshot` and
`save`. Work happens in chunks of a few tens of milliseconds (one nogil kernel
call each); everything another thread asks for takes effect between chunks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aetui import __version__
from aetui.config import Settings, resolve_sigma
from aetui.core import engine, labstring, objective, unit_health
from aetui.core.checkpoint import Checkpoint, fit_to_data, save_checkpoint
from aetui.core.corrupted_loss import corrupted_held_out_loss
from aetui.core.labstring import KnobEvent
from aetui.core.model import Params, init_params, reconstruct
from aetui.core.session import KnobSession
from aetui.core.snapshots import (
    COMPILING,
    DIVERGED,
    PAUSED,
    STOPPED,
    TRAINING,
    KnobChange,
    LossPoint,
    LossTerms,
    Snapshot,
    frozen_copy,
)
from aetui.data import as_float
from aetui.errors import AetuiError, ConfigError
from aetui.knob_table import BY_NAME, FRESH_OPTIMIZER, LIVE_KNOBS, NEW_WEIGHTS, RETIE

CHUNK_SECONDS = 0.02  # one kernel call; knobs and stop land within this
MAX_CURVE_POINTS = 4000  # the loss curve is halved (every other point) beyond this
EVAL_BUDGET = 0.03  # held-out measurements may take this share of training time
# Where the data come from: a resumed run that changes these is a run on other data.
_DATA_FIELDS = ("dataset", "data_dir", "limit")


class Trainer:
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
        self.samples_per_s = 0.0
        # The data's name for lab strings (the caller knows it: a folder's name, say).
        self.data_name: str | None = None
        self._data_hash: str | None = None
        self._replay: list[KnobEvent] = []  # scheduled changes, oldest first
        self._pause_at: int | None = None
        # Extra named arrays for checkpoints (the lab's history store, core/history.py):
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

    def _start_from_checkpoint(self, ckpt: Checkpoint, settings: Settings) -> None:
        # The checkpoint was checked field by field when read; this checks it against
        # the data (the image order indexes it inside the kernel).
        order, pos = fit_to_data(ckpt, len(self.images), self.n_in)
        self._start_fresh(ckpt.settings)
        with self._lock:
            self.params = ckpt.params.copy()
            self._zero_optimizer()
            for name, array in ckpt.opt_state.items():
                if name in self.opt and self.opt[name].shape == array.shape:
                    self.opt[name][...] = array
            state = ckpt.state
            self.adam_t = int(state.get("adam_t", 0))
            self.step = int(state.get("step", 0))
            self.epoch_index = int(state.get("epoch_index", 0))
            if order is not None:
                self.order, self.pos = order, pos
            if "order_rng" in state:
                self._order_rng.bit_generator.state = state["order_rng"]
            if "noise_rng" in state:
                self._noise_rng.bit_generator.state = state["noise_rng"]
            self.history = list(ckpt.history)
            self.knob_log = [KnobChange(**entry) for entry in ckpt.knob_log]
            self.curve = [_point_from_row(row) for row in state.get("curve", [])]
            self.loaded_extras = dict(ckpt.extra_arrays)
        # Settings given on the command line override the checkpoint's: the live
        # ones stay pending in the session (taken as logged knob changes at the
        # first chunk); what needs a new model is refused.
        if settings.hidden != ckpt.settings.hidden:
            raise ConfigError("--hidden", f"the checkpoint has {ckpt.settings.hidden} "
                              f"hidden units; use a new run (no --load) to change it")
        changes = {k: v for k, v in settings.to_dict().items()
                   if v != getattr(ckpt.settings, k)}
        self._applied = ckpt.settings.replace(
            **{k: v for k, v in changes.items() if k not in LIVE_KNOBS})
        # Logged too (a lab string replays them), except where the data come from.
        for name, value in changes.items():
            if name not in LIVE_KNOBS and name not in _DATA_FIELDS:
                self.knob_log.append(KnobChange(self.step, name, getattr(ckpt.settings, name),
                                                value))
        self.knobs.adopt(self._applied)

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
        self._epoch_started = time.perf_counter()
        self._epoch_samples = 0
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

    # ----- replay and the lab string --------------------------------------------------

    def schedule(self, changes: Sequence[KnobEvent], pause_at: int | None = None, *,
                 split: int | None = None) -> None:
        """Replay: apply each change exactly when the step count reaches its step (chunks
        are cut there), pause at step `pause_at` (None: don't), and split steps for
        `split` threads as the run did (None: keep this trainer's). Call before run()."""
        self._replay = sorted(changes, key=lambda c: c.step)  # stable: log order kept
        self._pause_at = pause_at
        if split is not None:
            self.split = max(1, int(split))

    def lab_string(self) -> str:
        """This run as a lab string (any thread; hashes the data once, ~0.1 s for MNIST)."""
        return labstring.encode(self.lab_record())

    def lab_record(self) -> labstring.LabRecord:
        with self._lock:
            applied, step = self._applied, self.step
            log = list(self.knob_log)
        data_hash = self.data_hash
        start = labstring.initial_settings(applied, [(c.name, c.old) for c in log])
        name = self.data_name or labstring.data_label(start.dataset)
        return labstring.LabRecord(
            settings=start, changes=tuple(labstring.KnobEvent(c.step, c.name, c.new)
                                          for c in log),
            step=step, data_name=name, data_hash=data_hash, version=__version__,
            cpu=labstring.cpu_tag(), split=self.split)

    @property
    def data_hash(self) -> str:
        """The content hash a lab string records: of the training images (in order), the
        only data the weights depend on."""
        if self._data_hash is None:
            self._data_hash = labstring.content_hash(self.images)
        return self._data_hash

    def apply_due_changes(self) -> None:
        """Apply the scheduled changes due at this step, in log order: live knobs through
        the knob session, settings a resumed run changed directly. run() calls it before
        each chunk; call it yourself (trainer not running) to end a replay where its
        string ended, with the changes logged at that last step made."""
        while self._replay and self._replay[0].step <= self.step:
            change = self._replay.pop(0)
            if change.name in LIVE_KNOBS:
                self.knobs.set(change.name, change.value, live_only=True)
                self._apply_knobs()
                continue
            with self._lock:
                old = getattr(self._applied, change.name)
                if old != change.value:
                    self._applied = self._applied.replace(**{change.name: change.value})
                    self.knob_log.append(KnobChange(self.step, change.name, old, change.value))
            self.knobs.override(change.name, change.value)

    def _steps_to_next_event(self) -> int | None:
        """Updates until the next scheduled change or pause (None: nothing scheduled)."""
        ahead = [c.step for c in self._replay[:1]]
        if self._pause_at is not None:
            ahead.append(self._pause_at)
        return min(ahead) - self.step if ahead else None

    # ----- running ------------------------------------------------------------------

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel, on tiny arrays of the real types."""
        if self._compiled:
            return
        if self.threads is not None:
            engine.use_threads(self.threads)
        previous = self.state
        self.state = COMPILING
        self._publish()
        # Drive tiny trainers through the very calls that training makes, so the
        # argument types (and so the compiled signatures) are the real ones.
        tiny_images = self.images[:2]
        for tied in (True, False):
            tiny = Trainer(Settings(hidden=2, tied=tied, batch=2), tiny_images, tiny_images,
                           val_count=2, display_count=1, threads=None)
            tiny._train_chunk(1, tiny._workspace(2))
            tiny._evaluate()
            tiny.snapshot()
        self._compiled = True
        self.state = previous

    def _parts(self) -> int:
        """The parts a step is split into (engine.parts_for, for the run's split)."""
        s = self._applied
        return engine.parts_for(self.split, s.batch, self.n_in, s.hidden)

    def run(self, max_steps: int | None = None, max_epochs: int | None = None) -> None:
        """Train until stop(), or `max_steps` more updates, or `max_epochs` more epochs."""
        self._stop.clear()
        self.warm_up()
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
                single = self._step_requests > 0
                if self._paused and not single:
                    if self.state != DIVERGED:
                        self.state = PAUSED
                    if time.perf_counter() - last_publish >= self.snapshot_interval:
                        self._publish()
                        last_publish = time.perf_counter()
                    self._wake.wait(self.snapshot_interval)
                    self._wake.clear()
                    continue
                if single:
                    self._step_requests -= 1
                    n_steps = 1
                else:
                    self.state = TRAINING
                    n_steps = chunk_steps
                if max_steps is not None:
                    n_steps = min(n_steps, max_steps - steps_done)
                to_event = self._steps_to_next_event()
                if to_event is not None and to_event > 0:
                    n_steps = min(n_steps, to_event)  # a replayed change lands exactly there
                if self._applied.optimizer == "lbfgs":
                    # One L-BFGS iteration is one update and one epoch (a full pass).
                    limits = [n - d for n, d in ((max_steps, steps_done),
                                                 (max_epochs, epochs_done)) if n is not None]
                    done = self._lbfgs_session(1 if single else min(limits, default=None))
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
                    rate = done * self._applied.batch / max(elapsed, 1e-9)
                    self.samples_per_s = (rate if self.samples_per_s == 0
                                          else 0.8 * self.samples_per_s + 0.2 * rate)
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
            self._publish()

    def _train_chunk(self, n_steps: int, ws: engine.Workspace) -> int:
        s = self._applied
        p = self.params
        with self._lock:
            # What a divergence restores. Plain SGD never touches the optimizer
            # state, so copying it (2 × the weights) would only slow every chunk.
            opt_saved = self.opt if s.optimizer == "sgd" else {
                k: v.copy() for k, v in self.opt.items()}
            saved = (p.copy(), opt_saved, self.adam_t, self.pos,
                     self._noise_rng.bit_generator.state)
            sums = np.zeros(4, np.float64)
            done, pos, finite = engine.train_chunk(
                self.images, self.order, self.pos, n_steps, self._noise_rng, p, self.opt,
                self.adam_t, self._hyper(), ws, sums, parts=self._parts())
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
            self.pos = int(pos)
            self.step += int(done)
            self.adam_t += int(done)
        self._sums += sums
        self._epoch_sums += sums
        self._epoch_samples += int(done) * s.batch
        if self.message.startswith("diverged"):
            self.message = ""
        return int(done)

    def _finish_epoch(self) -> None:
        self.epoch_index += 1
        self.order = self._order_rng.permutation(len(self.images))
        self.pos = 0
        self._evaluate()
        seconds = time.perf_counter() - self._epoch_started
        n = max(self._epoch_sums[3], 1.0)
        recon, l2, sparsity = (float(v / n) for v in self._epoch_sums[:3])
        record = {
            "epoch": self.epoch_index,
            "step": self.step,
            "train_loss": recon + l2 + sparsity,
            "val_loss": self.last_val.total if self.last_val else None,
            "recon": recon,
            "l2": l2,
            "sparsity": sparsity,
            "val_recon": self.last_val.recon if self.last_val else None,
            "val_recon_corrupted": self.last_val_corrupted,
            "val_floor": self.val_floor if self._applied.loss == "ce" else None,
            "rho_hat_mean": float(self.rho_hat.mean()),
            "samples_per_s": self._epoch_samples / max(seconds, 1e-9),
            "seconds": seconds,
        }
        self.history.append(record)
        self._epoch_sums[:] = 0
        self._epoch_samples = 0
        self._epoch_started = time.perf_counter()
        if self.on_epoch is not None:
            self.on_epoch(dict(record))

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
        """Full-batch L-BFGS-B iterations (aetui/core/lbfgs.py) from the current weights,
        with a fresh memory, until `limit` iterations, stop, reset, a knob change (which
        restarts the memory: said in the message, the change is in the knob log) or
        convergence (then it pauses). Pausing and single steps are served inside, so
        the memory survives them. Returns the iterations done."""
        from aetui.core.lbfgs import FullBatchLBFGS

        run = FullBatchLBFGS(self.images, self.params.hidden, self._hyper())
        done = 0
        ended_by = ""
        since = time.perf_counter()

        def on_iteration(theta: np.ndarray) -> None:
            nonlocal done, ended_by, since
            fresh = run.unpack(theta)
            with self._lock:
                p = self.params
                p.W[...], p.b[...], p.c[...] = fresh.W, fresh.b, fresh.c
                if p.V is not None:
                    p.V[...] = fresh.V
                self.step += 1
            done += 1
            sums = np.array([*run.last_terms, 1.0])
            self._sums += sums
            self._epoch_sums += sums
            samples = len(self.images) * max(run.evaluations, 1)  # images through the model
            self._epoch_samples += samples
            self.samples_per_s = samples / max(time.perf_counter() - since, 1e-9)
            run.evaluations = 0
            self._finish_epoch()
            self._publish()
            since = time.perf_counter()
            while True:
                if self._stop.is_set() or self._reset_hidden is not None:
                    raise StopIteration
                if self._apply_knobs():
                    ended_by = "a knob change"
                    raise StopIteration
                if limit is not None and done >= limit:
                    raise StopIteration
                if not self._paused:
                    self.state = TRAINING
                    return
                if self._step_requests > 0:
                    self._step_requests -= 1
                    return
                self.state = PAUSED
                self._wake.wait(self.snapshot_interval)
                self._wake.clear()
                self._publish()
                since = time.perf_counter()

        # Full-batch products (1,000 rows a chunk) are large enough for BLAS's own
        # threads; the minibatch steps keep it at one (engine.use_threads).
        if self.threads is not None:
            engine.use_blas_threads(self.threads)
        try:
            result = run.minimize(run.pack(self.params), on_iteration,
                                  limit if limit is not None else 10**9)
        finally:
            if self.threads is not None:
                engine.use_blas_threads(1)
        if ended_by:
            self.message = f"L-BFGS memory restarted after {ended_by} (step {self.step})"
        elif result.status != 99:  # 99: on_iteration ended it
            # Ended by itself (converged, or no further decrease): nothing more to do.
            self._paused = True
            self.state = PAUSED
            self.message = f"L-BFGS stopped at step {self.step}: {result.message}"
        return done

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
            self._paused = self._paused and self.state != DIVERGED
            self.state = PAUSED if self._paused else TRAINING
            self.message = ""
        self._evaluate()

    # ----- measuring ----------------------------------------------------------------

    def _evaluate(self) -> None:
        """Held-out loss terms and ρ̂ on the fixed subset; closes a loss-curve point."""
        started = time.perf_counter()
        s = self._applied
        p = self.params  # only this (the trainer) thread writes the weights
        recon, rho_hat = objective.clean_loss_and_rho_hat(p, self.val_x, s.loss, s.decoder)
        terms = LossTerms(recon, objective.l2_term(p, s.l2),
                          objective.sparsity_term(rho_hat, s.rho, s.beta))
        # Like for like with the training loss: the held-out images under the run's noise.
        self.last_val_corrupted = corrupted_held_out_loss(
            p, self.val_x, s.noise, s.q, s.sigma, s.seed, s.loss, s.decoder)
        self.h_range = unit_health.activation_range(p, self.val_x)  # dead/saturated units
        self.rho_hat = rho_hat.astype(np.float32)
        self.last_val = terms
        if self._sums[3] > 0:
            n = self._sums[3]
            self.last_train = LossTerms(*(float(v / n) for v in self._sums[:3]))
            self._sums[:] = 0
        self.curve.append(LossPoint(self.step, self.epoch, self.last_train or terms, terms,
                                    float(rho_hat.mean()) if rho_hat.size else None,
                                    float(self.samples_per_s), self.last_val_corrupted))
        if len(self.curve) > MAX_CURVE_POINTS:
            self.curve = self.curve[::2]
        self._eval_cost = time.perf_counter() - started
        self._last_eval = time.perf_counter()

    def snapshot(self) -> Snapshot:
        """Copies of everything the front draws (any thread; holds the lock a few ms)."""
        s = self._applied
        with self._lock:
            W = self.params.W
            units = [u for u in self._filter_units if 0 <= u < W.shape[1]]
            cols = W[:, units].astype(np.float32)
            p = self.params.copy()
            curve = tuple(self.curve)
            knob_log = tuple(self.knob_log)
            step, epoch = self.step, self.epoch
        filters = objective.normalized_filters(cols)
        clean = as_float(self.display_x)
        corrupted = np.empty_like(clean)
        if len(clean):
            engine.corrupt(np.random.default_rng([s.seed, 3, step]), clean, s.noise, s.q,
                           s.sigma, out=corrupted)
        recon = reconstruct(p, corrupted, s.decoder) if len(clean) else clean
        return Snapshot(
            step=step, epoch=epoch, state=self.state, samples_per_s=float(self.samples_per_s),
            settings=self.settings.to_dict(), train=self.last_train, val=self.last_val,
            rho_hat=frozen_copy(self.rho_hat), filter_units=tuple(units),
            filters=frozen_copy(filters), clean=frozen_copy(clean),
            corrupted=frozen_copy(corrupted), recon=frozen_copy(recon), curve=curve,
            knob_log=knob_log, message=self.message, n_in=self.n_in,
            image_shape=self.image_shape,
            params=p,  # copied above for the reconstructions; the inspector reuses it
            h_range=frozen_copy(self.h_range),
        )

    def _publish(self) -> None:
        if self.on_snapshot is not None:
            self.on_snapshot(self.snapshot())

    # ----- saving -------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """A consistent copy of the whole run state."""
        _ = self.data_hash  # hashed outside the lock: the trainer waits for nothing
        extras = (self.checkpoint_extras() if self.checkpoint_extras is not None
                  else self.loaded_extras)
        with self._lock:
            return Checkpoint(
                params=self.params.copy(),
                settings=self._applied,
                opt_state={k: v.copy() for k, v in self.opt.items()},
                history=[dict(h) for h in self.history],
                knob_log=[_change_dict(change) for change in self.knob_log],
                state={"step": self.step, "epoch_index": self.epoch_index, "pos": self.pos,
                       "adam_t": self.adam_t,
                       "order_rng": self._order_rng.bit_generator.state,
                       "noise_rng": self._noise_rng.bit_generator.state,
                       "curve": [_point_row(point) for point in self.curve]},
                order=self.order.copy(),
                lab_string=self._lab_string_if_possible(),
                extra_arrays=dict(extras),
            )

    def _lab_string_if_possible(self) -> str | None:
        """The lab string, or None when the knob log cannot be undone to a valid start
        (a hand-edited checkpoint, say): saving must never fail for want of it."""
        try:
            return self.lab_string()
        except (AetuiError, TypeError, ValueError):
            return None

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (any thread); returns the path written."""
        return save_checkpoint(path, self.checkpoint())


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


def _point_row(point: LossPoint) -> list:
    """A loss-curve point as a flat JSON row (the curve is kept in checkpoints)."""
    val = point.val
    return [point.step, point.epoch, point.train.recon, point.train.l2, point.train.sparsity,
            *((val.recon, val.l2, val.sparsity) if val is not None else (None, None, None)),
            point.rho_hat_mean, point.samples_per_s, point.val_corrupted]


def _point_from_row(row: list) -> LossPoint:
    """Rows are [step, epoch, train×3] (+ [held-out×3 or nulls] + [mean ρ̂, samples/s]
    + [held-out recon on corrupted inputs])."""
    val = LossTerms(*row[5:8]) if len(row) >= 8 and row[5] is not None else None
    extra = row[8:10] if len(row) >= 10 else (None, None)
    corrupted = row[10] if len(row) >= 11 else None
    return LossPoint(int(row[0]), float(row[1]), LossTerms(*row[2:5]), val, *extra, corrupted)


def _change_dict(change: KnobChange) -> dict[str, Any]:
    return {"step": change.step, "name": change.name, "old": change.old, "new": change.new}


def _image_shape(n_in: int) -> tuple[int, int]:
    side = round(n_in**0.5)
    return (side, side) if side * side == n_in else (1, n_in)
