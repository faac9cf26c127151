"""The lab screen: the panels, and every key (the footer shows them)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

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
    Binding("m", "toggle_cmap", "map", id="lab.toggle_cmap",
            tooltip="filter colour map: colour (blue − / orange +) or grey (dark − / "
                    "light +, as the PNG export); zero is mid-grey in both"),
    Binding("x", "cycle_graphics", "gfx", id="lab.cycle_graphics",
            tooltip="pictures as pixels (kitty/sixel, where the terminal has them), "
                    "half-blocks or ASCII"),
    Binding("f", "toggle_maximize", "full", id="lab.toggle_maximize",
            tooltip="the selected panel full screen (again, or escape: back); training "
                    "and the other panels go on"),
    Binding("w", "next_panel", "panel", id="lab.next_panel",
            tooltip="select the next panel (full screen: show the next panel)"),
    Binding("ctrl+s", "app.save", "save", tooltip="save a checkpoint now"),
    Binding("ctrl+o", "app.load", "load", tooltip="load a checkpoint (type its path)"),
    Binding("ctrl+e", "app.export_svg", "svg", tooltip="export the screen as SVG"),
]


PANEL_ORDER = ("filters", "digits", "loss", "sparsity")


class LabScreen(Screen[None]):
    BINDINGS = LAB_BINDINGS
    # Full screen keeps the status bar (knobs, state) and the keys in view.
    ALLOW_IN_MAXIMIZED_VIEW = "StatusBar, Footer, .-textual-system"

    def __init__(self, *, mode: str, image_interval: float, plot_interval: float,
                 levels: int | None, graphics: str = "blocks",
                 pixel_protocol: str | None = None) -> None:
        super().__init__()
        self.mode = mode
        self.image_interval = image_interval
        self.plot_interval = plot_interval
        self.levels = levels
        self.graphics = "ascii" if mode == "ascii" else graphics
        # The pixel protocol the terminal offers (or the user asked for); None:
        # the graphics key skips pixels.
        self.pixel_protocol = pixel_protocol
        self.selected = PANEL_ORDER[0]

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

    def on_mount(self) -> None:
        self._apply_graphics()
        self._mark_selected()

    def on_resize(self) -> None:
        self.app.check_size()

    # -- display actions (this screen's own keys) -------------------------------------
    def _images(self) -> tuple[FiltersPanel, DigitsPanel]:
        return self.query_one(FiltersPanel), self.query_one(DigitsPanel)

    def graphics_label(self) -> str:
        if self.graphics == "pixels":
            return f"pixels ({self.pixel_protocol})"
        return self.graphics

    def _apply_graphics(self) -> None:
        for panel in self._images():
            panel.set_graphics(self.graphics, self.pixel_protocol)
        self.query_one(StatusBar).graphics = self.graphics_label()
        refresh = getattr(self.app, "refresh_status", None)
        if refresh is not None:
            refresh()

    def action_toggle_cmap(self) -> None:
        cmap = self.query_one(FiltersPanel).toggle_cmap()
        self.notify(f"filter map: {cmap}" + (" (as the PNG export)" if cmap == "grey" else ""),
                    timeout=2)

    def action_cycle_graphics(self) -> None:
        choices = ("pixels", "blocks", "ascii") if self.pixel_protocol else ("blocks", "ascii")
        current = self.graphics if self.graphics in choices else choices[-1]
        self.graphics = choices[(choices.index(current) + 1) % len(choices)]
        self._apply_graphics()
        note = "" if self.pixel_protocol else " (no pixel graphics here: --graphics pixels)"
        self.notify(f"pictures: {self.graphics_label()}{note}", timeout=2)

    def _panel(self, name: str):
        return self.query_one(f"#{name}")

    def _mark_selected(self) -> None:
        for name in PANEL_ORDER:
            self._panel(name).set_class(name == self.selected, "-selected")

    def action_toggle_maximize(self) -> None:
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(self._panel(self.selected), container=False)

    def action_next_panel(self) -> None:
        self.selected = PANEL_ORDER[(PANEL_ORDER.index(self.selected) + 1) % len(PANEL_ORDER)]
        self._mark_selected()
        if self.maximized is not None:
            self.maximize(self._panel(self.selected), container=False)

    def on_unmount(self) -> None:
        # The app is shutting down (this screen is never popped otherwise).
        self.app.request_stop()
