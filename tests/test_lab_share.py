"""The lab's sharing keys on a real trainer: a run steered by keys (knob changes at known
steps, pause, single steps, free running) is replayed headless from its `u` string to
the same float32 weights; `x` writes the bundle; `--lab` opens a replay that pauses where
the string ended."""

import numpy as np
from bundle_checks import check_bundle
from fake_trainer import wait_for

from aetui import cli
from aetui.commands.lab import build_lab_app
from aetui.config import Settings
from aetui.training.checkpoint import load_checkpoint
from aetui.training.labstring import decode
from aetui.tui.options import LabOptions
from aetui.tui.screens.lab import LabScreen

SIZE = (120, 40)
SETTINGS = Settings(dataset="digits", limit=200, hidden=8, batch=10, seed=4)
LONG = 120.0  # first run in CI compiles the kernels


def _screen(app) -> LabScreen:
    return next(s for s in app.screen_stack if isinstance(s, LabScreen))


async def _paused_at(pilot, trainer, step=None) -> bool:
    return await wait_for(pilot, lambda: trainer.state == "paused" and (
        step is None or trainer.step == step), timeout=LONG)


async def test_a_steered_lab_run_replays_headless_bit_for_bit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = build_lab_app(SETTINGS, options=LabOptions(save_on_quit=False))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                              and app.lab.run.trainer.state == "training", timeout=LONG)
        trainer = app.lab.run.trainer
        await pilot.press("space")
        assert await _paused_at(pilot, trainer)
        start = trainer.step
        await pilot.press("Q")  # q up: lands before the next update
        for _ in range(3):
            await pilot.press("full_stop")
        assert await _paused_at(pilot, trainer, start + 3)
        await pilot.press("e", "t")  # lr down, untie: at start + 3
        await pilot.press("full_stop")
        assert await _paused_at(pilot, trainer, start + 4)
        await pilot.press("space")  # free running, then a knob change mid-flight
        assert await wait_for(pilot, lambda: trainer.step > start + 60, timeout=LONG)
        await pilot.press("n")
        assert await wait_for(pilot, lambda: any(c.name == "noise" for c in trainer.knob_log),
                              timeout=LONG)
        reached = trainer.step
        assert await wait_for(pilot, lambda: trainer.step > reached + 40, timeout=LONG)
        await pilot.press("space")
        assert await _paused_at(pilot, trainer)

        await pilot.press("u")
        screen = _screen(app)
        assert await wait_for(pilot, lambda: screen.last_lab_string is not None, timeout=LONG)
        text = screen.last_lab_string
        assert app.clipboard == text  # sent to the terminal as OSC 52
        weights = trainer.weights()
        record = decode(text)
        assert record.step == trainer.step
        logged = [(c.step, c.name) for c in record.changes]
        assert logged[:3] == [(start, "q"), (start + 3, "lr"), (start + 3, "tied")]
        assert logged[3][1] == "noise" and logged[3][0] > start + 60

        await pilot.press("x")
        assert await wait_for(pilot, lambda: screen.last_export is not None, timeout=LONG)
        bundle = screen.last_export
        await app.lab.stop_training()

    assert bundle.parent == tmp_path
    rows, knobs, bundled, W = check_bundle(bundle, with_svg=True)
    assert bundled.changes == record.changes
    assert np.array_equal(W, weights.W)  # exported while paused: the weights of the string
    assert [(int(k["step"]), k["name"]) for k in knobs] == logged
    ckpt = load_checkpoint(bundle / "checkpoint.npz")
    last = rows[-1]
    curve_last = ckpt.state["curve"][-1]
    assert int(last["step"]) == curve_last[0] and float(last["val_recon"]) == curve_last[5]

    out = tmp_path / "replay.npz"
    assert cli.main(["train", "--lab", text, "--out", str(out), "--json"]) == 0
    replayed = load_checkpoint(out)
    assert replayed.step == record.step
    for name in ("W", "b", "c"):
        assert np.array_equal(getattr(replayed.params, name), getattr(weights, name)), name
    assert weights.V is not None and np.array_equal(replayed.params.V, weights.V)


async def test_lab_replays_a_string_and_pauses_where_it_ended(tmp_path, monkeypatch):
    import time

    from aetui.data import load_dataset
    from aetui.training.trainer import Trainer
    from aetui.tui.screens.lab import LabScreen

    # A slow UI: the trainer has made the string's first changes before the lab hears
    # it was built (the lab must not take them for its own stale settings and undo them).
    built = LabScreen.on_trainer_built

    def late(self, message):
        time.sleep(0.5)
        built(self, message)

    monkeypatch.setattr(LabScreen, "on_trainer_built", late)

    train_x, _, test_x, _ = load_dataset("digits", seed=SETTINGS.seed, limit=SETTINGS.limit)
    run = Trainer(SETTINGS, train_x, test_x)
    run.set_knob("q", 0.5)  # at step 0: applied as soon as the replay starts
    run.run(max_steps=12)
    run.set_knob("rho", 0.2)
    run.set_knob("beta", 0.3)
    run.run(max_steps=9)
    text = run.lab_string()
    settings, record = SETTINGS.replace(), decode(text)
    app = build_lab_app(record.settings, options=LabOptions(save_on_quit=False),
                        record=record)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None, timeout=LONG)
        trainer = app.lab.run.trainer
        assert await _paused_at(pilot, trainer, record.step)
        await pilot.pause(0.3)
        assert trainer.step == record.step == 21
        assert trainer.settings.beta == 0.3 and settings.beta == 0.0
        # Exactly the string's changes: the lab hands over no stale settings of its own.
        assert [(c.step, c.name, c.new) for c in trainer.knob_log] == \
            [(c.step, c.name, c.value) for c in record.changes]
        w = trainer.weights()
        assert np.array_equal(w.W, run.weights().W)
        await app.lab.stop_training()
