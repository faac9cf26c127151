"""The run's history: a bounded store of snapshots the lab can scrub back through.

Every snapshot the lab receives is kept (without the weights and the loss curve,
which the live snapshot carries) until the store reaches its byte cap; then the
older half is thinned -- every other snapshot there is dropped -- so the start of
the run stays reachable while recent moments stay dense. Thinning again and again
leaves a spacing that grows with age. The store travels inside the checkpoint
(a thinned copy, float16) so `aetui --load` can scrub a finished run.
No Textual, no numba: numpy and the Snapshot record only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from aetui.boundaries import bounded_json
from aetui.training.checkpoint import json_default
from aetui.training.snapshots import LossTerms, Snapshot, frozen_copy

DEFAULT_CAP_MB = 200.0
MB = 2**20
CHECKPOINT_BUDGET = 16 * MB  # what a checkpoint may add for the history (float16)
RECORD_OVERHEAD = 2048  # bytes per snapshot for its settings dict and the record itself
_ARRAYS = ("rho_hat", "filters", "clean", "corrupted", "recon")
PREFIX = "history_"


def snapshot_nbytes(snap: Snapshot) -> int:
    """Bytes a stored snapshot holds: its arrays plus a fixed overhead."""
    return RECORD_OVERHEAD + sum(int(getattr(snap, name).nbytes) for name in _ARRAYS)


def for_storage(snap: Snapshot) -> Snapshot:
    """The snapshot as stored: without the weights (if it carries them) and without the
    loss curve and knob log (the live snapshot has the whole run's). No array is copied:
    snapshots hold read-only copies already."""
    out = replace(snap, curve=(), knob_log=())
    if getattr(out, "params", None) is not None:
        out = replace(out, params=None)
    return out


class SnapshotStore:
    """Snapshots in time order, at most `cap_bytes` of them (see the module doc).

    `entries[0]` is always the first snapshot ever added (thinning never drops it).
    """

    def __init__(self, cap_bytes: float = DEFAULT_CAP_MB * MB) -> None:
        if cap_bytes <= 0:
            raise ValueError(f"the history cap must be positive, got {cap_bytes}")
        self.cap_bytes = int(cap_bytes)
        self.entries: list[Snapshot] = []
        self.nbytes = 0
        self.added = 0  # snapshots ever added (thinned ones included)
        self.thinnings = 0

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, snap: Snapshot) -> Snapshot:
        """Store `snap` (stripped, see for_storage); returns what was stored. The same
        moment again (a paused trainer re-sends its step) replaces the last entry."""
        stored = for_storage(snap)
        last = self.entries[-1] if self.entries else None
        if last is not None and len(self.entries) > 1 and last.step == stored.step \
                and last.state == stored.state:
            self.entries.pop()
            self.nbytes -= snapshot_nbytes(last)
        self.entries.append(stored)
        self.nbytes += snapshot_nbytes(stored)
        self.added += 1
        while self.nbytes > self.cap_bytes and len(self.entries) > 2:
            self.thin()
        return stored

    def prepend(self, older: list[Snapshot]) -> None:
        """Put snapshots from before the first one in front (a loaded run's history)."""
        older = [for_storage(s) for s in older]
        self.entries[:0] = older
        self.nbytes += sum(snapshot_nbytes(s) for s in older)
        while self.nbytes > self.cap_bytes and len(self.entries) > 2:
            self.thin()

    def thin(self) -> None:
        """Drop every other snapshot in the older half (the first one stays)."""
        half = len(self.entries) // 2
        kept = self.entries[0:half:2]
        dropped = self.entries[1:half:2]
        self.entries[:half] = kept
        self.nbytes -= sum(snapshot_nbytes(s) for s in dropped)
        self.thinnings += 1

    def clear(self) -> None:
        self.entries.clear()
        self.nbytes = 0

    def index_of(self, snap: Snapshot | None) -> int | None:
        """The position of `snap` (by identity), or of the last one at or before its
        step when it was thinned away; None if the store is empty."""
        if not self.entries or snap is None:
            return None
        for i, s in enumerate(self.entries):
            if s is snap:
                return i
        before = [i for i, s in enumerate(self.entries) if s.step <= snap.step]
        return before[-1] if before else 0


# ----- inside a checkpoint --------------------------------------------------------

def to_arrays(entries: list[Snapshot], budget: int = CHECKPOINT_BUDGET) -> dict[str, np.ndarray]:
    """The snapshots as named arrays for a checkpoint (keys start with "history_"):
    `history_index` (JSON: one record per snapshot: step, epoch, state, settings, loss
    terms, units, array lengths) and one float16 array per kind, the snapshots' rows
    one after another. When they exceed `budget` bytes, a thinned copy: evenly spaced,
    the first and the last kept."""
    if not entries:
        return {}
    per = [max(1, snapshot_nbytes(s) // 2) for s in entries]  # float16 halves the arrays
    keep = len(entries)
    while keep > 2 and sum(per) * keep / len(entries) > budget:
        keep = max(2, int(keep * 0.9))
    picks = sorted(set(np.linspace(0, len(entries) - 1, keep).round().astype(int).tolist()))
    chosen = [entries[i] for i in picks]
    index = [{
        "step": s.step, "epoch": s.epoch, "state": s.state, "settings": s.settings,
        "train": _terms_row(s.train), "val": _terms_row(s.val),
        "units": list(s.filter_units), "k": int(s.rho_hat.shape[0]),
        "digits": int(s.clean.shape[0]), "n_in": int(s.n_in),
        "image_shape": list(s.image_shape), "message": s.message,
    } for s in chosen]
    out = {PREFIX + "index": np.array(json.dumps(index, default=json_default))}
    for name in _ARRAYS:
        rows = [np.asarray(getattr(s, name), np.float32).reshape(-1) for s in chosen]
        out[PREFIX + name] = np.concatenate(rows).astype(np.float16)
    return out


def from_arrays(arrays: Mapping[str, np.ndarray]) -> list[Snapshot]:
    """The snapshots stored by to_arrays (an empty list if there are none).

    The arrays come from a file: every record is checked (types, sizes, nesting: the
    index goes through the bounded JSON reader) and anything wrong raises ValueError,
    one line, never another exception."""
    if PREFIX + "index" not in arrays:
        return []
    raw = arrays[PREFIX + "index"]
    if not isinstance(raw, np.ndarray) or raw.ndim != 0 or raw.dtype.kind != "U":
        raise ValueError(f"{PREFIX}index is not a JSON string")
    index = bounded_json.loads(str(raw), max_depth=INDEX_DEPTH)  # JsonLimitError: a ValueError
    if not isinstance(index, list):
        raise ValueError(f"{PREFIX}index is not a list")
    data = {}
    for name in _ARRAYS:
        a = arrays.get(PREFIX + name)
        if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind not in "iuf":
            raise ValueError(f"{PREFIX}{name} is missing or not a 1-D array of numbers")
        with np.errstate(all="ignore"):
            data[name] = a.astype(np.float32)
    offsets = dict.fromkeys(_ARRAYS, 0)
    out: list[Snapshot] = []
    for rec in index:
        _check_record(rec)
        n_in, k, d, u = rec["n_in"], rec["k"], rec["digits"], len(rec["units"])
        sizes = {"rho_hat": k, "filters": u * n_in, "clean": d * n_in,
                 "corrupted": d * n_in, "recon": d * n_in}
        parts = {}
        for name in _ARRAYS:
            lo, hi = offsets[name], offsets[name] + sizes[name]
            if hi > data[name].size:
                raise ValueError(f"{PREFIX}{name} is shorter than its index says")
            parts[name] = data[name][lo:hi]
            offsets[name] = hi
        out.append(Snapshot(
            step=rec["step"], epoch=float(rec["epoch"]), state=rec["state"],
            samples_per_s=0.0, settings=dict(rec["settings"]),
            train=_terms(rec["train"]), val=_terms(rec["val"]),
            rho_hat=frozen_copy(parts["rho_hat"]), filter_units=tuple(rec["units"]),
            filters=frozen_copy(parts["filters"].reshape(u, n_in)),
            clean=frozen_copy(parts["clean"].reshape(d, n_in)),
            corrupted=frozen_copy(parts["corrupted"].reshape(d, n_in)),
            recon=frozen_copy(parts["recon"].reshape(d, n_in)),
            message=rec.get("message", ""), n_in=n_in,
            image_shape=tuple(rec.get("image_shape", (28, 28))),
        ))
    return out


INDEX_DEPTH = 4  # list > record > settings or units > a value
_MAX_SIDE = 1 << 16  # n_in, k, digits, units: far above what a run has


def _check_record(rec) -> None:
    """ValueError unless `rec` is an index record as to_arrays writes it."""
    def count(value, hi=_MAX_SIDE) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= hi

    def number(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and \
            abs(value) < 1e300

    def terms(row) -> bool:
        return row is None or (isinstance(row, list) and len(row) == 3
                               and all(number(v) for v in row))

    ok = (isinstance(rec, dict) and count(rec.get("step"), 2**53) and number(rec.get("epoch"))
          and isinstance(rec.get("state"), str) and isinstance(rec.get("settings"), dict)
          and terms(rec.get("train")) and terms(rec.get("val"))
          and isinstance(rec.get("units"), list) and len(rec["units"]) <= _MAX_SIDE
          and all(count(v) for v in rec["units"])
          and count(rec.get("k")) and count(rec.get("digits")) and count(rec.get("n_in"))
          and isinstance(rec.get("message", ""), str))
    shape = rec.get("image_shape", [28, 28]) if isinstance(rec, dict) else None
    ok = ok and isinstance(shape, list | tuple) and len(shape) == 2 and all(
        count(v) for v in shape) and shape[0] * shape[1] == rec["n_in"]
    if not ok:
        raise ValueError(f"a {PREFIX}index record is malformed")


def _terms_row(terms: LossTerms | None) -> list[float] | None:
    return None if terms is None else [terms.recon, terms.l2, terms.sparsity]


def _terms(row) -> LossTerms | None:
    return None if row is None else LossTerms(*(float(v) for v in row))
