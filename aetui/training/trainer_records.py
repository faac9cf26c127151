"""What the trainer writes down and reads back, as mixins of Trainer (trainer.py) on
its state and lock: checkpoints (the whole run state out, and a run resumed exactly)
and lab strings (the run described, and a string's knob changes replayed at their
steps; README "Share and replay")."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aetui import __version__
from aetui.config import Settings
from aetui.engine.engine import STREAM_SERIAL
from aetui.errors import AetuiError, ConfigError
from aetui.knob_table import LIVE_KNOBS
from aetui.training import labstring
from aetui.training.checkpoint import Checkpoint, fit_to_data, save_checkpoint
from aetui.training.labstring import KnobEvent
from aetui.training.snapshots import (
    KnobChange,
    point_from_row,
    point_to_row,
)

# Where the data come from: a resumed run that changes these is a run on other data.
_DATA_FIELDS = ("dataset", "data_dir", "limit")


class CheckpointMixin:
    """The run's state to a Checkpoint and back."""

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
                       "noise_stream": self.noise_stream,
                       "reference_steps": self.reference_steps,
                       "curve": [point_to_row(point) for point in self.curve]},
                order=self.order.copy(),
                lab_string=self._lab_string_if_possible(),
                extra_arrays=dict(extras),
            )

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
            # Checkpoints from before the counter stream continue on the serial one.
            self.noise_stream = int(state.get("noise_stream", STREAM_SERIAL))
            self._reference_until = min(int(state.get("reference_steps", 0)), self.step)
            self.history = list(ckpt.history)
            self.knob_log = [KnobChange(**entry) for entry in ckpt.knob_log]
            self.curve = [point_from_row(row) for row in state.get("curve", [])]
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

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (any thread); returns the path written."""
        return save_checkpoint(path, self.checkpoint())


def _change_dict(change: KnobChange) -> dict[str, Any]:
    return {"step": change.step, "name": change.name, "old": change.old, "new": change.new}


class ReplayMixin:
    """Replay a lab string's changes, and describe the run as one."""

    def schedule(self, changes: Sequence[KnobEvent], pause_at: int | None = None, *,
                 split: int | None = None, stream: int | None = None,
                 reference: int | None = None) -> None:
        """Replay: apply each change exactly when the step count reaches its step (chunks
        are cut there), pause at step `pause_at` (None: don't), split steps for
        `split` threads and corrupt from noise stream `stream` as the run did (None:
        keep this trainer's), and train the first `reference` steps on the reference
        path as the run did. Call before run()."""
        self._replay = sorted(changes, key=lambda c: c.step)  # stable: log order kept
        self._pause_at = pause_at
        if split is not None:
            self.split = max(1, int(split))
        if stream is not None:
            self.noise_stream = int(stream)
        if reference is not None:
            self._reference_until = max(0, int(reference))
            self._reference_fixed = True
            self._live_reference = False

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
            cpu=labstring.cpu_tag(), split=self.split, stream=self.noise_stream,
            reference=self.reference_steps)

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
        if self.step < self._reference_until:  # the recorded switch to the kernels
            ahead.append(self._reference_until)
        return min(ahead) - self.step if ahead else None

    def _lab_string_if_possible(self) -> str | None:
        """The lab string, or None when the knob log cannot be undone to a valid start
        (a hand-edited checkpoint, say): saving must never fail for want of it."""
        try:
            return self.lab_string()
        except (AetuiError, TypeError, ValueError):
            return None
