"""What the lab may call on a trainer: the real one (aetui/training/trainer.py) and the
tests' fake (tests/fake_trainer.py) both implement it, and tests/test_contracts.py
compares their signatures with this Protocol so the fake cannot drift.

Threads: `run` blocks on one worker thread; everything else may be called from
any thread and takes effect at the trainer's next chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the lab imports this module: keep it free of the model's imports
    from aetui.config import Settings
    from aetui.engine.model import Params
    from aetui.training.checkpoint import Checkpoint
    from aetui.training.session import KnobSession
    from aetui.training.snapshots import Snapshot


@runtime_checkable
class LabTrainer(Protocol):
    """Built as `factory(settings, train_x, test_x, *, checkpoint=…, knobs=session,
    display_count=…, snapshot_interval=…, on_snapshot=…, on_diverged=…)`."""

    knobs: KnobSession  # the knob changes it takes between chunks
    state: str  # one of aetui.training.snapshots.STATES
    step: int
    val_count: int  # held-out images ρ̂ and the held-out loss are measured on
    # Those images: the first val_count of the test set (of the training set when there
    # is none), as the trainer holds them. The inspector and drawing use the same.
    val_x: Any
    # A loaded checkpoint's extra arrays (the lab's history store), {} otherwise; and
    # what saving calls for the arrays to write instead (set by the lab; any thread).
    loaded_extras: dict[str, Any]
    checkpoint_extras: Callable[[], dict[str, Any]] | None

    @property
    def settings(self) -> Settings:
        """The requested settings (changes not yet taken included)."""

    @property
    def epoch(self) -> float:
        """Epochs done, fractional."""

    @property
    def filter_units(self) -> Any:
        """Which hidden units' filters the snapshots carry (settable, any thread)."""

    @filter_units.setter
    def filter_units(self, units: Any) -> None: ...

    def warm_up(self) -> None:
        """Compile the kernels (state "compiling")."""

    def run(self, max_steps: int | None = None, max_epochs: int | None = None) -> None:
        """Train until stop() or a limit (blocking, one worker thread)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def step_once(self) -> None:
        """Exactly one update (meant for a paused trainer)."""

    def stop(self) -> None:
        """run() returns within one chunk."""

    def reset(self, hidden: int | None = None, init: str | None = None) -> None:
        """Fresh weights from the seed (k = `hidden`, initialisation `init` if given)
        at the next chunk."""

    def set_knob(self, name: str, value: Any) -> None:
        """A live knob change (validated by `knobs`), applied at the next chunk."""

    def snapshot(self) -> Snapshot:
        """Copies of everything the lab draws."""

    def save(self, path: str | Path) -> Path:
        """An atomic checkpoint; returns the path written."""

    def weights(self) -> Params:
        """A copy of the parameters (W, b, c, V or None)."""

    def checkpoint(self) -> Checkpoint:
        """A consistent copy of the whole run state (what save writes)."""

    def lab_string(self) -> str:
        """This run as a lab string (any thread; hashes the data once)."""
