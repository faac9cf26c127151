"""Messages from worker threads to the UI thread (past tense: they report).

Workers never touch widgets; they post one of these and a handler on the UI
thread updates what is shown. The run's worker (aetui/training/run.py) reports
through PostedEvents, which posts each event to the lab screen
(aetui/tui/screens/lab.py), as its background jobs do.
"""

from __future__ import annotations

from collections.abc import Callable
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


class PostedEvents:
    """The run's RunEvents (aetui/training/run.py) as messages: each event is posted
    with `post` (the lab screen's post_message, safe from the worker thread)."""

    def __init__(self, post: Callable[[Message], Any]) -> None:
        self.post = post

    def dataset_loaded(self, dataset: Any, key: tuple) -> None:
        self.post(DatasetLoaded(dataset, key))

    def trainer_built(self, trainer: Any) -> None:
        self.post(TrainerBuilt(trainer))

    def snapshot(self, snapshot: Snapshot) -> None:
        self.post(SnapshotReady(snapshot))

    def diverged(self, message: str) -> None:
        self.post(TrainingDiverged(message))

    def failed(self, error: BaseException) -> None:
        self.post(TrainingFailed(error))

    def stopped(self) -> None:
        self.post(TrainingStopped())
