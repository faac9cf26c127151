"""The lab's run, without Textual: the knob session, the data, the trainer, the
worker body that builds and trains it, and stop / restart / replace / save.

Every way the lab ends or replaces its run saves through `save_run`: the chosen file,
else a fresh name in the checkpoint folder; when neither can be written the caller
refuses the action (or, after a hang-up, reports the failure).

The lab screen (aetui/tui/screens/lab.py) owns one LabRun and runs `work` in a
thread worker. `work` touches no widget: it reports through a RunEvents (the
screen's, which posts a message per event), and the screen hands what arrives
back with `adopt_data` / `adopt_trainer` / `fail` on the UI thread, so the
run's fields change on one thread only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from aetui.config import Settings, is_patches
from aetui.errors import AetuiError, CheckpointError
from aetui.files import default_checkpoint_path
from aetui.training.contracts import LabTrainer
from aetui.training.session import KnobSession

DISPLAY_DIGITS = 8


class RunEvents(Protocol):
    """What the worker reports, from its thread (the lab screen posts each as a message)."""

    def dataset_loaded(self, dataset: Any, key: tuple) -> None: ...

    def trainer_built(self, trainer: LabTrainer) -> None: ...

    def snapshot(self, snapshot: Any) -> None: ...

    def diverged(self, message: str) -> None: ...

    def failed(self, error: BaseException) -> None: ...

    def stopped(self) -> None: ...


def default_load_data(settings: Settings):
    from aetui.data import load_dataset_for

    # progress=False: the terminal belongs to Textual; a progress bar would tear it.
    return load_dataset_for(settings, progress=False)


def default_trainer_factory(settings: Settings, train_x, test_x, *, checkpoint_path=None,
                            **kwargs) -> LabTrainer:
    from aetui.training.checkpoint import load_checkpoint
    from aetui.training.trainer import Trainer

    checkpoint = load_checkpoint(checkpoint_path) if checkpoint_path else None
    return Trainer(settings, train_x, test_x, checkpoint=checkpoint, **kwargs)


def data_key(s: Settings) -> tuple:
    """The settings that decide the data (a change needs the dataset made anew); for
    patches, every field of data/patches.py's PatchOptions too."""
    key = (s.dataset, s.data_dir, s.seed, s.limit)
    if not is_patches(s.dataset):
        return key
    from aetui.data.patches import PatchOptions

    return (*key, PatchOptions.from_settings(s))


def save_run(trainer, target: Path, prefix: str = "lab") -> tuple[Path, str | None]:
    """Save `trainer`'s run to `target`, else to a fresh default name (`prefix`-…).

    Returns (the path written, None or a one-line note saying why not `target`).
    Raises CheckpointError naming both failures when nothing could be written.
    """
    try:
        return trainer.save(target), None
    except (OSError, AetuiError) as first:
        fallback = default_checkpoint_path(prefix)
        if fallback.parent == target.parent:
            raise CheckpointError(f"nothing saved: {first}") from None
        try:
            path = trainer.save(fallback)
        except (OSError, AetuiError) as second:
            raise CheckpointError(f"nothing saved: {first}; and {second}") from None
        return path, f"could not save to {target} ({first}); saved to {path} instead"


def save_problem(target: Path) -> str | None:
    """Why `save_run` would write nothing (neither `target` nor a default name can be
    written), or None. Checked before a run is stopped or replaced."""
    from aetui.files import writable_problem

    problem = writable_problem(target)
    if problem is None:
        return None
    fallback = default_checkpoint_path("lab")
    other = writable_problem(fallback)
    if other is None:
        return None
    return f"cannot save to {target} ({problem}) nor to {fallback.parent} ({other})"


def _image_shape_of(dataset) -> dict:
    """The trainer's image_shape argument, for datasets that carry one (patches)."""
    shape = getattr(dataset, "image_shape", None)
    return {"image_shape": shape} if shape is not None and shape != (28, 28) else {}


class LabRun:
    """One lab run: built from settings (or a checkpoint), replaced by loading another."""

    def __init__(self, settings: Settings, *, checkpoint_path: Path | None = None,
                 save_path: Path | None = None, snapshot_interval: float = 0.25,
                 trainer_factory: Callable[..., LabTrainer] | None = None,
                 load_data: Callable[[Settings], Any] | None = None) -> None:
        self.session = KnobSession(settings)
        self.start_settings = settings  # the run's; keys pressed since are pending
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.save_path = Path(save_path) if save_path else None
        self.save_path_given = save_path is not None
        self.snapshot_interval = snapshot_interval
        self.trainer_factory = trainer_factory or default_trainer_factory
        self.load_data = load_data or default_load_data
        self.trainer: LabTrainer | None = None
        self.dataset: Any = None
        self.arrays: tuple = ()  # (train_x, train_y, test_x, test_y)
        self.failure: BaseException | None = None
        self.loaded_key: tuple | None = None
        self.stopping = threading.Event()
        self._thread_trainer: LabTrainer | None = None  # set by the worker: what stop stops

    # -- the worker (one thread; reports only through `events`) ------------------------
    def work(self, events: RunEvents) -> None:
        """Load the data (unless loaded for these settings), build the trainer, compile,
        train until stopped. Blocking; call on a worker thread."""
        try:
            settings = self.start_settings
            key = data_key(settings)
            dataset = self.dataset
            if dataset is None or self.loaded_key != key:
                dataset = self.load_data(settings)
                events.dataset_loaded(dataset, key)
            if self.stopping.is_set():
                return
            train_x, _, test_x, _ = dataset
            trainer = self.trainer_factory(
                settings, train_x, test_x, checkpoint_path=self.checkpoint_path,
                knobs=self.session, display_count=DISPLAY_DIGITS,
                snapshot_interval=self.snapshot_interval,
                on_snapshot=events.snapshot, on_diverged=events.diverged,
                **_image_shape_of(dataset))
            self._thread_trainer = trainer
            events.trainer_built(trainer)
            if self.stopping.is_set():
                return
            trainer.warm_up()
            if not self.stopping.is_set():
                trainer.run()
        except BaseException as exc:  # shown in the UI; the screen decides what to do
            events.failed(exc)
        finally:
            events.stopped()

    # -- what the worker reported, taken on the UI thread ------------------------------
    def adopt_data(self, dataset: Any, key: tuple) -> None:
        self.dataset = dataset
        self.arrays = tuple(dataset)  # Dataset unpacks; it is not indexed
        self.loaded_key = key

    def adopt_trainer(self, trainer: LabTrainer) -> None:
        self.trainer = trainer

    def fail(self, error: BaseException) -> None:
        self.failure = error

    # -- stop, restart, replace ----------------------------------------------------------
    def begin(self) -> None:
        """Before the worker starts: a stop asked for earlier is forgotten."""
        self.stopping.clear()

    def stop(self) -> None:
        """Tell the worker and its trainer to stop, without waiting (callable again: the
        worker may build, or start, the trainer after an earlier call)."""
        self.stopping.set()
        for trainer in (self._thread_trainer, self.trainer):
            if trainer is not None:
                trainer.stop()

    def restart_from(self, path: Path, settings: Settings) -> None:
        """After the worker has returned: the next `work` trains checkpoint `path` (its
        settings already read) in place of this run."""
        self.trainer = self._thread_trainer = None
        self.failure = None
        self.session.restart(settings)
        self.start_settings = settings
        self.checkpoint_path = path
        if not self.save_path_given:
            self.save_path = None  # the loaded run gets a name of its own

    # -- saving --------------------------------------------------------------------------
    def save_target(self) -> Path:
        """--save, else a fresh default name chosen once per run (Ctrl+S twice writes
        one file)."""
        if self.save_path is None:
            self.save_path = default_checkpoint_path("lab")
        return self.save_path

    def save(self) -> tuple[Path, str | None]:
        """Write the trainer's checkpoint to `save_target()`, else to a fresh name in the
        checkpoint folder (blocking: call off the UI thread). Returns the path written
        and a note when it is not the target; raises AetuiError when nothing could be
        written."""
        return save_run(self.trainer, self.save_target())
