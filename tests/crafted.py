"""Crafted checkpoints for the hardening tests: a valid one, and copies with fields
replaced, made in the test (README: "Limits and safety")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aetui.config import Settings
from aetui.data import Dataset
from aetui.training.trainer import Trainer

N_TRAIN = 60


def tiny_dataset() -> Dataset:
    rng = np.random.default_rng(0)
    images = (rng.random((N_TRAIN + 20, 784)) < 0.15).astype(np.uint8) * 255
    labels = (np.arange(N_TRAIN + 20) % 10).astype(np.uint8)
    return Dataset(images[:N_TRAIN], labels[:N_TRAIN], images[N_TRAIN:], labels[N_TRAIN:],
                   "digits", "test")


def valid_checkpoint(path: Path, **settings) -> Path:
    data = tiny_dataset()
    trainer = Trainer(Settings(hidden=8, batch=10, **settings), data.train_x, data.test_x)
    trainer.run(max_steps=4)
    trainer.set_knob("q", 0.4)
    trainer.run(max_steps=2)
    return trainer.save(path)


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as raw:
        return {k: raw[k] for k in raw.files}


def crafted(src: Path, dst: Path, **changes) -> Path:
    """A copy of `src` with arrays replaced (None removes one). A dict or list value is
    stored as a JSON string, as aetui stores its JSON fields."""
    arrays = arrays_of(src)
    for name, value in changes.items():
        if value is None:
            arrays.pop(name, None)
        elif isinstance(value, dict | list):
            arrays[name] = np.array(json.dumps(value))
        else:
            arrays[name] = value
    np.savez(dst, **arrays)
    return dst


def json_field(src: Path, name: str):
    return json.loads(str(arrays_of(src)[name]))


def refused_train(monkeypatch, capsys, tmp_path: Path, argv: list[str], env: str | None):
    """Run `aetui train` on the built-in digits with `argv`, $AETUI_THREADS = `env` (None:
    unset); returns (exit code, stderr)."""
    from aetui.cli import main
    from aetui.commands import common

    if env is None:
        monkeypatch.delenv(common.THREADS_ENV, raising=False)
    else:
        monkeypatch.setenv(common.THREADS_ENV, env)
    code = main(["train", "--dataset", "digits", "--steps", "1",
                 "--out", str(tmp_path / "run.npz"), *argv])
    return code, capsys.readouterr().err
