"""The lab screen: the panels, and every key (the footer shows them)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from aetui.errors import AetuiError
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
    Binding("u", "lab_string", "string", id="lab.string",
            tooltip="show the lab string (the whole run in one line) and copy it (OSC 52)"),
    Binding("x", "export_bundle", "export", id="lab.export",
            tooltip="export a bundle: checkpoint, CSVs, plots, screen SVG, lab string"),
]


class LabScreen(Screen[None]):
    BINDINGS = LAB_BINDINGS

    def __init__(self, *, mode: str, image_interval: float, plot_interval: float,
                 levels: int | None) -> None:
        super().__init__()
        self.mode = mode
        self.image_interval = image_interval
        self.plot_interval = plot_interval
        self.levels = levels
        self.last_lab_string: str | None = None
        self.last_export: Path | None = None

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

    # -- sharing: the lab string and the export bundle (README "Share and replay") ------
    def _string_source(self):
        """The running trainer if it can describe its run, else None (with a notice)."""
        trainer = self.app.trainer
        if trainer is None or not hasattr(trainer, "lab_string"):
            self.app.notify("no run to describe yet: wait for training to start", timeout=3)
            return None
        return trainer

    async def action_lab_string(self) -> None:
        trainer = self._string_source()
        if trainer is None:
            return
        try:
            text = await asyncio.to_thread(trainer.lab_string)  # hashes the data once
        except (AetuiError, TypeError, ValueError) as exc:  # a hand-edited knob log
            self.app.notify(f"no lab string for this run: {exc}", severity="error")
            return
        self.last_lab_string = text
        # OSC 52: the terminal puts it on the clipboard if it allows (tmux: set-clipboard on).
        self.app.copy_to_clipboard(text)
        self.app.notify(text, title="lab string (copied where the terminal allows OSC 52)",
                        timeout=30)

    async def action_export_bundle(self) -> None:
        trainer = self._string_source()
        if trainer is None or not self.app.arrays:
            return
        from aetui.core.export import write_bundle

        svg = self.app.export_screenshot()
        folder = Path.cwd() / f"aetui-export-{time.strftime('%Y%m%d-%H%M%S')}"
        while folder.exists():
            folder = folder.with_name(folder.name + "-1")
        test_x = self.app.arrays[2]
        try:
            path = await asyncio.to_thread(
                lambda: write_bundle(folder, trainer.checkpoint(), test_x, svg=svg,
                                     val_count=trainer.val_count))
        except (OSError, AetuiError) as exc:
            self.app.notify(f"export failed: {exc}", severity="error")
            return
        self.last_export = path
        self.app.notify(f"exported to {path}", title="export", timeout=10)

    def on_resize(self) -> None:
        self.app.check_size()

    def on_unmount(self) -> None:
        # The app is shutting down (this screen is never popped otherwise).
        self.app.request_stop()
