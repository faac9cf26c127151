"""The lab screen: the panels, and every key (the footer shows them)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from aetui.core.history import DEFAULT_CAP_MB, MB
from aetui.tui.history import HistoryController
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.sparsity import SparsityPanel
from aetui.tui.widgets.status import StatusBar


def _pair(key: str, knob: str, symbol: str, what: str) -> list[Binding]:
    """Lowercase lowers, uppercase raises; the footer shows them as one group."""
    group = Binding.Group(f"{symbol}∓", compact=True)
    return [
        Binding(key, f"app.knob('{knob}', -1)", f"{symbol}−", tooltip=f"lower {what}",
                group=group),
        Binding(key.upper(), f"app.knob('{knob}', 1)", f"{symbol}+", tooltip=f"raise {what}",
                group=group),
    ]


# Order = footer order: what a newcomer needs first (the footer is cut on the right).
LAB_BINDINGS: list[Binding] = [
    # ctrl+q is also the App's priority binding (it works on every screen); this
    # entry puts it first in the footer. No knob sits on it ('q' is the noise level).
    Binding("ctrl+q", "app.quit", "quit", tooltip="stop training, save the checkpoint "
                                                  "(unless --no-save-on-quit), print its path"),
    Binding("question_mark,f1", "app.help", "help", key_display="?",
            tooltip="this help"),
    Binding("colon,equals_sign", "app.prompt", "set", key_display=":",
            tooltip="type an exact value, e.g. q=0.37 (also '=')"),
    Binding("space", "app.toggle_pause", "pause", tooltip="pause / resume training"),
    Binding("full_stop", "app.step_once", "step", key_display=".",
            tooltip="one update while paused"),
    Binding("r", "app.reset", "reset", tooltip="fresh weights from the seed (recovers "
                                               "from divergence)"),
    Binding("t", "app.toggle_tied", "tied", tooltip="toggle tied weights V = Wᵀ"),
    Binding("n", "app.cycle_noise", "noise", tooltip="cycle the corruption: none, mask, "
                                                     "gaussian, saltpepper"),
    *_pair("q", "q", "q", "the corruption level q"),
    *_pair("s", "sigma", "σ", "the Gaussian noise σ"),
    *_pair("o", "rho", "ρ", "the sparsity target ρ"),
    *_pair("b", "beta", "β", "the sparsity weight β"),
    *_pair("l", "l2", "λ", "the weight decay λ"),
    *_pair("e", "lr", "lr", "the learning rate"),
    *_pair("k", "hidden", "k", "the number of hidden units k (resets the weights)"),
    Binding("c", "app.cycle_colours", "colours", tooltip="filter/digit colours: truecolor, "
                                                         "256, grey, ascii"),
    Binding("g", "app.toggle_normalise", "norm", tooltip="filter normalisation: each "
                                                         "filter / shared scale"),
    Binding("left_square_bracket", "app.page(-1)", "page−", key_display="[",
            tooltip="previous page of filters", group=Binding.Group("page", compact=True)),
    Binding("right_square_bracket", "app.page(1)", "page+", key_display="]",
            tooltip="next page of filters", group=Binding.Group("page", compact=True)),
    Binding("z", "app.zoom", "zoom", tooltip="filter size: auto, 28 px, 14 px"),
    Binding("P", "app.toggle_pca", "PCA", tooltip="show the data's PCA components in the "
                                                  "filter grid (again: back to filters)"),
    Binding("y", "app.toggle_log", "log", tooltip="loss plot: log / linear y axis"),
    Binding("p", "app.probe", "probe", tooltip="linear probe in the background: raw "
                                               "pixels vs features vs PCA"),
    Binding("C", "app.compare", "compare", tooltip="compare mode (noise levels side by side)"),
    Binding("ctrl+s", "app.save", "save", tooltip="save a checkpoint now"),
    Binding("ctrl+o", "app.load", "load", tooltip="load a checkpoint (type its path)"),
    Binding("ctrl+e", "app.export_svg", "svg", tooltip="export the screen as SVG"),
    # The instrument keys (README "Inspect, draw, scrub"): screen actions, with ids.
    Binding("i,enter", "inspect", "inspect", id="lab.inspect",
            tooltip="open the unit under the filter cursor large (arrows move the cursor)"),
    Binding("d", "draw", "draw", id="lab.draw",
            tooltip="draw a digit and see what the current model makes of it"),
    Binding("less_than_sign", "history(-1)", "back", key_display="<", id="lab.history_back",
            tooltip="back through the run's history (training goes on)",
            group=Binding.Group("history", compact=True)),
    Binding("greater_than_sign", "history(1)", "fwd", key_display=">",
            id="lab.history_forward", tooltip="forward through the run's history",
            group=Binding.Group("history", compact=True)),
    Binding("end", "history_live", "live", id="lab.history_live",
            tooltip="back to the live run"),
    Binding("left", "cursor(-1, 0)", "cursor", show=False, id="lab.cursor_left",
            tooltip="filter cursor: previous unit"),
    Binding("right", "cursor(1, 0)", "cursor", show=False, id="lab.cursor_right",
            tooltip="filter cursor: next unit"),
    Binding("up", "cursor(0, -1)", "cursor", show=False, id="lab.cursor_up",
            tooltip="filter cursor: the unit above"),
    Binding("down", "cursor(0, 1)", "cursor", show=False, id="lab.cursor_down",
            tooltip="filter cursor: the unit below"),
]


class LabScreen(Screen[None]):
    BINDINGS = LAB_BINDINGS

    def __init__(self, *, mode: str, image_interval: float, plot_interval: float,
                 levels: int | None, history_mb: float = DEFAULT_CAP_MB) -> None:
        super().__init__()
        self.mode = mode
        self.image_interval = image_interval
        self.plot_interval = plot_interval
        self.levels = levels
        self.history = HistoryController(history_mb * MB, show=self._show_stored,
                                         mark=self._mark_history)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield FiltersPanel(mode=self.mode, interval=self.image_interval,
                                   levels=self.levels, id="filters")
                yield DigitsPanel(mode=self.mode, interval=self.image_interval,
                                  levels=self.levels, id="digits")
            with Vertical(id="right"):
                yield LossPanel(interval=self.plot_interval, id="loss")
                yield SparsityPanel(interval=self.plot_interval, id="sparsity")
        yield Footer(compact=True)

    def on_resize(self) -> None:
        self.app.check_size()

    def on_screen_suspend(self) -> None:
        """An opaque screen (inspector, drawing) covers the lab: hide the panels. Textual
        forwards a covered screen's repaints to the screen on top, which then resends
        cells that did not change -- the lab's panels would cost bandwidth unseen."""
        top = self.app.screen
        if top is not self and top.styles.background.a == 1:
            for widget in self.children:
                widget.display = False

    def on_screen_resume(self) -> None:
        for widget in self.children:
            widget.display = True

    def on_unmount(self) -> None:
        # The app is shutting down (this screen is never popped otherwise).
        self.app.request_stop()

    # -- the instrument: cursor, inspector, drawing, history ----------------------
    def action_cursor(self, d_unit: int, d_row: int) -> None:
        panel = self.query_one(FiltersPanel)
        if panel.move_cursor(d_unit, d_row):
            self.app._sync_filter_units()

    def _model_ready(self, what: str) -> bool:
        snap = getattr(self.app, "snapshot", None)
        if snap is None or getattr(snap, "params", None) is None:
            self.app.notify(f"{what} needs the model: wait for the first snapshot", timeout=3)
            return False
        return True

    def action_inspect(self) -> None:
        panel = self.query_one(FiltersPanel)
        if panel.show_pca:
            self.app.notify("the cursor is on PCA components: press P for the filters first",
                            timeout=3)
            return
        if not self._model_ready("the inspector"):
            return
        from aetui.tui.screens.inspector import InspectorScreen

        row = panel._geo.cols if panel._geo is not None else 10
        self.app.push_screen(InspectorScreen(panel.cursor, mode=panel.mode, levels=self.levels,
                                             interval=self.image_interval, row=row))

    def action_draw(self) -> None:
        if not self._model_ready("drawing"):
            return
        from aetui.tui.screens.draw import DrawScreen

        self.app.push_screen(DrawScreen(mode=self.query_one(FiltersPanel).mode,
                                        levels=self.levels, interval=self.image_interval))

    def action_history(self, delta: int) -> None:
        if not self.history.step(delta):
            self.app.notify("no earlier moment stored" if delta < 0 else "already live",
                            timeout=2)
        self.app.refresh_status()

    def action_history_live(self) -> None:
        self.history.to_live()
        self.app.refresh_status()

    def _show_stored(self, snap) -> None:
        if self.app.trainer is None or not self.query(FiltersPanel):
            return  # starting or shutting down: no panels to draw on
        self.app._show_snapshot(snap)
        for panel in (*self.query(FiltersPanel), *self.query(DigitsPanel)):
            panel.mark_dirty(now=True)  # a key was pressed: show it now, not at the tick

    def _mark_history(self, step: int | None) -> None:
        for panel in self.query(LossPanel):  # none while the screen is torn down
            panel.set_marker(step)
