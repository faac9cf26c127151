"""Marks drawn over lines of segments: the filter grid's cursor, the canvas cursor."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

CURSOR_STYLE = Style(color="yellow", bold=True)


def put(lines: list[list[Segment]], x: int, y: int, text: str,
        style: Style | None = CURSOR_STYLE) -> None:
    """Overwrite the cells at (x, y)… with `text`, in place (nothing outside the lines)."""
    if not 0 <= y < len(lines) or x < 0:
        return
    strip = Strip(lines[y])
    end = x + len(text)
    if end > strip.cell_length:
        return
    lines[y] = [*strip.crop(0, x), Segment(text, style), *strip.crop(end, strip.cell_length)]


def mark_cursor(lines: list[list[Segment]], geo, slot: int, *, ascii: bool = False) -> None:
    """Bars in the gap columns either side of grid image `slot` (geometry `geo`), and
    a line in the gap under it: which filter the cursor is on, in every colour mode
    (plain ASCII characters in the ascii mode)."""
    left_bar, right_bar, under = ("|", "|", "-") if ascii else ("▐", "▌", "▀")
    row, col = divmod(slot, geo.cols)
    top = row * (geo.cell_h + geo.row_gap)
    left = col * (geo.cell_w + geo.gap)
    for y in range(top, top + geo.cell_h):
        if col > 0:
            put(lines, left - 1, y, left_bar)
        if col < geo.cols - 1:
            put(lines, left + geo.cell_w, y, right_bar)
    if geo.row_gap and top + geo.cell_h < len(lines):
        put(lines, left, top + geo.cell_h, under * geo.cell_w)
