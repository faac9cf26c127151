"""The help screen: every key, grouped as in the footer, and how to type a value."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Lowercase lowers a knob, uppercase raises it (q/Q, s/S …); knob changes apply at the "
    "trainer's next chunk and are marked │ on the loss plot. Type an exact value with "
    "':' or '=' (e.g. q=0.37, rho=0.02, lr=0.05, k=256, noise=gaussian). "
    "ctrl+q quits, stops training and saves a checkpoint (unless --no-save-on-quit)."
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 98%; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape,question_mark,f1", "close", "close")]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self.lab_bindings = bindings

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("key", no_wrap=True, style="bold cyan")
        table.add_column("what it does")
        for binding in self.lab_bindings:
            keys = binding.key_display or binding.key
            table.add_row(keys, binding.tooltip or binding.description)
        with VerticalScroll() as box:
            box.border_title = "aetui lab · keys (esc closes)"
            yield Static(Text(INTRO))
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
