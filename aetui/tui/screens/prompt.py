"""A one-line prompt: type a value (`q=0.37`, a checkpoint path), validated on Enter.

The validator returns (value, None) or (None, error message); the error is
shown under the input and the prompt stays open, so a typo costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

Validator = Callable[[str], tuple[Any, str | None]]


class PromptScreen(ModalScreen[Any]):
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 70; max-width: 95%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PromptScreen #prompt-help { color: $text-muted; }
    PromptScreen #prompt-error { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, help_text: str, validator: Validator, *,
                 value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.help_text = help_text
        self.validator = validator
        self.initial = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.help_text, id="prompt-help", markup=False)
            yield Input(value=self.initial, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value, error = self.validator(event.value)
        if error:
            self.query_one("#prompt-error", Static).update(error)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
