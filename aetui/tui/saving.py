"""The lab's other files (no Textual here): the newest checkpoint to offer for
loading, and the screen's SVG. Saving the run itself is aetui/training/run.py's."""

from __future__ import annotations

import stat
from pathlib import Path

from aetui.errors import CheckpointError


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
