"""The knob session: what the user asked for, validated once, handed to the trainer.

A key press reaches the trainer in three hops:

1. the lab screen's binding calls `LabScreen.action_knob` (aetui/tui/screens/lab.py);
2. the action asks this session for the next value and sets it (`step`, `set`):
   the one place a knob value is validated (the knob table says what may change,
   `Settings.replace` whether the value is valid);
3. the trainer takes every pending change between two chunks (`take`) and
   carries out its side effect (the knob table's `effect`).

The session exists before the trainer and is handed to it
(`Trainer(settings, ..., knobs=session)`): the trainer `adopt`s the settings it
starts from, and whatever the user asked for beyond them (keys pressed while the
data loaded) is simply pending, taken at the first chunk like any later key.
It is thread-safe: the UI thread sets, the trainer thread takes. No Textual here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aetui.config import Settings, coerce, option_name
from aetui.errors import ConfigError
from aetui.knob_table import BY_NAME, LAB_KNOBS, LIVE_KNOBS, next_value


class KnobSession:
    """The requested settings, and which of them the trainer has not taken yet."""

    def __init__(self, settings: Settings) -> None:
        self._lock = threading.Lock()
        self._requested = settings
        self._taken = settings  # what the trainer last took (or started from)
        # Called (on the setting thread) after a change, e.g. to wake a paused trainer.
        self.on_change: Callable[[], None] | None = None

    @property
    def settings(self) -> Settings:
        """The settings the user asked for, changes not yet taken included."""
        with self._lock:
            return self._requested

    def check(self, name: str, value: Any, *, live_only: bool = False) -> Any:
        """The valid value for knob `name` (coerced from text), or ConfigError.

        The lab may change the knobs of the knob table's LAB_KNOBS; `live_only`
        refuses those that need a new model (the trainer's own `set_knob`).
        """
        allowed = LIVE_KNOBS if live_only else LAB_KNOBS
        if name not in allowed:
            how = "restart with " + option_name(name)
            if name in BY_NAME and not live_only:
                how = "it is shown, not changed"
            elif name == "hidden":
                how = "reset the weights with a new k"
            raise ConfigError(option_name(name), f"can't change while the lab runs ({how}); "
                                                 f"live: {', '.join(allowed)}")
        value = coerce(name, value)
        self.settings.replace(**{name: value})  # the value, checked in context
        return value

    def set(self, name: str, value: Any, *, live_only: bool = False) -> bool:
        """Ask for knob `name` = `value` (validated by `check`); True if that changes it."""
        value = self.check(name, value, live_only=live_only)
        with self._lock:
            if getattr(self._requested, name) == value:
                return False
            self._requested = self._requested.replace(**{name: value})
        if self.on_change is not None:
            self.on_change()
        return True

    def step(self, name: str, direction: int) -> Any | None:
        """Move knob `name` one step along its ladder (direction ±1), or to the next
        choice; returns the new value, or None at the end of the ladder."""
        current = getattr(self.settings, name)
        new = next_value(name, current, direction)
        if new == current:
            return None
        self.set(name, new)
        return new

    def take(self) -> dict[str, Any]:
        """The changes since the last take, by name (the trainer, between chunks)."""
        with self._lock:
            requested, taken = self._requested, self._taken
            self._taken = requested
        return {name: getattr(requested, name) for name in LAB_KNOBS
                if getattr(requested, name) != getattr(taken, name)}

    def override(self, name: str, value: Any) -> None:
        """The trainer itself set `name` = `value` (a replayed change to a setting no key
        turns): both the requested and the taken settings have it; nothing is pending."""
        with self._lock:
            self._requested = self._requested.replace(**{name: value})
            self._taken = self._taken.replace(**{name: value})

    def adopt(self, settings: Settings) -> None:
        """A trainer starts from `settings`: requested values that differ from them
        are pending (the trainer's first `take` hands them over)."""
        with self._lock:
            self._taken = settings

    def restart(self, settings: Settings | None = None, *, hidden: int | None = None,
                init: str | None = None) -> Settings:
        """A new model starts from `settings` (default: the requested ones, with
        `hidden` units and initialisation `init` if given): nothing is pending any
        more. Returns them."""
        with self._lock:
            fresh = settings if settings is not None else self._requested
            if hidden is not None:
                fresh = fresh.replace(hidden=hidden)
            if init is not None:
                fresh = fresh.replace(init=init)
            self._requested = self._taken = fresh
            return fresh
