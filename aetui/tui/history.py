"""Scrubbing the run's history in the lab: `<` / `>` step through stored moments,
`end` returns to live (README "History").

The controller sits on the snapshot fan-out: every live snapshot goes through
`receive`, which stores it and returns what the panels should show -- the live
snapshot, or, while scrubbing, the stored one (with the live loss curve, so the
loss plot keeps growing and a marker shows where the shown moment sits).
Training never waits: nothing here touches the trainer but two attributes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aetui.training.history import MB, SnapshotStore, from_arrays, to_arrays
from aetui.training.snapshots import Snapshot


class HistoryController:
    """The lab's history: a SnapshotStore and which moment is shown (None: live).

    show(snapshot) draws a snapshot in every panel; mark(step or None) puts the
    loss plot's marker at a step (None removes it).
    """

    def __init__(self, cap_bytes: float, show: Callable[[Snapshot], None],
                 mark: Callable[[int | None], None]) -> None:
        self.store = SnapshotStore(cap_bytes)
        self.show = show
        self.mark = mark
        self.shown: Snapshot | None = None
        self.live: Snapshot | None = None
        self._source: Any = None

    @property
    def scrubbing(self) -> bool:
        return self.shown is not None

    def receive(self, live: Snapshot, source: Any = None) -> Snapshot:
        """Store the live snapshot (from trainer `source`); return the one to draw."""
        if source is not None and source is not self._source:
            self._adopt(source)
        self.store.add(live)
        self.live = live
        if self.shown is None:
            return live
        return self._view(self.shown)

    def _adopt(self, source: Any) -> None:
        """A new trainer (a start, a load): a new run's history. A loaded checkpoint's
        stored history goes first; saves of this run carry the store."""
        self._source = source
        self.store.clear()
        self.shown = None
        self.mark(None)
        # A damaged history must not stop the run: it just starts empty.
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.store.prepend(from_arrays(source.loaded_extras))
        source.checkpoint_extras = self.checkpoint_arrays

    def checkpoint_arrays(self) -> dict:
        """The store as checkpoint arrays (any thread: works on a copy of the list)."""
        return to_arrays(list(self.store.entries))

    def _view(self, stored: Snapshot) -> Snapshot:
        live = self.live
        if live is None:
            return stored
        return replace(stored, curve=live.curve, knob_log=live.knob_log, samples_per_s=0.0)

    def step(self, delta: int) -> bool:
        """Move `delta` stored moments back (−) or forward (+); forward past the newest
        returns to live. Returns False when there is nowhere to go."""
        entries = self.store.entries
        if not entries:
            return False
        if self.shown is None:
            if delta >= 0:
                return False
            # The newest stored moment is the live one: one step back is the one before.
            i = max(0, len(entries) - 1 + delta)
        else:
            i = (self.store.index_of(self.shown) or 0) + delta
            if i >= len(entries) - 1 and delta > 0:
                self.to_live()
                return True
            i = max(0, i)
        if self.shown is not None and entries[i] is self.shown:
            return False
        self.shown = entries[i]
        self.show(self._view(self.shown))
        self.mark(self.shown.step)
        return True

    def to_live(self) -> bool:
        if self.shown is None:
            return False
        self.shown = None
        self.mark(None)
        if self.live is not None:
            self.show(self.live)
        return True

    def status_text(self) -> str:
        """One line for the status bar: the store's use, or which moment is shown."""
        store = self.store
        use = f"{store.nbytes / MB:.1f} of {store.cap_bytes / MB:.0f} MB"
        if self.shown is None:
            return (f"history: {len(store)} moments, {use} · < > scrub, end: live"
                    if len(store) > 1 else "")
        i = (store.index_of(self.shown) or 0) + 1
        now = f" · training at step {self.live.step:,}" if self.live is not None else ""
        return (f"◀ HISTORY step {self.shown.step:,} ({i}/{len(store)}){now} · "
                f"end: back to live · {use}")

