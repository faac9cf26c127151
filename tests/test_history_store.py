"""The bounded history store (aetui/training/history.py) and its place in checkpoints."""

import numpy as np
import pytest

from aetui.config import Settings
from aetui.training.checkpoint import load_checkpoint, save_checkpoint
from aetui.training.history import (
    SnapshotStore,
    for_storage,
    from_arrays,
    snapshot_nbytes,
    to_arrays,
)
from aetui.training.snapshots import LossTerms, Snapshot


def snap(step: int, units: int = 16, k: int = 32) -> Snapshot:
    rng = np.random.default_rng(step)
    f = np.float32
    return Snapshot(step=step, epoch=step / 100, state="training", samples_per_s=1.0,
                    settings={"q": step / 1e4, "rho": 0.05}, train=LossTerms(step, 1.0, 2.0),
                    val=None, rho_hat=rng.random(k).astype(f),
                    filter_units=tuple(range(units)), filters=rng.random((units, 784)).astype(f),
                    clean=rng.random((8, 784)).astype(f), corrupted=rng.random((8, 784)).astype(f),
                    recon=rng.random((8, 784)).astype(f), curve=("stand-in",) * 50,
                    params=object())


def test_store_stays_under_its_cap_and_keeps_the_start():
    one = snapshot_nbytes(for_storage(snap(0)))
    store = SnapshotStore(cap_bytes=40 * one)
    first = store.add(snap(0))
    for step in range(1, 1000):
        store.add(snap(step))
        assert store.nbytes <= store.cap_bytes
        assert store.nbytes == sum(snapshot_nbytes(s) for s in store.entries)
    assert store.entries[0] is first and first.step == 0
    assert store.entries[-1].step == 999
    steps = [s.step for s in store.entries]
    assert steps == sorted(steps) and len(steps) <= 40
    gaps = np.diff(steps)
    assert gaps[0] > gaps[-1]  # old moments sparser than recent ones
    assert store.thinnings > 0
    assert first.params is None and first.curve == ()  # weights and curve not stored


def test_index_of_finds_a_thinned_snapshot_by_step():
    store = SnapshotStore(cap_bytes=10 * snapshot_nbytes(for_storage(snap(0))))
    stored = [store.add(snap(s)) for s in range(6)]
    shown = stored[3]
    for s in range(6, 40):
        store.add(snap(s))
    i = store.index_of(shown)
    assert store.entries[i].step <= 3
    with pytest.raises(ValueError):
        SnapshotStore(cap_bytes=0)


def test_arrays_round_trip_and_thin_to_a_budget():
    entries = [for_storage(snap(s, units=8 + s % 3, k=32 if s < 5 else 48)) for s in range(12)]
    back = from_arrays(to_arrays(entries))
    assert [s.step for s in back] == [s.step for s in entries]
    for a, b in zip(entries, back, strict=True):
        assert b.filter_units == a.filter_units and b.settings == a.settings
        assert np.allclose(b.filters, a.filters, atol=1e-3)
        assert np.allclose(b.recon, a.recon, atol=1e-3)
        assert np.allclose(b.rho_hat, a.rho_hat, atol=1e-3)
        assert b.train == a.train and b.val is None
    budget = 4 * snapshot_nbytes(entries[0]) // 2
    small = from_arrays(to_arrays(entries, budget=budget))
    assert 2 <= len(small) < len(entries)
    assert small[0].step == 0 and small[-1].step == 11
    assert from_arrays({}) == [] and to_arrays([]) == {}


def test_checkpoint_carries_the_history(tmp_path):
    from aetui.engine.model import init_params
    from aetui.training.checkpoint import Checkpoint

    ckpt = Checkpoint(params=init_params(784, 32, 0, True), settings=Settings(hidden=32),
                      extra_arrays=to_arrays([for_storage(snap(s)) for s in range(5)]))
    path = save_checkpoint(tmp_path / "run.npz", ckpt)
    loaded = load_checkpoint(path)
    assert [s.step for s in from_arrays(loaded.extra_arrays)] == [0, 1, 2, 3, 4]
    with np.load(path) as data:  # still plain numpy, no pickle
        assert "history_index" in data.files
    bad = Checkpoint(params=ckpt.params, settings=ckpt.settings, extra_arrays={"W2": np.ones(1)})
    with pytest.raises(ValueError):
        save_checkpoint(tmp_path / "bad.npz", bad)


def test_the_same_moment_again_replaces_the_last_entry():
    store = SnapshotStore()
    first = store.add(snap(0))
    store.add(snap(5))
    store.add(snap(5))
    assert [s.step for s in store.entries] == [0, 5]
    assert store.nbytes == sum(snapshot_nbytes(s) for s in store.entries)
    store.add(snap(0))  # a reset starts again at step 0: a new moment, kept
    assert store.entries[0] is first and len(store) == 3


def test_the_trainer_saves_the_history_and_a_loaded_run_keeps_it(tmp_path):
    from aetui.training.checkpoint import load_checkpoint
    from aetui.training.trainer import Trainer

    images = (np.random.default_rng(0).random((40, 784)) * 255).astype(np.uint8)
    settings = Settings(hidden=8, batch=4)
    trainer = Trainer(settings, images, images[:10], val_count=10, display_count=2)
    store = SnapshotStore()
    trainer.checkpoint_extras = lambda: to_arrays(store.entries)
    store.add(trainer.snapshot())
    assert trainer.snapshot().params is not None  # snapshots carry their weight copy
    path = trainer.save(tmp_path / "a.npz")
    resumed = Trainer(settings, images, images[:10], checkpoint=load_checkpoint(path))
    assert [s.step for s in from_arrays(resumed.loaded_extras)] == [0]
    # Continued without the lab (no hook): the stored history is saved again, not lost.
    again = load_checkpoint(resumed.save(tmp_path / "b.npz"))
    assert len(from_arrays(again.extra_arrays)) == 1
