"""The Status bar: dataset, architecture, progress, state, and every knob."""

from __future__ import annotations

from rich.text import Text

from aetui.knob_table import KNOBS, format_value
from aetui.tui.widgets.line_cache import LineCacheWidget
from aetui.tui.widgets.titles import fit, part

STATE_STYLES = {"compiling": "bold yellow", "training": "bold green", "paused": "bold cyan",
                "diverged": "bold white on red", "stopped": "bold", "loading": "bold yellow",
                "failed": "bold white on red"}


def _sig(x: float) -> str:
    """Three significant figures, grouped: a number that doesn't flicker."""
    if x >= 1000:
        digits = len(str(int(x)))
        return f"{round(x, 3 - digits):,.0f}"
    return f"{x:.3g}"


class StatusBar(LineCacheWidget):
    """Three lines: progress and state; every knob; the latest message.

    Drawn as cached lines so that a new step count repaints a few digits, not
    the bar (the knob line is only sent when a knob changes).
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 3;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.last_text = ""
        self._last_key: tuple = ()
        self.highlight: str | None = None
        self.graphics = ""  # how pictures are drawn: pixels (sixel), blocks, ascii

    def show(self, *, dataset: str, settings, state: str, step: int, epoch: float,
             samples_per_s: float, message: str = "",
             n_in: int = 784) -> None:
        s = settings
        head = Text(no_wrap=True, overflow="ellipsis")
        label = state + ("…" if state in ("compiling", "loading") else "")
        head.append(f" {label} ", STATE_STYLES.get(state, "bold"))
        if self.graphics:
            head.append(f" {self.graphics} ·", "dim")
        # Fitted by words, never through a figure (README, "Layouts").
        room = (self.size.width or 200) - head.cell_len - 1
        head.append(" " + fit([
            part(dataset, dataset.split(" ")[0], keep=6),
            part(f"{n_in}→{s.hidden} {'tied' if s.tied else 'untied'}", f"{n_in}→{s.hidden}",
                 keep=5),
            part(f"step {step:,}", keep=8),
            part(f"{_sig(samples_per_s)} samples/s", f"{_sig(samples_per_s)}/s", "", keep=4),
            part(f"epoch {epoch:.2f}", f"ep {epoch:.2f}", "", keep=3)], room))
        knobs = Text(no_wrap=True, overflow="ellipsis")
        parts = [(knob.symbol, getattr(s, knob.name)) for knob in KNOBS if knob.in_status]
        for i, (name, value) in enumerate(parts):
            if i:
                knobs.append("  ")
            style = "reverse" if name == self.highlight else "bold"
            knobs.append(f"{name} ", "dim")
            knobs.append(format_value(value), style)
        line3 = Text(message, style="bold red" if state == "diverged" else "italic",
                     no_wrap=True, overflow="ellipsis")
        texts = [head, knobs, line3]
        self.last_text = "\n".join(t.plain for t in texts)
        key = (self.last_text, self.highlight, self.size)
        if key == self._last_key or not self.is_mounted:
            return
        self._last_key = key
        width = self.size.width
        console = self.app.console
        lines = []
        for text in texts:
            text.truncate(width, overflow="ellipsis")
            lines.append(list(text.render(console)))
        self.publish(lines)

    def on_resize(self) -> None:
        self._last_key = ()
        refresh = getattr(self.screen, "refresh_status", None)
        if refresh is not None:
            self.call_later(refresh)
