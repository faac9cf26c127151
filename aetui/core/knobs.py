"""Knobs another thread may turn while the trainer runs: a small lock-protected board.

The UI writes requests here at any moment; the trainer takes them all at the
start of its next chunk, so a change never lands in the middle of a batch.
"""

from __future__ import annotations

import threading
from typing import Any

from aetui.config import LIVE_KNOBS, Settings, coerce, option_name
from aetui.errors import ConfigError


class KnobBoard:
    """Requested settings (what the user asked for) and the changes not yet applied."""

    def __init__(self, settings: Settings) -> None:
        self._lock = threading.Lock()
        self._requested = settings
        self._pending: dict[str, Any] = {}

    @property
    def requested(self) -> Settings:
        """The settings including changes not yet applied."""
        with self._lock:
            return self._requested

    def request(self, name: str, value: Any) -> Any:
        """Ask for knob `name` = `value`; returns the validated value or raises ConfigError."""
        if name not in LIVE_KNOBS:
            raise ConfigError(option_name(name),
                              f"cannot be changed while training (live: {', '.join(LIVE_KNOBS)})")
        value = coerce(name, value)
        with self._lock:
            self._requested = self._requested.replace(**{name: value})
            self._pending[name] = value
        return value

    def take(self) -> dict[str, Any]:
        """All pending changes, cleared (called by the trainer between chunks)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            return pending

    def rebase(self, settings: Settings) -> None:
        """Forget pending changes and adopt `settings` (after a reset or a load)."""
        with self._lock:
            self._requested = settings
            self._pending = {}
