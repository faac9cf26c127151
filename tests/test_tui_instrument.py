"""The lab as an instrument, driven through Pilot: the unit inspector, drawing a digit,
and scrubbing the run's history (README "Inspect, draw, scrub")."""

import numpy as np
import pytest
from fake_trainer import make_lab_app, wait_for

from aetui.config import Settings
from aetui.engine.model import reconstruct
from aetui.training.history import for_storage, snapshot_nbytes
from aetui.tui.screens.draw import CanvasView, DrawScreen
from aetui.tui.screens.inspector import InspectorScreen, UnitView
from aetui.tui.screens.lab import LabScreen
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.status import StatusBar

SIZE = (120, 40)


async def started(pilot):
    app = pilot.app
    assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                          and app.lab.snapshot is not None
                          and app.lab.query_one(FiltersPanel).capacity > 1)
    return app


def independent_top(app, unit: int, n: int = 9):
    """The held-out digits that activate `unit` most and least, from the weights of the
    model the inspector used, computed here in float64 from the formula."""
    x = app.lab.run.arrays[2][:app.lab.run.trainer.val_count].astype(np.float64) / 255.0
    p = app.lab.snapshot.params if app.screen.pinned else app.screen.inspector.params
    a = 1.0 / (1.0 + np.exp(-(x @ p.W[:, unit].astype(np.float64) + p.b[unit])))
    return set(np.argsort(-a)[:n]), set(np.argsort(a)[:n]), a


@pytest.mark.parametrize("size", [SIZE, (80, 24)])
async def test_inspector_shows_the_unit_under_the_cursor(size):
    app = make_lab_app(Settings(dataset="digits", hidden=64))
    async with app.run_test(size=size) as pilot:
        await started(pilot)
        panel = app.lab.query_one(FiltersPanel)
        await pilot.press("right", "right", "down")
        cols = panel._geo.cols
        assert panel.cursor == 2 + cols
        assert f"▸{2 + cols}" in panel.border_title
        # The cursor is drawn (once the trainer sends the units of the cursor's page).
        bar = "|" if panel.mode == "ascii" else "▌"
        assert await wait_for(pilot, lambda: any(bar in line for line in panel.text_lines()))
        await pilot.press("i")
        assert isinstance(app.screen, InspectorScreen)
        screen = app.screen
        assert await wait_for(pilot, lambda: screen.report is not None)
        r = screen.report
        assert r.unit == 2 + cols
        top, bottom, a = independent_top(app, r.unit)
        assert set(r.top.tolist()) == top and set(r.bottom.tolist()) == bottom
        assert r.rho_hat == pytest.approx(a.mean(), rel=1e-4)
        # The view repaints after the next refresh (it grows from the "computing" line).
        view = screen.query_one(UnitView)
        await wait_for(pilot, lambda: "most active" in "\n".join(view.text_lines()))
        text = "\n".join(view.text_lines())
        assert f"unit {r.unit}" in text and "most active" in text and "least active" in text
        # Arrows step to the neighbours without closing; the lab's cursor follows.
        await pilot.press("right")
        assert await wait_for(pilot, lambda: screen.report.unit == 3 + cols)
        assert isinstance(app.screen, InspectorScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, LabScreen)
        assert panel.cursor == 3 + cols


async def test_inspector_follows_training_and_pins():
    app = make_lab_app(Settings(dataset="digits", hidden=32))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("enter")
        screen = app.screen
        assert await wait_for(pilot, lambda: screen.report is not None)
        first = screen.report.step
        # Unit 0's filter drifts in the fake trainer: live, the report moves on.
        assert await wait_for(pilot, lambda: screen.report.step > first, timeout=8)
        await pilot.press("p")
        pinned = screen.report.step
        await pilot.pause(2.5)
        assert screen.report.step == pinned and app.lab.snapshot.step > pinned
        assert "PINNED" in str(screen.query_one("#inspector-head").render())
        await pilot.press("right")  # another unit of the pinned model
        assert await wait_for(pilot, lambda: screen.report.unit == 1)
        assert screen.report.step == pinned


async def test_double_click_on_a_filter_opens_it():
    app = make_lab_app(Settings(dataset="digits", hidden=64))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        panel = app.lab.query_one(FiltersPanel)
        # The first snapshot may carry one unit: wait for a drawn page of several.
        assert await wait_for(pilot, lambda: len(panel._slots) > 2)
        geo = panel._geo
        # content offset of the second image in the first row, plus border and padding
        x, y = geo.cell_w + geo.gap + 2 + 1, 2
        await pilot.click(FiltersPanel, offset=(x, y))
        assert panel.cursor == panel.first + 1
        await pilot.click(FiltersPanel, offset=(x, y), times=2)
        # A busy machine (a background compile of an earlier test's lab) may take seconds.
        assert await wait_for(pilot, lambda: isinstance(app.screen, InspectorScreen),
                              timeout=30.0)
        assert app.screen.unit == panel.first + 1


def silence_directly(app, unit):
    x = app.lab.run.arrays[2][:app.lab.run.trainer.val_count].astype(np.float64) / 255.0
    p = app.screen.inspector.params
    h = 1.0 / (1.0 + np.exp(-(x @ p.W + p.b)))

    def loss(h):
        xh = 1.0 / (1.0 + np.exp(-(h @ p.W.T + p.c)))
        return -np.sum(x * np.log(xh) + (1 - x) * np.log(1 - xh)) / len(x)

    base = loss(h)
    h[:, unit] = 0
    return base, loss(h) - base


async def test_silencing_share_matches_a_direct_computation():
    app = make_lab_app(Settings(dataset="digits", hidden=16))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("right", "i")
        screen = app.screen
        assert await wait_for(pilot, lambda: screen.report is not None)
        base, rise = silence_directly(app, 1)
        assert screen.report.silencing_rise == pytest.approx(rise, rel=1e-3, abs=1e-4)
        assert screen.report.silencing_share == pytest.approx(rise / base, rel=1e-3, abs=1e-6)
        text = "\n".join(screen.query_one(UnitView).text_lines())
        assert f"{screen.report.silencing_share:.2%}" in text


@pytest.mark.parametrize("size", [SIZE, (80, 24)])
async def test_drawing_changes_the_canvas_and_the_reconstruction_is_the_models(size):
    app = make_lab_app(Settings(dataset="digits", hidden=32, noise="mask", q=0.5))
    async with app.run_test(size=size) as pilot:
        await started(pilot)
        await pilot.press("d")
        assert isinstance(app.screen, DrawScreen)
        screen = app.screen
        assert not screen.canvas.pixels.any()
        await pilot.press("space", "right", "right", "space", "down", "down", "space")
        assert screen.canvas.pixels.sum() > 3
        r, c = screen.canvas.cursor
        assert screen.canvas.pixels[r, c] == 1.0
        # Mouse: press and drag across the canvas draws a stroke.
        before = screen.canvas.pixels.copy()
        view = screen.query_one(CanvasView)
        await pilot.mouse_down(CanvasView, offset=(3, 2))
        await pilot.hover(CanvasView, offset=(20, 3))
        await pilot.mouse_up(CanvasView, offset=(20, 3))
        assert (screen.canvas.pixels > before).sum() > 10
        assert view.scale == (2 if size == SIZE else 1)

        def matches():
            resp = screen.response
            if resp is None:
                return False
            params = app.lab.snapshot.params if screen.frozen is None else screen.frozen
            want = reconstruct(params, screen.canvas.flat[None], "sigmoid")[0]
            return np.allclose(resp.recon, want, atol=1e-6)

        assert await wait_for(pilot, matches)
        # x̃ is the canvas under the current noise: masking only removes ink.
        resp = screen.response
        ink = screen.canvas.flat > 0
        assert (resp.corrupted[ink] == 0).any() and (resp.corrupted <= screen.canvas.flat).all()
        # The keys: next held-out digit, apply corruption, freeze, clear.
        await pilot.press("n")
        assert np.allclose(screen.canvas.flat, app.lab.run.arrays[2][0] / 255.0, atol=1e-6)
        before = screen.canvas.pixels.copy()
        await pilot.press("a")
        assert screen.canvas.pixels.sum() < before.sum()
        await pilot.press("f")
        frozen_step = screen.model_step
        assert screen.frozen is not None
        await pilot.pause(1.5)
        assert screen.model_step == frozen_step < app.lab.snapshot.step
        await pilot.press("c")
        assert not screen.canvas.pixels.any()
        assert await wait_for(pilot, matches)
        await pilot.press("escape")
        assert isinstance(app.screen, LabScreen)


async def test_scrubbing_shows_the_stored_snapshot_and_end_returns_to_live():
    app = make_lab_app(Settings(dataset="digits", hidden=32))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        lab = app.screen
        assert await wait_for(pilot, lambda: len(lab.history.store) >= 6)
        await pilot.press("space")  # paused: the live view stands still too
        await pilot.pause(0.3)
        for _ in range(4):
            await pilot.press("less_than_sign")
        shown = lab.history.shown
        assert shown is not None and shown.step < app.lab.snapshot.step
        filters = app.lab.query_one(FiltersPanel)
        assert np.array_equal(filters.filters, shown.filters)
        assert not np.array_equal(filters.filters, app.lab.snapshot.filters)
        assert app.lab.query_one(LossPanel).history_step == shown.step
        status = app.lab.query_one(StatusBar).last_text
        assert f"HISTORY step {shown.step:,}" in status
        # Training goes on underneath; new snapshots do not pull the view back to live.
        await pilot.press("space")
        step = app.lab.snapshot.step
        assert await wait_for(pilot, lambda: app.lab.snapshot.step > step + 20)
        assert lab.history.shown is shown
        assert np.array_equal(filters.filters, shown.filters)
        assert app.lab.query_one(LossPanel).curve[-1].step > shown.step  # the live curve grows
        await pilot.press("greater_than_sign")
        assert lab.history.shown is not shown and lab.history.shown.step > shown.step
        await pilot.press("end")
        assert lab.history.shown is None and app.lab.query_one(LossPanel).history_step is None
        assert await wait_for(pilot, lambda: filters.filters is app.lab.snapshot.filters)
        assert "HISTORY" not in app.lab.query_one(StatusBar).last_text


async def test_the_store_stays_under_its_cap_with_the_first_snapshot_reachable():
    app = make_lab_app(Settings(dataset="digits", hidden=32), snapshot_interval=0.0,
                       chunk_delay=0.001)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        lab = app.screen
        store = lab.history.store
        one = snapshot_nbytes(for_storage(app.lab.snapshot))
        store.cap_bytes = 25 * one
        first = store.entries[0]
        # Many snapshots after the cap is set (the trainer may have sent hundreds before).
        added = store.added
        assert await wait_for(pilot, lambda: store.added > added + 150, timeout=20)
        assert store.nbytes <= store.cap_bytes and store.thinnings > 0
        assert store.entries[0] is first
        assert f"of {store.cap_bytes / 2**20:.0f} MB" in lab.history.status_text()
        await pilot.press("space")
        for _ in range(len(store) + 5):
            await pilot.press("less_than_sign")
        assert lab.history.shown is first
        assert np.array_equal(app.lab.query_one(DigitsPanel).images[2], first.recon)


async def test_a_loaded_run_starts_with_its_stored_history():
    """What `--load` hands over: the trainer's loaded_extras (a checkpoint's history_*
    arrays) come first in the store, and scrubbing reaches their first moment."""
    from aetui.training.history import from_arrays

    app = make_lab_app(Settings(dataset="digits", hidden=32))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert await wait_for(pilot, lambda: len(app.screen.history.store) >= 4)
        arrays = app.lab.run.trainer.checkpoint_extras()  # what a save writes
    earlier = from_arrays(arrays)
    assert len(earlier) >= 4

    app2 = make_lab_app(Settings(dataset="digits", hidden=32))
    make_trainer = app2.lab.run.trainer_factory

    def factory(*args, **kwargs):
        trainer = make_trainer(*args, **kwargs)
        trainer.loaded_extras = arrays
        return trainer

    app2.lab.run.trainer_factory = factory
    async with app2.run_test(size=SIZE) as pilot:
        await started(pilot)
        history = app2.screen.history
        steps = [s.step for s in history.store.entries[:len(earlier)]]
        assert steps == [s.step for s in earlier]
        await pilot.press("space")
        for _ in range(len(history.store) + 1):
            await pilot.press("less_than_sign")
        assert history.shown is history.store.entries[0]
        assert np.allclose(app2.lab.query_one(FiltersPanel).filters, earlier[0].filters)


async def test_inspector_and_drawing_in_every_colour_mode():
    from aetui.render import MODES
    from aetui.tui.screens.draw import ResponseView

    app = make_lab_app(Settings(dataset="digits", hidden=32, tied=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        panel = app.lab.query_one(FiltersPanel)
        seen = set()
        for _ in MODES:
            await pilot.press("c")
            mode = panel.mode
            seen.add(mode)
            await pilot.press("i")
            screen = app.screen
            assert await wait_for(pilot, lambda s=screen: s.report is not None)
            view = screen.query_one(UnitView)
            assert await wait_for(pilot, lambda v=view: len(v.text_lines()) > 10)
            unit_text = "\n".join(view.text_lines())
            await pilot.press("escape", "d", "n")
            draw = app.screen
            assert await wait_for(pilot, lambda d=draw: d.response is not None)
            await pilot.pause(0.2)
            canvas_text = "\n".join(draw.query_one(CanvasView).text_lines())
            response_text = "\n".join(draw.query_one(ResponseView).text_lines())
            for text in (unit_text, canvas_text, response_text):
                assert text.strip()
                if mode == "ascii":
                    assert "▀" not in text and "█" not in text, mode
                else:
                    assert "▀" in text, mode
            await pilot.press("escape")
        assert seen == set(MODES)


async def test_covering_screens_hide_and_restore_only_the_labs_panels():
    """An opaque screen hides the lab's panels; closing it shows them again -- and not
    the screen's own system widgets: a shown empty tooltip covered the status bar's
    first cells in a real terminal."""
    app = make_lab_app()
    async with app.run_test(size=SIZE, tooltips=True) as pilot:  # as in a real terminal
        await started(pilot)
        lab = app.screen
        tooltip = lab.query_one("#textual-tooltip")
        panels = [w for w in lab.children if not w.has_class("-textual-system")]
        assert not tooltip.display and all(w.display for w in panels)
        await pilot.press("d")
        assert isinstance(app.screen, DrawScreen)
        assert not any(w.display for w in panels)
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is lab and all(w.display for w in panels)
        assert not tooltip.display
