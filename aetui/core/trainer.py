"""The Python loop around the kernels: chunks of updates, knobs, pause/step/stop,
held-out measurements, divergence, snapshots and checkpoints.

One thread calls `run()` and owns the weights; any other thread may call
`set_knob`, `pause`, `resume`, `step_once`, `stop`, `reset`, `snapshot` and
`save`. Work happens in chunks of a few tens of milliseconds (one nogil kernel
call each); everything another thread asks for takes effect between chunks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aetui.config import LIVE_KNOBS, Settings
from aetui.core import kernels
from aetui.core.blas import hold_engine_threads
from aetui.core.checkpoint import Checkpoint, save_checkpoint
from aetui.core.knobs import KnobBoard
from aetui.core.model import (
    Params,
    hidden_activations,
    init_params,
    reconstruct,
    reconstruction_loss_of,
)
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
from aetui.errors import CheckpointError, ConfigError

NOISE_CODES = {"none": kernels.NOISE_NONE, "mask": kernels.NOISE_MASK,
               "gaussian": kernels.NOISE_GAUSSIAN, "saltpepper": kernels.NOISE_SALTPEPPER}
LOSS_CODES = {"ce": kernels.LOSS_CE, "mse": kernels.LOSS_MSE}
DECODER_CODES = {"sigmoid": kernels.DECODER_SIGMOID, "linear": kernels.DECODER_LINEAR}
OPTIMIZER_CODES = {"sgd": kernels.OPT_SGD, "momentum": kernels.OPT_MOMENTUM,
                   "adam": kernels.OPT_ADAM}

CHUNK_SECONDS = 0.02  # one kernel call; knobs and stop land within this
MAX_CURVE_POINTS = 4000  # the loss curve is halved (every other point) beyond this
EVAL_BUDGET = 0.03  # held-out measurements may take this share of training time


class Trainer:
    """Trains one autoencoder on `train_x` (N×n uint8), measuring on `test_x`.

    See docs/CONTRACTS.md for the thread contract. Callbacks run on the
    trainer thread and must return quickly.
    """

    def __init__(self, settings: Settings, train_x: np.ndarray, test_x: np.ndarray, *,
                 checkpoint: Checkpoint | None = None, val_count: int = 1000,
                 display_count: int = 8, snapshot_interval: float = 0.25,
                 on_snapshot: Callable[[Snapshot], None] | None = None,
                 on_epoch: Callable[[dict], None] | None = None,
                 on_diverged: Callable[[str], None] | None = None,
                 blas_threads: int | None = 1) -> None:
        settings = settings.validate()
        self.images = np.ascontiguousarray(train_x, dtype=np.uint8)
        if self.images.ndim != 2 or len(self.images) == 0:
            raise ValueError("train_x must be a non-empty N×n uint8 array")
        self.n_in = int(self.images.shape[1])
        test_x = np.ascontiguousarray(test_x, dtype=np.uint8)
        # A fixed held-out subset (every training image is trained on) and fixed display digits.
        self.val_x = test_x[:val_count] if len(test_x) else self.images[:val_count]
        self.display_x = (test_x if len(test_x) else self.images)[:display_count]
        self.val_count = len(self.val_x)
        self.snapshot_interval = snapshot_interval
        self.on_snapshot = on_snapshot
        self.on_epoch = on_epoch
        self.on_diverged = on_diverged
        # The engine's BLAS (scipy's OpenBLAS, process-wide) runs on this many threads
        # once warm_up() runs; None leaves it alone. See aetui/core/blas.py for why 1.
        self.blas_threads = blas_threads

        self._lock = threading.RLock()  # held while the weights change; snapshots take it
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused = False
        self._step_requests = 0
        self._reset_hidden: int | None = None
        self._filter_units: tuple[int, ...] = tuple(range(64))
        self.state = PAUSED
        self.message = ""
        self._compiled = False
        self.samples_per_s = 0.0
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
        self.knobs = KnobBoard(settings)
        self.params = init_params(self.n_in, settings.hidden, settings.seed, settings.tied)
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
        if ckpt.params.n_in != self.n_in:
            raise CheckpointError(f"the checkpoint has {ckpt.params.n_in} inputs but the data "
                                  f"has {self.n_in}")
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
            if ckpt.order is not None and len(ckpt.order) == len(self.images):
                self.order = ckpt.order.copy()
                self.pos = int(state.get("pos", 0))
            if "order_rng" in state:
                self._order_rng.bit_generator.state = state["order_rng"]
            if "noise_rng" in state:
                self._noise_rng.bit_generator.state = state["noise_rng"]
            self.history = list(ckpt.history)
            self.knob_log = [KnobChange(**entry) for entry in ckpt.knob_log]
            self.curve = [_point_from_row(row) for row in state.get("curve", [])]
            self.loaded_extras = dict(ckpt.extra_arrays)
        # Settings given on the command line override the checkpoint's: apply the
        # live ones as knob changes (logged), and refuse what needs a new model.
        if settings.hidden != ckpt.settings.hidden:
            raise ConfigError("--hidden", f"the checkpoint has {ckpt.settings.hidden} "
                              f"hidden units; use a new run (no --load) to change it")
        changes = {k: v for k, v in settings.to_dict().items()
                   if v != getattr(ckpt.settings, k)}
        self._applied = ckpt.settings.replace(
            **{k: v for k, v in changes.items() if k not in LIVE_KNOBS})
        self.knobs = KnobBoard(self._applied)
        for name, value in changes.items():
            if name in LIVE_KNOBS:
                self.knobs.request(name, value)

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
        self.rho_hat = np.zeros(self.params.hidden, np.float32)
        self._eval_cost = 0.0
        self._last_eval = 0.0

    def _workspace(self, batch: int) -> dict[str, np.ndarray]:
        n, k = self.n_in, self.params.hidden
        f32 = np.float32
        return {"x": np.empty((batch, n), f32), "xt": np.empty((batch, n), f32),
                "h": np.empty((batch, k), f32), "z": np.empty((batch, n), f32),
                "dh": np.empty((batch, k), f32), "gW": np.empty((n, k), f32),
                "gb": np.empty(k, f32), "gc": np.empty(n, f32),
                "gV": np.empty((k, n), f32), "rho_hat": np.empty(k, f32)}

    # ----- the thread contract ------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """Current settings, pending knob changes included."""
        return self.knobs.requested

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

    def set_knob(self, name: str, value: Any) -> Any:
        """Request a knob change (any thread); validated, applied at the next chunk."""
        value = self.knobs.request(name, value)
        self._wake.set()
        return value

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

    def reset(self, hidden: int | None = None) -> None:
        """Fresh weights from the seed (k = `hidden` if given) at the next chunk."""
        if hidden is not None:
            Settings().replace(hidden=int(hidden))  # validates 1..4096
        self._reset_hidden = int(hidden) if hidden is not None else self.params.hidden
        self._wake.set()

    def weights(self) -> Params:
        with self._lock:
            return self.params.copy()

    # ----- running ------------------------------------------------------------------

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel, on tiny arrays of the real types."""
        if self._compiled:
            return
        hold_engine_threads(self.blas_threads)
        previous = self.state
        self.state = COMPILING
        self._publish()
        # Drive tiny trainers through the very calls that training makes, so the
        # argument types (and so the compiled signatures) are the real ones.
        tiny_images = self.images[:2]
        for tied in (True, False):
            tiny = Trainer(Settings(hidden=2, tied=tied, batch=2), tiny_images, tiny_images,
                           val_count=2, display_count=1, blas_threads=None)
            tiny._train_chunk(1, tiny._workspace(2))
            tiny._evaluate()
            tiny.snapshot()
        self._compiled = True
        self.state = previous

    def run(self, max_steps: int | None = None, max_epochs: int | None = None) -> None:
        """Train until stop(), or `max_steps` more updates, or `max_epochs` more epochs."""
        self._stop.clear()
        self.warm_up()
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
                if self._reset_hidden is not None:
                    self._do_reset()
                    ws = self._workspace(self._applied.batch)
                self._apply_knobs()
                if ws["gW"].shape[1] != self.params.hidden:
                    ws = self._workspace(self._applied.batch)
                if max_steps is not None and steps_done >= max_steps:
                    break
                if max_epochs is not None and epochs_done >= max_epochs:
                    break
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

    def _train_chunk(self, n_steps: int, ws: dict[str, np.ndarray]) -> int:
        s = self._applied
        p = self.params
        V = p.V if p.V is not None else np.zeros((1, 1), np.float32)
        with self._lock:
            # What a divergence restores. Plain SGD never touches the optimizer
            # state, so copying it (2 × the weights) would only slow every chunk.
            opt_saved = self.opt if s.optimizer == "sgd" else {
                k: v.copy() for k, v in self.opt.items()}
            saved = (p.copy(), opt_saved, self.adam_t, self.pos,
                     self._noise_rng.bit_generator.state)
            sums = np.zeros(4, np.float64)
            done, pos, finite = kernels._train_chunk(
                self.images, self.order, self.pos, n_steps, s.batch, self._noise_rng,
                p.W, p.b, p.c, V, self.opt["opt_W"], self.opt["opt_b"], self.opt["opt_c"],
                self.opt["opt_V"], self.adam_t,
                s.tied, NOISE_CODES[s.noise], s.q, s.sigma, LOSS_CODES[s.loss],
                DECODER_CODES[s.decoder], s.l2, s.beta, s.rho, OPTIMIZER_CODES[s.optimizer],
                s.lr, kernels.SPARSE_DENSITY, ws["x"], ws["xt"], ws["h"], ws["z"], ws["dh"],
                ws["gW"], ws["gb"], ws["gc"], ws["gV"], ws["rho_hat"], sums)
            if not finite:
                # Non-finite loss or weights: go back to the chunk's start and pause.
                failed_at = self.step + done + 1
                self.params, self.opt, self.adam_t, self.pos = saved[0], saved[1], saved[2], \
                    saved[3]
                self._noise_rng.bit_generator.state = saved[4]
                self.state = DIVERGED
                self._paused = True
                self._step_requests = 0
                self.message = (f"diverged: the loss or weights became non-finite at step "
                                f"{failed_at} (lr={s.lr:g}); restored the weights of step "
                                f"{self.step} and paused. Lower the learning rate, or reset.")
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

    def _apply_knobs(self) -> None:
        pending = self.knobs.take()
        if not pending:
            return
        with self._lock:
            for name, new in pending.items():
                old = getattr(self._applied, name)
                if old == new:
                    continue
                if name == "tied":
                    self._retie(new)
                elif name == "optimizer":
                    # Moments of one optimizer mean nothing to another: start them afresh.
                    for array in self.opt.values():
                        array[...] = 0
                    self.adam_t = 0
                self._applied = self._applied.replace(**{name: new})
                self.knob_log.append(KnobChange(self.step, name, old, new))

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
            pending = self.knobs.requested
            fresh = pending.replace(hidden=hidden)
            units = self._filter_units
            self._start_fresh(fresh)
            self._filter_units = units
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
        recon, rho_hat = measure(p, self.val_x, s)
        terms = LossTerms(recon, _l2_term(p, s.l2), _sparsity_term(rho_hat, s.rho, s.beta))
        self.rho_hat = rho_hat.astype(np.float32)
        self.last_val = terms
        if self._sums[3] > 0:
            n = self._sums[3]
            self.last_train = LossTerms(*(float(v / n) for v in self._sums[:3]))
            self._sums[:] = 0
        self.curve.append(LossPoint(self.step, self.epoch, self.last_train or terms, terms))
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
            cols = W[:, units].T.astype(np.float32)
            p = self.params.copy()
            curve = tuple(self.curve)
            knob_log = tuple(self.knob_log)
            step, epoch = self.step, self.epoch
        norms = np.linalg.norm(cols, axis=1, keepdims=True)
        filters = cols / np.maximum(norms, 1e-12)
        clean = self.display_x.astype(np.float32) / 255.0
        corrupted = np.empty_like(clean)
        if len(clean):
            kernels._corrupt(np.random.default_rng([s.seed, 3, step]), clean, corrupted,
                             NOISE_CODES[s.noise], s.q, s.sigma)
        recon = reconstruct(p, corrupted, s.decoder) if len(clean) else clean
        return Snapshot(
            step=step, epoch=epoch, state=self.state, samples_per_s=float(self.samples_per_s),
            settings=self.settings.to_dict(), train=self.last_train, val=self.last_val,
            rho_hat=frozen_copy(self.rho_hat), filter_units=tuple(units),
            filters=frozen_copy(filters), clean=frozen_copy(clean),
            corrupted=frozen_copy(corrupted), recon=frozen_copy(recon), curve=curve,
            knob_log=knob_log, message=self.message, n_in=self.n_in,
            image_shape=_image_shape(self.n_in),
            extra={"rho_hat_source": f"held-out subset of {len(self.val_x)} test images"},
            params=p,  # copied above for the reconstructions; the inspector reuses it
        )

    def _publish(self) -> None:
        if self.on_snapshot is not None:
            self.on_snapshot(self.snapshot())

    # ----- saving -------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """A consistent copy of the whole run state."""
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
                extra_arrays=dict(extras),
            )

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (any thread); returns the path written."""
        return save_checkpoint(path, self.checkpoint())


def _point_row(point: LossPoint) -> list:
    """A loss-curve point as a flat JSON row (the curve is kept in checkpoints)."""
    val = point.val
    return [point.step, point.epoch, point.train.recon, point.train.l2, point.train.sparsity,
            *((val.recon, val.l2, val.sparsity) if val is not None else ())]


def _point_from_row(row: list) -> LossPoint:
    val = LossTerms(*row[5:8]) if len(row) >= 8 else None
    return LossPoint(int(row[0]), float(row[1]), LossTerms(*row[2:5]), val)


def _change_dict(change: KnobChange) -> dict[str, Any]:
    return {"step": change.step, "name": change.name, "old": change.old, "new": change.new}


def _image_shape(n_in: int) -> tuple[int, int]:
    side = round(n_in**0.5)
    return (side, side) if side * side == n_in else (1, n_in)


def measure(params: Params, images: np.ndarray, settings: Settings) -> tuple[float, np.ndarray]:
    """Reconstruction loss of clean images (summed over pixels, mean per example) and ρ̂
    (mean activation of each unit over the images), without corruption."""
    if len(images) == 0:
        return 0.0, np.zeros(params.hidden, np.float32)
    h = hidden_activations(params, images)
    total = reconstruction_loss_of(params, h, as_float(images), settings.loss, settings.decoder)
    return total / len(images), h.mean(axis=0)


def _l2_term(p: Params, l2: float) -> float:
    total = float(np.sum(p.W.astype(np.float64) ** 2))
    if p.V is not None:
        total += float(np.sum(p.V.astype(np.float64) ** 2))
    return l2 * total


def _sparsity_term(rho_hat: np.ndarray, rho: float, beta: float) -> float:
    if beta == 0.0:
        return 0.0
    r = np.clip(rho_hat.astype(np.float64), kernels.RHO_CLIP, 1 - kernels.RHO_CLIP)
    return float(beta * np.sum(rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))))
