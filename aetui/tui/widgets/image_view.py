"""Base for panels that draw images (filters, digits) with the Line API.

Redrawn on a timer (RedrawTimer), and only changed cells are repainted
(LineCacheWidget).
"""

from __future__ import annotations

from rich.segment import Segment

from aetui.tui.widgets.line_cache import LineCacheWidget
from aetui.tui.widgets.redraw import RedrawTimer

# Pixel widths tried for an image, largest first (28 = native MNIST).
PIXEL_SIZES = (28, 21, 14, 12, 10, 7)


class ImageView(RedrawTimer, LineCacheWidget):
    """Subclasses implement `build_lines(width, height) -> list[list[Segment]]`."""

    DEFAULT_CSS = """
    ImageView {
        border: round $primary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, *, interval: float = 1.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.interval = interval

    def stale(self) -> bool:
        return self._published_for != self.size

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        width, height = self.size
        self._dirty = False
        if width <= 0 or height <= 0:
            return
        self.publish(self.build_lines(width, height))

    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        raise NotImplementedError
