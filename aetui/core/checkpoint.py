"""Checkpoints: one `.npz` that plain `numpy.load` reads, without pickle or aetui.

Arrays: W (n_in×k), b (k), c (n_in), V (k×n_in, untied only), optimizer state
(`opt_W`, `opt_b`, `opt_c`, `opt_V`: stacked first/second moments), `order`
(this epoch's image order). JSON strings: `config` (every setting), `history`
(per-epoch metrics), `knob_log` (changes with the step they took effect) and
`state` (step, epoch, position in the epoch, optimizer step count, and the
random generators' states, so that a resumed run follows the same trajectory).
Written atomically: a temporary file in the same folder, then a rename.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aetui.config import Settings
from aetui.core.model import Params
from aetui.errors import AetuiError, CheckpointError

FORMAT = "aetui-checkpoint-1"
_OPT_NAMES = ("opt_W", "opt_b", "opt_c", "opt_V")
EXTRA_PREFIXES = ("history_",)


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
    # Named arrays other parts keep in the run's file (EXTRA_PREFIXES, e.g. the lab's
    # history store): saved and read back as they are.
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
    arrays["knob_log"] = np.array(json.dumps(ckpt.knob_log, default=_json_default))
    arrays["state"] = np.array(json.dumps(ckpt.state, default=_json_default))
    arrays.update(_extra_arrays(ckpt))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not mkstemp: its files are private (0600); a checkpoint is an ordinary user
        # file, so let the umask decide, as for any file the user writes.
        tmp = str(path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp"))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        # Ctrl+C or a full disk mid-save: the old file (if any) stays intact.
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; raises CheckpointError naming the file and the problem."""
    path = Path(path)
    data = _open(path)
    try:
        settings = _settings(path, data)
        W, b, c = (_array(path, data, n) for n in ("W", "b", "c"))
        V = data["V"] if "V" in data.files else None
        n_in, k = W.shape if W.ndim == 2 else (0, 0)
        if W.ndim != 2 or b.shape != (k,) or c.shape != (n_in,):
            raise CheckpointError(f"{path}: inconsistent shapes W {W.shape}, b {b.shape}, "
                                  f"c {c.shape}")
        if V is not None and V.shape != (k, n_in):
            raise CheckpointError(f"{path}: V has shape {V.shape}, expected {(k, n_in)}")
        if k != settings.hidden:
            raise CheckpointError(f"{path}: W has {k} hidden units but its config says "
                                  f"{settings.hidden}")
        if (V is None) != settings.tied:
            raise CheckpointError(f"{path}: tied={settings.tied} in its config, but V is "
                                  f"{'absent' if V is None else 'present'}")
        params = Params(*(np.ascontiguousarray(a, dtype=np.float32) for a in (W, b, c)),
                        None if V is None else np.ascontiguousarray(V, dtype=np.float32))
        if not params.all_finite():
            raise CheckpointError(f"{path}: the weights contain NaN or infinity")
        opt_state = {n: np.ascontiguousarray(data[n], dtype=np.float32)
                     for n in _OPT_NAMES if n in data.files}
        order = np.asarray(data["order"], dtype=np.int64) if "order" in data.files else None
        return Checkpoint(params=params, settings=settings, opt_state=opt_state,
                          history=_json(path, data, "history", []),
                          knob_log=_json(path, data, "knob_log", []),
                          state=_json(path, data, "state", {}), order=order,
                          extra_arrays=_read_extra_arrays(data))
    except (KeyError, ValueError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint ({exc})") from None


def _extra_arrays(ckpt: Checkpoint) -> dict[str, np.ndarray]:
    """The checkpoint's extra arrays; a name outside EXTRA_PREFIXES is a bug, not data."""
    for name in ckpt.extra_arrays:
        if not name.startswith(EXTRA_PREFIXES):
            raise ValueError(f"extra checkpoint array {name!r} lacks a known prefix")
    return dict(ckpt.extra_arrays)


def _read_extra_arrays(data) -> dict[str, np.ndarray]:
    return {name: data[name] for name in data.files if name.startswith(EXTRA_PREFIXES)}


def read_settings(path: str | Path) -> Settings:
    """Just the settings stored in a checkpoint (for `--load` with overrides)."""
    path = Path(path)
    data = _open(path)
    try:
        return _settings(path, data)
    except (KeyError, ValueError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint ({exc})") from None


def _open(path: Path):
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({exc})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path}: a single array, not an aetui checkpoint")
    if "config" not in data.files or "W" not in data.files:
        raise CheckpointError(f"{path}: not an aetui checkpoint (no W or config inside)")
    return data


def _settings(path: Path, data) -> Settings:
    config = _json(path, data, "config", None)
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: its config is not a JSON object")
    try:
        return Settings.from_dict(config, source=f"{path} config")
    except AetuiError as exc:
        raise CheckpointError(f"{path}: bad config inside ({exc})") from None


def _array(path: Path, data, name: str) -> np.ndarray:
    if name not in data.files:
        raise CheckpointError(f"{path}: array {name!r} is missing")
    return data[name]


def _json(path: Path, data, name: str, default):
    if name not in data.files:
        return default
    try:
        return json.loads(str(data[name]))
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: {name!r} is not valid JSON") from None


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
