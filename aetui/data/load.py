"""The one entry point: which digits to use, found where, and what to say about it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aetui import paths
from aetui.config import is_patches
from aetui.data import digits, folder, mnist, patches
from aetui.data.download import DEFAULT_TIMEOUTS, FetchError, Timeouts
from aetui.data.idx import UnreadableData
from aetui.errors import ConfigError, DataError

DATA_DIR_ENV = "AETUI_DATA_DIR"
NAMES = ("mnist", "digits")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test images; unpacks as `train_x, train_y, test_x, test_y`.

    Digits are N × 784 uint8 (0 = background, 255 = ink), labels N uint8.
    Natural-image patches are N × n float32, already prepared (whitened,
    scaled), with no labels (`train_y`, `test_y` None). `image_shape` is how
    a row is drawn. `name` is "mnist", "digits", "patches", or the folder's
    name for another MNIST-format dataset; `source` the folder read or
    "built-in"; `note` None, or one line to show the user once (the lab fell
    back to the built-in digits).
    """

    train_x: np.ndarray
    train_y: np.ndarray | None
    test_x: np.ndarray
    test_y: np.ndarray | None
    name: str
    source: str
    note: str | None = None
    image_shape: tuple[int, int] = (28, 28)

    @property
    def labelled(self) -> bool:
        return self.train_y is not None

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.train_x, self.train_y, self.test_x, self.test_y))


def as_float(images: np.ndarray) -> np.ndarray:
    """A batch as float32: uint8 pixels scaled into [0, 1], float rows (patches) as they are."""
    if images.dtype != np.uint8:
        return images.astype(np.float32, copy=False)
    return images.astype(np.float32) * np.float32(1.0 / 255.0)


def image_layout(settings) -> tuple[tuple[int, int], int]:
    """How a row of this run's data is drawn, and its colour planes: ((h, w), channels)."""
    if not is_patches(settings.dataset):
        return (28, 28), 1
    options = patches.PatchOptions.from_settings(settings)
    return options.image_shape, options.channels


def load_dataset_for(settings, **kwargs) -> Dataset:
    """The dataset a Settings names (patch options included); kwargs as load_dataset's."""
    return load_dataset(settings.dataset, data_dir=settings.data_dir, seed=settings.seed,
                        limit=settings.limit,
                        patch_options=patches.PatchOptions.from_settings(settings), **kwargs)


def load_dataset(name: str = "mnist", data_dir: str | Path | None = None, seed: int = 0,
                 limit: int | None = None, allow_download: bool = True,
                 allow_fallback: bool = True, progress: bool | mnist.FileProgress = True, *,
                 mirrors: Sequence[str] | None = None,
                 timeouts: Timeouts | None = None,
                 patch_options: patches.PatchOptions | None = None) -> Dataset:
    """The digits to train on.

    `name="digits"` gives the built-in digits (deterministic from `seed`).
    `name="mnist"` looks, in order, in `data_dir`, in $AETUI_DATA_DIR, in the
    cache ($XDG_CACHE_HOME/aetui/mnist), then downloads MNIST into the cache
    from `mirrors` (default: $AETUI_MNIST_MIRRORS, else the public mirrors),
    with a progress bar on stderr when `progress` is True (or calling
    `progress(file_name, bytes_done, bytes_total_or_None)` when it is a
    function, for an app that owns the terminal). A folder given by argument
    or environment must hold a valid MNIST-format dataset (any such dataset,
    e.g. Fashion-MNIST); it is never replaced by something else. When MNIST is
    in none of the other places and cannot be downloaded, `allow_fallback`
    gives the built-in digits with a `note` saying so; otherwise DataError.
    `limit` keeps the first `limit` training images.
    `name="patches"` (or "patches:PATH") gives natural-image patches made as
    `patch_options` say (default PatchOptions()); nothing is downloaded.
    """
    if is_patches(name):
        ds = _patches(name.partition(":")[2] or None, patch_options or patches.PatchOptions())
    elif name not in NAMES:
        raise ConfigError("--dataset", f"must be one of {', '.join(NAMES)}, got {name!r}")
    elif name == "digits":
        ds = _digits(seed)
    elif data_dir is not None:
        ds = _from_folder(Path(data_dir).expanduser())
    elif os.environ.get(DATA_DIR_ENV):
        env_dir = Path(os.environ[DATA_DIR_ENV]).expanduser()
        try:
            ds = _from_folder(env_dir)
        except DataError as exc:
            raise DataError(f"{exc} (folder from ${DATA_DIR_ENV})") from None
    else:
        ds = _from_cache_or_download(seed, allow_download, allow_fallback, progress,
                                     mnist.mirrors(mirrors), timeouts or DEFAULT_TIMEOUTS)
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit", f"must be at least 1, got {limit}")
        ds = Dataset(ds.train_x[:limit], None if ds.train_y is None else ds.train_y[:limit],
                     ds.test_x, ds.test_y, ds.name, ds.source, ds.note, ds.image_shape)
    return ds


def _patches(path: str | None, options: patches.PatchOptions) -> Dataset:
    if path is None:
        photos, source = patches.bundled_photos(options.gray), "scikit-image's photographs"
    else:
        photos, source = patches.photos_from_path(path, options.gray), path
    made = patches.make_patches(photos, options)
    return Dataset(made.train, None, made.test, None, "patches", source,
                   image_shape=made.image_shape)


def _digits(seed: int, note: str | None = None) -> Dataset:
    train_x, train_y, test_x, test_y = digits.builtin(seed)
    return Dataset(train_x, train_y, test_x, test_y, "digits", "built-in", note)


def _from_folder(path: Path) -> Dataset:
    """Any MNIST-format dataset: structure checked; named "mnist" when it is MNIST."""
    data = folder.load(path)
    name = "mnist" if mnist.is_mnist(data.sha256) else (path.resolve().name or "dataset")
    return Dataset(data.train_x, data.train_y, data.test_x, data.test_y, name, str(path))


def _from_cache_or_download(seed: int, allow_download: bool, allow_fallback: bool,
                            progress: bool | mnist.FileProgress, mirror_list: list[str],
                            timeouts: Timeouts) -> Dataset:
    cache = paths.mnist_cache_dir()
    try:
        return _from_cache(cache, allow_download, progress, mirror_list, timeouts)
    except (FetchError, UnreadableData, PermissionError) as exc:
        # A cache we may not read or write is as good as an empty one.
        if not allow_fallback:
            raise DataError(f"{cache}: MNIST cannot be had ({_reason(exc)})") from None
        return _digits(seed, _fallback_note(_reason(exc), cache))
    except _DownloadsOff:
        if not allow_fallback:
            raise DataError(f"{cache}: MNIST not found and downloads are off (pass "
                            f"--data-dir DIR or set ${DATA_DIR_ENV})") from None
        return _digits(seed, _fallback_note("downloads are off", cache))


class _DownloadsOff(Exception):
    pass


def _from_cache(cache: Path, allow_download: bool, progress, mirror_list: list[str],
                timeouts: Timeouts) -> Dataset:
    if folder.missing(cache):
        if not allow_download:
            raise _DownloadsOff
        mnist.download(cache, mirror_list, timeouts=timeouts, progress=progress)
    data = folder.load(cache)
    mnist.verify(data)  # the cache only ever holds MNIST; anything else is damage
    return Dataset(data.train_x, data.train_y, data.test_x, data.test_y, "mnist", str(cache))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FetchError):
        return f"download failed: {exc.summary()}"
    if isinstance(exc, PermissionError):
        return f"cannot use the cache: {exc.strerror or exc}"
    return f"cannot use the cache: {exc}"


def _fallback_note(reason: str, cache: Path) -> str:
    return (f"MNIST is not on this machine ({reason}); using the built-in digits instead. "
            f"To use MNIST, pass --data-dir DIR or set ${DATA_DIR_ENV} to a folder with its "
            f"four IDX files, or put them in {cache}.")
