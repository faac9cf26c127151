"""Base for panels drawn with the Line API from cached Strips, repainting only
what changed.

Textual repaints a whole widget on `refresh()`; on a slow link that is most of
the bytes. Here a redraw builds new Strips, compares them with the ones on
screen and marks dirty only the changed span of each changed line, so an image
that changed in a few cells, or a loss curve that grew by one column, costs
a few cells on the wire rather than the panel.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


def _cells(strip: Strip) -> list[tuple[str, object]]:
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """(first, last) changed cell of a line, None if equal. Whole line when cells
    and characters don't line up (wide or combining characters)."""
    if old == new:
        return None
    a, b = _cells(old), _cells(new)
    if len(a) != len(b) or len(a) != new.cell_length:
        return 0, new.cell_length - 1
    first = next(i for i in range(len(a)) if a[i] != b[i])
    last = next(i for i in range(len(a) - 1, -1, -1) if a[i] != b[i])
    return first, last


class LineCacheWidget(Widget):
    """Subclasses call `publish(lines)` with one list of Segments per line."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._strips: list[Strip] = []
        self._published_for: Size | None = None
        self.redraws = 0  # how many times lines were rebuilt (tests)
        self.cells_sent = 0  # cells marked dirty by redraws (tests, bandwidth)
        self._titles: tuple[str | None, str | None] = (None, None)

    def set_titles(self, title: str | None = None, subtitle: str | None = None) -> None:
        """Set the border title/subtitle only if they changed: Textual repaints the
        whole widget whenever one is assigned, even to the same text."""
        if title is not None and title != self._titles[0]:
            self.border_title = title
        if subtitle is not None and subtitle != self._titles[1]:
            self.border_subtitle = subtitle
        self._titles = (title if title is not None else self._titles[0],
                        subtitle if subtitle is not None else self._titles[1])

    def publish(self, lines: list[list[Segment]]) -> None:
        width, height = self.size
        base = self.rich_style
        # Base style under every segment (gaps take the panel background), then
        # merge equal neighbours: fewer escape sequences on the wire.
        new = [Strip(line).apply_style(base).adjust_cell_length(width, base).simplify()
               for line in lines[:height]]
        new += [Strip.blank(width, base)] * (height - len(new))
        old = self._strips
        self._strips = new
        self.redraws += 1
        if self._published_for != self.size or len(old) != len(new):
            self._published_for = self.size
            self.cells_sent += width * height
            self.refresh()
            return
        for y, (before, after) in enumerate(zip(old, new, strict=True)):
            for first, last in self.changed_runs(before, after):
                self.cells_sent += last - first + 1
                self.refresh(Region(first, y, last - first + 1, 1))

    def changed_runs(self, before: Strip, after: Strip) -> list[tuple[int, int]]:
        """The (first, last) cells of a line to repaint: one span around every change."""
        span = changed_span(before, after)
        return [span] if span else []

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def text_lines(self) -> list[str]:
        """What the panel shows, as plain text (tests)."""
        return [strip.text for strip in self._strips]
