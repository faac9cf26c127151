"""The trainer's replay and lab string (README "Share and replay"): a mixin of
Trainer (trainer.py), on its state and lock: scheduled knob changes applied at their
steps, and the run described as a lab string."""

from __future__ import annotations

from collections.abc import Sequence

from aetui import __version__
from aetui.errors import AetuiError
from aetui.knob_table import LIVE_KNOBS
from aetui.training import labstring
from aetui.training.labstring import KnobEvent
from aetui.training.snapshots import (
    KnobChange,
)


class ReplayMixin:
    """Replay a lab string's changes, and describe the run as one."""

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

    def _lab_string_if_possible(self) -> str | None:
        """The lab string, or None when the knob log cannot be undone to a valid start
        (a hand-edited checkpoint, say): saving must never fail for want of it."""
        try:
            return self.lab_string()
        except (AetuiError, TypeError, ValueError):
            return None
