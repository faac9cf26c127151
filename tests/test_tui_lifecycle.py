"""Startup, training, divergence, failure and quitting: the lab's life cycle."""

import asyncio
import threading

import pytest
from fake_trainer import make_lab_app, wait_for

from aetui.errors import DataError
from aetui.tui.app import LabApp
from aetui.tui.options import LabOptions
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.sparsity import SparsityPanel
from aetui.tui.widgets.status import StatusBar

SIZE = (120, 40)


def status(app) -> str:
    return app.lab.query_one(StatusBar).last_text


async def test_panels_update_while_training():
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        filters, digits = app.lab.query_one(FiltersPanel), app.lab.query_one(DigitsPanel)
        loss, sparsity = app.lab.query_one(LossPanel), app.lab.query_one(SparsityPanel)
        await pilot.pause(1.2)
        first = (filters.redraws, digits.redraws, len(loss.series.get("train recon", [])),
                 app.lab.snapshot.step, status(app))
        await pilot.pause(2.2)
        assert filters.redraws > first[0] and digits.redraws > first[1]
        assert app.lab.snapshot.step > first[3] and status(app) != first[4]
        assert loss.series["train recon"] and loss.series["held-out recon"]
        assert loss.series["train recon"][-1] < loss.series["train recon"][0]  # it learns
        assert "λ‖W‖²" not in loss.series  # a penalty that is off is not drawn
        assert "dead" in sparsity.caption() and "held-out" in sparsity.caption()
        assert f"of {app.lab.snapshot.hidden}" in sparsity.caption()


async def test_quit_mid_training_leaves_no_thread():
    before = set(threading.enumerate())
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                              and app.lab.run.trainer.step > 20)
        assert app.lab.run.trainer.state == "training"
        await pilot.press("ctrl+q")
    trainer = app.fake_trainers[0]
    assert trainer.finished and trainer.state == "stopped"
    # Worker threads live in the loop's executor: shutting it down joins them,
    # which would hang (and time out) if the trainer were still running.
    await asyncio.wait_for(asyncio.get_running_loop().shutdown_default_executor(), 5)
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left == []


async def test_compiling_is_shown_and_ui_stays_responsive():
    app = make_lab_app(warm_up_seconds=1.5)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None)
        await pilot.pause(0.1)
        app.lab.refresh_status()
        assert "compiling…" in status(app)
        await pilot.press("y")  # keys work while numba compiles
        assert app.lab.query_one(LossPanel).log_scale
        await pilot.press("Q")
        assert app.lab.run.trainer.settings.q == 0.35
        assert await wait_for(pilot, lambda: "training" in status(app), timeout=5)


async def test_quit_while_compiling_is_clean():
    app = make_lab_app(warm_up_seconds=1.0)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None)
        await pilot.press("ctrl+q")
    assert app.fake_trainers[0].state in ("stopped", "compiling", "training")
    await asyncio.wait_for(asyncio.get_running_loop().shutdown_default_executor(), 5)


async def test_keys_before_the_trainer_exists_are_kept():
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        # Nothing is built before the first message round-trip: change q at once.
        app.lab.run.session.set("q", 0.5)
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None)
        assert app.lab.run.trainer.settings.q == 0.5


async def test_divergence_pauses_with_message_and_reset_recovers():
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.press("colon", *"lr=60", "enter")
        assert await wait_for(pilot, lambda: app.lab.run.trainer.state == "diverged")
        assert await wait_for(pilot, lambda: "diverged" in status(app))
        assert "press r to reset" in status(app)
        assert any(n.severity == "error" for n in app._notifications)
        step = app.lab.run.trainer.step
        await pilot.press("space")  # resuming a diverged run is refused, politely
        await pilot.pause(0.2)
        assert app.lab.run.trainer.state == "diverged" and app.lab.run.trainer.step == step
        await pilot.press("colon", *"lr=0.1", "enter", "r")
        assert await wait_for(pilot, lambda: app.lab.run.trainer.state == "training")
        assert await wait_for(pilot, lambda: app.lab.run.trainer.step > 0 and "diverged"
                              not in status(app))


async def test_data_failure_is_shown_and_app_survives():
    def broken(settings):
        raise DataError("train-images-idx3-ubyte.gz: truncated file")

    app = LabApp(make_lab_app().lab.run.session.settings, load_data=broken,
                 options=LabOptions(save_on_quit=False))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.failure is not None)
        assert await wait_for(pilot, lambda: "truncated file" in status(app))
        assert "failed" in status(app)
        await pilot.press("space", "Q", "p", "ctrl+s")  # nothing to act on: no crash
        assert app._exception is None
        await pilot.press("ctrl+q")
    assert app.return_value is None


async def test_dataset_note_is_notified_once():
    app = make_lab_app(note="MNIST not found: using the built-in digits")
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        notes = [n for n in app._notifications if "built-in digits" in n.message]
        assert len(notes) == 1


@pytest.mark.parametrize(("env", "ascii_flag", "slow", "mode"), [
    ({"NO_COLOR": "1"}, False, False, "ascii"),
    ({}, True, False, "ascii"),
    ({"COLORTERM": "truecolor"}, False, False, "truecolor"),
    ({"COLORTERM": ""}, False, False, "256"),
    ({"COLORTERM": "truecolor"}, False, True, "grey"),
])
async def test_colour_modes_follow_environment(monkeypatch, env, ascii_flag, slow, mode):
    monkeypatch.delenv("NO_COLOR", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    options = LabOptions(ascii=ascii_flag, slow_link=slow, save_on_quit=False)
    assert options.image_mode() == mode
    app = make_lab_app(options=options)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        filters = app.lab.query_one(FiltersPanel)
        filters.mark_dirty(now=True)
        app.lab.query_one(DigitsPanel).mark_dirty(now=True)
        text = "".join(filters.text_lines() + app.lab.query_one(DigitsPanel).text_lines())
        assert ("▀" in text) == (mode != "ascii")
        if mode == "ascii":
            assert any(ch in text for ch in "#+=-@")  # the images are still drawn


def test_lab_refuses_without_a_terminal(capsys):
    from aetui.cli import main

    assert main(["--dataset", "digits"]) == 2
    assert "needs a terminal" in capsys.readouterr().err


async def test_hangup_stops_saves_and_exits(tmp_path):
    """A dropped SSH session sends SIGHUP: the run is saved, not lost."""
    import os
    import signal

    target = tmp_path / "hangup.npz"
    app = make_lab_app(options=LabOptions(save_path=target))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                              and app.lab.run.trainer.step > 5)
        os.kill(os.getpid(), signal.SIGHUP)
        assert await wait_for(pilot, lambda: app.saved_path is not None)
    assert app.fake_trainers[0].state == "stopped"
    assert app.saved_path == target
