"""Writing user files safely: atomic replace, fsync of file and folder, the user's umask,
and removal of temporary files a killed save left behind (README: "Limits and safety")."""

from __future__ import annotations

import contextlib
import os
import stat
import time
import uuid
from pathlib import Path

# Temporary files are `.<target name>.<pid>.<random>.tmp`, in the target's folder, so a
# rename is atomic and a later save can tell a dead writer's litter from a live one's.
_TMP_SUFFIX = ".tmp"
STALE_SECONDS = 3600.0  # temporaries without a pid we can check are kept this long


def umask_mode(mode: int = 0o666) -> int:
    """`mode` as the user's umask would leave it for a newly created file."""
    current = os.umask(0)
    os.umask(current)
    return mode & ~current


def temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}{_TMP_SUFFIX}")


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temps(target: Path, now: float | None = None) -> list[Path]:
    """Delete temporaries for `target` left by a writer that is gone (killed mid-save).

    A temporary whose pid names no running process is stale at once; one whose pid is
    alive (another save in progress) is left alone; one with no readable pid is stale
    after STALE_SECONDS. Returns what was removed.
    """
    now = time.time() if now is None else now
    removed = []
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(_TMP_SUFFIX)):
                continue
            middle = name[len(prefix):-len(_TMP_SUFFIX)].split(".")
            pid = int(middle[0]) if len(middle) == 2 and middle[0].isdigit() else None
            try:
                info = entry.lstat()
                if not stat.S_ISREG(info.st_mode):
                    continue
                if pid is not None and pid != os.getpid():
                    if _alive(pid):
                        continue
                elif pid is None and now - info.st_mtime < STALE_SECONDS:
                    continue
                elif pid == os.getpid():
                    continue  # this process's own save in another thread
                entry.unlink()
                removed.append(entry)
            except OSError:
                continue
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def write_atomically(target: Path, write) -> Path:
    """Create `target` through a temporary file: `write(fh)` fills it, then fsync, rename,
    fsync the folder. On any failure (Ctrl+C included) the old file stays intact and the
    temporary is removed. OSError propagates for the caller to word."""
    remove_stale_temps(target)
    tmp = temp_path(target)
    # Not mkstemp: its files are private (0600); these are ordinary user files.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(target.parent)
    return target


def working_folder() -> Path:
    """The working folder, or the data folder (~/.local/share/aetui) when the working
    folder was deleted under the running process (os.getcwd() then fails)."""
    try:
        return Path.cwd()
    except OSError:
        from aetui.paths import data_home

        return data_home()


# ----- where a checkpoint goes ---------------------------------------------------------


def default_checkpoint_path(prefix: str, folder: Path | None = None) -> Path:
    """`<prefix>-<time>-<random>.npz` under the checkpoint folder: two runs started in the
    same second never share a name."""
    if folder is None:
        from aetui.paths import checkpoint_dir

        folder = checkpoint_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return folder / f"{prefix}-{stamp}-{uuid.uuid4().hex[:6]}.npz"


def save_destination(path: str | Path | None, prefix: str, option: str) -> Path:
    """The checkpoint file a run will write, checked now rather than after training.

    None: a fresh default name. An existing folder: a fresh default name inside it. A
    name without `.npz` gets it (as numpy does). Anything that exists and is not a
    regular file (a device, a FIFO) is refused, and so is a folder we cannot create or
    write a file in. Raises ConfigError naming `option`.
    """
    from aetui.errors import ConfigError

    if path is None:
        target = default_checkpoint_path(prefix)
    else:
        given = Path(path).expanduser()
        try:
            mode = given.stat().st_mode
        except OSError:
            mode = None
        if mode is not None and not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            raise ConfigError(option, f"{given} exists and is not a regular file or a folder")
        if given.is_dir():
            target = default_checkpoint_path(prefix, given)
        else:
            target = given if given.suffix == ".npz" else given.with_name(given.name + ".npz")
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ConfigError(option, f"cannot use {target}: {exc.strerror or exc}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ConfigError(option, f"{target} exists and is not a regular file")
    problem = writable_problem(target)
    if problem:
        raise ConfigError(option, f"cannot write {target}: {problem}")
    return target


def writable_problem(target: Path) -> str | None:
    """Why a file could not be written at `target` (None when it can): creates the folder
    if needed and tries a temporary file there, which is removed at once."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        probe = temp_path(target)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
