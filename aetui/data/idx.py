"""Reading and checking IDX files (the format MNIST ships in), gzipped or not.

An IDX file is a 4-byte magic number -- two zero bytes, a type code (0x08 =
unsigned byte) and the number of dimensions -- then one big-endian uint32 per
dimension, then the values in C order. Every way a file can be wrong becomes a
`DataError` whose one-line message starts with the file's path.
"""

from __future__ import annotations

import math
import stat
import struct
import zlib
from pathlib import Path

import numpy as np

from aetui.errors import DataError

UBYTE = 0x08
IMAGE_SHAPE = (28, 28)


MAX_FILE_BYTES = 256 << 20  # an IDX file as stored (MNIST's largest: 47 MB plain)
MAX_IDX_BYTES = 256 << 20  # an IDX file's content, uncompressed (header included)
MAX_DIM = 10_000_000  # any one header dimension


class UnreadableData(DataError):
    """A data file exists but this user may not read it (a cache falls back on this)."""


def read_bytes(path: Path) -> bytes:
    """The uncompressed content of `path` (gunzipped when it starts with the gzip magic).

    Sizes are checked before anything large is read or inflated: the file against
    MAX_FILE_BYTES, and a gzip stream is inflated only as far as its IDX header says
    the content goes (at most MAX_IDX_BYTES), so a small "gzip bomb" stops early.
    """
    try:
        info = path.stat()
        size = info.st_size
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise DataError(f"{path}: not a regular file")
        if size > MAX_FILE_BYTES:
            raise DataError(f"{path}: {size:,} bytes, more than the {MAX_FILE_BYTES:,}-byte "
                            f"limit for a data file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: missing file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected an IDX file") from None
    except PermissionError as exc:
        raise UnreadableData(f"{path}: cannot read ({exc.strerror or exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    # Decide by content, not by name: people gunzip files and keep the suffix.
    if raw[:2] != b"\x1f\x8b":
        return raw
    return _gunzip(raw, path)


def _gunzip(raw: bytes, path: Path) -> bytes:
    """Inflate a megabyte at a time, no further than the IDX header says the content
    goes (MAX_IDX_BYTES until the header is in)."""
    inflater = zlib.decompressobj(wbits=31)  # gzip framing
    out = bytearray()
    pending = raw
    cap = MAX_IDX_BYTES
    header_read = False
    try:
        while not inflater.eof:
            piece = inflater.decompress(pending, 1 << 20)
            progressed = bool(piece) or len(inflater.unconsumed_tail) != len(pending)
            pending = inflater.unconsumed_tail
            out += piece
            if not header_read and len(out) >= 4 and len(out) >= 4 + 4 * out[3]:
                header_read = True
                cap = _content_length(bytes(out[:4 + 4 * out[3]]), path)
            if len(out) > cap:
                raise DataError(f"{path}: inconsistent dimensions (the content is longer "
                                f"than the {cap:,} bytes its header gives)")
            if not progressed:
                break
    except zlib.error as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from None
    if not inflater.eof:
        raise DataError(f"{path}: truncated file (the gzip stream ends early)")
    return bytes(out)


def _content_length(head: bytes, path: Path) -> int:
    """Header plus data bytes an IDX header promises; DataError beyond the limits."""
    ndim = head[3]
    shape = struct.unpack(f">{ndim}I", head[4:4 + 4 * ndim])
    total = 4 + 4 * ndim + math.prod(shape)  # Python integers: no wrap-around
    if any(d > MAX_DIM for d in shape) or total > MAX_IDX_BYTES:
        dims = "×".join(str(d) for d in shape)
        raise DataError(f"{path}: header says {dims} = {math.prod(shape):,} bytes of data, "
                        f"more than the {MAX_IDX_BYTES:,}-byte limit")
    return total


def parse_idx(data: bytes, path: Path, ndim: int) -> np.ndarray:
    """The uint8 array of `ndim` dimensions held in IDX bytes `data` (read from `path`).

    Returns a writable array of the header's shape. Checks the magic number, the
    header length and that the data is exactly as long as the header says.
    """
    expected_magic = UBYTE << 8 | ndim
    if len(data) < 4:
        raise DataError(f"{path}: truncated file ({len(data)} bytes, too short for an "
                        f"IDX header)")
    (magic,) = struct.unpack(">I", data[:4])
    if magic != expected_magic:
        kind = "images" if ndim == 3 else "labels"
        raise DataError(f"{path}: wrong magic number 0x{magic:08X}, expected "
                        f"0x{expected_magic:08X} (IDX unsigned-byte {kind}, {ndim}-D)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated file ({len(data)} bytes, the header alone "
                        f"needs {header})")
    _content_length(data[:header], path)
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = math.prod(shape)
    found = len(data) - header
    dims = "×".join(str(d) for d in shape)
    if found < expected:
        raise DataError(f"{path}: truncated file (header says {dims} = {expected:,} bytes "
                        f"of data, found {found:,})")
    if found > expected:
        raise DataError(f"{path}: inconsistent dimensions (header says {dims} = "
                        f"{expected:,} bytes of data, but the file holds {found:,})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def images_from_bytes(data: bytes, path: Path) -> np.ndarray:
    """N × 784 uint8 images (0 = background) from IDX bytes; they must be 28×28."""
    images = parse_idx(data, path, ndim=3)
    n, rows, cols = images.shape
    if (rows, cols) != IMAGE_SHAPE:
        raise DataError(f"{path}: inconsistent dimensions (images are {rows}×{cols}, "
                        f"expected {IMAGE_SHAPE[0]}×{IMAGE_SHAPE[1]})")
    if n == 0:
        raise DataError(f"{path}: holds no images")
    return images.reshape(n, rows * cols)


def labels_from_bytes(data: bytes, path: Path) -> np.ndarray:
    """N uint8 labels from IDX bytes."""
    labels = parse_idx(data, path, ndim=1)
    if labels.size == 0:
        raise DataError(f"{path}: holds no labels")
    return labels


def read_images(path: Path) -> np.ndarray:
    """N × 784 uint8 images from an IDX file (gzipped or not)."""
    return images_from_bytes(read_bytes(path), path)


def read_labels(path: Path) -> np.ndarray:
    """N uint8 labels from an IDX file (gzipped or not)."""
    return labels_from_bytes(read_bytes(path), path)
