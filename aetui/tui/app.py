"""The lab App: the life cycle only. It builds the trainer in a thread worker and
stops it, saves on quit, quits on a hang-up, and shows a message when the
terminal is too small. Everything on screen, and every key, belongs to the lab
screen (aetui/tui/screens/lab.py).

Threads: the worker loads the data, builds the trainer and calls `run()`; it
only posts messages (life-cycle ones here, snapshots to the lab screen).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker

from aetui.config import Settings
from aetui.core.contracts import LabTrainer
from aetui.core.session import KnobSession
from aetui.errors import AetuiError
from aetui.files import default_checkpoint_path
from aetui.terminal import no_color
from aetui.tui.hangup import exit_after
from aetui.tui.messages import (
    DatasetLoaded,
    SnapshotReady,
    TrainerBuilt,
    TrainingDiverged,
    TrainingFailed,
    TrainingStopped,
)
from aetui.tui.options import LabOptions
from aetui.tui.saving import save_problem, save_run
from aetui.tui.screens.lab import LabScreen
from aetui.tui.screens.lab_keys import QUIT
from aetui.tui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen

DISPLAY_DIGITS = 8


def default_load_data(settings: Settings):
    from aetui.data import load_dataset_for

    # progress=False: the terminal belongs to Textual; a progress bar would tear it.
    return load_dataset_for(settings, progress=False)


def _image_shape_of(dataset) -> dict:
    """The trainer's image_shape argument, for datasets that carry one (patches)."""
    shape = getattr(dataset, "image_shape", None)
    return {"image_shape": shape} if shape is not None and shape != (28, 28) else {}


def _data_key(s: Settings) -> tuple:
    """The settings that decide the data (a change needs the dataset made anew)."""
    from aetui.config import is_patches

    key = (s.dataset, s.data_dir, s.seed, s.limit)
    if not is_patches(s.dataset):
        return key
    return (*key, s.patch_size, s.patch_count, s.patch_gray, s.patch_mean, s.patch_contrast,
            s.whiten, s.whiten_eps, s.decoder)


def default_trainer_factory(settings: Settings, train_x, test_x, *, checkpoint_path=None,
                            **kwargs) -> LabTrainer:
    from aetui.core.checkpoint import load_checkpoint
    from aetui.core.trainer import Trainer

    checkpoint = load_checkpoint(checkpoint_path) if checkpoint_path else None
    return Trainer(settings, train_x, test_x, checkpoint=checkpoint, **kwargs)


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
        self.session = KnobSession(settings)
        self._start_settings = settings  # the run's; keys pressed since are pending
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.options = options or LabOptions()
        self.trainer_factory = trainer_factory or default_trainer_factory
        self.load_data = load_data or default_load_data
        self.lab = LabScreen(self.session, self.options)
        self.trainer: LabTrainer | None = None
        self.dataset: Any = None
        self.arrays: tuple = ()  # (train_x, train_y, test_x, test_y)
        self.failure: BaseException | None = None
        self.saved_path: Path | None = None
        self._loaded_key: tuple | None = None
        self._worker: Worker | None = None
        self._stopping = threading.Event()
        self._thread_trainer: LabTrainer | None = None  # set by the worker: what quit stops
        self._quitting = False
        self._ended_by_signal = 0
        self.exit_watchdog: threading.Thread | None = None
        self._save_path_given = self.options.save_path is not None

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
        self.start_training()

    # -- the trainer --------------------------------------------------------------------
    def start_training(self) -> None:
        self._stopping.clear()
        self._worker = self.run_worker(self._train_in_thread, thread=True, name="trainer",
                                       group="trainer", exit_on_error=False)

    def _train_in_thread(self) -> None:
        """The worker: load data, build the trainer, compile, train. No widgets here."""
        try:
            settings = self._start_settings
            key = _data_key(settings)
            dataset = self.dataset
            if dataset is None or self._loaded_key != key:
                dataset = self.load_data(settings)
                self.post_message(DatasetLoaded(dataset, key))
            if self._stopping.is_set():
                return
            train_x, _, test_x, _ = dataset
            lab = self.lab
            trainer = self.trainer_factory(
                settings, train_x, test_x, checkpoint_path=self.checkpoint_path,
                knobs=self.session, display_count=DISPLAY_DIGITS,
                snapshot_interval=self.options.snapshot_interval,
                on_snapshot=lambda snapshot: lab.post_message(SnapshotReady(snapshot)),
                on_diverged=lambda message: lab.post_message(TrainingDiverged(message)),
                **_image_shape_of(dataset))
            self._thread_trainer = trainer
            self.post_message(TrainerBuilt(trainer))
            if self._stopping.is_set():
                return
            trainer.warm_up()
            if not self._stopping.is_set():
                trainer.run()
        except BaseException as exc:  # shown in the UI; the app decides what to do
            self.post_message(TrainingFailed(exc))
        finally:
            self.post_message(TrainingStopped())

    async def stop_training(self, timeout: float = 30.0) -> None:
        """Stop the trainer and wait for the worker to return (no thread left running)."""
        self._stopping.set()
        self.lab.jobs_cancelled.set()
        worker = self._worker
        deadline = time.monotonic() + timeout
        while worker is not None and not worker.is_finished and time.monotonic() < deadline:
            # Repeat stop(): the worker may have built (or started) the trainer
            # after the previous call.
            trainer = self._thread_trainer or self.trainer
            if trainer is not None:
                trainer.stop()
            await asyncio.sleep(0.02)
        self.lab.jobs_cancelled.clear()

    def request_stop(self) -> None:
        """Tell the worker to stop, without waiting. Called however the app ends
        (ctrl+q, an error, the lab screen unmounting at shutdown): a thread cannot
        be killed, and one still training would keep the process waiting."""
        self._stopping.set()
        for trainer in (self._thread_trainer, self.trainer):
            if trainer is not None:
                trainer.stop()

    async def restart_from(self, path: Path, settings: Settings) -> None:
        """Replace the run with checkpoint `path` (its settings already read)."""
        await self.stop_training()
        self.trainer = self._thread_trainer = None
        self.failure = None
        self.lab.forget_run()
        self.session.restart(settings)
        self._start_settings = settings
        self.checkpoint_path = path
        self.start_training()

    def on_dataset_loaded(self, message: DatasetLoaded) -> None:
        first = self.dataset is None
        self.dataset = message.dataset
        self.arrays = tuple(message.dataset)  # Dataset unpacks; it is not indexed
        self._loaded_key = message.key
        note = getattr(message.dataset, "note", None)
        if note and first:
            self.notify(note, title="data", timeout=10)
        self.lab.refresh_status()

    def on_trainer_built(self, message: TrainerBuilt) -> None:
        self.trainer = message.trainer
        self.lab.trainer_ready()

    def on_training_failed(self, message: TrainingFailed) -> None:
        error = self.failure = message.error
        text = str(error) if isinstance(error, AetuiError) else f"{type(error).__name__}: {error}"
        self.lab.report(f"training stopped: {text}", timeout=15)

    def on_training_stopped(self, message: TrainingStopped) -> None:
        self.lab.refresh_status()

    # -- saving and quitting ----------------------------------------------------------------
    def save_target(self) -> Path:
        """--save, else a fresh default name chosen once per run (Ctrl+S twice writes
        one file)."""
        if self.options.save_path is None:
            self.options.save_path = default_checkpoint_path("lab")
        return Path(self.options.save_path)

    async def save_run(self) -> tuple[Path, str | None]:
        """Write the trainer's checkpoint (off the UI thread) to `save_target()`, else
        to a fresh name in the checkpoint folder (aetui/tui/saving.py). Returns the path
        written and a note when it is not the target; raises AetuiError when nothing
        could be written."""
        path, note = await asyncio.to_thread(save_run, self.trainer, self.save_target())
        self.saved_path = path
        return path, note

    async def replace_run(self, path: Path, settings: Settings) -> None:
        """Load checkpoint `path` in place of the current run, saving that run first;
        when it cannot be saved, nothing is replaced."""
        if self.trainer is not None and self.options.save_on_quit:
            try:
                saved, note = await self.save_run()
            except AetuiError as exc:
                self.notify(f"{exc} — not loading {path}", severity="error", timeout=15)
                return
            self.notify(note or f"saved the current run to {saved}", timeout=5)
            if not self._save_path_given:
                self.options.save_path = None  # the loaded run gets a name of its own
        self.notify(f"loading {path}", timeout=3)
        await self.restart_from(path, settings)

    async def action_quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        if (self.options.save_on_quit and self.trainer is not None and not self._ended_by_signal
                and (problem := save_problem(self.save_target()))):
            self._quitting = False  # refuse to quit and lose the run
            self.notify(f"not quitting: {problem}; free the folder, or restart with "
                        f"--no-save-on-quit", severity="error", timeout=15)
            return
        self.notify("stopping training…", timeout=2)
        await self.stop_training()
        self.saved_path = None
        if self.options.save_on_quit and self.trainer is not None and self.failure is None:
            try:
                _, note = await self.save_run()
            except AetuiError as exc:
                self.failure = exc
            else:
                if note:
                    self.lab.report(note)
        if self._ended_by_signal and self.options.end_after_hangup:
            # The terminal may be gone: if Textual's shutdown blocks on it, end anyway.
            self.exit_watchdog = exit_after(128 + self._ended_by_signal)
        # Ended by a signal: its conventional code (129 for SIGHUP), as `aetui train`.
        self.exit(result=self.saved_path,
                  return_code=128 + self._ended_by_signal if self._ended_by_signal else 0)

    def exit(self, result=None, return_code: int = 0, message=None) -> None:
        self.request_stop()
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
