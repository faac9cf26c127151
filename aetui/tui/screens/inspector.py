"""The unit inspector (`i` or `enter` on the filter grid): one hidden unit, large.

Its encoder filter (and, untied, its decoder weights and their difference), ρ̂
against ρ, the histogram of its activation over the held-out digits, the 9
held-out digits that excite it most and the 9 that excite it least, and how
much the held-out loss rises when it is silenced. Follows the latest
snapshot's weights (`p` pins them); arrows step to the neighbouring units.
The numbers come from aetui/experiments/inspect.py, computed on a worker thread:
encoding the held-out set costs tens of milliseconds, the UI never waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Footer

from aetui.experiments.inspect import UnitInspector, UnitReport
from aetui.render import render_grid
from aetui.tui.widgets.sections import FlowView, HeadLine, Section, section, text_section

BARS = " ▁▂▃▄▅▆▇█"
HIST_HEIGHT = 5
NUMBERS_WIDTH = 40  # fixed, so changing numbers never re-flow the sections


if TYPE_CHECKING:
    from aetui.training.run import LabRun
    from aetui.training.snapshots import Snapshot


def held_out_images(run: LabRun) -> np.ndarray | None:
    """The held-out subset the trainer measures ρ̂ on (LabTrainer.val_x), or None
    before there is a trainer."""
    return run.trainer.val_x if run.trainer is not None else None


class UnitInspected(Message):
    def __init__(self, inspector: UnitInspector, report: UnitReport | None,
                 error: str = "") -> None:
        super().__init__()
        self.inspector, self.report, self.error = inspector, report, error


class UnitView(FlowView):
    """Draws a UnitReport; `digits` are the held-out images it indexes into (floats)."""

    def __init__(self, *, mode: str, levels: int | None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode, self.levels = mode, levels
        self.report: UnitReport | None = None
        self.digits: np.ndarray | None = None
        self.message = "computing…"

    def show(self, report: UnitReport | None, digits: np.ndarray | None,
             message: str = "") -> None:
        self.report, self.digits, self.message = report, digits, message
        self.changed()

    def sections(self, width: int) -> list[Section]:
        r = self.report
        if r is None:
            return [text_section(self.message or "computing…", [])]
        images = [("encoder Wₗ/‖Wₗ‖", r.encoder, "each")]
        if r.decoder is not None:
            images += [("decoder Vₗ/‖Vₗ‖", r.decoder, "each"),
                       ("Vₗ − Wₗ (same scale)", r.decoder_minus_encoder, "diff")]
        size = _fit(len(images), width)
        out = []
        for title, image, norm in images:
            if norm == "diff":  # on the filters' scale: a small difference looks small
                image = np.clip(image / max(float(np.abs(r.encoder).max()), 1e-12), -1, 1)
            out.append(section(title, render_grid(
                image[None], mode=self.mode, normalise="none" if norm == "diff" else "each",
                size=size, levels=self.levels)))
        out.append(self._numbers(r))
        out.append(self._histogram(r))
        if self.digits is not None:
            for title, idx, vals in (("most active", r.top, r.top_values),
                                     ("least active", r.bottom, r.bottom_values)):
                # Drawn in the held-out set's order: while training only reshuffles the
                # ranks, no cell changes (a reshuffled grid would resend ~900 cells).
                idx = np.sort(idx)
                lines = render_grid(self.digits[idx], mode=self.mode, normalise="none",
                                    diverging=False, cols=3, size=14, levels=self.levels)
                span = f"h {vals[0]:.3f}…{vals[-1]:.3f}" if len(vals) else ""
                out.append(section(f"{len(idx)} {title} · {span}", lines,
                                   width=Strip(lines[0]).cell_length if lines else None))
        return out

    def _numbers(self, r: UnitReport) -> Section:
        rise = r.silencing_rise
        lines = [f"ρ̂ {r.rho_hat:.4f} vs target ρ {r.rho:g}"
                 f" ({'above' if r.rho_hat > r.rho else 'below'})",
                 f"silenced: loss +{rise:.4g} nats/example" if rise >= 0 else
                 f"silenced: loss {rise:.4g} (better without it)",
                 f"= {r.silencing_share:.2%} of {r.base_loss:.4g} (held-out, clean x)",
                 f"model of step {r.step:,}"]
        return text_section(f"unit {r.unit}", lines, width=NUMBERS_WIDTH)

    def _histogram(self, r: UnitReport) -> Section:
        counts = r.hist_counts.astype(float)
        top = max(float(counts.max()), 1.0)
        ascii_only = self.mode == "ascii"
        bars = " .:#" if ascii_only else BARS
        steps = len(bars) - 1
        heights = np.ceil(counts / top * HIST_HEIGHT * steps).astype(int)
        lines = []
        for row in range(HIST_HEIGHT - 1, -1, -1):
            cells = []
            for h in heights:
                fill = min(max(h - row * steps, 0), steps)
                cells.append(bars[fill] * 2)
            lines.append([Segment("".join(cells), Style(color="cyan"))])
        n = len(counts)
        axis = ["-" if ascii_only else "─"] * (2 * n)
        for value, mark in ((r.rho, "ρ"), (r.rho_hat, "^" if ascii_only else "▲")):
            axis[min(int(value * n) * 2, 2 * n - 1)] = mark
        lines.append([Segment("".join(axis))])
        lines.append([Segment("0".ljust(2 * n - 1) + "1")])
        return section(f"activation over {int(counts.sum()):,} held-out digits", lines,
                       width=2 * n)


def _fit(n: int, width: int) -> int:
    for size in (28, 21, 14):
        if n * size + (n - 1) * 3 <= width:
            return size
    return 14


class InspectorScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,i,enter", "close", "back", id="inspector.close",
                tooltip="back to the lab"),
        Binding("left", "unit(-1)", "unit−", key_display="←", id="inspector.previous",
                tooltip="the previous unit"),
        Binding("right", "unit(1)", "unit+", key_display="→", id="inspector.next",
                tooltip="the next unit"),
        Binding("up", "unit_row(-1)", "row−", id="inspector.up", show=False,
                tooltip="the unit above on the lab's filter grid"),
        Binding("down", "unit_row(1)", "row+", id="inspector.down", show=False,
                tooltip="the unit below on the lab's filter grid"),
        Binding("pagedown", "scroll(1)", "more", key_display="pgdn", id="inspector.page_down",
                tooltip="scroll down (the view is taller than a small terminal)"),
        Binding("pageup", "scroll(-1)", "back up", key_display="pgup", id="inspector.page_up",
                show=False, tooltip="scroll up"),
        Binding("p", "pin", "pin", id="inspector.pin",
                tooltip="pin the weights shown / follow training again"),
        Binding("ctrl+q", "app.quit", "quit", show=False),
    ]
    DEFAULT_CSS = """
    InspectorScreen VerticalScroll { height: 1fr; }
    """

    def __init__(self, unit: int, run: LabRun, latest: Callable[[], Snapshot | None],
                 on_unit: Callable[[int], None], *, mode: str, levels: int | None = None,
                 interval: float = 1.0, row: int = 10) -> None:
        """`latest()`: the live snapshot with weights (or None); `on_unit(unit)`: the
        lab's filter cursor follows the unit shown."""
        super().__init__()
        self.unit = unit
        self.run = run
        self._latest = latest
        self._on_unit = on_unit
        self.row = max(1, row)  # units per row of the lab's grid: what up/down step
        self.mode, self.levels, self.interval = mode, levels, interval
        self.pinned = False
        self.inspector: UnitInspector | None = None
        self.report: UnitReport | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield HeadLine(id="inspector-head")
        # Not focusable: the arrows belong to the units; pgup/pgdn and the wheel scroll.
        with VerticalScroll(can_focus=False):
            yield UnitView(mode=self.mode, levels=self.levels, id="unit-view")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.set_interval(self.interval, self.follow)
        self.follow()

    def on_resize(self) -> None:
        self.app.check_size()

    # -- what is computed ----------------------------------------------------
    def follow(self) -> None:
        """Ask for the report when the unit or (unless pinned) the weights changed."""
        snap = self._latest()
        have = self.inspector
        if snap is None:
            return
        k = snap.params.W.shape[1]
        self.unit = max(0, min(self.unit, k - 1))
        if have is not None and (self.pinned or have.step == snap.step) \
                and self.report is not None and self.report.unit == self.unit:
            return
        model = have if have is not None and (self.pinned or have.step == snap.step) else snap
        self._request(model, self.unit)

    def _request(self, model, unit: int) -> None:
        if self._busy:
            return  # the running job asks again when it is done
        images = held_out_images(self.run)
        if images is None:
            return
        self._busy = True
        settings = self.run.session.settings
        rho = settings.rho
        self.run_worker(lambda: self._compute(model, unit, images, settings, rho),
                        thread=True, group="inspect", exit_on_error=False)
        self._update_head()

    def _compute(self, model, unit, images, settings, rho) -> None:
        """Worker thread: no widgets here."""
        try:
            if isinstance(model, UnitInspector):
                inspector = model
            else:
                inspector = UnitInspector(model.params, images, loss=settings.loss,
                                          decoder=settings.decoder, step=model.step)
            report = inspector.report(min(unit, inspector.hidden - 1), rho)
            self.post_message(UnitInspected(inspector, report))
        except Exception as exc:  # shown on the screen, never a crash
            self.post_message(UnitInspected(None, None, f"{type(exc).__name__}: {exc}"))

    def on_unit_inspected(self, message: UnitInspected) -> None:
        self._busy = False
        view = self.query_one(UnitView)
        if message.report is None:
            view.show(None, None, f"cannot inspect: {message.error}")
            return
        self.inspector, self.report = message.inspector, message.report
        view.show(message.report, message.inspector.x)  # the very images it ranked
        self._update_head()
        if message.report.unit != self.unit:
            self.follow()  # keys moved on while it computed; new weights wait for the timer

    def _update_head(self) -> None:
        r = self.report
        k = self.inspector.hidden if self.inspector is not None else 0
        state = "PINNED (p: follow)" if self.pinned else "live (p: pin)"
        step = f" · weights of step {r.step:,}" if r is not None else ""
        busy = " · computing…" if self._busy else ""
        self.query_one(HeadLine).text = (
            f"unit {self.unit} of {k} · {state}{step}{busy} · arrows: neighbours")

    # -- keys ----------------------------------------------------------------
    def action_unit(self, delta: int) -> None:
        k = self.inspector.hidden if self.inspector is not None else self.unit + 1
        self.unit = max(0, min(self.unit + delta, k - 1))
        self._sync_lab_cursor()
        self.follow()
        self._update_head()

    def action_unit_row(self, rows: int) -> None:
        self.action_unit(rows * self.row)

    def action_scroll(self, pages: int) -> None:
        scroll = self.query_one(VerticalScroll)
        scroll.scroll_relative(y=pages * max(1, scroll.size.height - 2), animate=False)

    def action_pin(self) -> None:
        self.pinned = not self.pinned
        self._update_head()
        self.follow()

    def action_close(self) -> None:
        self._sync_lab_cursor()
        self.dismiss()

    def _sync_lab_cursor(self) -> None:
        """The lab's filter cursor follows, so closing lands on the unit last seen."""
        self._on_unit(self.unit)
