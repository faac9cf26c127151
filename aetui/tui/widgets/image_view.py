"""Base for panels that draw images with the Line API.

Lines are rendered once per new picture (or resize) into cached Strips;
render_line only indexes the cache, so scrolling the compositor over the
widget, or repainting after a modal closes, costs nothing. Redraws are
throttled by a timer on the widget: new data only marks it dirty.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class ImageView(Widget):
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
        self._strips: list[Strip] = []
        self._built_for: Size | None = None
        self._dirty = True
        self.redraws = 0  # how many times lines were rebuilt (tests, bandwidth)

    def on_mount(self) -> None:
        self.set_interval(self.interval, self._tick)

    def mark_dirty(self, *, now: bool = False) -> None:
        """New data: redraw at the next tick, or at once (a key was pressed)."""
        self._dirty = True
        if now:
            self._tick()

    def _tick(self) -> None:
        if self._dirty or self._built_for != self.size:
            self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        width, height = self.size
        self._dirty = False
        self._built_for = self.size
        if width <= 0 or height <= 0:
            self._strips = []
            return
        lines = self.build_lines(width, height)
        base = self.rich_style
        # Base style under every segment (gaps take the panel background), then
        # merge equal neighbours: fewer escape sequences on the wire.
        self._strips = [Strip(line).apply_style(base).adjust_cell_length(width, base).simplify()
                        for line in lines[:height]]
        self.redraws += 1
        self.refresh()

    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def text_lines(self) -> list[str]:
        """What the panel shows, as plain text (tests)."""
        return [strip.text for strip in self._strips]
