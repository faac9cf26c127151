"""Redraw on a timer: the one throttle every panel uses.

New data only marks a panel dirty; a timer on the widget redraws it at most
once per `interval` seconds (images about once a second, plots twice), or at
once after a key (`mark_dirty(now=True)`). A snapshot arrives four times a
second and plotext rebuilds a whole figure per draw: drawing per snapshot
would cost the link and the UI thread for nothing.
"""

from __future__ import annotations


def panel_css(type_name: str) -> str:
    """The lab panels' frame, one rule for all: a dim round border, the accent one
    when the panel is selected (`w`)."""
    return f"""
    {type_name} {{
        border: round $primary 60%;
        border-title-color: $text;
    }}
    {type_name}.-selected {{
        border: round $accent;
    }}
    """


class RedrawTimer:
    """Mixin for a Textual widget: subclasses implement `redraw()`, and may say the
    picture is `stale()` without new data (e.g. the panel was resized)."""

    interval: float = 1.0
    _dirty: bool = True

    def on_mount(self) -> None:
        self.set_interval(self.interval, self._tick)

    def mark_dirty(self, *, now: bool = False) -> None:
        """New data: redraw at the next tick, or at once (a key was pressed)."""
        self._dirty = True
        if now:
            self._tick()

    def _tick(self) -> None:
        if (self._dirty or self.stale()) and self.is_mounted:
            self._dirty = False
            self.redraw()

    def stale(self) -> bool:
        return False

    def redraw(self) -> None:
        raise NotImplementedError
