"""The one reader for `.npz` archives (checkpoints): bounded, and one line per problem.

`numpy.load` allocates whatever a member's header claims before reading a byte, its
error messages suggest loading with pickle, and the decoders under it raise their own
exceptions (zlib.error, lzma.LZMAError, BadZipFile, OSError, EOFError …). Here:

- the file is a regular file of at most MAX_FILE_BYTES;
- at most MAX_MEMBERS entries, each a `.npy` array of at most MAX_ARRAY_BYTES, and all of
  them together at most MAX_TOTAL_BYTES once unpacked: checked against the archive's
  directory *before* inflating anything, then again against what is actually read (a
  directory may lie), so a zip bomb costs no more than the limits;
- a `.npy` header's shape must be non-negative integers and its size exactly what the
  entry holds; no Python objects (never pickle);
- every decoder error becomes one CheckpointError line naming the file.
"""

from __future__ import annotations

import bz2  # noqa: F401  (zipfile's bzip2 members: its errors are OSError)
import lzma
import math
import stat
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from aetui.errors import CheckpointError

MAX_FILE_BYTES = 1 << 30  # the whole file, as stored
MAX_ARRAY_BYTES = 256 << 20  # one array, unpacked
MAX_TOTAL_BYTES = 1 << 30  # all arrays together, unpacked
MAX_MEMBERS = 64
MAX_HEADER_BYTES = 10_000  # a .npy header (numpy's own default limit)

# Everything the zip, deflate, bzip2, lzma and .npy decoders raise on bad bytes.
DECODER_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError,
                  EOFError, OSError, ValueError, SyntaxError, TypeError, OverflowError,
                  NotImplementedError, RuntimeError, KeyError, IndexError,
                  tokenize.TokenError)  # numpy parses old headers with tokenize


def read_archive(path: Path, group_limits: dict[str, int] | None = None
                 ) -> dict[str, np.ndarray]:
    """Every array in the archive at `path`, by name, checked for size and kind.

    `group_limits` bounds the unpacked bytes of the arrays whose names start with each
    prefix (e.g. {"history_": 64 MiB}), from the directory too, before inflating.
    Raises CheckpointError (one line naming `path`) for anything else."""
    path = Path(path)
    _check_file(path)
    try:
        with open(path, "rb") as raw, zipfile.ZipFile(raw) as archive:
            members = archive.infolist()
            _check_directory(path, members)
            for prefix, limit in (group_limits or {}).items():
                group = sum(m.file_size for m in members if m.filename.startswith(prefix))
                if group > limit:
                    raise CheckpointError(f"{path}: its {prefix}* arrays unpack to "
                                          f"{group:,} bytes, more than the {limit:,}-byte "
                                          f"limit")
            out: dict[str, np.ndarray] = {}
            total = 0
            for member in members:
                try:
                    array = _read_member(path, archive, member, MAX_TOTAL_BYTES - total)
                except (CheckpointError, MemoryError):
                    raise
                except DECODER_ERRORS as exc:  # a damaged member in a sound archive
                    raise CheckpointError(
                        f"{path}: unreadable checkpoint (array {member.filename[:-4]!r}: "
                        f"{type(exc).__name__}: {first_line(exc)})") from None
                total += array.nbytes
                out[member.filename[:-4]] = array
            return out
    except CheckpointError:
        raise
    except zipfile.BadZipFile:
        raise CheckpointError(f"{path}: not an aetui checkpoint (not a .npz archive)") \
            from None
    except MemoryError:
        raise CheckpointError(f"{path}: not enough memory to read it") from None
    except DECODER_ERRORS as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint "
                              f"({type(exc).__name__}: {first_line(exc)})") from None


def _check_file(path: Path) -> None:
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
    if info.st_size > MAX_FILE_BYTES:
        raise CheckpointError(f"{path}: {info.st_size:,} bytes, more than the "
                              f"{MAX_FILE_BYTES:,}-byte limit for a checkpoint")


def _check_directory(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """The archive's own directory, checked before any member is inflated."""
    if len(members) > MAX_MEMBERS:
        raise CheckpointError(f"{path}: {len(members)} entries, more than a checkpoint has "
                              f"(at most {MAX_MEMBERS})")
    names = set()
    for member in members:
        name = member.filename
        if not name.endswith(".npy") or "/" in name or name in names:
            raise CheckpointError(f"{path}: unexpected entry {name!r} (a checkpoint holds "
                                  f"only .npy arrays, each once)")
        names.add(name)
        if member.file_size > MAX_ARRAY_BYTES:
            raise CheckpointError(f"{path}: array {name[:-4]!r} is {member.file_size:,} "
                                  f"bytes, more than the {MAX_ARRAY_BYTES:,}-byte limit")
    total = sum(m.file_size for m in members)
    if total > MAX_TOTAL_BYTES:
        raise CheckpointError(f"{path}: its arrays unpack to {total:,} bytes, more than the "
                              f"{MAX_TOTAL_BYTES:,}-byte limit for a checkpoint")


def _read_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo,
                 room: int) -> np.ndarray:
    """One array, read into a buffer of exactly its declared size (no copy after)."""
    label = repr(member.filename[:-4])
    with archive.open(member) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                read_header = np.lib.format.read_array_header_1_0
            elif version == (2, 0):
                read_header = np.lib.format.read_array_header_2_0
            else:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran, dtype = read_header(fh, max_header_size=MAX_HEADER_BYTES)
        except DECODER_ERRORS as exc:
            if isinstance(exc, zlib.error | lzma.LZMAError | zipfile.BadZipFile | EOFError):
                raise
            raise CheckpointError(f"{path}: array {label} has a bad header "
                                  f"({first_line(exc)})") from None
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise CheckpointError(f"{path}: array {label} has a bad header (shape {shape})")
        if dtype.hasobject or dtype.kind not in "biufcUS" or dtype.itemsize == 0:
            raise CheckpointError(f"{path}: array {label} holds {dtype} data, which a "
                                  f"checkpoint never does (refused)")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > member.file_size or nbytes > MAX_ARRAY_BYTES:
            raise CheckpointError(f"{path}: array {label} claims {nbytes:,} bytes of data "
                                  f"but the entry holds {member.file_size:,}")
        if nbytes > room:
            raise CheckpointError(f"{path}: its arrays unpack to more than the "
                                  f"{MAX_TOTAL_BYTES:,}-byte limit for a checkpoint")
        buffer = bytearray(nbytes)
        got = fh.readinto(buffer) if nbytes else 0
    if got != nbytes:
        raise CheckpointError(f"{path}: array {label} is truncated")
    array = np.frombuffer(buffer, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "…"
