"""Reading a checkpoint's `.npz` archive without trusting it.

`numpy.load` allocates whatever a member's header claims before reading a byte, and
its error messages suggest loading with pickle. Here every size is checked against
the archive's own bytes and a stated limit first (README: "Limits and safety"), no
member may hold Python objects, and every problem is one CheckpointError line.
"""

from __future__ import annotations

import math
import stat
import zipfile
from pathlib import Path

import numpy as np

from aetui.errors import CheckpointError

MAX_CHECKPOINT_BYTES = 1 << 30  # the whole file
MAX_ARRAY_BYTES = 256 << 20  # one array, uncompressed
MAX_MEMBERS = 64


def read_archive(path: Path) -> dict[str, np.ndarray]:
    """Every array in the archive at `path`, by name, checked for size and kind."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path}: not a regular file, so not a checkpoint")
    if info.st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path}: {info.st_size:,} bytes, more than the "
                              f"{MAX_CHECKPOINT_BYTES:,}-byte limit for a checkpoint")
    try:
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise CheckpointError(f"{path}: {len(members)} entries, more than a "
                                      f"checkpoint has (at most {MAX_MEMBERS})")
            return {m.filename[:-4]: _read_member(path, archive, m) for m in members}
    except zipfile.BadZipFile:
        raise CheckpointError(f"{path}: not an aetui checkpoint (not a .npz archive)") \
            from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint ({_first_line(exc)})") from None


def _read_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> np.ndarray:
    name = member.filename
    if not name.endswith(".npy") or "/" in name:
        raise CheckpointError(f"{path}: unexpected entry {name!r} (a checkpoint holds only "
                              f".npy arrays)")
    if member.file_size > MAX_ARRAY_BYTES:
        raise CheckpointError(f"{path}: array {name[:-4]!r} is {member.file_size:,} bytes, "
                              f"more than the {MAX_ARRAY_BYTES:,}-byte limit")
    with archive.open(member) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except ValueError as exc:
            raise CheckpointError(f"{path}: array {name[:-4]!r} has a bad header "
                                  f"({_first_line(exc)})") from None
        if dtype.hasobject or dtype.kind not in "biufcUS":
            raise CheckpointError(f"{path}: array {name[:-4]!r} holds {dtype} data, which "
                                  f"a checkpoint never does (refused)")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > member.file_size:
            raise CheckpointError(f"{path}: array {name[:-4]!r} claims {nbytes:,} bytes of "
                                  f"data but the entry holds {member.file_size:,}")
        data = fh.read(nbytes)
    if len(data) != nbytes:
        raise CheckpointError(f"{path}: array {name[:-4]!r} is truncated")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.copy()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


