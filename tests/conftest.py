"""Test-wide setup: numba's cache in a temporary folder, and where real MNIST is."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before anything imports numba: never write compiled code into the source tree.
# A developer may keep compiled kernels between runs with AETUI_TEST_NUMBA_CACHE
# (a folder of their own); CI leaves it unset and compiles into a fresh temporary one.
_KEPT_CACHE = os.environ.get("AETUI_TEST_NUMBA_CACHE")
_NUMBA_CACHE = _KEPT_CACHE or tempfile.mkdtemp(prefix="aetui-test-numba-")
os.environ["NUMBA_CACHE_DIR"] = _NUMBA_CACHE
# Keep the user's real caches out of reach of every test.
_HOME = tempfile.mkdtemp(prefix="aetui-test-home-")
os.environ["XDG_CACHE_HOME"] = os.path.join(_HOME, "cache")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ.pop("AETUI_DATA_DIR", None)
os.environ.pop("AETUI_MNIST_MIRRORS", None)

REPO_ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = Path(os.environ.get("AETUI_TEST_MNIST", REPO_ROOT.parent / "shared" / "mnist"))


def pytest_sessionfinish(session, exitstatus):
    if not _KEPT_CACHE:
        shutil.rmtree(_NUMBA_CACHE, ignore_errors=True)
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The read-only folder with the real MNIST IDX files (../shared/mnist)."""
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST not found at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture
def tiny_dataset(request):
    """(train_x, train_y, test_x, test_y): random uint8 images and labels, seed 0; as
    many as the test module's TINY_SIZES says (default 400 training, 100 test)."""
    import numpy as np

    n_train, n_test = getattr(request.module, "TINY_SIZES", (400, 100))
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (n_train, 784), dtype=np.uint8),
            rng.integers(0, 10, n_train).astype(np.uint8),
            rng.integers(0, 256, (n_test, 784), dtype=np.uint8),
            rng.integers(0, 10, n_test).astype(np.uint8))


@pytest.fixture
def tiny_data(monkeypatch):
    """Commands in this process load crafted.tiny_dataset() (honouring --limit) instead
    of a real dataset."""
    from crafted import tiny_dataset

    import aetui.data
    import aetui.data.load

    data = tiny_dataset()

    def load(*_args, limit=None, **_kwargs):
        if limit is None:
            return data
        return type(data)(data.train_x[:limit], data.train_y[:limit], data.test_x,
                          data.test_y, data.name, data.source)

    monkeypatch.setattr(aetui.data, "load_dataset", load)
    monkeypatch.setattr(aetui.data.load, "load_dataset", load)  # load_dataset_for's
    return data
