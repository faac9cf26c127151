"""Training speed, computed one way: samples processed ÷ wall time while training.

Every samples/s aetui prints comes from a SpeedMeter (the status bar, the Rich
progress and the loss curve: `recent`; the --json and epoch records: `overall`).
The wall time is all the time the trainer spends training, its held-out
evaluations and snapshots included, and excludes only pauses and start-up
(compiling). A mean of per-chunk rates would not do: it leaves out the work
between chunks, and under load, where chunk times swing, it is dominated by the
fast chunks (it once said 41,868 samples/s when 1,440 were processed).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

RECENT_SECONDS = 2.0  # the status bar's window: long enough to smooth, short enough to follow


class SpeedMeter:
    """Samples counted against a clock that runs only between resume() and pause().

    clock: seconds (time.perf_counter; a fake one in tests). Rates in samples/s."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter,
                 window: float = RECENT_SECONDS) -> None:
        self._clock = clock
        self.window = float(window)
        self.reset()

    def reset(self) -> None:
        """Forget everything counted (a new epoch); keeps running if it was."""
        running = getattr(self, "_since", None) is not None
        self.samples = 0
        self._active = 0.0  # seconds of running time before _since
        self._since: float | None = self._clock() if running else None
        self._marks: deque[tuple[float, int]] = deque([(0.0, 0)])

    @property
    def running(self) -> bool:
        return self._since is not None

    def resume(self) -> None:
        """The clock runs from now (no-op when it runs already)."""
        if self._since is None:
            self._since = self._clock()

    def pause(self) -> None:
        """The clock stops (paused, stopped): time from now on is not counted."""
        if self._since is not None:
            self._active += self._clock() - self._since
            self._since = None

    def seconds(self) -> float:
        """Running time counted so far, s."""
        extra = 0.0 if self._since is None else self._clock() - self._since
        return self._active + extra

    def add(self, samples: int) -> None:
        """`samples` more were processed (now)."""
        self.samples += int(samples)
        now = self.seconds()
        self._marks.append((now, self.samples))
        # Keep one mark at or before the window's start, so the window is whole.
        while len(self._marks) > 2 and self._marks[1][0] <= now - self.window:
            self._marks.popleft()

    def overall(self) -> float:
        """Samples ÷ running seconds since reset(), samples/s (0 before any)."""
        seconds = self.seconds()
        return self.samples / seconds if self.samples and seconds > 0 else 0.0

    def recent(self) -> float:
        """Samples ÷ running seconds over about the last `window` seconds, samples/s:
        from the newest mark at or before the window's start (or the first) to now."""
        now = self.seconds()
        start = self._marks[0]
        for mark in self._marks:
            if mark[0] <= now - self.window:
                start = mark
            else:
                break
        seconds = now - start[0]
        done = self.samples - start[1]
        return done / seconds if done and seconds > 0 else 0.0
