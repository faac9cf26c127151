"""The lab string: one line that holds a whole run, so that it can be shared and replayed.

Format (README "The lab string"): ``ae1.PAYLOAD.CHECK`` where

- ``ae1`` names the format version (not the aetui version);
- PAYLOAD is base64url (no padding) of zlib-compressed JSON:
  ``{"v": aetui version, "cpu": where it ran, "d": [data name, content hash],
  "s": {every setting but paths}, "k": [[step, name, new value], ...], "n": step}``;
- CHECK is base64url of the first 6 bytes of SHA-256 over ``ae1.PAYLOAD``.

Only URL-safe characters (A-Z a-z 0-9 - _ .). Decoding parses JSON and nothing
else (never pickle or eval), and checks every value through Settings, so a
changed, cut or hand-made string is refused with one line naming the problem.
Settings are taken generically from the Settings dataclass: an option added
there is carried without touching this module. Paths are left out (a path means
nothing on another machine); a folder dataset is named by its folder's name and
recognised by its content hash.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import platform
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from aetui import __version__
from aetui.boundaries import bounded_json
from aetui.config import MAX_THREADS, Settings, coerce, field_names, option_name
from aetui.errors import AetuiError, ConfigError

FORMAT = "ae1"
_CHECK_BYTES = 6
_MAX_JSON = 1 << 20  # a string that inflates beyond 1 MiB is not one of ours
_MAX_DEPTH = 4  # payload > "k" > one change > its value (a scalar): 3 levels
# Knob events a replay cannot carry out: a new k needs new weights (the lab's `k` starts
# a new run, which no string continues), and the data are loaded once, at step 0.
NOT_REPLAYABLE = ("hidden", "dataset", "limit")
# Each event cuts the replay's chunk there: 50,000 made a 5,000-step replay take 75 s
# instead of 1 s. A lab session logs tens to hundreds.
MAX_EVENTS = 10_000


NOISE_STREAMS = (1, 2)  # engine.NOISE_STREAMS (this module loads no numba)
MAX_SPLIT = MAX_THREADS  # the --threads ceiling: any run's split reads back


class LabStringError(AetuiError):
    """A lab string that cannot be decoded; the message names what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(f"lab string: {message}")


@dataclass(frozen=True)
class KnobEvent:
    """One logged change: setting `name` became `value` at the start of update `step` + 1."""

    step: int
    name: str
    value: Any


@dataclass(frozen=True)
class LabRecord:
    """What a lab string holds, decoded and checked."""

    settings: Settings  # the run's settings at step 0 (paths left out)
    changes: tuple[KnobEvent, ...]  # in the order they were applied
    step: int  # updates done when the string was taken
    data_name: str  # "mnist", "digits", a folder's name …
    data_hash: str  # content_hash() of the training images
    version: str  # the aetui version that made it
    cpu: str  # cpu_tag() where it ran
    # The threads the run's steps were split for (engine.parts_for): the split, not
    # the threads that run it, fixes the bits, so a replay splits the same way.
    split: int = 1
    # Where the run's corruption came from (engine.NOISE_STREAMS): 1, the serial stream
    # of strings made before the counter stream (they hold no "r"); 2, the counter one.
    stream: int = 1
    # The run's first updates trained on the reference path (engine/reference.py) while
    # the kernels compiled: a replay takes it for as many (0 in older strings).
    reference: int = 0

    def settings_at(self, step: int) -> Settings:
        """The settings in force after every change logged at or before `step`."""
        s = self.settings
        for change in self.changes:
            if change.step <= step:
                s = s.replace(**{change.name: change.value})
        return s


def path_fields() -> tuple[str, ...]:
    """Settings that hold a filesystem path: never put in a string."""
    return tuple(n for n in field_names() if n.endswith(("_dir", "_path", "_file")))


def cpu_tag() -> str:
    """The machine and the CPU model numba compiles for: different ones may round
    differently (other vector widths, fused multiply-adds)."""
    try:
        from llvmlite import binding

        model = binding.get_host_cpu_name()
    except Exception:  # llvmlite comes with numba; without it, the machine alone
        model = "?"
    return f"{platform.machine()}-{model}"


def content_hash(*arrays: np.ndarray) -> str:
    """A short fingerprint of the data a run saw (shapes, dtypes and bytes)."""
    digest = hashlib.sha256()
    for array in arrays:
        a = np.ascontiguousarray(array)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(memoryview(a).cast("B"))
    return digest.hexdigest()[:16]


def data_label(dataset_value: str) -> str:
    """A dataset setting without any path in it (`patches:/home/x/pics` -> `patches`)."""
    return str(dataset_value).split(":", 1)[0]


def encode(record: LabRecord) -> str:
    """The one-line string of `record`."""
    settings = {k: v for k, v in record.settings.to_dict().items() if k not in path_fields()}
    if "dataset" in settings:
        settings["dataset"] = data_label(settings["dataset"])
    payload = {
        "v": record.version,
        "cpu": record.cpu,
        "d": [record.data_name, record.data_hash],
        "s": settings,
        "k": [[c.step, c.name, c.value] for c in record.changes],
        "n": record.step,
        "t": record.split,
        "r": record.stream,
        "w": record.reference,
    }
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    body = _b64(zlib.compress(text.encode(), 9))
    head = f"{FORMAT}.{body}"
    return f"{head}.{_check(head)}"


MAX_STRING_CHARS = 4 << 20  # a lab string given in a file or on stdin


def read_argument(value: str) -> str:
    """The lab string an `--lab` value names: the string itself, `@FILE` (a file holding
    it: strings longer than a command line takes) or `-` (standard input). Reads at most
    MAX_STRING_CHARS; LabStringError (one line) when the file cannot be read."""
    import sys

    if value != "-" and not value.startswith("@"):
        return value
    where = "standard input" if value == "-" else value[1:]
    try:
        if value == "-":
            text = sys.stdin.read(MAX_STRING_CHARS + 1)
        else:
            from pathlib import Path

            path = Path(where).expanduser()
            if not path.is_file():  # a FIFO or /dev/zero would block or never end
                raise LabStringError(f"{where}: not a regular file")
            with path.open(encoding="utf-8") as fh:
                text = fh.read(MAX_STRING_CHARS + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise LabStringError(f"cannot read {where} ({getattr(exc, 'strerror', None) or exc})"
                             ) from None
    if len(text) > MAX_STRING_CHARS:
        raise LabStringError(f"{where}: more than {MAX_STRING_CHARS:,} characters")
    return text


def decode(text: str) -> LabRecord:
    """The record in a string made by encode(); LabStringError (one line) if it is not one."""
    text = text.strip()
    if not text:
        raise LabStringError("empty")
    parts = text.split(".")
    if not parts[0].startswith("ae") or not all(_is_b64url(p) for p in parts):
        raise LabStringError("not a lab string (it starts with 'ae1.' and holds only "
                             "A-Z a-z 0-9 - _ .)")
    if parts[0] != FORMAT:
        raise LabStringError(f"bad version {parts[0]!r} (this aetui {__version__} reads "
                             f"{FORMAT!r})")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise LabStringError("truncated (expected ae1.PAYLOAD.CHECK)")
    head = f"{parts[0]}.{parts[1]}"
    if parts[2] != _check(head):
        raise LabStringError("bad checksum (the string was changed or cut short; copy it "
                             "again)")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(_unb64(parts[1]), _MAX_JSON)
        if inflater.unconsumed_tail:
            raise LabStringError("payload too large")
        payload = bounded_json.loads(raw, max_chars=_MAX_JSON, max_depth=_MAX_DEPTH)
    except (binascii.Error, zlib.error, ValueError) as exc:  # JsonLimitError included
        raise LabStringError(f"unreadable payload ({exc})") from None
    return _record(payload)


def _record(payload: Any) -> LabRecord:
    """Check the decoded JSON field by field (the checksum says intact, not trustworthy)."""
    if not isinstance(payload, dict):
        raise LabStringError("payload is not an object")
    for key in ("v", "d", "s", "k", "n"):
        if key not in payload:
            raise LabStringError(f"payload lacks {key!r}")
    version, cpu = payload["v"], payload.get("cpu", "?")
    data = payload["d"]
    if not (isinstance(version, str) and isinstance(cpu, str) and isinstance(data, list)
            and len(data) == 2 and all(isinstance(x, str) for x in data)):
        raise LabStringError("bad header (version, cpu or data)")
    if not isinstance(payload["s"], dict):
        raise LabStringError("settings are not an object")
    _refuse_paths(payload["s"])
    try:
        settings = Settings.from_dict(payload["s"], source="settings")
    except ConfigError as exc:
        raise LabStringError(f"out-of-range or unknown setting: {exc}") from None
    step = payload["n"]
    if not _count(step):
        raise LabStringError(f"bad step count {step!r}")
    changes = _changes(payload["k"], settings, step)
    split = payload.get("t", 1)  # strings made before steps were split: one part
    if not (_count(split) and 1 <= split <= MAX_SPLIT):
        raise LabStringError(f"bad thread split {split!r}")
    stream = payload.get("r", 1)  # strings made before the counter stream: the serial one
    if stream not in NOISE_STREAMS or isinstance(stream, bool):
        raise LabStringError(f"bad noise stream {stream!r}")
    reference = payload.get("w", 0)  # strings made before the reference path: none
    if not (_count(reference) and reference <= step):
        raise LabStringError(f"bad reference step count {reference!r}")
    return LabRecord(settings, changes, step, data[0], data[1], version, cpu, split, stream,
                     reference)


def _changes(rows: Any, settings: Settings, step: int) -> tuple[KnobEvent, ...]:
    if not isinstance(rows, list):
        raise LabStringError("the knob log is not a list")
    if len(rows) > MAX_EVENTS:
        raise LabStringError(f"{len(rows):,} knob changes, more than the {MAX_EVENTS:,} a "
                             f"string may hold (each cuts the replay's chunks)")
    known = set(field_names()) - set(path_fields()) - set(NOT_REPLAYABLE)
    events: list[KnobEvent] = []
    current, last = settings, 0
    for i, row in enumerate(rows, 1):
        if not (isinstance(row, list) and len(row) == 3 and _count(row[0])
                and isinstance(row[1], str)):
            raise LabStringError(f"knob change {i} is malformed")
        at, name, value = row
        if name in NOT_REPLAYABLE:
            raise LabStringError(f"knob change {i}: {name} cannot change during a run (a "
                                 f"string that changes it was not made by aetui)")
        if name not in known:
            raise LabStringError(f"knob change {i}: unknown setting {name!r}")
        if at < last or at > step:
            raise LabStringError(f"knob change {i}: step {at} out of order (after {last}, "
                                 f"up to {step})")
        try:
            value = coerce(name, value)
            current = current.replace(**{name: value})
        except ConfigError as exc:
            raise LabStringError(f"knob change {i} at step {at}: out-of-range value: "
                                 f"{exc}") from None
        events.append(KnobEvent(at, name, value))
        last = at
    return tuple(events)


def _refuse_paths(settings: dict) -> None:
    """A string names its data, never where they are: a path in it would make aetui read
    a folder the sender chose (README "Limits and safety"). Refused, not ignored."""
    for name in path_fields():
        if settings.get(name) is not None:
            raise LabStringError(f"holds a path ({name}): strings never do; pass "
                                 f"{option_name(name)} yourself")
    dataset = settings.get("dataset")
    if isinstance(dataset, str) and ":" in dataset:
        raise LabStringError(f"holds a path (dataset {dataset.split(':', 1)[0]}:…): strings "
                             f"never do; pass --dataset patches:PATH yourself")


def exactness_notes(record: LabRecord, data_hash: str) -> list[str]:
    """Why a replay of `record` here may not give the same float32 weights (empty if none)."""
    notes = []
    if record.data_hash != data_hash:
        notes.append(f"the data differ ({record.data_name} content {record.data_hash}, "
                     f"here {data_hash})")
    if record.version != __version__:
        notes.append(f"made by aetui {record.version}, this is {__version__}")
    here = cpu_tag()
    if record.cpu != here:
        notes.append(f"made on {record.cpu}, this is {here}")
    return notes


def initial_settings(current: Settings, log: list[tuple[str, Any]]) -> Settings:
    """Undo `log` [(name, old value) …, oldest first] from `current`: the settings at step 0.

    Unvalidated on the way (each state was valid when it happened), checked at the end."""
    s = current
    for name, old in reversed(log):
        s = dataclasses.replace(s, **{name: old})
    return s.validate()


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check(head: str) -> str:
    return _b64(hashlib.sha256(head.encode()).digest()[:_CHECK_BYTES])


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _is_b64url(part: str) -> bool:
    return set(part) <= _ALPHABET
