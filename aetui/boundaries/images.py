"""The one reader for the user's image files (`--dataset patches:PATH`).

Pillow decodes whatever a header declares: a 140 KB PNG may declare 12000×12000 pixels
(2.4 GB as float64 planes), and past its own threshold Pillow raises
DecompressionBombError or prints a DecompressionBombWarning. Here the declared size is
checked against MAX_PIXELS before a pixel is decoded, Pillow's own guard (an error or a
warning, far above it) is worded the same way, every other Pillow warning becomes a
DataError naming the file (a decoder that warns has met a damaged or unusual file), and
the pixels must be finite.
Folders are listed here too: one the user may not read is a one-line DataError.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from aetui.errors import DataError

MAX_PIXELS = 25_000_000  # width × height of one image (5000 × 5000): ≤ 600 MB as RGB float64
MAX_FILES = 10_000  # images taken from one folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def image_files(path: str | Path) -> list[Path]:
    """The image file at `path`, or every PNG/JPEG/TIFF in the folder at `path` (sorted).

    DataError (one line) for a missing path, a folder that cannot be read or holds no
    image, or more than MAX_FILES of them."""
    p = Path(path).expanduser()
    try:
        if p.is_dir():
            files = sorted(f for f in p.iterdir()
                           if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
            if not files:
                raise DataError(f"{p}: no PNG, JPEG or TIFF image in this folder")
            if len(files) > MAX_FILES:
                raise DataError(f"{p}: {len(files):,} images, more than the {MAX_FILES:,} "
                                f"taken from one folder")
            return files
        if p.is_file():
            return [p]
    except OSError as exc:
        raise DataError(f"{p}: cannot read the folder ({exc.strerror or exc})") from None
    raise DataError(f"{p}: no such file or folder")


def read_image(path: Path) -> np.ndarray:
    """The pixels of one image file: H×W (grey, float64 in [0, 1] for 8- and 16-bit,
    as stored for float TIFFs) or H×W×3 (RGB in [0, 1]). DataError (one line naming the
    file) when it is not a readable image, declares more than MAX_PIXELS pixels, makes
    Pillow warn, or holds NaN or infinite values."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a Pillow (or numpy) warning stops here
            # Opening reads the header only; Pillow's own guard (far above MAX_PIXELS)
            # may already refuse there, as an error or a warning.
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise DataError(_too_large(path, width, height))
                image.load()
                mode = "RGB" if image.mode not in ("L", "I;16", "I", "F") else "F"
                pixels = np.asarray(image.convert(mode), dtype=np.float64) / (
                    255.0 if mode == "RGB" else _full_scale(image.mode))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{path}: declares more than {MAX_PIXELS:,} pixels (the limit "
                        f"for one image)") from None
    except UnidentifiedImageError:
        raise DataError(f"{path}: not a readable PNG, JPEG or TIFF image") from None
    except Warning as warning:
        raise DataError(f"{path}: the image decoder warns: {_first_line(warning)}") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, TypeError,
            IndexError, KeyError, struct.error) as exc:
        raise DataError(f"{path}: cannot read it as an image ({_first_line(exc)})") from None
    if not np.isfinite(pixels).all():
        raise DataError(f"{path}: holds NaN or infinite pixel values (patches need "
                        f"finite pixels)")
    return pixels


def _too_large(path: Path, width: int, height: int) -> str:
    return (f"{path}: {width:,}×{height:,} pixels, more than the {MAX_PIXELS:,}-pixel "
            f"limit for one image")


def _full_scale(mode: str) -> float:
    return {"L": 255.0, "I;16": 65535.0}.get(mode, 1.0)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "…"
