"""Issue 17: data files and caches -- sizes checked before reading or inflating, and
permission problems in the cache fall back as missing files do."""

from __future__ import annotations

import gzip
import os
import stat
import struct
import tracemalloc
from pathlib import Path

import pytest

from aetui.cli import main
from aetui.data import folder, idx, load_dataset
from aetui.errors import DataError

IMAGES = "train-images-idx3-ubyte"


def _deny_under(monkeypatch, root: Path, method: str) -> None:
    """Path.<method> raises PermissionError under `root`, as for a folder or files of
    another user (simulated: chmod means nothing to root, who runs some CI)."""
    real = getattr(Path, method)

    def denied(self, *args, **kwargs):
        if str(self).startswith(str(root)):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, denied)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "cache" / "aetui" / "mnist"
    path.mkdir(parents=True)
    return path


# ----- 8: caches and --data-dir without permission ----------------------------------------


def test_an_unsearchable_cache_falls_back_to_the_builtin_digits(cache, monkeypatch):
    _deny_under(monkeypatch, cache, "is_file")
    ds = load_dataset("mnist", mirrors=[])
    assert ds.name == "digits"
    assert "cannot use the cache" in ds.note and "Permission denied" in ds.note


def test_unreadable_cache_files_fall_back_to_the_builtin_digits(cache, monkeypatch):
    for name in folder.FILES.values():
        (cache / f"{name}.gz").write_bytes(b"")
    _deny_under(monkeypatch, cache, "read_bytes")
    ds = load_dataset("mnist", mirrors=[])
    assert ds.name == "digits" and "cannot use the cache" in ds.note


def test_an_unwritable_cache_falls_back_to_the_builtin_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    real = Path.mkdir

    def denied(self, *args, **kwargs):
        if "cache" in str(self):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", denied)
    ds = load_dataset("mnist", mirrors=["http://127.0.0.1:9/"])
    assert ds.name == "digits" and "Permission denied" in ds.note


def test_an_unreadable_data_dir_is_one_line(tmp_path, monkeypatch, capsys):
    data_dir = tmp_path / "mine"
    data_dir.mkdir()
    _deny_under(monkeypatch, data_dir, "is_file")
    code = main(["train", "--data-dir", str(data_dir), "--steps", "1",
                 "--out", str(tmp_path / "o.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Permission denied" in err, err


# ----- 9: header dimensions that overflow int64 ----------------------------------------------


@pytest.mark.parametrize("dims", [(2**16, 2**16, 2**32 - 1), (2**32 - 1,) * 3])
def test_header_dimensions_beyond_the_limit_are_refused(tmp_path, dims):
    path = tmp_path / IMAGES
    path.write_bytes(struct.pack(">I3I", 0x0803, *dims) + bytes(64))
    with pytest.raises(DataError, match="limit") as info:
        idx.read_images(path)
    message = str(info.value)
    # The true byte count, not one wrapped around int64.
    assert f"= {dims[0] * dims[1] * dims[2]:,} bytes" in message


# ----- 11: a gzip bomb is not inflated ---------------------------------------------------


def test_a_gzip_bomb_stops_inflating_at_the_header_size(tmp_path):
    path = tmp_path / f"{IMAGES}.gz"
    chunk = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(struct.pack(">I3I", 0x0803, 10, 28, 28))  # promises 7,840 bytes
        for _ in range(100):  # ... then 100 MB of zeros
            fh.write(chunk)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="inconsistent dimensions"):
            idx.read_images(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"{peak:,} bytes allocated while reading a 1 MB file"


def test_a_data_file_that_is_a_fifo_is_refused(tmp_path):
    path = tmp_path / IMAGES
    os.mkfifo(path)
    with pytest.raises(DataError, match="not a regular file"):
        idx.read_images(path)


# ----- 13: downloaded files follow the umask -----------------------------------------------


def test_downloaded_files_follow_the_umask(tmp_path, mnist_dir):
    import http.server
    import threading

    from aetui.data import mnist
    from aetui.data.download import Timeouts, fetch_verified

    name = "t10k-labels-idx1-ubyte"
    handler = http.server.SimpleHTTPRequestHandler
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: handler(*a, directory=str(mnist_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    old = os.umask(0o022)
    try:
        path = fetch_verified(name + ".gz", mnist.SHA256[name], tmp_path / "dl",
                              [f"http://127.0.0.1:{server.server_address[1]}/"],
                              timeouts=Timeouts(connect=2, read=5))
    finally:
        os.umask(old)
        server.shutdown()
        server.server_close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
