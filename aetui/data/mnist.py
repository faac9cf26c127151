"""MNIST itself: its known content hashes, its mirrors, and filling the user cache."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from aetui.data import folder
from aetui.data.download import DEFAULT_TIMEOUTS, Timeouts, fetch_verified
from aetui.errors import DataError

# SHA-256 of the *uncompressed* files: the .gz bytes differ between copies
# (compression settings vary), the content does not.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# The copies torchvision and TensorFlow download from (yann.lecun.com now refuses
# most automated downloads, so it is not on the list).
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MIRRORS_ENV = "AETUI_MNIST_MIRRORS"


def mirrors(override: Sequence[str] | None = None) -> list[str]:
    """Base URLs to try in turn: `override`, else $AETUI_MNIST_MIRRORS (comma-separated),
    else the defaults."""
    if override is not None:
        return [m for m in override if m]
    env = os.environ.get(MIRRORS_ENV, "")
    listed = [m.strip() for m in env.split(",") if m.strip()]
    return listed or list(DEFAULT_MIRRORS)


def is_mnist(sha256: dict[str, str]) -> bool:
    """Whether the four digests (by canonical file name) are exactly MNIST's."""
    return all(sha256.get(name) == digest for name, digest in SHA256.items())


def verify(data: folder.FolderData) -> None:
    """Raise DataError naming the first file whose content is not MNIST's."""
    for name, expected in SHA256.items():
        got = data.sha256[name]
        if got != expected:
            raise DataError(f"{data.paths[name]}: checksum mismatch (SHA-256 of the "
                            f"uncompressed content is {got[:12]}…, MNIST's is "
                            f"{expected[:12]}…); delete it to download it again")


# A caller's own progress display: (file name, bytes received, total bytes or None).
FileProgress = Callable[[str, int, int | None], None]


def download(cache: Path, mirror_list: Sequence[str], *, timeouts: Timeouts = DEFAULT_TIMEOUTS,
             progress: bool | FileProgress = True) -> None:
    """Fetch the MNIST files `cache` lacks, each verified before it lands there.

    `progress`: True draws a Rich progress bar on stderr, False nothing, and a
    function is called instead (e.g. by a full-screen app that owns the terminal).

    Raises FetchError (a DataError) when a file cannot be had from any mirror;
    files already verified stay, so the next attempt fetches only the rest.
    """
    todo = folder.missing(cache)
    with _progress_bar(progress, cache) as report_for:
        for name in todo:
            fetch_verified(name + ".gz", SHA256[name], cache, mirror_list, timeouts=timeouts,
                           progress=report_for(name + ".gz"))


@contextlib.contextmanager
def _progress_bar(enabled: bool | FileProgress, cache: Path) -> Iterator:
    """Yields a function giving each file its progress callback (None when disabled)."""
    if callable(enabled):
        callback = enabled
        yield lambda name: lambda done, total: callback(name, done, total)
        return
    if not enabled:
        yield lambda _name: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    console.print(f"aetui: downloading MNIST (about 11 MB) into {cache}")
    # Transient: the bars vanish when done; what stays is one line of outcome
    # (below on success, or the caller's message on failure).
    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                   transient=True)

    def report_for(name: str):
        task = bar.add_task(name, total=None)

        def report(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        return report

    with bar:
        yield report_for
    console.print("aetui: MNIST downloaded and verified (SHA-256)")
