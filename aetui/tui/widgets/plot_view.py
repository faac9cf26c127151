"""A plotext figure drawn with the Line API (PlotView).

plotext rebuilds the whole figure on every call, so the panel redraws on a
timer, and only the cells that changed are repainted (LineCacheWidget): when
a curve grows by a column, a column goes on the wire, not the plot.
The "clear" theme leaves backgrounds to the panel: fewer escape sequences.
plotext raises (IndexError in its legend code, ZeroDivisionError on a flat
axis …) when squeezed into a few cells, as happens mid-resize: a plot is not
worth a crash, so that shows a short note instead.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.text import Text
from textual_plotext.plot import Plot

from aetui.tui.widgets.line_cache import LineCacheWidget


class PlotView(LineCacheWidget):
    DEFAULT_CSS = """
    PlotView { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plt = Plot()
        self._draw: Callable[[Plot], None] | None = None

    def draw(self, draw: Callable[[Plot], None]) -> None:
        """Redraw now with `draw(plt)` (it adds the data; size and theme are set here)."""
        self._draw = draw
        self._replot()

    def on_resize(self) -> None:
        self._replot()

    def _replot(self) -> None:
        width, height = self.size
        if width <= 0 or height <= 0 or not self.is_mounted:
            return
        self.publish(self._lines(width, height))

    def _lines(self, width: int, height: int) -> list[list[Segment]]:
        plt = self.plt
        try:
            plt.clear_figure()
            plt.plotsize(width, height)
            # plotsize() sizes the plot; the figure around it has its own size
            # (a private plotext field), set too so the figure fits the widget.
            plt._set_size(width, height)
            plt.theme("clear")
            if self._draw is not None:
                self._draw(plt)
            text = Text.from_ansi(plt.build())
        except Exception:
            text = Text("(too small to plot)", style="dim")
        console = self.app.console
        return [list(line.render(console)) for line in text.split("\n", allow_blank=True)]
