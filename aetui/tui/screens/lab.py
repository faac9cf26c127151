"""The lab screen: it owns the run (aetui/training/run.py) and runs its worker, so
the trainer's messages land here; it shows the panels, fans each snapshot out to
them and turns keys into knob changes (aetui/training/session.py) or trainer calls.

Mixed in: the instrument (lab_instrument.py: cursor, inspector, drawing, history),
the background jobs (lab_jobs.py) and the files (lab_files.py); the keys are listed
in lab_keys.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from aetui.config import is_patches
from aetui.errors import AetuiError, ConfigError
from aetui.knob_table import format_value, noise_label, symbol
from aetui.training.history import MB
from aetui.training.run import LabRun
from aetui.training.snapshots import DIVERGED, PAUSED, TRAINING
from aetui.tui.history import HistoryController
from aetui.tui.layouts import PANEL_ORDER, apply_layout, choose_layout
from aetui.tui.messages import (
    DatasetLoaded,
    PostedEvents,
    SnapshotReady,
    TrainerBuilt,
    TrainingDiverged,
    TrainingFailed,
    TrainingStopped,
)
from aetui.tui.options import LabOptions
from aetui.tui.screens.help import HelpScreen
from aetui.tui.screens.lab_files import LabFiles
from aetui.tui.screens.lab_instrument import LabInstrument
from aetui.tui.screens.lab_jobs import LabJobs
from aetui.tui.screens.lab_keys import LAB_BINDINGS
from aetui.tui.screens.prompt import PromptScreen
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.sparsity import SparsityPanel
from aetui.tui.widgets.status import StatusBar

if TYPE_CHECKING:
    from textual.worker import Worker

    from aetui.training.contracts import LabTrainer




class LabScreen(LabInstrument, LabJobs, LabFiles, Screen[None]):
    BINDINGS = LAB_BINDINGS
    tour_at_start = False  # `aetui tour`: open the tour's first chapter on mount
    # Full screen keeps the status bar (knobs, state) and the keys in view.
    ALLOW_IN_MAXIMIZED_VIEW = "StatusBar, Footer, .-textual-system"

    def __init__(self, run: LabRun, options: LabOptions) -> None:
        super().__init__()
        self.run = run
        self.session = run.session
        self.options = options
        self._worker: Worker | None = None
        self.snapshot = None
        self.message = ""
        self.probe_result: tuple[int, dict] | None = None
        self.pca_components = None
        self.jobs_cancelled = threading.Event()  # set at quit: background jobs give up
        self._want_paused = False
        self._pca_running = False
        self._probe_running = False
        self._highlight_until = 0.0
        self.last_lab_string: str | None = None
        self.last_export: Path | None = None
        self.graphics = "ascii" if options.image_mode() == "ascii" else options.graphics
        # The pixel protocol the terminal offers (or the user asked for); None:
        # the graphics key skips pixels.
        self.pixel_protocol = options.pixel_protocol
        self.selected = PANEL_ORDER[0]
        self._hidden: list = []  # panels hidden while an opaque screen covers the lab
        # The run's history: stores each live snapshot, says which moment to draw.
        self.history = HistoryController(options.history_mb * MB, show=self._show_stored,
                                         mark=self._mark_history)

    @property
    def trainer(self) -> LabTrainer | None:
        return self.run.trainer

    def compose(self) -> ComposeResult:
        o = self.options
        mode = o.image_mode()
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield FiltersPanel(mode=mode, interval=o.image_interval, levels=o.levels,
                                   id="filters")
                yield DigitsPanel(mode=mode, interval=o.image_interval, levels=o.levels,
                                  id="digits")
            with Vertical(id="right"):
                yield LossPanel(interval=o.plot_interval, id="loss")
                yield SparsityPanel(interval=o.plot_interval, id="sparsity")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._fit_layout()
        self._apply_graphics()
        self._mark_selected()
        self.set_interval(1.0, self.refresh_status)
        self.refresh_status()
        self.start_training()
        if self.tour_at_start:
            self.action_tour()

    # -- the run's worker (the work itself: LabRun.work) ------------------------------------
    def start_training(self) -> None:
        self.run.begin()
        events = PostedEvents(self.post_message)
        self._worker = self.run_worker(lambda: self.run.work(events), thread=True,
                                       name="trainer", group="trainer", exit_on_error=False)

    async def stop_training(self, timeout: float = 30.0) -> None:
        """Stop the trainer and wait for the worker to return (no thread left running)."""
        self.run.stop()
        self.jobs_cancelled.set()
        worker = self._worker
        deadline = time.monotonic() + timeout
        while worker is not None and not worker.is_finished and time.monotonic() < deadline:
            self.run.stop()  # again: the worker may have built the trainer since
            await asyncio.sleep(0.02)
        self.jobs_cancelled.clear()

    async def restart_from(self, path: Path, settings) -> None:
        """Replace the run with checkpoint `path` (its settings already read)."""
        await self.stop_training()
        self.run.restart_from(path, settings)
        self.forget_run()
        self.start_training()

    def on_dataset_loaded(self, message: DatasetLoaded) -> None:
        first = self.run.dataset is None
        self.run.adopt_data(message.dataset, message.key)
        note = getattr(message.dataset, "note", None)
        if note and first:
            self.app.notify(note, title="data", timeout=10)
        self.refresh_status()

    def on_trainer_built(self, message: TrainerBuilt) -> None:
        self.run.adopt_trainer(message.trainer)
        self.trainer_ready()

    def on_training_failed(self, message: TrainingFailed) -> None:
        error = message.error
        self.run.fail(error)
        text = str(error) if isinstance(error, AetuiError) else f"{type(error).__name__}: {error}"
        self.report(f"training stopped: {text}", timeout=15)

    def on_training_stopped(self, message: TrainingStopped) -> None:
        self.refresh_status()

    # -- pictures and panels (README, "Pictures") -----------------------------------------
    def graphics_label(self) -> str:
        if self.graphics == "pixels":
            return f"pixels ({self.pixel_protocol})"
        return self.graphics

    def _apply_graphics(self) -> None:
        for panel in (self.query_one(FiltersPanel), self.query_one(DigitsPanel)):
            panel.set_graphics(self.graphics, self.pixel_protocol)
        self.query_one(StatusBar).graphics = self.graphics_label()
        self.refresh_status()

    def action_toggle_cmap(self) -> None:
        cmap = self.query_one(FiltersPanel).toggle_cmap()
        self.app.notify(f"filter map: {cmap}" + (" (as the PNG export)" if cmap == "grey"
                                                 else ""), timeout=2)

    def action_cycle_graphics(self) -> None:
        choices = ("pixels", "blocks", "ascii") if self.pixel_protocol else ("blocks", "ascii")
        current = self.graphics if self.graphics in choices else choices[-1]
        self.graphics = choices[(choices.index(current) + 1) % len(choices)]
        self._apply_graphics()
        note = "" if self.pixel_protocol else " (no pixel graphics here: --graphics pixels)"
        self.app.notify(f"pictures: {self.graphics_label()}{note}", timeout=2)

    def _mark_selected(self) -> None:
        for name in PANEL_ORDER:
            self.query_one(f"#{name}").set_class(name == self.selected, "-selected")

    def action_toggle_maximize(self) -> None:
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(self.query_one(f"#{self.selected}"), container=False)

    def action_next_panel(self) -> None:
        self.selected = PANEL_ORDER[(PANEL_ORDER.index(self.selected) + 1) % len(PANEL_ORDER)]
        self._mark_selected()
        if self.maximized is not None:
            self.maximize(self.query_one(f"#{self.selected}"), container=False)

    def on_resize(self) -> None:
        self._fit_layout()
        self.app.check_size()

    def _fit_layout(self) -> None:
        """The layout for the terminal's size (aetui/tui/layouts.py), applied on change."""
        layout = choose_layout(*self.app.size)
        if layout != getattr(self, "lab_layout", None):
            self.lab_layout = layout
            apply_layout(self, layout)

    def on_screen_suspend(self) -> None:
        """An opaque screen (inspector, drawing) covers the lab: hide the panels. Textual
        forwards a covered screen's repaints to the screen on top, which then resends
        cells that did not change -- the lab's panels would cost bandwidth unseen."""
        top = self.app.screen
        if top is not self and top.styles.background.a == 1:
            # Only what is shown, and only the lab's own parts: the screen's system
            # children (the tooltip) keep their own display rules.
            self._hidden = [w for w in self.children
                            if w.display and not w.has_class("-textual-system")]
            for widget in self._hidden:
                widget.display = False

    def on_screen_resume(self) -> None:
        for widget in self._hidden:
            widget.display = True
        self._hidden = []

    def on_unmount(self) -> None:
        # The app is shutting down (this screen is never popped otherwise).
        self.jobs_cancelled.set()
        self.run.stop()

    def _panel(self, cls):
        """The panel of type `cls`, or None before the screen is composed and while the
        app shuts down (the App reports the trainer's life at any moment)."""
        found = self.query(cls)
        return found.first() if found else None

    # -- the trainer's life, as the worker reports it ---------------------------------
    def trainer_ready(self) -> None:
        """A new trainer exists: a pause asked for while loading reaches it now."""
        if self._want_paused:
            self.trainer.pause()
        self.sync_filter_units()
        self.refresh_status()

    def forget_run(self) -> None:
        """A checkpoint is being loaded: what was shown belongs to the old run."""
        self.snapshot = None
        self.message = ""
        self.probe_result = None

    def report(self, message: str, *, title: str = "", timeout: float = 10) -> None:
        """An error that stays on the status bar until the next one (and a notification)."""
        self.message = message
        self.app.notify(message, title=title, severity="error", timeout=timeout)
        self.refresh_status()

    # -- snapshot fan-out ------------------------------------------------------------
    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        if self.trainer is None or not self.is_mounted:  # loading a checkpoint, or quitting
            return
        snap = message.snapshot
        # The history's one hook: it stores the live snapshot and says what to draw.
        shown = self.history.receive(snap, self.trainer)
        if self.history.scrubbing:
            # The stored moment is on screen already (drawn when stepped to): only the
            # live loss curve grows under its marker.
            self.query_one(LossPanel).set_curve(shown.curve, shown.knob_log)
        else:
            self._show_snapshot(shown)
        if snap.message and snap.state == DIVERGED:
            self.message = _diverged_text(snap.message)
        self.snapshot = snap  # always the live one (its weights feed inspector and drawing)
        self.sync_filter_units()
        self.refresh_status()

    def _show_snapshot(self, snap) -> None:
        """Every panel from one snapshot (the live one, or a stored moment)."""
        shape = tuple(snap.image_shape)
        self.query_one(FiltersPanel).set_filters(snap.filter_units, snap.filters, snap.hidden,
                                                 shape)
        taken = snap.settings  # the settings of that moment (a dict)
        noise = noise_label(taken.get("noise", "none"), taken.get("q", 0.0),
                            taken.get("sigma", 0.0))
        self.query_one(DigitsPanel).set_digits(snap.clean, snap.corrupted, snap.recon, noise,
                                               shape, signed=is_patches(taken.get("dataset", "")))
        self.query_one(LossPanel).set_curve(snap.curve, snap.knob_log)
        # A stored moment is drawn against the target it had then.
        self.query_one(SparsityPanel).set_rho_hat(
            snap.rho_hat, snap.settings.get("rho", self.session.settings.rho),
            self.trainer.val_count, getattr(snap, "h_range", None))

    def on_training_diverged(self, message: TrainingDiverged) -> None:
        self.report(_diverged_text(message.message), title="diverged")

    def refresh_status(self) -> None:
        status = self._panel(StatusBar)
        if status is None:
            return
        run, trainer, snap = self.run, self.trainer, self.snapshot
        if time.monotonic() > self._highlight_until:
            status.highlight = None
        dataset = (f"{run.dataset.name} {len(run.arrays[0]):,}" if run.dataset is not None
                   else f"{self.session.settings.dataset} (loading…)")
        message = self.message
        if self.probe_result and not message:
            step, acc = self.probe_result
            message = (f"linear probe @ step {step:,}: raw pixels {acc['raw']:.1%} · "
                       f"AE features {acc['features']:.1%} · PCA {acc['pca']:.1%}")
        elif self._probe_running and not message:
            message = "linear probe running in the background…"
        if self.history.scrubbing or not message:
            message = self.history.status_text() or message
        state = ("failed" if run.failure is not None else
                 "loading" if trainer is None else trainer.state)
        status.show(dataset=dataset, settings=self.session.settings, state=state,
                    step=trainer.step if trainer is not None else 0,
                    epoch=float(trainer.epoch) if trainer is not None else 0.0,
                    samples_per_s=snap.samples_per_s if snap and state == TRAINING else 0.0,
                    message=message, n_in=snap.n_in if snap else 784)

    # -- knobs: key → action → session (validated once) → trainer's next chunk ------------
    def action_knob(self, name: str, direction: int) -> None:
        try:
            new = self.session.step(name, direction)
        except ConfigError as exc:  # a rung refused in context (e.g. ce with a linear decoder)
            self.app.notify(str(exc), severity="error")
            return
        if new is None:
            end = "highest" if direction > 0 else "lowest"
            self.app.notify(f"{symbol(name)} is at its {end} step "
                            f"({format_value(getattr(self.session.settings, name))}); "
                            "type a value with ':'", timeout=3)
            return
        self._changed(name, new)

    def _changed(self, name: str, value: Any) -> None:
        if name == "hidden":
            self.app.notify(f"k = {value}: new weights", timeout=3)
        if name == "rho":
            self.query_one(SparsityPanel).set_target(value)
        self.query_one(StatusBar).highlight = symbol(name)
        self._highlight_until = time.monotonic() + 1.5
        self.refresh_status()

    def action_prompt(self) -> None:
        self.app.push_screen(
            PromptScreen("set a value", "name=value, e.g. q=0.37  rho=0.02  beta=3  l2=1e-4  "
                         "lr=0.05  sigma=1  noise=gaussian  tied=no  k=256 (resets)",
                         self.validate_assignment, placeholder="q=0.37"),
            self._apply_assignment)

    def validate_assignment(self, text: str) -> tuple[Any, str | None]:
        """(name, value) for a valid `name=value` the lab can change now, else an error."""
        from aetui.knob_table import parse_assignment

        try:
            name, value = parse_assignment(text)
            return (name, self.session.check(name, value)), None
        except ConfigError as exc:
            return None, str(exc)

    def _apply_assignment(self, result) -> None:
        if not result:
            return
        name, value = result
        try:
            changed = self.session.set(name, value)
        except ConfigError as exc:  # the context changed while the prompt was open
            self.app.notify(str(exc), severity="error")
            return
        if changed:
            self._changed(name, value)
        else:
            self.app.notify(f"{name} is already {format_value(value)}", timeout=2)

    # -- training ---------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        t = self.trainer
        if t is None:
            self._want_paused = not self._want_paused
            self.app.notify("will start paused" if self._want_paused else
                            "will start training", timeout=2)
            return
        if t.state == DIVERGED:
            self.app.notify("training diverged: press r to reset", severity="warning")
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
        self.app.notify("weights reset", timeout=2)
        self.refresh_status()

    # -- display --------------------------------------------------------------------------
    def action_cycle_colours(self) -> None:
        mode = self.query_one(FiltersPanel).cycle_mode()
        self.query_one(DigitsPanel).set_mode(mode)

    def action_toggle_normalise(self) -> None:
        self.query_one(FiltersPanel).toggle_normalise()

    def action_page(self, delta: int) -> None:
        self.query_one(FiltersPanel).turn_page(delta)
        self.sync_filter_units()

    def action_zoom(self) -> None:
        self.query_one(FiltersPanel).cycle_zoom()
        self.sync_filter_units()

    def action_toggle_log(self) -> None:
        self.query_one(LossPanel).toggle_log()

    def sync_filter_units(self) -> None:
        """Ask the trainer for exactly the units on the current page."""
        panel = self._panel(FiltersPanel)
        if self.trainer is None or panel is None or panel.capacity <= 0:
            return
        k = self.session.settings.hidden
        lo = min(panel.first, max(k - 1, 0))
        wanted = range(lo, min(k, lo + panel.capacity))
        if tuple(self.trainer.filter_units) != tuple(wanted):
            self.trainer.filter_units = wanted

    # -- the guided tour (aetui/tui/tour_panel.py; README "Tour") ---------------------
    def action_tour(self) -> None:
        from aetui.tui.tour_panel import toggle_tour

        toggle_tour(self)

    def action_chapter(self, delta: int) -> None:
        from aetui.tui.tour_panel import toggle_tour, tour_panel

        panel = tour_panel(self)
        if panel is None:
            toggle_tour(self, 0 if delta > 0 else -1)
        else:
            panel.turn(delta)

    def action_tour_caption(self) -> None:
        from aetui.tui.tour_panel import tour_panel

        panel = tour_panel(self)
        if panel is not None:
            panel.toggle_caption()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(LAB_BINDINGS))


def _diverged_text(message: str) -> str:
    return f"{message} — press r to reset"

