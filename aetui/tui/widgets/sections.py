"""Panels made of titled sections laid side by side while they fit, then wrapped:
the unit inspector and the drawing view. The panel grows to its content's height
(its screen scrolls at 80×24) and repaints only changed cells (LineCacheWidget)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from aetui.tui.widgets.line_cache import LineCacheWidget, _cells

TITLE_STYLE = Style(bold=True)
SECTION_GAP = 3


@dataclass
class Section:
    lines: list[list[Segment]]
    width: int


def section(title: str, lines: list[list[Segment]], width: int | None = None) -> Section:
    """`lines` under a bold title, all padded to one width: `width` if given (longer
    text is cut), else the widest line's. A fixed width keeps the layout still while
    numbers change (a section growing by one cell could wrap the band and repaint all)."""
    rows = [[Segment(title, TITLE_STYLE)], *lines]
    if width is None:
        width = max(Strip(line).cell_length for line in rows)
    return Section([list(Strip(line).adjust_cell_length(width)) for line in rows], width)


def text_section(title: str, texts: list[str], style: Style | None = None,
                 width: int | None = None) -> Section:
    return section(title, [[Segment(t, style)] for t in texts], width)


def flow(sections: list[Section], width: int, gap: int = SECTION_GAP) -> list[list[Segment]]:
    """Sections left to right while they fit in `width`, then on a new band below
    (one blank line between bands). A section wider than `width` is cut by the panel."""
    bands: list[list[Section]] = []
    used = 0
    for sec in sections:
        if bands and used + gap + sec.width <= width:
            bands[-1].append(sec)
            used += gap + sec.width
        else:
            bands.append([sec])
            used = sec.width
    lines: list[list[Segment]] = []
    for b, band in enumerate(bands):
        if b:
            lines.append([Segment(" ")])
        for y in range(max(len(sec.lines) for sec in band)):
            line: list[Segment] = []
            for j, sec in enumerate(band):
                if j:
                    line.append(Segment(" " * gap))
                line.extend(sec.lines[y] if y < len(sec.lines) else [Segment(" " * sec.width)])
            lines.append(line)
    return lines


def changed_runs(old: Strip, new: Strip, join: int = 6) -> list[tuple[int, int]]:
    """(first, last) of each run of changed cells of a line; runs closer than `join`
    cells merge (jumping the cursor costs about as much as a few cells). The whole line
    when cells and characters do not line up (wide or combining characters)."""
    if old == new:
        return []
    a, b = _cells(old), _cells(new)
    if len(a) != len(b) or len(a) != new.cell_length:
        return [(0, new.cell_length - 1)]
    runs: list[tuple[int, int]] = []
    for i in (i for i in range(len(a)) if a[i] != b[i]):
        if runs and i - runs[-1][1] <= join:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


class FlowView(LineCacheWidget):
    """Subclasses implement `sections(width) -> list[Section]` and call `changed()`
    when what they show changes."""

    DEFAULT_CSS = """
    FlowView {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._version = 0
        self._cache: tuple[tuple[int, int], list[list[Segment]]] | None = None

    def sections(self, width: int) -> list[Section]:
        raise NotImplementedError

    def lines_for(self, width: int) -> list[list[Segment]]:
        key = (width, self._version)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, flow(self.sections(width), width) or [[Segment(" ")]])
        return self._cache[1]

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.lines_for(width))

    def changed(self) -> None:
        self._version += 1
        if not self.is_mounted:
            return
        height = len(self.lines_for(self.size.width)) if self.size.width > 0 else 0
        if height != self.size.height:
            self.refresh(layout=True)  # grows or shrinks; on_resize publishes
            self.call_after_refresh(self._publish_now)
        else:
            self._publish_now()

    def on_resize(self) -> None:
        self._publish_now()

    def changed_runs(self, before: Strip, after: Strip) -> list[tuple[int, int]]:
        """Each changed run of a line on its own: sections side by side change
        independently (a filter on the left, a histogram on the right), and one span
        across the line would resend both and everything between."""
        return list(changed_runs(before, after))

    def _publish_now(self) -> None:
        if self.size.width > 0 and self.size.height > 0:
            self.publish(self.lines_for(self.size.width))


class HeadLine(Widget):
    """One line of text at the top of a screen. Not a Static: Static.update() asks for a
    new layout, and a layout pass repaints the whole screen -- every second, that alone
    would pass the README's bandwidth limit."""

    DEFAULT_CSS = """
    HeadLine {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    """

    text: reactive[str] = reactive("", layout=False)

    def render(self) -> Text:
        return Text(self.text, no_wrap=True, overflow="ellipsis")
