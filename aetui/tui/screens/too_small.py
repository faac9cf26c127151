"""Shown instead of the panels when the terminal is below the minimum size:
a clear message beats a broken layout. Resizing back removes it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 70, 20


class TooSmallScreen(Screen[None]):
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; }
    TooSmallScreen Static { width: auto; height: auto; text-align: center; }
    """

    def compose(self) -> ComposeResult:
        yield Static(self.message(), id="too-small-message")

    def message(self) -> str:
        w, h = self.app.size
        return (f"Terminal too small: {w}×{h}.\nThe lab needs at least "
                f"{MIN_WIDTH}×{MIN_HEIGHT}.\nEnlarge the window (training continues) "
                f"or press ctrl+q to quit.")

    def on_resize(self) -> None:
        self.query_one(Static).update(self.message())
        self.app.check_size()
