"""A deterministic stand-in for aetui.training.trainer.Trainer.

Both implement aetui.training.contracts.LabTrainer (tests/test_contracts.py checks
that the signatures agree). Same constructor, methods, attributes and
callbacks; knob changes arrive through the same KnobSession; no numba, no real
learning. Weights and losses are simple functions of the step and the knobs,
so a test can predict what the panels show. Threading follows the real
contract: run() on one worker thread, everything else from any thread, knob
changes and resets applied between chunks, stop() honoured within a chunk.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from aetui import __version__
from aetui.config import Settings
from aetui.engine.model import Params
from aetui.knob_table import BY_NAME, NEW_WEIGHTS
from aetui.training import labstring
from aetui.training.checkpoint import Checkpoint
from aetui.training.session import KnobSession
from aetui.training.snapshots import (
    COMPILING,
    DIVERGED,
    PAUSED,
    STOPPED,
    TRAINING,
    KnobChange,
    LossPoint,
    LossTerms,
    Snapshot,
)

DIVERGING_LR = 50.0  # the fake "diverges" at or above this learning rate
_XX = np.mgrid[0:28, 0:28][1]
# Four vertical strokes the first units' filters drift towards.
_STROKES = np.stack([np.exp(-((_XX - 8 - 4 * u) ** 2) / 8.0).ravel() for u in range(4)],
                    axis=1).astype(np.float32)


class FakeTrainer:
    def __init__(self, settings: Settings, train_x, test_x, *, checkpoint=None,
                 val_count: int = 1000, display_count: int = 8,
                 snapshot_interval: float = 0.25, on_snapshot=None, on_epoch=None,
                 on_diverged=None, threads: int | None = 1,
                 knobs: KnobSession | None = None, image_shape=None,
                 chunk_delay: float = 0.02,
                 warm_up_seconds: float = 0.0, steps_per_chunk: int = 10):
        self._lock = threading.Lock()
        self.knobs = knobs if knobs is not None else KnobSession(settings)
        self._applied = settings  # what the knob log compares with
        self.knobs.adopt(settings)
        self.train_x, self.test_x = train_x, test_x
        # The trainer's held-out rule: the first val_count test images (training ones
        # when there is no test set).
        self.val_x = (test_x if len(test_x) else train_x)[:val_count]
        self.val_count = len(self.val_x)
        self.loaded_extras: dict = {}
        self.checkpoint_extras = None
        self.display_count = display_count
        self.snapshot_interval = snapshot_interval
        self.on_snapshot, self.on_epoch, self.on_diverged = on_snapshot, on_epoch, on_diverged
        self.chunk_delay = chunk_delay
        self.warm_up_seconds = warm_up_seconds
        self.steps_per_chunk = steps_per_chunk
        self.state = COMPILING
        self.step = 0
        self.epoch = 0.0
        self.filter_units = range(0, 64)
        self._stop = threading.Event()
        self._paused = False
        self._one_step = 0
        self._pending_reset: int | bool | None = False
        self._knob_log: list[KnobChange] = []
        self._curve: list[LossPoint] = []
        self._warm = False
        self.saved: list[Path] = []
        self.resets = 0
        self.run_calls = 0
        self.finished = False
        self._message = ""
        if checkpoint is not None:
            self.step = int(getattr(checkpoint, "step", 0))
        self._init_weights()

    # -- the contract -------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.knobs.settings

    def set_knob(self, name: str, value) -> None:
        self.knobs.set(name, value, live_only=True)

    def warm_up(self) -> None:
        if self._warm:
            return
        self.state = COMPILING
        time.sleep(self.warm_up_seconds)
        self._warm = True
        self.state = PAUSED if self._paused else TRAINING

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self.state == TRAINING:
                self.state = PAUSED

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self.state == PAUSED:
                self.state = TRAINING

    def step_once(self) -> None:
        with self._lock:
            self._one_step += 1

    def stop(self) -> None:
        self._stop.set()

    def reset(self, hidden: int | None = None, init: str | None = None) -> None:
        with self._lock:
            if hidden is not None or init is not None:
                self.knobs.restart(hidden=hidden, init=init)
            self._pending_reset = True

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot_locked()

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            np.savez(path.with_suffix(".tmp.npz"), W=self.W, step=self.step,
                     settings=repr(self.settings.to_dict()))
        path.with_suffix(".tmp.npz").replace(path)
        self.saved.append(path)
        return path

    def weights(self):
        with self._lock:
            return SimpleNamespace(W=self.W.copy(), b=np.zeros(self.W.shape[1], np.float32),
                                   c=np.zeros(self.W.shape[0], np.float32), V=None)

    def checkpoint(self) -> Checkpoint:
        extras = (self.checkpoint_extras() if self.checkpoint_extras is not None
                  else self.loaded_extras)
        with self._lock:
            k = self.W.shape[1]
            params = Params(self.W.copy(), np.zeros(k, np.float32),
                            np.zeros(self.W.shape[0], np.float32))
            return Checkpoint(params=params, settings=self._applied,
                              state={"step": self.step}, extra_arrays=dict(extras))

    def lab_string(self) -> str:
        with self._lock:
            applied, step, log = self._applied, self.step, list(self._knob_log)
        start = labstring.initial_settings(applied, [(c.name, c.old) for c in log])
        return labstring.encode(labstring.LabRecord(
            settings=start, changes=tuple(labstring.KnobEvent(c.step, c.name, c.new)
                                          for c in log),
            step=step, data_name="fake", data_hash=labstring.content_hash(self.train_x),
            version=__version__, cpu=labstring.cpu_tag()))

    def run(self, max_steps: int | None = None, max_epochs: int | None = None) -> None:
        self.run_calls += 1
        self.warm_up()
        last_snapshot = 0.0
        per_epoch = max(1, len(self.train_x) // self.settings.batch)
        start = self.step
        while not self._stop.is_set():
            with self._lock:
                self._apply_pending_locked()
                stepping = (not self._paused and self.state == TRAINING) or self._one_step > 0
                n = self.steps_per_chunk if not self._paused else min(1, self._one_step)
                if self._paused and self._one_step:
                    self._one_step -= 1
            if not stepping:
                self._stop.wait(0.01)
                continue
            with self._lock:
                before_epoch = int(self.epoch)
                self._advance_locked(n, per_epoch)
                diverged = self.settings.lr >= DIVERGING_LR
                if diverged:
                    self.state = DIVERGED
                    self._paused = True
                    self._message = f"training diverged at step {self.step} (loss is NaN)"
                crossed_epoch = int(self.epoch) > before_epoch
            if diverged and self.on_diverged:
                self.on_diverged(self._message)
            if crossed_epoch and self.on_epoch:
                self.on_epoch({"epoch": int(self.epoch), "step": self.step,
                               "train_loss": 1.0, "val_loss": 1.0, "recon": 1.0, "l2": 0.0,
                               "sparsity": 0.0, "rho_hat_mean": 0.1, "samples_per_s": 1e4,
                               "seconds": 1.0})
            now = time.monotonic()
            if self.on_snapshot and now - last_snapshot >= self.snapshot_interval:
                last_snapshot = now
                self.on_snapshot(self.snapshot())
            if max_steps is not None and self.step - start >= max_steps:
                break
            if max_epochs is not None and self.epoch >= max_epochs:
                break
            time.sleep(self.chunk_delay)
        with self._lock:
            self.state = STOPPED if self._stop.is_set() else self.state
        if self.on_snapshot:
            self.on_snapshot(self.snapshot())
        self.finished = True

    # -- internals ------------------------------------------------------------
    def _init_weights(self) -> None:
        rng = np.random.default_rng(self.settings.seed)
        k = self.settings.hidden
        self.W = rng.normal(0, 0.1, size=(784, k)).astype(np.float32)
        self._display_idx = np.arange(min(self.display_count, len(self.test_x)))

    def _apply_pending_locked(self) -> None:
        for name, value in self.knobs.take().items():
            if BY_NAME[name].effect == NEW_WEIGHTS:
                self._pending_reset = True
                continue
            old = getattr(self._applied, name)
            self._knob_log.append(KnobChange(self.step, name, old, value))
            self._applied = self._applied.replace(**{name: value})
        if self._pending_reset:
            self._applied = self.knobs.restart()
            self._pending_reset = False
            self.resets += 1
            self.step = 0
            self.epoch = 0.0
            self._curve.clear()
            self._knob_log.clear()
            self._init_weights()
            self._message = ""
            if self.state == DIVERGED:
                self._paused = False
                self.state = TRAINING

    def _advance_locked(self, n: int, per_epoch: int) -> None:
        self.step += n
        self.epoch = self.step / per_epoch
        # A deterministic drift: the first units' filters slowly turn into strokes.
        m = min(self.W.shape[1], 4)
        self.W[:, :m] += 0.01 * n * _STROKES[:, :m]
        s = self.settings
        recon = 60.0 + 140.0 * math.exp(-self.step / 400.0) + 10.0 * s.q
        val = recon * 1.05
        l2 = s.l2 * float(np.sum(self.W * self.W))
        sparsity = s.beta * 0.5
        self._curve.append(LossPoint(self.step, self.epoch, LossTerms(recon, l2, sparsity),
                                     LossTerms(val, l2, sparsity)))

    def _snapshot_locked(self) -> Snapshot:
        s = self.settings
        k = self.W.shape[1]
        units = tuple(u for u in self.filter_units if 0 <= u < k)
        W = self.W[:, list(units)].T if units else np.zeros((0, 784), np.float32)
        norms = np.linalg.norm(W, axis=1, keepdims=True)
        filters = W / np.where(norms > 0, norms, 1)
        clean = np.asarray(self.test_x[self._display_idx], np.float32) / 255.0
        corrupted = clean * (np.arange(784) % 3 != 0) if s.noise != "none" else clean
        recon = np.clip(clean * 0.8 + 0.1, 0, 1)
        rho_hat = np.linspace(0.001, 0.3, k, dtype=np.float32)
        last = self._curve[-1] if self._curve else None
        return Snapshot(
            step=self.step, epoch=self.epoch, state=self.state,
            samples_per_s=12345.0 if self.state == TRAINING else 0.0,
            settings=s.to_dict(), train=last.train if last else None,
            val=last.val if last else None, rho_hat=rho_hat, filter_units=units,
            filters=filters, clean=clean, corrupted=corrupted, recon=recon,
            curve=tuple(self._curve[-2000:]), knob_log=tuple(self._knob_log),
            message=self._message,
            params=Params(self.W.copy(), np.zeros(k, np.float32), np.zeros(784, np.float32)),
        )


def fake_dataset(n_train: int = 600, n_test: int = 100, name: str = "digits", note=None):
    """A tiny dataset with the Dataset contract's shape (N×784 uint8, labels)."""
    rng = np.random.default_rng(0)
    train_x = (rng.random((n_train, 784)) * 255).astype(np.uint8)
    test_x = (rng.random((n_test, 784)) * 255).astype(np.uint8)
    train_y = (np.arange(n_train) % 10).astype(np.uint8)
    test_y = (np.arange(n_test) % 10).astype(np.uint8)

    class _Dataset:  # like aetui.data.Dataset: unpacks, is not indexed
        def __iter__(self):
            return iter((train_x, train_y, test_x, test_y))

    ds = _Dataset()
    ds.name, ds.source, ds.note = name, "built-in", note
    return ds


def make_lab_app(settings=None, *, options=None, note=None, load_data=None,
                 **trainer_kwargs):
    """A LabApp wired to FakeTrainer and fake_dataset, or `load_data(settings)` (the
    trainer is kept on `app.fake_trainers` for assertions)."""
    from aetui.tui.app import LabApp
    from aetui.tui.options import LabOptions

    made: list[FakeTrainer] = []

    def factory(settings, train_x, test_x, *, checkpoint_path=None, **kwargs):
        kwargs.update(trainer_kwargs)
        trainer = FakeTrainer(settings, train_x, test_x, **kwargs)
        made.append(trainer)
        return trainer

    app = LabApp(settings or Settings(dataset="digits", hidden=64),
                 options=options or LabOptions(save_on_quit=False),
                 trainer_factory=factory,
                 load_data=load_data or (lambda s: fake_dataset(note=note)))
    app.fake_trainers = made
    return app


async def wait_for(pilot, predicate, timeout: float = 5.0, step: float = 0.05) -> bool:
    """Let the app run until predicate() is true (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await pilot.pause(step)
    return predicate()


def send_key(app, key: str) -> None:
    """Queue a key press the way Pilot.press does, without waiting for the app
    to go idle (the monkey test sends thousands)."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)
