"""The drawing screen reports the drawing's reconstruction error against the held-out
digits' (the measure the tour's chapter 7.3.1 uses, aetui/experiments/novelty.py)."""

from __future__ import annotations

from fake_trainer import make_lab_app, wait_for

from aetui.experiments.novelty import reconstruction_errors
from aetui.tui.screens.draw import DrawScreen
from aetui.tui.widgets.sections import HeadLine


async def test_draw_screen_shows_the_drawing_error_against_digits():
    app = make_lab_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.press("d")
        assert await wait_for(pilot, lambda: isinstance(app.screen, DrawScreen))
        screen = app.screen
        assert await wait_for(pilot, lambda: screen.model_step is not None, timeout=10)
        await pilot.press("f")  # freeze the model: the figure is of these weights
        params = screen.frozen
        await pilot.press("space", "right", "space")  # some ink
        assert await wait_for(pilot, lambda: screen._shown_key[:1] == (screen.canvas.edits,))
        drawing, digits = screen.errors
        expected = reconstruction_errors(params, screen.canvas.flat[None], "sigmoid")[0]
        assert abs(drawing - expected) < 1e-6 and digits > 0
        assert f"error {drawing:.4f}" in screen.query_one(HeadLine).text
