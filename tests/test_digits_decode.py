"""Decode the digits panel at 120×40 as drawn, with no key pressed: each half-block
cell's colours are read back to pixel levels, and x̃'s dropped pixels (masking
noise) are found where the mask put them (README, "Layouts")."""

import numpy as np
from fake_trainer import make_lab_app, wait_for

from aetui.data.digits import generate
from aetui.render.colormap import palette, quantise
from aetui.render.grid import resample
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel

Q = 0.3


def cells_of(strip) -> list:
    """(character, style) per cell of one drawn line."""
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def decode(rows: list[list], x0: int, y0: int, px: int, levels: dict) -> np.ndarray:
    """The px × px image at cell (x0, y0): top pixel = foreground, bottom = background."""
    out = np.full((px, px), -1, np.int16)
    for r in range((px + 1) // 2):
        for c in range(px):
            ch, style = rows[y0 + r][x0 + c]
            assert ch == "▀", (ch, x0 + c, y0 + r)
            out[2 * r, c] = levels[style.color]
            if 2 * r + 1 < px:
                out[2 * r + 1, c] = levels[style.bgcolor]
    return out


async def test_masked_digits_dropped_pixels_are_in_the_cells_drawn():
    app = make_lab_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.press("space")  # paused: no later snapshot replaces the digits below
        await pilot.pause(1.0)
        images, _ = generate(20, seed=3)
        clean = images[:8].astype(np.float32) / 255.0
        rng = np.random.default_rng(0)
        kept = rng.random(clean.shape) >= Q
        corrupted = clean * kept
        digits = app.lab.query_one(DigitsPanel)
        digits.set_digits(clean, corrupted, np.clip(clean * 0.9, 0, 1), f"mask q={Q}")
        digits.redraw()
        orient, px, shown = digits.layout_used
        assert orient == "cols" and px >= 14 and shown >= 2  # no key pressed

        colours = palette(digits.draw_mode, "intensity", digits.levels)
        levels = {colour: i for i, colour in enumerate(colours)}
        rows = [cells_of(strip) for strip in digits._strips]
        band = (px + 1) // 2 + 1
        found = 0
        for d in range(shown):
            x = decode(rows, 0, d * band, px, levels)
            x_tilde = decode(rows, px + 1, d * band, px, levels)
            # Faithful: each cell is the area mean of the 28-px image, quantised.
            want = quantise(resample(corrupted[d:d + 1], (28, 28), (px, px))[0],
                            len(colours), False)
            assert np.array_equal(x_tilde, want)
            # The dropped pixels: x̃ darker than x exactly where the mask dropped ink.
            dropped_ink = resample(((~kept[d]) * clean[d])[None], (28, 28), (px, px))[0]
            darker = x_tilde < x
            assert darker.sum() >= 10, f"digit {d}: only {darker.sum()} darker pixels"
            assert np.all(dropped_ink[darker] > 0), "darker where nothing was dropped"
            visible = dropped_ink > 2.0 / (len(colours) - 1)
            assert darker[visible].mean() > 0.9
            found += int(darker.sum())
        assert found >= 20
        assert app.lab.query_one(FiltersPanel).capacity >= 16
