"""Checkpoints: one `.npz` that plain `numpy.load` reads, without pickle or aetui.

Arrays: W (n_in×k), b (k), c (n_in), V (k×n_in, untied only), optimizer state
(`opt_W`, `opt_b`, `opt_c`, `opt_V`: stacked first/second moments), `order`
(this epoch's image order). JSON strings: `config` (every setting), `history`
(per-epoch metrics), `knob_log` (changes with the step they took effect) and
`state` (step, epoch, position in the epoch, optimizer step count, and the
random generators' states, so that a resumed run follows the same trajectory);
`lab_string` (the run as one line, README "The lab string").
Written atomically: a temporary file in the same folder, fsynced, renamed, and the
folder fsynced (aetui.files).

Reading is the checkpoint's validation layer: every field is checked for type, shape,
range and size here, once, before anything uses it (README: "Limits and safety");
`fit_to_data` adds the checks that need the data (the image order indexes it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aetui.boundaries import bounded_json
from aetui.boundaries.archive import read_archive
from aetui.config import Settings
from aetui.engine.model import Params
from aetui.errors import AetuiError, CheckpointError
from aetui.files import write_atomically

FORMAT = "aetui-checkpoint-1"
_OPT_NAMES = ("opt_W", "opt_b", "opt_c", "opt_V")
MAX_INPUTS = 4096  # pixels per image
MAX_TRAIN_IMAGES = 10_000_000  # length of `order`
MAX_JSON_CHARS = 16 << 20
MAX_JSON_DEPTH = 16
MAX_LIST_ITEMS = 1_000_000  # rows of the curve, history records, knob changes
MAX_COUNTER = 2**53  # steps, epochs, positions, Adam's step count
EXTRA_PREFIXES = ("history_",)  # arrays other parts keep in the run's file
MAX_EXTRA_BYTES = 64 << 20  # all of them (the lab's history writes at most ~16 MiB)


@dataclass
class Checkpoint:
    """Everything needed to continue a run exactly where it stopped."""

    params: Params
    settings: Settings
    opt_state: dict[str, np.ndarray] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    knob_log: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    order: np.ndarray | None = None
    lab_string: str | None = None  # the run as a lab string (aetui.training.labstring)
    # Named arrays other parts keep in the run's file (EXTRA_PREFIXES, e.g. the lab's
    # history store): saved and read back as they are; their owner checks them.
    extra_arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def step(self) -> int:
        return int(self.state.get("step", 0))

    @property
    def epoch(self) -> float:
        """Epochs done, fractional (position in the current epoch included)."""
        done = float(self.state.get("epoch_index", 0))
        if self.order is not None and len(self.order):
            done += float(self.state.get("pos", 0)) / len(self.order)
        return done


def save_checkpoint(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write `ckpt` to `path` atomically; returns the path. Parent folders are created."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    arrays: dict[str, Any] = dict(ckpt.params.arrays())
    for name, array in ckpt.opt_state.items():
        arrays[name] = array
    if ckpt.order is not None:
        arrays["order"] = ckpt.order
    arrays["format"] = np.array(FORMAT)
    # Also as plain scalars, for readers without aetui (the resume state is in `state`).
    arrays["step"] = np.array(ckpt.step, np.int64)
    arrays["epoch"] = np.array(ckpt.epoch, np.float64)
    arrays["config"] = np.array(json.dumps(ckpt.settings.to_dict()))
    arrays["history"] = np.array(json.dumps(ckpt.history))
    arrays["knob_log"] = np.array(json.dumps(ckpt.knob_log, default=json_default))
    arrays["state"] = np.array(json.dumps(ckpt.state, default=json_default))
    if ckpt.lab_string is not None:
        arrays["lab_string"] = np.array(ckpt.lab_string)
    arrays.update(_extra_arrays(ckpt))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomically(path, lambda fh: np.savez(fh, **arrays))
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint; raises CheckpointError naming the file and the problem."""
    path = Path(path)
    data = _open(path)
    settings = _settings(path, data)
    params = _params(path, data, settings)
    opt_state = _opt_state(path, data, params)
    order = _order(path, data)
    state = _state(path, _json(path, data, "state", {}), order)
    return Checkpoint(params=params, settings=settings, opt_state=opt_state,
                      history=_history(path, _json(path, data, "history", [])),
                      knob_log=_knob_log(path, _json(path, data, "knob_log", [])),
                      state=state, order=order, lab_string=_lab_string(data),
                      extra_arrays=_read_extra_arrays(path, data))


def read_settings(path: str | Path) -> Settings:
    """Just the settings stored in a checkpoint (for `--load` with overrides)."""
    path = Path(path)
    return _settings(path, _open(path))


def fit_to_data(ckpt: Checkpoint, n_images: int, n_in: int) -> tuple[np.ndarray | None, int]:
    """The image order and position to resume with on data of `n_images` × `n_in`.

    The order is handed to the jitted kernel, which indexes the images with it: every
    entry must be a valid row. An order for a different number of images (another
    --limit) is dropped (None, 0): the run starts a fresh epoch order.
    """
    fit_inputs(ckpt, n_in)
    order = ckpt.order
    if order is None or len(order) != n_images:
        return None, 0
    if len(order) and (int(order.min()) < 0 or int(order.max()) >= n_images):
        raise CheckpointError(f"the checkpoint's image order holds indices outside "
                              f"0..{n_images - 1}")
    return order.copy(), int(ckpt.state.get("pos", 0))


def fit_inputs(ckpt: Checkpoint, n_in: int, what: str = "the data has") -> None:
    """CheckpointError unless the weights take `n_in` inputs per image."""
    if ckpt.params.n_in != n_in:
        raise CheckpointError(f"the checkpoint has {ckpt.params.n_in} inputs per image but "
                              f"{what} {n_in}")


# ----- the fields, one check each -------------------------------------------------------


def _open(path: Path) -> dict[str, np.ndarray]:
    data = read_archive(path, {prefix: MAX_EXTRA_BYTES for prefix in EXTRA_PREFIXES})
    if "config" not in data or "W" not in data:
        raise CheckpointError(f"{path}: not an aetui checkpoint (no W or config inside)")
    fmt = data.get("format")
    if fmt is not None and (fmt.ndim != 0 or fmt.dtype.kind != "U" or str(fmt) != FORMAT):
        raise CheckpointError(f"{path}: unknown checkpoint format (expected {FORMAT})")
    return data


def _extra_arrays(ckpt: Checkpoint) -> dict[str, np.ndarray]:
    """The checkpoint's extra arrays; a name outside EXTRA_PREFIXES is a bug, not data."""
    for name in ckpt.extra_arrays:
        if not name.startswith(EXTRA_PREFIXES):
            raise ValueError(f"extra checkpoint array {name!r} lacks a known prefix")
    return dict(ckpt.extra_arrays)


def _read_extra_arrays(path: Path, data) -> dict[str, np.ndarray]:
    """The extra arrays, at most MAX_EXTRA_BYTES together: aetui writes a few MiB of
    history; more is not ours, and carrying it on would write a file past the limits."""
    extras = {name: data[name] for name in data if name.startswith(EXTRA_PREFIXES)}
    total = sum(int(a.nbytes) for a in extras.values())
    if total > MAX_EXTRA_BYTES:
        raise CheckpointError(f"{path}: its history arrays hold {total:,} bytes, more than "
                              f"the {MAX_EXTRA_BYTES:,}-byte limit")
    return extras


def _lab_string(data) -> str | None:
    """The lab string (None in checkpoints older than it, or when it is not one string;
    decoding it checks the rest: aetui.training.labstring)."""
    value = data.get("lab_string")
    if value is None or value.dtype.kind != "U" or value.ndim != 0 or value.size > 1:
        return None
    text = str(value)
    return text if len(text) <= MAX_JSON_CHARS else None


def _settings(path: Path, data) -> Settings:
    config = _json(path, data, "config", None)
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: its config is not a JSON object")
    try:
        return Settings.from_dict(config, source=f"{path} config")
    except AetuiError as exc:
        raise CheckpointError(f"{path}: bad config inside ({exc})") from None


def _float_array(path: Path, data, name: str, shape: tuple[int, ...] | None,
                 ndim: int) -> np.ndarray:
    if name not in data:
        raise CheckpointError(f"{path}: array {name!r} is missing")
    a = data[name]
    if a.dtype.kind not in "iuf" or a.ndim != ndim or (shape is not None and a.shape != shape):
        want = "×".join(map(str, shape)) if shape is not None else f"{ndim}-D"
        got = "×".join(map(str, a.shape)) or "scalar"
        raise CheckpointError(f"{path}: array {name!r} is {got} {a.dtype}, expected {want} "
                              f"floats")
    # A float64 value beyond float32's range would become infinity (with a warning).
    with np.errstate(all="ignore"):
        out = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(out).all():
        raise CheckpointError(f"{path}: array {name!r} holds NaN, infinity or values too "
                              f"large for float32")
    return out


def _params(path: Path, data, settings: Settings) -> Params:
    W = _float_array(path, data, "W", None, 2)
    n_in, k = W.shape
    if not 1 <= n_in <= MAX_INPUTS:
        raise CheckpointError(f"{path}: W has {n_in} rows (inputs), expected 1..{MAX_INPUTS}")
    if k != settings.hidden:
        raise CheckpointError(f"{path}: W has {k} hidden units but its config says "
                              f"{settings.hidden}")
    b = _float_array(path, data, "b", (k,), 1)
    c = _float_array(path, data, "c", (n_in,), 1)
    has_v = "V" in data
    if has_v == settings.tied:
        raise CheckpointError(f"{path}: tied={settings.tied} in its config, but V is "
                              f"{'present' if has_v else 'absent'}")
    V = _float_array(path, data, "V", (k, n_in), 2) if has_v else None
    return Params(W, b, c, V)


def _opt_state(path: Path, data, params: Params) -> dict[str, np.ndarray]:
    shapes = {"opt_W": params.W.shape, "opt_b": params.b.shape, "opt_c": params.c.shape,
              "opt_V": (params.hidden, params.n_in) if params.V is not None else (1, 1)}
    return {name: _float_array(path, data, name, (2, *shapes[name]), 1 + len(shapes[name]))
            for name in _OPT_NAMES if name in data}


def _order(path: Path, data) -> np.ndarray | None:
    if "order" not in data:
        return None
    order = data["order"]
    if order.dtype.kind not in "iu" or order.ndim != 1:
        raise CheckpointError(f"{path}: 'order' must be a 1-D integer array, got "
                              f"{order.ndim}-D {order.dtype}")
    if len(order) > MAX_TRAIN_IMAGES:
        raise CheckpointError(f"{path}: 'order' has {len(order):,} entries, more than the "
                              f"{MAX_TRAIN_IMAGES:,} limit")
    if len(order) and (int(order.min()) < 0 or int(order.max()) >= MAX_TRAIN_IMAGES):
        raise CheckpointError(f"{path}: 'order' holds indices outside "
                              f"0..{MAX_TRAIN_IMAGES - 1}")
    return order.astype(np.int64)


def _json(path: Path, data, name: str, default):
    if name not in data:
        return default
    raw = data[name]
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise CheckpointError(f"{path}: {name!r} must be a JSON string")
    try:
        return bounded_json.loads(str(raw), max_chars=MAX_JSON_CHARS,
                                  max_depth=MAX_JSON_DEPTH)
    except bounded_json.JsonLimitError as exc:
        raise CheckpointError(f"{path}: {name!r}: {exc}") from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) and abs(value) <= MAX_COUNTER) or (
        isinstance(value, float) and math.isfinite(value))


def _counter(path: Path, state: dict, name: str, hi: int = MAX_COUNTER) -> None:
    if name in state and not (_is_int(state[name]) and 0 <= state[name] <= hi):
        raise CheckpointError(f"{path}: state {name!r} must be an integer in 0..{hi}, got "
                              f"{_short(state[name])}")


def _state(path: Path, state, order: np.ndarray | None) -> dict[str, Any]:
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: 'state' is not a JSON object")
    for name in ("step", "epoch_index", "adam_t", "reference_steps"):
        _counter(path, state, name)
    _counter(path, state, "pos", len(order) if order is not None else MAX_TRAIN_IMAGES)
    for name in ("order_rng", "noise_rng"):
        if name in state:
            _check_rng_state(path, name, state[name])
    if state.get("noise_stream", 1) not in (1, 2) or isinstance(state.get("noise_stream"), bool):
        raise CheckpointError(f"{path}: state 'noise_stream' must be 1 or 2, got "
                              f"{_short(state['noise_stream'])}")
    curve = state.get("curve", [])
    if not isinstance(curve, list) or len(curve) > MAX_LIST_ITEMS:
        raise CheckpointError(f"{path}: state 'curve' must be a list of at most "
                              f"{MAX_LIST_ITEMS:,} rows")
    for row in curve:
        # [step, epoch, train×3] (+ [held-out×3] (+ [mean ρ̂, samples/s] (+ [held-out on
        # corrupted inputs]))); held-out and the last three may be null.
        if not (isinstance(row, list) and len(row) in (5, 8, 10, 11) and _is_int(row[0])
                and 0 <= row[0] <= MAX_COUNTER and all(_is_number(v) for v in row[:5])
                and all(v is None or _is_number(v) for v in row[5:])
                and (row[5:8] == [None] * 3 or all(_is_number(v) for v in row[5:8]))):
            raise CheckpointError(f"{path}: a loss-curve row in 'state' is not [step, epoch, "
                                  f"3, 6, 8 or 9 finite numbers]: {_short(row)}")
    return state


def _check_rng_state(path: Path, name: str, value) -> None:
    """A generator state is whatever numpy's PCG64 accepts; anything else is refused."""
    ok = isinstance(value, dict) and value.get("bit_generator") == "PCG64"
    if ok:
        try:
            np.random.PCG64().state = value
        except (TypeError, ValueError, KeyError, OverflowError):
            ok = False
    if not ok:
        raise CheckpointError(f"{path}: state {name!r} is not a PCG64 generator state")


def _history(path: Path, history) -> list[dict[str, Any]]:
    if not isinstance(history, list) or len(history) > MAX_LIST_ITEMS:
        raise CheckpointError(f"{path}: 'history' must be a list of at most "
                              f"{MAX_LIST_ITEMS:,} records")
    for record in history:
        if not (isinstance(record, dict) and all(
                v is None or _is_number(v) for v in record.values())):
            raise CheckpointError(f"{path}: a 'history' record is not an object of numbers: "
                                  f"{_short(record)}")
    return history


def _knob_log(path: Path, log) -> list[dict[str, Any]]:
    from aetui.config import field_names

    if not isinstance(log, list) or len(log) > MAX_LIST_ITEMS:
        raise CheckpointError(f"{path}: 'knob_log' must be a list of at most "
                              f"{MAX_LIST_ITEMS:,} changes")
    scalar = (str, int, float, bool, type(None))
    for entry in log:
        if not (isinstance(entry, dict) and set(entry) == {"step", "name", "old", "new"}
                and _is_int(entry["step"]) and 0 <= entry["step"] <= MAX_COUNTER
                and entry["name"] in field_names()
                and isinstance(entry["old"], scalar) and isinstance(entry["new"], scalar)):
            raise CheckpointError(f"{path}: a 'knob_log' entry is not {{step, name, old, "
                                  f"new}} for a known setting: {_short(entry)}")
    return log


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def json_default(value):
    """JSON for numpy scalars (json.dumps' `default`): checkpoints and the history."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
