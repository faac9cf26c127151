"""Ending the process after a hang-up, once the run is saved.

After SIGHUP (or SIGTERM) the terminal may be gone or no longer read: Textual's
shutdown then blocks for ever writing to it (its writer queue fills; seen with a
dialog open in tmux, the process lived on holding its memory). Once the checkpoint
is written nothing is left to lose, so a watchdog ends the process if a normal exit
has not happened within a few seconds.
"""

from __future__ import annotations

import os
import threading

GRACE_SECONDS = 3.0


def exit_after(code: int, grace: float = GRACE_SECONDS) -> threading.Thread:
    """End the process with `code` in `grace` seconds unless it ends by itself first
    (a daemon thread: a normal exit does not wait for it)."""

    def end() -> None:
        if not stopped.wait(grace):
            # No flushing: writing to a terminal nobody reads is what blocked.
            os._exit(code)

    stopped = threading.Event()
    thread = threading.Thread(target=end, name="aetui-exit-watchdog", daemon=True)
    thread.cancel = stopped.set  # type: ignore[attr-defined]  # for tests
    thread.start()
    return thread
