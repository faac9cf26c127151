"""Exact replay: a run's lab string gives the same float32 weights at every logged step,
whatever the chunking, pauses, single steps or checkpoint resumes of the run."""

import numpy as np
import pytest

from aetui import cli
from aetui.config import Settings
from aetui.data import load_dataset
from aetui.training.checkpoint import load_checkpoint
from aetui.training.labstring import decode
from aetui.training.trainer import Trainer

SETTINGS = Settings(dataset="digits", limit=240, hidden=12, batch=10, seed=5, q=0.25)


@pytest.fixture(scope="module")
def data():
    train_x, _, test_x, _ = load_dataset("digits", seed=SETTINGS.seed, limit=SETTINGS.limit)
    return train_x, test_x[:60]


def _trainer(data, settings=SETTINGS, **kwargs):
    return Trainer(settings, *data, val_count=60, display_count=4, **kwargs)


def _same(a, b) -> bool:
    arrays_a, arrays_b = a.arrays(), b.arrays()
    return arrays_a.keys() == arrays_b.keys() and all(
        np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a)


def _steered_run(data, weights_at: dict):
    """A run steered by hand: knob changes at steps 0, 7, 31 (crossing an epoch at 24),
    50 and 51, trained in uneven pieces (one-step pieces too, as single steps are)."""
    t = _trainer(data)
    plan = [(0, {"lr": 0.2}), (7, {"q": 0.5, "optimizer": "adam", "lr": 0.01}),
            (31, {"tied": False, "noise": "gaussian"}), (50, {"beta": 0.5}),
            (51, {"optimizer": "momentum", "lr": 0.02})]
    for target, knobs in plan:
        while t.step < target:
            t.run(max_steps=min(3, target - t.step))  # pieces of 1..3 updates
        weights_at[t.step] = t.weights()
        for name, value in knobs.items():
            t.set_knob(name, value)
    t.run(max_steps=1)
    t.run(max_steps=1)
    t.run(max_steps=18)
    weights_at[t.step] = t.weights()
    return t


def test_replay_matches_the_run_at_every_logged_step(data):
    weights_at: dict = {}
    run = _steered_run(data, weights_at)
    record = decode(run.lab_string())
    assert [c.step for c in record.changes] == [0, 7, 7, 7, 31, 31, 50, 51, 51]
    assert record.step == run.step == 71
    for step, expected in weights_at.items():
        replay = _trainer(data, record.settings)
        replay.schedule(record.changes)
        replay.run(max_steps=step)  # one call: the trainer cuts the chunks at the changes
        assert replay.step == step
        assert _same(replay.weights(), expected), f"weights differ at step {step}"
    # The replay's own knob log (and so its string) is the run's.
    assert [(c.step, c.name, c.new) for c in replay.knob_log] == \
        [(c.step, c.name, c.value) for c in record.changes]


def test_a_replay_without_the_schedule_differs(data):
    """The check above can fail: ignoring the knob log gives other weights."""
    run = _steered_run(data, {})
    record = decode(run.lab_string())
    plain = _trainer(data, record.settings)
    plain.run(max_steps=record.step)
    assert not _same(plain.weights(), run.weights())


def test_replay_of_a_resumed_run(data, tmp_path):
    first = _trainer(data)
    first.run(max_steps=9)
    first.set_knob("l2", 1e-3)
    first.run(max_steps=6)
    path = first.save(tmp_path / "a.npz")
    # Resumed with a live override (lr) and a non-live one (batch), both logged.
    resumed = _trainer(data, SETTINGS.replace(l2=1e-3, lr=0.05, batch=7),
                       checkpoint=load_checkpoint(path))
    resumed.run(max_steps=5)
    resumed.set_knob("rho", 0.1)
    resumed.set_knob("beta", 0.2)
    resumed.run(max_steps=13)
    saved = load_checkpoint(resumed.save(tmp_path / "b.npz"))
    record = decode(saved.lab_string)
    assert record.settings == SETTINGS
    assert {(c.step, c.name) for c in record.changes} >= {(9, "l2"), (15, "batch"),
                                                          (15, "lr"), (20, "rho")}
    replay = _trainer(data, record.settings)
    replay.schedule(record.changes)
    replay.run(max_steps=record.step)
    assert _same(replay.weights(), saved.params)


def test_pause_at_stops_a_lab_replay_at_the_strings_step(data):
    import threading

    run = _trainer(data)
    run.run(max_steps=4)
    run.set_knob("q", 0.1)
    run.run(max_steps=6)
    record = decode(run.lab_string())
    replay = _trainer(data, record.settings)
    replay.schedule(record.changes, pause_at=record.step)
    thread = threading.Thread(target=replay.run, daemon=True)
    thread.start()
    try:
        import time

        deadline = time.monotonic() + 60
        while (replay.state, replay.step) != ("paused", record.step) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # it stays there
        assert replay.state == "paused" and replay.step == record.step
        assert _same(replay.weights(), run.weights())
    finally:
        replay.stop()
        thread.join(30)


def test_train_command_replays_a_string_headless(data, tmp_path, capsys, monkeypatch):
    run = _steered_run(data, {})
    text = run.lab_string()
    out = tmp_path / "replay.npz"
    assert cli.main(["train", "--lab", text, "--out", str(out), "--json"]) == 0
    err = capsys.readouterr().err
    assert "may not be exact" not in err  # same data, version and CPU
    replayed = load_checkpoint(out)
    assert replayed.step == run.step
    assert _same(replayed.params, run.weights())
    assert replayed.lab_string == text or decode(replayed.lab_string).changes == \
        decode(text).changes
    # Other data (here: the built-in digits of another seed): said in one line, and the
    # replay goes on.
    import aetui.data

    real = aetui.data.load_dataset
    def other_digits(*_args, **_kwargs):
        return real("digits", seed=99, limit=SETTINGS.limit)

    monkeypatch.setattr(aetui.data, "load_dataset", other_digits)
    monkeypatch.setattr(aetui.data.load, "load_dataset", other_digits)  # load_dataset_for's
    other = tmp_path / "other.npz"
    assert cli.main(["train", "--lab", text, "--out", str(other), "--json"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "exact" in line]
    assert len(notes) == 1 and "the data differ" in notes[0] and "continuing" in notes[0]
    assert load_checkpoint(other).step == run.step


def test_the_string_command_prints_a_checkpoints_string(data, tmp_path, capsys):
    t = _trainer(data)
    t.run(max_steps=3)
    path = t.save(tmp_path / "c.npz")
    assert cli.main(["string", str(path)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == load_checkpoint(path).lab_string
    assert decode(printed).step == 3


def test_a_knob_log_that_cannot_be_undone_never_stops_a_save(data, tmp_path):
    from aetui.training.checkpoint import save_checkpoint

    t = _trainer(data)
    t.run(max_steps=2)
    ckpt = t.checkpoint()
    ckpt.knob_log = [{"step": 1, "name": "q", "old": 7.0, "new": 0.25}]  # q=7 is invalid
    path = save_checkpoint(tmp_path / "odd.npz", ckpt)
    resumed = _trainer(data, checkpoint=load_checkpoint(path))
    saved = load_checkpoint(resumed.save(tmp_path / "again.npz"))
    assert saved.lab_string is None and saved.step == 2
    assert cli.main(["string", str(tmp_path / "again.npz")]) == 2


def test_a_run_continued_after_a_divergence_replays_exactly(data):
    """A divergence keeps the weights before the first failing update however the work was
    chunked, so lowering the rate there and going on is replayed exactly."""
    steep = SETTINGS.replace(loss="mse", decoder="linear", noise="none", lr=2.0)

    def diverge(pieces: int):
        t = _trainer(data, steep)
        t.on_diverged = lambda _message: t.stop()
        while t.state != "diverged":
            t.run(max_steps=pieces)
        return t

    chunked, stepped = diverge(10_000), diverge(1)  # big chunks vs one update at a time
    assert chunked.step == stepped.step > 5
    assert _same(chunked.weights(), stepped.weights()) and chunked.weights().all_finite()
    chunked.set_knob("lr", 0.05)
    chunked.resume()
    chunked.run(max_steps=30)
    record = decode(chunked.lab_string())
    replay = _trainer(data, record.settings)
    replay.on_diverged = lambda _message: replay.stop()
    replay.schedule(record.changes)
    replay.run(max_steps=record.step)
    assert replay.state != "diverged" and replay.step == record.step
    assert _same(replay.weights(), chunked.weights())


def test_a_replay_splits_steps_as_the_run_did_whatever_threads_it_has(data):
    """The split, not the threads that run it, fixes the bits (README, "Threads")."""
    wide = SETTINGS.replace(hidden=64, batch=40)  # 40 × 784 × 64: two parts on 2 threads
    run = _trainer(data, wide, threads=2)
    run.run(max_steps=12)
    record = decode(run.lab_string())
    assert record.split == 2
    replay = _trainer(data, record.settings, threads=1)
    replay.schedule(record.changes, split=record.split)
    replay.run(max_steps=12)
    assert _same(replay.weights(), run.weights())
    unsplit = _trainer(data, record.settings, threads=1)  # the check above can fail
    unsplit.run(max_steps=12)
    assert not _same(unsplit.weights(), run.weights())
