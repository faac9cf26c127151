"""Messages from worker threads to the UI thread (past tense: they report).

Workers never touch widgets; they post one of these and the app's handler,
on the UI thread, updates what is shown.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from aetui.core.snapshots import Snapshot


class DatasetLoaded(Message):
    """`key` says which settings the data was loaded for (dataset, dir, seed, limit)."""

    def __init__(self, dataset: Any, key: tuple) -> None:
        super().__init__()
        self.dataset = dataset
        self.key = key


class TrainerBuilt(Message):
    def __init__(self, trainer: Any) -> None:
        super().__init__()
        self.trainer = trainer


class SnapshotReady(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class TrainingDiverged(Message):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class TrainingFailed(Message):
    """The worker raised: a user error (bad data, bad checkpoint) or a bug."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class TrainingStopped(Message):
    pass


class ProbeFinished(Message):
    def __init__(self, step: int, accuracies: dict | None, error: str | None = None) -> None:
        super().__init__()
        self.step = step
        self.accuracies = accuracies
        self.error = error


class PcaComputed(Message):
    def __init__(self, components: Any, error: str | None = None) -> None:
        super().__init__()
        self.components = components
        self.error = error
