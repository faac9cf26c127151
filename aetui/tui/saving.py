"""Saving the lab's run so that nothing is lost (no Textual here; the App calls these).

Every way the lab ends or replaces its run goes through `save_run`: the chosen file,
else a fresh name in the checkpoint folder; when neither can be written the caller
refuses the action (or, after a hang-up, reports the failure).
"""

from __future__ import annotations

import stat
from pathlib import Path

from aetui.errors import AetuiError, CheckpointError
from aetui.files import default_checkpoint_path


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


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest regular `.npz` file in `folder` (dangling links and unreadable entries
    are skipped), or None."""
    newest: tuple[float, Path] | None = None
    try:
        entries = list(folder.glob("*.npz"))
    except OSError:
        return None
    for path in entries:
        try:
            info = path.stat()
        except OSError:  # a dangling link, a file removed meanwhile
            continue
        if stat.S_ISREG(info.st_mode) and (newest is None or info.st_mtime > newest[0]):
            newest = (info.st_mtime, path)
    return newest[1] if newest else None


def export_screen(save, name: str, preferred: Path) -> str:
    """Write the screen with `save(filename=, path=)` into `preferred` (the working
    folder), else into the data folder's `screens`; returns where. Raises
    CheckpointError when neither can be written."""
    from aetui.paths import data_home

    try:
        return save(filename=name, path=str(preferred))
    except OSError as first:
        other = data_home() / "screens"
        try:
            other.mkdir(parents=True, exist_ok=True)
            return save(filename=name, path=str(other))
        except OSError as second:
            raise CheckpointError(f"cannot write {name} in {preferred} "
                                  f"({first.strerror or first}) or in {other} "
                                  f"({second.strerror or second})") from None
