"""The lab App: a thin shell. It makes the lab screen its default screen, quits
(the lab stops and saves the run), quits on a hang-up, and shows a message when
the terminal is too small. The run belongs to the lab screen
(aetui/tui/screens/lab.py), which runs its worker; the run itself, without
Textual, is aetui/training/run.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding

from aetui.config import Settings
from aetui.terminal import no_color
from aetui.training.contracts import LabTrainer
from aetui.training.run import LabRun
from aetui.tui.hangup import exit_after
from aetui.tui.options import LabOptions
from aetui.tui.screens.lab import LabScreen
from aetui.tui.screens.lab_keys import QUIT
from aetui.tui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen


class LabApp(App[Path | None]):
    """`aetui` with no subcommand. Returns the saved checkpoint path (or None) from run()."""

    CSS_PATH = "app.tcss"
    TITLE = "aetui lab"
    ENABLE_COMMAND_PALETTE = False
    # Priority: quit works on every screen (help, prompt, too small). Same id as the
    # lab's footer entry, so one keymap line moves both.
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(QUIT.key, QUIT.action.removeprefix("app."), QUIT.description,
                id=QUIT.id, priority=True, tooltip=QUIT.tooltip)]

    def __init__(self, settings: Settings, *, checkpoint_path: Path | None = None,
                 options: LabOptions | None = None,
                 trainer_factory: Callable[..., LabTrainer] | None = None,
                 load_data: Callable[[Settings], Any] | None = None) -> None:
        # ansi_color under NO_COLOR: Textual then strips colour (else it only greys it).
        super().__init__(ansi_color=True if no_color() else None)
        self.options = options or LabOptions()
        run = LabRun(settings, checkpoint_path=checkpoint_path,
                     save_path=self.options.save_path,
                     snapshot_interval=self.options.snapshot_interval,
                     trainer_factory=trainer_factory, load_data=load_data)
        self.lab = LabScreen(run, self.options)
        self.saved_path: Path | None = None
        self._quitting = False
        self._ended_by_signal = 0
        self.exit_watchdog: threading.Thread | None = None

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = False) -> None:
        # Messages carry user text (paths, typed values, error messages with
        # brackets): never parse them as markup.
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def get_default_screen(self) -> LabScreen:
        return self.lab

    def on_mount(self) -> None:
        self.check_size()
        self._quit_on_hangup()

    # -- quitting -------------------------------------------------------------------------
    async def action_quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        if problem := self.lab.quit_problem(by_signal=bool(self._ended_by_signal)):
            self._quitting = False  # refuse to quit and lose the run
            self.notify(f"not quitting: {problem}; free the folder, or restart with "
                        f"--no-save-on-quit", severity="error", timeout=15)
            return
        self.notify("stopping training…", timeout=2)
        self.saved_path = await self.lab.end_run()
        if self._ended_by_signal and self.options.end_after_hangup:
            # The terminal may be gone: if Textual's shutdown blocks on it, end anyway.
            self.exit_watchdog = exit_after(128 + self._ended_by_signal)
        # Ended by a signal: its conventional code (129 for SIGHUP), as `aetui train`.
        self.exit(result=self.saved_path,
                  return_code=128 + self._ended_by_signal if self._ended_by_signal else 0)

    def exit(self, result=None, return_code: int = 0, message=None) -> None:
        # However the app ends: a thread cannot be killed, and one still training
        # would keep the process waiting.
        self.lab.run.stop()
        super().exit(result, return_code, message)

    def _quit_on_hangup(self) -> None:
        """A dropped SSH session (SIGHUP) or a polite kill (SIGTERM) quits as ctrl+q
        does -- stop, save, exit -- instead of losing the run."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._quit_from_signal, signum)

    def _quit_from_signal(self, signum: int) -> None:
        self._ended_by_signal = signum
        self.call_later(self.action_quit)

    # -- size ---------------------------------------------------------------------------
    def check_size(self) -> None:
        """Show the too-small message below the minimum, the lab again above it.
        Called by the screens' resize handlers (the App's own Resize is consumed
        by Textual)."""
        w, h = self.size
        small = w < MIN_WIDTH or h < MIN_HEIGHT
        if small and not isinstance(self.screen, TooSmallScreen):
            self.push_screen(TooSmallScreen())
        elif not small and isinstance(self.screen, TooSmallScreen):
            self.pop_screen()
