"""Panels made of titled sections laid side by side while they fit, then wrapped:
the unit inspector and the drawing view. The panel grows to its content's height
(its screen scrolls at 80×24) and repaints only changed cells (LineCacheWidget)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from aetui.tui.widgets.line_cache import LineCacheWidget

TITLE_STYLE = Style(bold=True)
SECTION_GAP = 3


@dataclass
class Section:
    lines: list[list[Segment]]
    width: int


def section(title: str, lines: list[list[Segment]]) -> Section:
    """`lines` under a bold title, all padded to one width."""
    rows = [[Segment(title, TITLE_STYLE)], *lines]
    width = max(Strip(line).cell_length for line in rows)
    return Section([list(Strip(line).adjust_cell_length(width)) for line in rows], width)


def text_section(title: str, texts: list[str], style: Style | None = None) -> Section:
    return section(title, [[Segment(t, style)] for t in texts])


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

    def _publish_now(self) -> None:
        if self.size.width > 0 and self.size.height > 0:
            self.publish(self.lines_for(self.size.width))
