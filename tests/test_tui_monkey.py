"""A monkey test: 2,000 seeded random keys, mouse clicks and drags, and resizes, through
the lab and its inspector and drawing screens; then the app is
alive, the trainer consistent with what the status bar says, and quitting is clean."""

import contextlib
import random
import sys

from fake_trainer import make_lab_app, send_key, wait_for
from textual.errors import NoWidget
from textual.pilot import OutOfBounds

from aetui.knob_table import format_value
from aetui.training.snapshots import STATES
from aetui.tui.screens.draw import DrawScreen
from aetui.tui.screens.inspector import InspectorScreen
from aetui.tui.screens.lab import LabScreen
from aetui.tui.screens.lab_keys import LAB_BINDINGS
from aetui.tui.widgets.status import StatusBar

N_EVENTS = 2000
SIZES = [(80, 24), (120, 40), (160, 50), (100, 30), (60, 18), (72, 21)]


def key_pool() -> list[str]:
    keys = [k for b in LAB_BINDINGS for k in b.key.split(",")]
    # The inspector's and the drawing's own keys (each screen is entered with i/enter/d).
    keys += [k for screen in (InspectorScreen, DrawScreen) for b in screen.BINDINGS
             for k in b.key.split(",")]
    # Exporting an SVG costs ~0.1 s: keep it rare rather than absent; quit at the end.
    keys = [k for k in keys if k not in ("ctrl+e", "ctrl+q")]
    # What a person types into the prompt, and closes it with.
    keys += ["escape", "enter", "backspace", "0", "1", "3", "5", "=", ".", "a", "x"] * 2
    return keys


async def test_monkey_keys_and_resizes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import aetui.experiments.analysis as analysis

    monkeypatch.setattr(analysis, "probe_accuracies",
                        lambda *a, **k: {"raw": 0.9, "features": 0.95, "pca": 0.91})
    monkeypatch.setitem(sys.modules, "aetui.tui.screens.compare", None)
    rng = random.Random(1234)
    pool = key_pool()
    app = make_lab_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None)
        seen_screens: set[type] = set()
        for i in range(N_EVENTS):
            r = rng.random()
            if r < 0.02:
                await pilot.resize_terminal(*rng.choice(SIZES))
            elif r < 0.021:
                send_key(app, "ctrl+e")
            elif r < 0.035:
                # The mouse: clicks (filter cursor, double clicks open a unit) and drags
                # (the canvas), anywhere on the screen.
                w, h = app.size
                x, y = rng.randrange(w), rng.randrange(h)
                # (Pilot itself refuses a spot with no widget, e.g. mid screen switch.)
                with contextlib.suppress(NoWidget, OutOfBounds):
                    if rng.random() < 0.5:
                        await pilot.click(offset=(x, y), times=rng.choice((1, 1, 2)))
                    else:
                        await pilot.mouse_down(offset=(x, y))
                        await pilot.hover(offset=(rng.randrange(w), rng.randrange(h)))
                        await pilot.mouse_up(offset=(rng.randrange(w), rng.randrange(h)))
            else:
                send_key(app, rng.choice(pool))
            seen_screens.add(type(app.screen))
            if i % 25 == 0:
                await pilot.pause(0.01)
            assert app._exception is None, f"crashed after event {i}"

        # Settle: back to a good size, close whatever is open.
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        for _ in range(10):
            if isinstance(app.screen, LabScreen):
                break
            await pilot.press("escape")
        assert isinstance(app.screen, LabScreen)
        assert app.is_running and app._exception is None
        assert seen_screens >= {InspectorScreen, DrawScreen}  # the modes were visited
        history = app.screen.history
        assert history.store.nbytes <= history.store.cap_bytes
        await pilot.press("end")
        assert not history.scrubbing

        trainer = app.lab.run.trainer
        assert app.fake_trainers[-1] is trainer
        assert all(t.finished for t in app.fake_trainers[:-1])  # loads replaced cleanly
        s = trainer.settings.validate()
        assert trainer.state in STATES
        assert all(0 <= u < s.hidden for u in trainer.filter_units)
        # The trainer trains again, and its snapshots match its settings.
        if trainer.state == "diverged":
            app.lab.run.session.set("lr", 0.1)
            await pilot.press("r")
        if trainer.state == "paused":
            await pilot.press("space")
        step = trainer.step
        assert await wait_for(pilot, lambda: trainer.step > step)
        assert await wait_for(pilot, lambda: app.lab.snapshot.hidden == s.hidden)
        app.lab.refresh_status()
        status = app.lab.query_one(StatusBar).last_text
        for symbol, name in (("q", "q"), ("σ", "sigma"), ("ρ", "rho"), ("β", "beta"),
                             ("λ", "l2"), ("lr", "lr")):
            assert f"{symbol} {format_value(getattr(s, name))}" in status
        assert f"784→{s.hidden} {'tied' if s.tied else 'untied'}" in status
        assert f"noise {s.noise}" in status
        await pilot.press("ctrl+q")
    assert all(t.finished for t in app.fake_trainers)
