"""Base for panels that draw images (filters, digits) with the Line API.

New data only marks the panel dirty; a timer on the widget redraws at most
once per interval (images: about once a second), and only changed cells are
repainted (see LineCacheWidget).
"""

from __future__ import annotations

from rich.segment import Segment

from aetui.tui.widgets.line_cache import LineCacheWidget


class ImageView(LineCacheWidget):
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
        self._dirty = True

    def on_mount(self) -> None:
        self.set_interval(self.interval, self._tick)

    def mark_dirty(self, *, now: bool = False) -> None:
        """New data: redraw at the next tick, or at once (a key was pressed)."""
        self._dirty = True
        if now:
            self._tick()

    def _tick(self) -> None:
        if self._dirty or self._published_for != self.size:
            self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        width, height = self.size
        self._dirty = False
        if width <= 0 or height <= 0:
            return
        self.publish(self.build_lines(width, height))

    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        raise NotImplementedError
