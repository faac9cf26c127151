"""The lab App: the trainer worker, the message handlers, and every action.

Threads: the trainer runs in one Textual thread worker (`trainer.run()`
blocks there); its callbacks only post messages. Everything that touches a
widget happens here, on the UI thread, in a message handler or an action.
Keys talk to the trainer through its thread-safe methods (set_knob, pause,
reset …), which take effect at the trainer's next chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.worker import Worker

from aetui.config import LIVE_KNOBS, Settings, parse_assignment
from aetui.core.snapshots import DIVERGED, PAUSED, TRAINING
from aetui.errors import AetuiError, ConfigError
from aetui.render import default_mode
from aetui.tui.knobs import NOISE_CYCLE, SYMBOLS, cycle, format_value, next_value
from aetui.tui.messages import (
    DatasetLoaded,
    PcaComputed,
    ProbeFinished,
    SnapshotReady,
    TrainerBuilt,
    TrainingDiverged,
    TrainingFailed,
    TrainingStopped,
)
from aetui.tui.screens.help import HelpScreen
from aetui.tui.screens.lab import LAB_BINDINGS, LabScreen
from aetui.tui.screens.prompt import PromptScreen
from aetui.tui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.sparsity import SparsityPanel
from aetui.tui.widgets.status import StatusBar

DISPLAY_DIGITS = 8


@dataclass
class LabOptions:
    """Display and lifecycle options (the lab's command-line flags)."""

    ascii: bool = False
    slow_link: bool = False
    save_path: Path | None = None
    save_on_quit: bool = True
    max_steps: int | None = None  # for benchmarks: stop training after N updates
    history_mb: float = 200.0  # the history store's cap (README "History")

    @property
    def snapshot_interval(self) -> float:
        return 1.0 if self.slow_link else 0.25

    @property
    def image_interval(self) -> float:
        return 5.0 if self.slow_link else 1.0

    @property
    def plot_interval(self) -> float:
        return 3.0 if self.slow_link else 0.5

    @property
    def levels(self) -> int | None:
        # Few grey levels on a slow link: neighbouring cells share a style, so
        # runs of cells cost one escape sequence.
        return 6 if self.slow_link else None

    def image_mode(self) -> str:
        mode = default_mode(ascii=self.ascii)
        if self.slow_link and mode != "ascii":
            return "grey"
        return mode


class _Cancelled(Exception):
    """Raised from a progress callback to abandon background work on quit."""


def default_load_data(settings: Settings):
    from aetui.data import load_dataset

    # progress=False: the terminal belongs to Textual; a progress bar would tear it.
    return load_dataset(settings.dataset, data_dir=settings.data_dir, seed=settings.seed,
                        limit=settings.limit, progress=False)


def default_trainer_factory(settings: Settings, train_x, test_x, *, checkpoint_path=None,
                            **kwargs):
    from aetui.core.checkpoint import load_checkpoint
    from aetui.core.trainer import Trainer

    checkpoint = load_checkpoint(checkpoint_path) if checkpoint_path else None
    return Trainer(settings, train_x, test_x, checkpoint=checkpoint, **kwargs)


def default_checkpoint_path() -> Path:
    from aetui.paths import checkpoint_dir

    return checkpoint_dir() / f"lab-{time.strftime('%Y%m%d-%H%M%S')}.npz"


class LabApp(App[Path | None]):
    """`aetui` with no subcommand. Returns the saved checkpoint path (or None) from run()."""

    CSS_PATH = "app.tcss"
    TITLE = "aetui lab"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[Binding]] = [
        # ctrl+q: Textual's convention, and no knob sits on it ('q' is the noise level).
        Binding("ctrl+q", "quit", "quit", priority=True,
                tooltip="stop, save and quit"),
    ]

    def __init__(self, settings: Settings, *, checkpoint_path: Path | None = None,
                 options: LabOptions | None = None,
                 trainer_factory: Callable[..., Any] | None = None,
                 load_data: Callable[[Settings], Any] | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.options = options or LabOptions()
        self.trainer_factory = trainer_factory or default_trainer_factory
        self.load_data = load_data or default_load_data
        self.trainer: Any = None
        self.dataset: Any = None
        self.arrays: tuple = ()
        self._loaded_key: tuple | None = None
        self.snapshot = None
        self.failure: BaseException | None = None
        self.saved_path: Path | None = None
        self.probe_result: tuple[int, dict] | None = None
        self.pca_components = None
        self.message = ""
        self._worker: Worker | None = None
        self._stopping = threading.Event()
        self._cancel_background = threading.Event()
        self._thread_trainer: Any = None  # set by the worker: what quit must stop
        self._want_paused = False
        self._pending_snapshots = 0
        self._quitting = False
        self._pca_running = False
        self._probe_running = False
        self._highlight_until = 0.0
        self._note_shown = False

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = False) -> None:
        # Messages carry user text (paths, typed values, error messages with
        # brackets): never parse them as markup.
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- lifecycle ----------------------------------------------------------------
    def get_default_screen(self) -> LabScreen:
        o = self.options
        return LabScreen(mode=o.image_mode(), image_interval=o.image_interval,
                         plot_interval=o.plot_interval, levels=o.levels,
                         history_mb=o.history_mb)

    def on_mount(self) -> None:
        self.check_size()
        self.set_interval(1.0, self.refresh_status)
        self.refresh_status()
        self._quit_on_hangup()
        self.start_training()

    def _quit_on_hangup(self) -> None:
        """A dropped SSH session (SIGHUP) or a polite kill (SIGTERM) quits as ctrl+q
        does -- stop, save, exit -- instead of losing the run."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._quit_from_signal)

    def _quit_from_signal(self) -> None:
        self.call_later(self.action_quit)

    def start_training(self) -> None:
        self._stopping.clear()
        self._worker = self.run_worker(self._train_in_thread, thread=True, name="trainer",
                                       group="trainer", exit_on_error=False)

    def _train_in_thread(self) -> None:
        """The worker: load data, build the trainer, compile, train. No widgets here."""
        try:
            dataset = self.dataset
            key = self._data_key()
            if dataset is None or self._loaded_key != key:
                dataset = self.load_data(self.settings)
                self.post_message(DatasetLoaded(dataset, key))
            if self._stopping.is_set():
                return
            train_x, _, test_x, _ = dataset
            trainer = self.trainer_factory(
                self.settings, train_x, test_x, checkpoint_path=self.checkpoint_path,
                display_count=DISPLAY_DIGITS, snapshot_interval=self.options.snapshot_interval,
                on_snapshot=self._snapshot_from_thread,
                on_diverged=lambda message: self.post_message(TrainingDiverged(message)))
            self._thread_trainer = trainer
            self.post_message(TrainerBuilt(trainer))
            if self._stopping.is_set():
                return
            trainer.warm_up()
            if not self._stopping.is_set():
                trainer.run(max_steps=self.options.max_steps)
        except BaseException as exc:  # shown in the UI; the app decides what to do
            self.post_message(TrainingFailed(exc))
        finally:
            self.post_message(TrainingStopped())

    def _data_key(self) -> tuple:
        s = self.settings
        return (s.dataset, s.data_dir, s.seed, s.limit)

    def _snapshot_from_thread(self, snapshot) -> None:
        # Trainer thread. If the UI is behind, drop this one: a newer one follows.
        if self._pending_snapshots > 2:
            return
        self._pending_snapshots += 1
        self.post_message(SnapshotReady(snapshot))

    async def stop_training(self, timeout: float = 30.0) -> None:
        """Stop the trainer and wait for the worker to return (no thread left running)."""
        self._stopping.set()
        self._cancel_background.set()
        worker = self._worker
        deadline = time.monotonic() + timeout
        while worker is not None and not worker.is_finished and time.monotonic() < deadline:
            # Repeat stop(): the worker may have built (or started) the trainer
            # after the previous call.
            trainer = self._thread_trainer or self.trainer
            if trainer is not None:
                trainer.stop()
            await asyncio.sleep(0.02)
        self._cancel_background.clear()

    async def action_quit(self) -> None:
        if self._quitting:
            return
        self._quitting = True
        self.notify("stopping training…", timeout=2)
        await self.stop_training()
        saved = None
        if self.options.save_on_quit and self.trainer is not None and self.failure is None:
            try:
                saved = await asyncio.to_thread(self.trainer.save, self._save_target())
            except (OSError, AetuiError) as exc:
                self.failure = exc
        self.saved_path = saved
        self.exit(result=saved)

    def exit(self, result=None, return_code: int = 0, message=None) -> None:
        self.request_stop()
        super().exit(result, return_code, message)

    def request_stop(self) -> None:
        """Tell the worker to stop, without waiting. Called however the app ends
        (ctrl+q, an error, the lab screen unmounting at shutdown): a thread cannot
        be killed, and one still training would keep the process waiting."""
        self._stopping.set()
        self._cancel_background.set()
        for trainer in (self._thread_trainer, self.trainer):
            if trainer is not None:
                trainer.stop()

    def _save_target(self) -> Path:
        return Path(self.options.save_path) if self.options.save_path else \
            default_checkpoint_path()

    # -- size ---------------------------------------------------------------------
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

    # -- messages from the worker ------------------------------------------------
    def on_dataset_loaded(self, message: DatasetLoaded) -> None:
        ds = message.dataset
        self.dataset = ds
        self.arrays = tuple(ds)  # (train_x, train_y, test_x, test_y): Dataset unpacks
        self._loaded_key = message.key
        note = getattr(ds, "note", None)
        if note and not self._note_shown:
            self._note_shown = True
            self.notify(note, title="data", timeout=10)
        self.refresh_status()

    def on_trainer_built(self, message: TrainerBuilt) -> None:
        trainer = message.trainer
        self.trainer = trainer
        # Keys pressed while loading changed self.settings: hand them over now.
        wanted, have = self.settings, trainer.settings
        for name in LIVE_KNOBS:
            if getattr(wanted, name) != getattr(have, name):
                self._guard(trainer.set_knob, name, getattr(wanted, name))
        if wanted.hidden != have.hidden:
            trainer.reset(hidden=wanted.hidden)
        if self._want_paused:
            trainer.pause()
        self._sync_filter_units()
        self.refresh_status()

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self._pending_snapshots = max(0, self._pending_snapshots - 1)
        snap = message.snapshot
        if self.trainer is None:
            return
        try:
            # The history's one hook: it stores the live snapshot and says what to draw.
            self._show_snapshot(self.panel(LabScreen).history.receive(snap, self.trainer))
        except LookupError:  # shutting down: nothing to draw on
            return
        self.snapshot = snap  # always the live one (its weights feed inspector and drawing)
        self._sync_filter_units()
        self.refresh_status()

    def _show_snapshot(self, snap) -> None:
        settings = self.trainer.settings
        self.panel(FiltersPanel).set_filters(snap.filter_units, snap.filters, snap.hidden)
        self.panel(DigitsPanel).set_digits(snap.clean, snap.corrupted, snap.recon,
                                               self._noise_label(snap.settings))
        self.panel(LossPanel).set_curve(snap.curve, snap.knob_log)
        # A stored moment is drawn against the target it had then.
        self.panel(SparsityPanel).set_rho_hat(snap.rho_hat, snap.settings.get("rho", settings.rho),
                                              self.trainer.val_count)
        if snap.message and snap.state == DIVERGED:
            self.message = self._diverged_text(snap.message)

    def on_training_diverged(self, message: TrainingDiverged) -> None:
        self.message = self._diverged_text(message.message)
        self.notify(self.message, title="diverged", severity="error", timeout=10)
        self.refresh_status()

    @staticmethod
    def _diverged_text(message: str) -> str:
        return f"{message} — training paused; press r to reset (lower the learning rate: e)"

    def on_training_failed(self, message: TrainingFailed) -> None:
        error = message.error
        self.failure = error
        text = str(error) if isinstance(error, AetuiError) else f"{type(error).__name__}: {error}"
        self.message = f"training stopped: {text}"
        self.notify(self.message, severity="error", timeout=15)
        self.refresh_status()

    def on_training_stopped(self, message: TrainingStopped) -> None:
        self.refresh_status()

    # -- status -------------------------------------------------------------------
    def current_settings(self) -> Settings:
        """What the user asked for: the trainer's (pending changes included)."""
        return self.trainer.settings if self.trainer is not None else self.settings

    def state(self) -> str:
        if self.failure is not None:
            return "failed"
        if self.trainer is None:
            return "loading"
        return self.trainer.state

    def refresh_status(self) -> None:
        status = self._lab_widget(StatusBar)
        if status is None:  # shutting down
            return
        snap = self.snapshot
        if time.monotonic() > self._highlight_until:
            status.highlight = None
        ds = self.dataset
        dataset = (f"{ds.name} {len(self.arrays[0]):,}" if ds is not None
                   else f"{self.settings.dataset} (loading…)")
        message = self.message
        if self.probe_result and not message:
            step, acc = self.probe_result
            message = (f"linear probe @ step {step:,}: raw pixels {acc['raw']:.1%} · "
                       f"AE features {acc['features']:.1%} · PCA {acc['pca']:.1%}")
        elif self._probe_running and not message:
            message = "linear probe running in the background…"
        history = self._lab_widget(LabScreen)
        if history is not None and (history.history.scrubbing or not message):
            message = history.history.status_text() or message
        state = self.state()
        status.show(dataset=dataset, settings=self.current_settings(), state=state,
                    step=self.trainer.step if self.trainer is not None else 0,
                    epoch=float(self.trainer.epoch) if self.trainer is not None else 0.0,
                    samples_per_s=snap.samples_per_s if snap and state == TRAINING else 0.0,
                    message=message)

    def _lab_widget(self, cls):
        """A widget of the lab screen even while another screen is on top
        (help, prompt, too-small), or None while the app shuts down."""
        try:
            return self.panel(cls)
        except LookupError:
            return None

    def panel(self, cls):
        """The lab screen's widget of type `cls` (App.query_one would search only
        the screen on top). Raises LookupError when the lab screen is gone."""
        for screen in self.screen_stack:
            if isinstance(screen, LabScreen):
                if cls is LabScreen:
                    return screen
                try:
                    return screen.query_one(cls)
                except NoMatches:
                    break
        raise LookupError(cls.__name__)

    def _noise_label(self, settings: dict) -> str:
        noise = settings.get("noise", "none")
        if noise in ("mask", "saltpepper"):
            return f"{noise} q={format_value(settings.get('q'))}"
        if noise == "gaussian":
            return f"gaussian σ={format_value(settings.get('sigma'))}"
        return "no noise"

    def _highlight(self, name: str) -> None:
        status = self._lab_widget(StatusBar)
        if status is not None:
            status.highlight = {"sigma": "σ", "rho": "ρ", "beta": "β", "l2": "λ"}.get(name, name)
            self._highlight_until = time.monotonic() + 1.5
        self.refresh_status()

    def _guard(self, fn, *args) -> bool:
        """Call a trainer method; a bad value becomes a notification, not a crash."""
        try:
            fn(*args)
        except ConfigError as exc:
            self.notify(str(exc), severity="error")
            return False
        return True

    # -- knob actions ----------------------------------------------------------------
    def change_setting(self, name: str, value: Any) -> bool:
        """Apply one setting from a key or the prompt. Returns True if it changed."""
        current = self.current_settings()
        if getattr(current, name) == value:
            return False
        if self.trainer is None:
            try:
                self.settings = self.settings.replace(**{name: value})
            except ConfigError as exc:
                self.notify(str(exc), severity="error")
                return False
        elif name == "hidden":
            # A new k is a new model: fresh weights at the trainer's next chunk.
            self.trainer.reset(hidden=int(value))
            self.notify(f"k = {value}: new weights", timeout=3)
        elif name in LIVE_KNOBS:
            if not self._guard(self.trainer.set_knob, name, value):
                return False
        else:
            self.notify(f"{name} can't change while the lab runs", severity="error")
            return False
        self._highlight(name)
        if name == "rho":
            self.panel(SparsityPanel).set_target(value)
        return True

    def action_knob(self, name: str, direction: int) -> None:
        current = getattr(self.current_settings(), name)
        new = next_value(name, current, direction)
        if name == "hidden":
            new = int(new)
        if new == current:
            end = "highest" if direction > 0 else "lowest"
            self.notify(f"{SYMBOLS.get(name, name)} is at its {end} step "
                        f"({format_value(current)}); type a value with ':'", timeout=3)
            return
        self.change_setting(name, new)

    def action_toggle_tied(self) -> None:
        self.change_setting("tied", not self.current_settings().tied)

    def action_cycle_noise(self) -> None:
        self.change_setting("noise", cycle(NOISE_CYCLE, self.current_settings().noise))

    def action_toggle_pause(self) -> None:
        t = self.trainer
        if t is None:
            self._want_paused = not self._want_paused
            self.notify("will start paused" if self._want_paused else "will start training",
                        timeout=2)
            return
        if t.state == DIVERGED:
            self.notify("training diverged: press r to reset", severity="warning")
        elif t.state == PAUSED:
            t.resume()
        else:
            t.pause()
        self.refresh_status()

    def action_step_once(self) -> None:
        t = self.trainer
        if t is None or t.state == DIVERGED:
            return
        if t.state != PAUSED:
            t.pause()
        t.step_once()
        self.refresh_status()

    def action_reset(self) -> None:
        t = self.trainer
        if t is None:
            return
        was_diverged = t.state == DIVERGED
        t.reset()
        if was_diverged:
            t.resume()
        self.message = ""
        self.probe_result = None
        self.notify("weights reset", timeout=2)
        self.refresh_status()

    def action_prompt(self) -> None:
        self.push_screen(
            PromptScreen("set a value", "name=value, e.g. q=0.37  rho=0.02  beta=3  l2=1e-4  "
                         "lr=0.05  sigma=1  noise=gaussian  tied=no  k=256 (resets)",
                         self.validate_assignment, placeholder="q=0.37"),
            self._apply_assignment)

    def validate_assignment(self, text: str) -> tuple[Any, str | None]:
        """(name, value) for a valid `name=value` the lab can change now, else an error."""
        try:
            name, value = parse_assignment(text)
            if name not in LIVE_KNOBS and name != "hidden":
                live = ", ".join((*LIVE_KNOBS, "k"))
                return None, (f"{name} can't change while the lab runs (restart with "
                              f"--{name.replace('_', '-')}); live: {live}")
            self.current_settings().replace(**{name: value})
        except ConfigError as exc:
            return None, str(exc)
        return (name, value), None

    def _apply_assignment(self, result) -> None:
        if result:
            name, value = result
            if not self.change_setting(name, value):
                self.notify(f"{name} is already {format_value(value)}", timeout=2)

    # -- display actions ---------------------------------------------------------------
    def action_cycle_colours(self) -> None:
        mode = self.panel(FiltersPanel).cycle_mode()
        self.panel(DigitsPanel).set_mode(mode)

    def action_toggle_normalise(self) -> None:
        self.panel(FiltersPanel).toggle_normalise()

    def action_page(self, delta: int) -> None:
        self.panel(FiltersPanel).turn_page(delta)
        self._sync_filter_units()

    def action_zoom(self) -> None:
        self.panel(FiltersPanel).cycle_zoom()
        self._sync_filter_units()

    def action_toggle_log(self) -> None:
        self.panel(LossPanel).toggle_log()

    def _sync_filter_units(self) -> None:
        """Ask the trainer for exactly the units on the current page."""
        panel = self._lab_widget(FiltersPanel)
        if self.trainer is None or panel is None or panel.capacity <= 0:
            return
        k = self.current_settings().hidden
        lo = min(panel.first, max(k - 1, 0))
        wanted = range(lo, min(k, lo + panel.capacity))
        if tuple(self.trainer.filter_units) != tuple(wanted):
            self.trainer.filter_units = wanted

    def action_toggle_pca(self) -> None:
        panel = self.panel(FiltersPanel)
        showing = panel.toggle_pca()
        if showing and self.pca_components is None and not self._pca_running:
            if self.dataset is None:
                panel.set_pca(None, "PCA: waiting for the data…")
                return
            self._pca_running = True
            panel.set_pca(None, "PCA: computing the principal components…")
            k = min(784, max(64, self.current_settings().hidden))
            self.run_worker(lambda: self._pca_in_thread(k), thread=True, name="pca",
                            exit_on_error=False)

    def _pca_in_thread(self, k: int) -> None:
        try:
            from aetui.core.analysis import pca_components

            comps = pca_components(self.arrays[0], k, seed=self.settings.seed)
            self.post_message(PcaComputed(comps))
        except Exception as exc:
            self.post_message(PcaComputed(None, f"PCA failed: {exc}"))

    def on_pca_computed(self, message: PcaComputed) -> None:
        self._pca_running = False
        if message.components is not None:
            self.pca_components = message.components
        panel = self._lab_widget(FiltersPanel)
        if panel is not None:
            panel.set_pca(message.components, message.error or "")
        if message.error:
            self.notify(message.error, severity="error")

    def action_probe(self) -> None:
        if self.trainer is None or self.dataset is None:
            self.notify("the probe needs a trainer: wait for training to start", timeout=3)
            return
        if self._probe_running:
            self.notify("the probe is already running", timeout=2)
            return
        self._probe_running = True
        self.probe_result = None
        step = self.trainer.step
        params = self.trainer.weights()
        self.notify("linear probe started (raw pixels, AE features, PCA)…", timeout=3)
        self.run_worker(lambda: self._probe_in_thread(step, params), thread=True,
                        name="probe", exit_on_error=False)
        self.refresh_status()

    def _probe_in_thread(self, step: int, params) -> None:
        def progress(*_args, **_kwargs) -> None:
            if self._cancel_background.is_set():
                raise _Cancelled

        try:
            from aetui.core.analysis import probe_accuracies

            train_x, train_y, test_x, test_y = self.arrays
            acc = probe_accuracies(params, train_x, train_y, test_x, test_y, progress=progress)
            self.post_message(ProbeFinished(step, acc))
        except _Cancelled:
            self.post_message(ProbeFinished(step, None, "cancelled"))
        except Exception as exc:
            self.post_message(ProbeFinished(step, None, f"{type(exc).__name__}: {exc}"))

    def on_probe_finished(self, message: ProbeFinished) -> None:
        self._probe_running = False
        if message.accuracies:
            self.probe_result = (message.step, message.accuracies)
            acc = message.accuracies
            self.notify(f"raw {acc['raw']:.1%} · features {acc['features']:.1%} · "
                        f"PCA {acc['pca']:.1%}", title=f"linear probe @ step {message.step:,}",
                        timeout=10)
        elif message.error != "cancelled":
            self.notify(f"probe failed: {message.error}", severity="error")
        self.refresh_status()

    def action_compare(self) -> None:
        """Hook for compare mode (issue 6): push aetui.tui.screens.compare.CompareScreen.

        The screen gets the app through `CompareScreen.from_lab(app)` if it defines
        it (else a no-argument constructor); the lab pauses its own training while
        compare mode trains, and resumes when the screen is dismissed.
        """
        try:
            from aetui.tui.screens.compare import CompareScreen
        except ImportError:
            self.notify("compare mode is not in this build; `aetui compare` runs it headless",
                        severity="warning")
            return
        screen = CompareScreen.from_lab(self) if hasattr(CompareScreen, "from_lab") \
            else CompareScreen()
        resume = self.trainer is not None and self.trainer.state == TRAINING
        if resume:
            self.trainer.pause()

        def done(_result=None) -> None:
            if resume and self.trainer is not None and self.trainer.state == PAUSED:
                self.trainer.resume()
            self.refresh_status()

        self.push_screen(screen, done)

    # -- files -------------------------------------------------------------------------
    async def action_save(self) -> None:
        if self.trainer is None:
            self.notify("nothing to save yet", timeout=2)
            return
        try:
            path = await asyncio.to_thread(self.trainer.save, self._save_target())
        except (OSError, AetuiError) as exc:
            self.notify(f"save failed: {exc}", severity="error")
            return
        self.saved_path = path
        self.notify(f"saved {path}", timeout=5)

    def action_load(self) -> None:
        self.push_screen(
            PromptScreen("load a checkpoint", "path to a .npz checkpoint (training restarts "
                         "from it)", self.validate_checkpoint, value=str(self._latest() or "")),
            self._load_checkpoint)

    def _latest(self) -> Path | None:
        from aetui.paths import checkpoint_dir

        files = sorted(checkpoint_dir().glob("*.npz"), key=lambda p: p.stat().st_mtime)
        return files[-1] if files else None

    def validate_checkpoint(self, text: str) -> tuple[Any, str | None]:
        path = Path(text.strip()).expanduser()
        if not text.strip():
            return None, "type a path"
        if not path.is_file():
            return None, f"no such file: {path}"
        try:
            from aetui.core.checkpoint import read_settings

            settings = read_settings(path)
        except (AetuiError, ImportError, OSError, ValueError) as exc:
            return None, f"not a checkpoint: {exc}"
        return (path, settings), None

    async def _load_checkpoint(self, result) -> None:
        if not result:
            return
        path, settings = result
        await self.stop_training()
        self.trainer = None
        self._thread_trainer = None
        self.snapshot = None
        self.failure = None
        self.message = ""
        self.probe_result = None
        self.settings = settings
        self.checkpoint_path = path
        self.notify(f"loading {path}", timeout=3)
        self.start_training()

    def action_export_svg(self) -> None:
        name = f"aetui-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        path = self.save_screenshot(filename=name, path=str(Path.cwd()))
        self.notify(f"screen saved to {path}", timeout=5)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(LAB_BINDINGS))

