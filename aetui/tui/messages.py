"""Messages from worker threads to the UI thread (past tense: they report).

Workers never touch widgets; they post one of these and a handler on the UI
thread updates what is shown. Life-cycle messages go to the App
(aetui/tui/app.py); training and background-job results go to the lab screen
(aetui/tui/screens/lab.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from aetui.training.snapshots import Snapshot


@dataclass
class DatasetLoaded(Message):
    """`key` says which settings the data was loaded for (dataset, dir, seed, limit)."""

    dataset: Any
    key: tuple


@dataclass
class TrainerBuilt(Message):
    trainer: Any


@dataclass
class SnapshotReady(Message):
    """The trainer's latest state. Only the latest matters: when the UI is behind,
    Textual drops a queued one that this newer one replaces."""

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


@dataclass
class TrainingDiverged(Message):
    message: str


@dataclass
class TrainingFailed(Message):
    """The worker raised: a user error (bad data, bad checkpoint) or a bug."""

    error: BaseException


@dataclass
class TrainingStopped(Message):
    pass


@dataclass
class ProbeFinished(Message):
    step: int
    accuracies: dict | None
    error: str | None = None


@dataclass
class PcaComputed(Message):
    components: Any
    error: str | None = None
