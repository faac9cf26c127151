"""Downloading MNIST: only ever from a local HTTP server on 127.0.0.1 here.

The server serves ../shared/mnist under /good/, and broken variants of it
under other prefixes. Every test is bounded: small timeouts, few files.
"""

from __future__ import annotations

import gzip
import http.server
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from aetui.data import load_dataset, mnist
from aetui.data.download import FetchError, Timeouts, fetch_verified
from aetui.errors import DataError

pytestmark = [pytest.mark.mnist, pytest.mark.timeout(60)]

LABELS = "t10k-labels-idx1-ubyte"
FAST = Timeouts(connect=0.5, read=0.5)


class _Handler(http.server.BaseHTTPRequestHandler):
    root: Path

    def do_GET(self) -> None:
        prefix, _, name = self.path.strip("/").partition("/")
        path = self.root / name
        if prefix == "missing" or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if prefix == "bad":  # valid gzip, wrong content
            body = gzip.compress(b"\x00\x00\x08\x01" + bytes(16))
        elif prefix not in ("good", "short", "nolength"):
            self.send_error(404)
            return
        self.send_response(200)
        if prefix != "nolength":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if prefix in ("short", "nolength"):  # the connection drops half-way
            body = body[: len(body) // 2]
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(mnist_dir):
    """Base URL of the local server; mirrors are f"{server}/good/" etc."""
    handler = type("Handler", (_Handler,), {"root": mnist_dir})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def silent_server():
    """A server that accepts connections (the kernel's backlog does) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty user cache; returns where MNIST goes in it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "aetui" / "mnist"


def files_in(path: Path) -> list[str]:
    """Everything in `path`, hidden temporary files included."""
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def test_download_into_an_empty_cache(server, cache):
    ds = load_dataset("mnist", mirrors=[f"{server}/good/"], timeouts=FAST, progress=True,
                      allow_fallback=False)
    assert ds.name == "mnist" and ds.source == str(cache) and ds.note is None
    assert ds.train_x.shape == (60000, 784) and ds.test_y.shape == (10000,)
    assert files_in(cache) == sorted(n + ".gz" for n in mnist.SHA256)
    # The next load reads the cache: no mirror needed.
    again = load_dataset("mnist", mirrors=[], allow_fallback=False)
    assert again.source == str(cache) and np.array_equal(again.test_y, ds.test_y)


def test_progress_can_go_to_a_callback(server, cache, mnist_dir):
    cache.mkdir(parents=True)
    for name in mnist.SHA256:
        if name != LABELS:
            (cache / f"{name}.gz").write_bytes((mnist_dir / f"{name}.gz").read_bytes())
    calls = []
    load_dataset("mnist", mirrors=[f"{server}/good/"], timeouts=FAST, allow_fallback=False,
                 progress=lambda name, done, total: calls.append((name, done, total)))
    size = (mnist_dir / f"{LABELS}.gz").stat().st_size
    assert calls[0] == (f"{LABELS}.gz", 0, size) and calls[-1] == (f"{LABELS}.gz", size, size)


def test_falls_back_to_the_second_mirror(server, tmp_path):
    path = fetch_verified(LABELS + ".gz", mnist.SHA256[LABELS], tmp_path,
                          [f"{server}/missing/", f"{server}/good"], timeouts=FAST)
    assert path == tmp_path / (LABELS + ".gz")
    assert gzip.decompress(path.read_bytes())[:4] == b"\x00\x00\x08\x01"
    assert files_in(tmp_path) == [LABELS + ".gz"]


def test_mirrors_come_from_the_environment(server, cache, monkeypatch):
    monkeypatch.setenv(mnist.MIRRORS_ENV, f"{server}/missing/, {server}/good/")
    assert mnist.mirrors() == [f"{server}/missing/", f"{server}/good/"]
    assert mnist.mirrors(["x"]) == ["x"]
    monkeypatch.delenv(mnist.MIRRORS_ENV)
    assert mnist.mirrors() == list(mnist.DEFAULT_MIRRORS)


def fetch_error(mirror: str, dest: Path) -> str:
    with pytest.raises(FetchError) as info:
        fetch_verified(LABELS + ".gz", mnist.SHA256[LABELS], dest, [mirror], timeouts=FAST)
    assert files_in(dest) == []  # nothing unverified is left behind
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{LABELS}.gz: download failed")
    return message


def test_checksum_mismatch_is_rejected(server, tmp_path):
    assert "bad/t10k-labels-idx1-ubyte.gz: checksum mismatch" in fetch_error(
        f"{server}/bad/", tmp_path)


def test_truncated_response_is_rejected(server, tmp_path):
    message = fetch_error(f"{server}/short/", tmp_path)
    assert "short/t10k-labels-idx1-ubyte.gz: truncated response" in message


def test_truncated_gzip_without_length_is_rejected(server, tmp_path):
    message = fetch_error(f"{server}/nolength/", tmp_path)
    assert "truncated response (the gzip stream ends early" in message


def test_http_error_is_reported(server, tmp_path):
    assert "missing/t10k-labels-idx1-ubyte.gz: HTTP 404" in fetch_error(
        f"{server}/missing/", tmp_path)


def test_refused_connection_is_reported(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    assert "refused" in fetch_error(f"http://127.0.0.1:{port}/", tmp_path).lower()


def test_a_server_that_never_answers_is_abandoned(silent_server, tmp_path):
    start = time.monotonic()
    message = fetch_error(silent_server, tmp_path)
    assert time.monotonic() - start < 5
    assert "timed out" in message


def test_failed_download_falls_back_to_builtin_digits(silent_server, cache):
    start = time.monotonic()
    ds = load_dataset("mnist", mirrors=[silent_server], timeouts=FAST, progress=False)
    assert time.monotonic() - start < 15
    assert ds.name == "digits" and ds.source == "built-in"
    assert "\n" not in ds.note
    assert "using the built-in digits" in ds.note and "127.0.0.1" in ds.note
    assert "timed out" in ds.note and len(ds.note) < 400
    assert "--data-dir" in ds.note and "AETUI_DATA_DIR" in ds.note and str(cache) in ds.note
    assert files_in(cache) == []


def test_failed_download_without_fallback_is_an_error(server, cache):
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("mnist", mirrors=[f"{server}/bad/"], timeouts=FAST, progress=False,
                     allow_fallback=False)
    assert files_in(cache) == []


def test_no_download_no_fallback(cache):
    with pytest.raises(DataError, match="MNIST not found and downloads are off"):
        load_dataset("mnist", allow_download=False, allow_fallback=False)
    ds = load_dataset("mnist", allow_download=False)
    assert ds.name == "digits" and "downloads are off" in ds.note


def test_partial_cache_fetches_only_what_is_missing(server, cache, mnist_dir):
    cache.mkdir(parents=True)
    for name in mnist.SHA256:
        if name != LABELS:
            (cache / f"{name}.gz").write_bytes((mnist_dir / f"{name}.gz").read_bytes())
    # Only the labels file can be had (from the good mirror): the rest must not be asked for.
    ds = load_dataset("mnist", mirrors=[f"{server}/good/"], timeouts=FAST, progress=False,
                      allow_fallback=False)
    assert ds.name == "mnist" and len(files_in(cache)) == 4


def test_search_order(server, cache, mnist_dir, tmp_path, monkeypatch):
    # --data-dir beats $AETUI_DATA_DIR, which beats the cache and the download.
    monkeypatch.setenv("AETUI_DATA_DIR", str(tmp_path / "nowhere"))
    assert load_dataset("mnist", data_dir=mnist_dir).source == str(mnist_dir)
    with pytest.raises(DataError, match=r"no such folder \(folder from \$AETUI_DATA_DIR\)"):
        load_dataset("mnist", mirrors=[f"{server}/good/"])
    monkeypatch.setenv("AETUI_DATA_DIR", str(mnist_dir))
    assert load_dataset("mnist", mirrors=[]).source == str(mnist_dir)
    assert files_in(cache) == []


def test_stale_temporary_files_are_cleared(server, tmp_path):
    import os

    stale = tmp_path / f".{LABELS}.gz.dead.part"
    fresh = tmp_path / f".{LABELS}.gz.live.part"  # another process may be writing it
    for part in (stale, fresh):
        part.write_bytes(b"partial")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fetch_verified(LABELS + ".gz", mnist.SHA256[LABELS], tmp_path, [f"{server}/good/"],
                   timeouts=FAST)
    assert files_in(tmp_path) == sorted([fresh.name, LABELS + ".gz"])
