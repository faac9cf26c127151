"""PlotextPlot that never takes the app down.

plotext raises (IndexError in its legend code, ZeroDivisionError on a flat
axis …) when a figure is squeezed into a few cells, which happens while a
terminal is resized. A plot is not worth a crash: show a short note instead.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot


class SafePlot(PlotextPlot):
    DEFAULT_CSS = """
    SafePlot { width: 1fr; height: 1fr; }
    """

    def render(self) -> RenderResult:
        try:
            return super().render()
        except Exception:
            return Text("(too small to plot)", style="dim")
