"""Where aetui keeps things on a user's machine (XDG base directories)."""

import os
from pathlib import Path


def cache_home() -> Path:
    """`$XDG_CACHE_HOME/aetui`, by default `~/.cache/aetui`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "aetui"


def data_home() -> Path:
    """`$XDG_DATA_HOME/aetui`, by default `~/.local/share/aetui`."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "aetui"


def mnist_cache_dir() -> Path:
    """Where a verified MNIST download is kept."""
    return cache_home() / "mnist"


def numba_cache_dir() -> Path:
    """Where numba's compiled kernels are cached (never inside the source tree)."""
    return cache_home() / "numba"


def checkpoint_dir() -> Path:
    """Where the lab saves checkpoints unless told otherwise."""
    return data_home() / "checkpoints"


def ensure_numba_cache_dir() -> None:
    """Point numba's on-disk cache at aetui's cache unless the user chose one.

    Must run before numba is imported: numba reads the variable once.
    """
    if not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(numba_cache_dir())
