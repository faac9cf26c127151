"""Reading and checking IDX files (the format MNIST ships in), gzipped or not.

An IDX file is a 4-byte magic number -- two zero bytes, a type code (0x08 =
unsigned byte) and the number of dimensions -- then one big-endian uint32 per
dimension, then the values in C order. Every way a file can be wrong becomes a
`DataError` whose one-line message starts with the file's path.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from aetui.errors import DataError

UBYTE = 0x08
IMAGE_SHAPE = (28, 28)


def read_bytes(path: Path) -> bytes:
    """The uncompressed content of `path` (gunzipped when it starts with the gzip magic)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: missing file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected an IDX file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    # Decide by content, not by name: people gunzip files and keep the suffix.
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"{path}: truncated file (the gzip stream ends early)") from None
    except (OSError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc})") from None


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
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
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
