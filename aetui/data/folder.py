"""An MNIST-format folder: the four IDX files, gzipped or not, checked as a set."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aetui.data import idx
from aetui.errors import DataError

# The four files, by role, under their canonical (uncompressed) names.
FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True, eq=False)
class FolderData:
    """The arrays of an MNIST-format folder and the SHA-256 of each file's uncompressed bytes."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    sha256: dict[str, str]  # canonical file name -> hex digest
    paths: dict[str, Path]  # canonical file name -> the file actually read


def candidates(folder: Path, name: str) -> list[Path]:
    """Where `name` may be, in order of preference: plain (no gunzip needed), .gz,
    and the dotted spelling some copies use (train-images.idx3-ubyte)."""
    dotted = name.replace("-idx", ".idx")
    return [folder / n for n in (name, name + ".gz", dotted, dotted + ".gz")]


def locate(folder: Path, name: str) -> Path | None:
    """The file holding `name` in `folder`, or None. A folder this user may not search
    raises UnreadableData (a cache treats that as missing; a --data-dir reports it)."""
    try:
        return next((p for p in candidates(folder, name) if p.is_file()), None)
    except PermissionError as exc:
        raise idx.UnreadableData(f"{folder}: cannot read the folder "
                                 f"({exc.strerror or exc})") from None


def missing(folder: Path) -> list[str]:
    """The canonical names of the files `folder` lacks (all four when it does not exist)."""
    return [name for name in FILES.values() if locate(folder, name) is None]


def find(folder: Path) -> dict[str, Path]:
    """The four files of the dataset in `folder`, by canonical name.

    Raises DataError when the folder does not exist, holds none of the files
    (not a dataset) or lacks some of them (naming the first missing one).
    """
    try:
        exists = folder.exists()
    except PermissionError as exc:
        raise idx.UnreadableData(f"{folder}: cannot read ({exc.strerror or exc})") from None
    if not exists:
        raise DataError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected one holding the four MNIST-format "
                        f"IDX files)")
    absent = missing(folder)
    if len(absent) == len(FILES):
        raise DataError(f"{folder}: not an MNIST-format dataset (none of "
                        f"{', '.join(FILES.values())} found, gzipped or not)")
    if absent:
        raise DataError(f"{folder / absent[0]}: missing file (looked for it gzipped and not; "
                        f"the folder needs all four IDX files)")
    return {name: locate(folder, name) for name in FILES.values()}  # type: ignore[misc]


def load(folder: Path) -> FolderData:
    """Read and check the dataset in `folder`.

    Images come back N × 784 uint8, labels N uint8. Besides each file's own
    checks (see `aetui.data.idx`), the label and image counts of each split must
    agree. Raises DataError naming the file and the problem.
    """
    paths = find(folder)
    arrays: dict[str, np.ndarray] = {}
    digests: dict[str, str] = {}
    for role, name in FILES.items():
        data = idx.read_bytes(paths[name])
        digests[name] = hashlib.sha256(data).hexdigest()
        reader = idx.images_from_bytes if role.endswith("_x") else idx.labels_from_bytes
        arrays[role] = reader(data, paths[name])
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}_x"]), len(arrays[f"{split}_y"])
        if n_images != n_labels:
            labels_path = paths[FILES[f"{split}_y"]]
            images_path = paths[FILES[f"{split}_x"]]
            raise DataError(f"{labels_path}: {n_labels:,} labels, but {images_path.name} "
                            f"holds {n_images:,} images")
    return FolderData(sha256=digests, paths=paths, **arrays)
