"""Fetching a gzipped file from mirrors in turn, verified before it is kept.

The bytes go to a hidden temporary file next to the target while the
uncompressed content is hashed on the fly; only when the length, the gzip
stream and the SHA-256 of the uncompressed bytes are all right is the file
renamed into place (atomic on one filesystem). So an interrupted, truncated or
wrong download never leaves a file that looks valid.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aetui.errors import DataError
from aetui.files import fsync_folder, umask_mode

CHUNK = 1 << 16
# No file aetui fetches is near this (MNIST's largest is 9.9 MB): a bound on what a
# misbehaving mirror can make us write to disk.
MAX_BYTES = 100 << 20


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection (TCP + TLS), and for each read once connected.

    Name resolution (DNS) is not covered: the system resolver has its own timeout.
    """

    connect: float = 3.0
    read: float = 5.0


# Short on purpose: an offline machine should fall back to the built-in digits in
# seconds, not minutes; a live mirror answers well within them.
DEFAULT_TIMEOUTS = Timeouts()


class FetchError(DataError):
    """A file could not be had from any mirror (network, HTTP, length or checksum).

    `failures` lists (url, what went wrong) for each mirror tried.
    """

    def __init__(self, message: str, failures: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.failures = list(failures)

    def summary(self) -> str:
        """Short: 'host: problem; host: problem' (or the message when no mirror was tried)."""
        if not self.failures:
            return str(self)
        return "; ".join(f"{urllib.parse.urlsplit(url).netloc or url}: {why}"
                         for url, why in self.failures)


class _MirrorFailed(Exception):
    """One mirror failed; the message says how, for the summary of all attempts."""


# Progress callback: (bytes received so far, total bytes or None).
Progress = Callable[[int, int | None], None]


def fetch_verified(filename: str, sha256: str, dest: Path, mirrors: Sequence[str], *,
                   timeouts: Timeouts = DEFAULT_TIMEOUTS, progress: Progress | None = None) -> Path:
    """Download `filename` (gzipped) from the first mirror that serves it intact.

    `sha256` is the hex digest of the *uncompressed* content. Returns the path
    of the verified file, `dest / filename`. Raises FetchError naming the file
    and what went wrong at every mirror; nothing is left in `dest` then.
    """
    if not mirrors:
        raise FetchError(f"{filename}: no download mirrors configured")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"{dest}: cannot create the folder ({exc.strerror or exc})") from None
    _remove_stale_parts(dest, filename)
    failures = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        try:
            return _fetch_one(url, dest / filename, sha256, timeouts, progress)
        except _MirrorFailed as exc:
            failures.append((url, str(exc)))
    tried = "; ".join(f"{url}: {why}" for url, why in failures)
    raise FetchError(f"{filename}: download failed from every mirror ({tried})", failures)


def _fetch_one(url: str, target: Path, sha256: str, timeouts: Timeouts,
               progress: Progress | None) -> Path:
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".part")
    except OSError as exc:
        raise _MirrorFailed(f"cannot write in {target.parent} ({exc.strerror or exc})") \
            from None
    tmp = Path(tmp_name)
    try:
        # mkstemp's files are private (0600); the data files are ordinary user files.
        os.chmod(tmp, umask_mode())
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, timeouts, progress)
            out.flush()
            os.fsync(out.fileno())
        if digest != sha256:
            raise _MirrorFailed(f"checksum mismatch (SHA-256 of the uncompressed content is "
                                f"{digest[:12]}…, expected {sha256[:12]}…)")
        os.replace(tmp, target)
        fsync_folder(target.parent)
        return target
    except OSError as exc:  # the disk, not the mirror: full, read-only, removed...
        raise _MirrorFailed(f"cannot write {target} ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _remove_stale_parts(dest: Path, filename: str, age: float = 3600.0) -> None:
    """Delete temporary files of `filename` left by a killed download over `age` s ago
    (younger ones may belong to a download running in another process)."""
    now = time.time()
    for part in dest.glob(f".{filename}.*.part"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > age:
                part.unlink()


def _stream(url: str, out, timeouts: Timeouts, progress: Progress | None) -> str:
    """Copy the body at `url` into `out`; return the SHA-256 of its gunzipped content."""
    gunzip = _GunzipHash()
    try:
        with _opener(timeouts.read).open(url, timeout=timeouts.connect) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            if progress:
                progress(0, total)
            while chunk := response.read(CHUNK):
                out.write(chunk)
                gunzip.update(chunk)
                received += len(chunk)
                if received > MAX_BYTES:
                    raise _MirrorFailed(f"response larger than {MAX_BYTES >> 20} MB")
                if progress:
                    progress(received, total)
    except urllib.error.HTTPError as exc:
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _MirrorFailed(_reason(exc.reason, timeouts)) from None
    except TimeoutError as exc:
        raise _MirrorFailed(_reason(exc, timeouts)) from None
    except http.client.IncompleteRead as exc:
        raise _MirrorFailed(f"truncated response (the connection closed with "
                            f"{exc.expected:,} bytes still to come)") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _MirrorFailed(f"{type(exc).__name__}: {exc}") from None
    except zlib.error as exc:
        raise _MirrorFailed(f"not valid gzip data ({exc})") from None
    if total is not None and received != total:
        raise _MirrorFailed(f"truncated response ({received:,} of {total:,} bytes)")
    if not gunzip.complete:
        raise _MirrorFailed(f"truncated response (the gzip stream ends early after "
                            f"{received:,} bytes)")
    return gunzip.hexdigest()


def _reason(reason: object, timeouts: Timeouts) -> str:
    if isinstance(reason, TimeoutError):
        return (f"timed out (no answer within {timeouts.connect:g} s to connect or "
                f"{timeouts.read:g} s to read)")
    return str(getattr(reason, "strerror", None) or reason)


class _GunzipHash:
    """SHA-256 of the gunzipped content of a gzip stream fed in pieces (multi-member too)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._seen_member = False

    def update(self, data: bytes) -> None:
        while data:
            self._seen_member = True
            self._sha.update(self._inflate.decompress(data))
            if not self._inflate.eof:
                return
            # A gzip file may be several members back to back; start the next one.
            data = self._inflate.unused_data
            if data:
                self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)

    @property
    def complete(self) -> bool:
        return self._seen_member and self._inflate.eof

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _opener(read_timeout: float) -> urllib.request.OpenerDirector:
    """A urllib opener whose sockets wait at most `read_timeout` s per read once connected
    (urlopen's own timeout then bounds only the connection)."""
    return urllib.request.build_opener(_TimedHTTPHandler(read_timeout),
                                       _TimedHTTPSHandler(read_timeout))


def _with_read_timeout(http_class: type, read_timeout: float) -> type:
    class TimedConnection(http_class):
        def connect(self) -> None:
            super().connect()
            self.sock.settimeout(read_timeout)

    return TimedConnection


class _TimedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_with_read_timeout(http_class, self.read_timeout), req,
                               **kwargs)


class _TimedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_with_read_timeout(http_class, self.read_timeout), req,
                               **kwargs)
