"""Checkpoints: plain-numpy readable, bit-exact round trip, exact resume, clear errors."""

import json
import zipfile

import numpy as np
import pytest

from aetui.config import Settings
from aetui.errors import CheckpointError
from aetui.training.checkpoint import load_checkpoint, read_settings
from aetui.training.trainer import Trainer


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    # Blobs of ink on a dark background: enough structure for a few hundred steps.
    images = (rng.random((600, 784)) < 0.15).astype(np.uint8) * 255
    return images[:500], images[500:]


def _trainer(data, **settings):
    return Trainer(Settings(hidden=16, **settings), *data)


@pytest.mark.parametrize("tied", [True, False])
def test_round_trip_is_bit_exact_and_readable_by_plain_numpy(tmp_path, data, tied):
    trainer = _trainer(data, tied=tied, optimizer="adam", lr=0.01)
    trainer.run(max_steps=30)
    trainer.set_knob("q", 0.5)
    trainer.run(max_steps=5)
    path = trainer.save(tmp_path / "run.npz")
    raw = np.load(path, allow_pickle=False)
    assert set(raw.files) >= {"W", "b", "c", "config", "history", "knob_log", "opt_W"}
    assert ("V" in raw.files) == (not tied)
    assert json.loads(str(raw["config"]))["hidden"] == 16
    assert json.loads(str(raw["knob_log"]))[0]["new"] == 0.5
    ckpt = load_checkpoint(path)
    for name, array in trainer.params.arrays().items():
        np.testing.assert_array_equal(getattr(ckpt.params, name), array)
    for name, array in trainer.opt.items():
        np.testing.assert_array_equal(ckpt.opt_state[name], array)
    assert ckpt.settings == trainer.settings
    resumed = Trainer(trainer.settings, *data, checkpoint=ckpt)
    assert resumed.curve == trainer.curve  # the loss plot continues where it was
    assert read_settings(path).q == 0.5


def test_saved_and_resumed_run_follows_the_uninterrupted_trajectory(tmp_path, data):
    straight = _trainer(data, optimizer="momentum", noise="mask", q=0.3)
    straight.run(max_steps=60)  # crosses an epoch boundary (25 steps per epoch)
    first = _trainer(data, optimizer="momentum", noise="mask", q=0.3)
    first.run(max_steps=37)
    path = first.save(tmp_path / "half.npz")
    resumed = Trainer(Settings(hidden=16, optimizer="momentum", noise="mask", q=0.3), *data,
                      checkpoint=load_checkpoint(path))
    resumed.run(max_steps=23)
    assert resumed.step == straight.step == 60
    np.testing.assert_array_equal(resumed.params.W, straight.params.W)
    np.testing.assert_array_equal(resumed.params.c, straight.params.c)


def test_command_line_overrides_apply_as_logged_knob_changes(tmp_path, data):
    first = _trainer(data)
    first.run(max_steps=5)
    path = first.save(tmp_path / "a.npz")
    resumed = Trainer(Settings(hidden=16, q=0.6), *data, checkpoint=load_checkpoint(path))
    resumed.run(max_steps=1)
    assert resumed._applied.q == 0.6
    assert [(c.step, c.name, c.new) for c in resumed.knob_log] == [(5, "q", 0.6)]


def test_truncated_file_is_a_one_line_error(tmp_path, data):
    path = _trainer(data).save(tmp_path / "run.npz")
    blob = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.npz") as info:
        load_checkpoint(bad)
    assert "\n" not in str(info.value)


def test_foreign_files_are_rejected(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an aetui checkpoint"):
        load_checkpoint(plain)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes\.npz"):
        load_checkpoint(text)
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "missing.npz")


def test_mismatched_contents_are_rejected(tmp_path, data):
    path = _trainer(data).save(tmp_path / "run.npz")
    with np.load(path) as raw:
        arrays = {k: raw[k] for k in raw.files}
    arrays["b"] = np.zeros(5, np.float32)
    np.savez(tmp_path / "shapes.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"array 'b' is 5 float32, expected 16"):
        load_checkpoint(tmp_path / "shapes.npz")
    with pytest.raises(CheckpointError, match="inputs"):
        Trainer(Settings(hidden=16), np.zeros((10, 100), np.uint8), np.zeros((2, 100), np.uint8),
                checkpoint=load_checkpoint(path))


def test_interrupted_save_leaves_the_previous_file_intact(tmp_path, data, monkeypatch):
    trainer = _trainer(data)
    path = trainer.save(tmp_path / "run.npz")
    before = path.read_bytes()
    trainer.run(max_steps=3)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None


def test_checkpoint_permissions_follow_the_umask(tmp_path, data):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = _trainer(data).save(tmp_path / "perm.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
