"""Pictures that tell the truth: the loss plot's range, the pixel path's grid,
area-average downsampling, and the digits panel's corrupted column."""

import re

import numpy as np
from rich.text import Text
from textual.app import App

from aetui.render.colormap import inverse_palette, palette
from aetui.render.graphics import resolve
from aetui.render.grid import resample
from aetui.render.pixels import grid_rgb
from aetui.training.snapshots import LossPoint, LossTerms
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.loss import LossPanel, y_range


def _curve(n=300):
    """A run like the issue's: 670 at the start, then a slow 75 → 64."""
    steps = np.arange(n) * 100
    recon = 64 + 11 * np.exp(-steps / 12000) + 600 * np.exp(-steps / 300)
    return [LossPoint(int(s), s / 6000, LossTerms(float(r), 0.0, 0.0),
                      LossTerms(float(r) + 1, 0.0, 0.0)) for s, r in zip(steps, recon,
                                                                      strict=True)]


def test_y_range_leaves_out_the_initial_transient():
    curve = _curve()
    steps = [p.step for p in curve]
    lo, hi = y_range(steps, {"train": [(p.step, p.train.recon) for p in curve]})
    assert curve[0].train.recon > 600 > hi  # the first point is out of range
    late = [p.train.recon for p in curve if p.step >= 0.1 * steps[-1]]
    assert lo <= min(late) and hi >= max(late)  # the last 90 % is all in range
    assert hi - lo < 1.2 * (max(late) - min(late))  # and fills it


async def test_loss_panel_scales_to_progress_and_prints_current_values():
    class Host(App):
        def compose(self):
            yield LossPanel(id="loss")

    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        loss = app.query_one(LossPanel)
        curve = _curve()
        loss.set_curve(curve, ())
        loss.redraw()
        await pilot.pause()
        assert loss.y_limits is not None and loss.y_limits[1] < 100
        title = Text.from_markup(loss.border_title).plain
        assert f"train {curve[-1].train.recon:.4g}" in title
        assert f"clean {curve[-1].val.recon:.4g}" in title  # the clean held-out loss
        # the y axis labels are in the 60s-70s, not 0..670
        ticks = [float(t) for line in loss.text_lines()[:15]
                 for t in re.findall(r"^\s*(\d+(?:\.\d+)?)┤", line)]
        assert ticks and max(ticks) < 100 and min(ticks) > 50
        # the legend is the title, naming both series in their colours; none covers the plot
        assert "[cyan]train" in loss.border_title and "[orange]clean" in loss.border_title
        text = "\n".join(loss.text_lines())
        assert "train recon" not in text and "held-out recon" not in text
        loss.toggle_log()
        await pilot.pause()
        assert loss.y_limits is None and "log scale" in loss.border_title


def test_downsampling_is_an_area_average():
    rng = np.random.default_rng(0)
    img = rng.random((1, 784)).astype(np.float32)
    small = resample(img, (28, 28), (14, 14))
    np.testing.assert_allclose(small[0], img.reshape(14, 2, 14, 2).mean(axis=(1, 3)),
                               rtol=1e-5)
    # a non-integer factor keeps the mean (a box filter, not a subsample)
    odd = resample(img, (28, 28), (12, 12))
    assert abs(odd.mean() - img.mean()) < 0.01


def test_pixel_grid_decodes_back_at_full_resolution():
    y, x = np.mgrid[0:28, 0:28] - 13.5
    w = np.exp(-(x**2 + y**2) / 30) * np.cos(x / 2)
    w /= np.abs(w).max()
    for cmap in ("colour", "grey"):
        rgb = grid_rgb(np.stack([w, -w]).reshape(2, -1), cols=2, cmap=cmap)
        assert rgb.shape == (28, 58, 3)
        lookup = {(c.get_truecolor().red, c.get_truecolor().green, c.get_truecolor().blue): v
                  for c, v in inverse_palette("truecolor", cmap).items()}
        first = np.array([[lookup[tuple(p)] for p in row] for row in rgb[:, :28]])
        second = np.array([[lookup[tuple(p)] for p in row] for row in rgb[:, 30:]])
        assert np.corrcoef(first.ravel(), w.ravel())[0, 1] >= 0.99
        np.testing.assert_allclose(second, -first, atol=1e-9)  # symmetric either sign


def test_graphics_resolution_rules():
    never = lambda: None  # noqa: E731 -- a terminal that answers nothing
    sixel = lambda: "sixel"  # noqa: E731
    assert resolve("auto", detect=sixel) == ("pixels", "sixel")
    assert resolve("auto", detect=never) == ("blocks", None)
    assert resolve("auto", slow_link=True, detect=sixel) == ("blocks", None)
    assert resolve("pixels", slow_link=True, detect=never) == ("pixels", "sixel")
    assert resolve("blocks", detect=sixel) == ("blocks", None)
    assert resolve("auto", ascii=True, detect=sixel) == ("ascii", None)


async def test_corrupted_column_shows_the_dropped_pixels_at_full_resolution():
    """The digits panel, wide enough for one row at 28 px: x̃'s dropped ink is black."""
    from aetui.data.digits import generate

    class Host(App):
        def compose(self):
            yield DigitsPanel(id="digits", mode="256")

    clean = generate(2, seed=5)[0] / 255.0
    rng = np.random.default_rng(1)
    keep = rng.random(clean.shape) >= 0.3
    corrupted = clean * keep
    app = Host()
    async with app.run_test(size=(124, 20)) as pilot:
        panel = app.query_one(DigitsPanel)
        panel.set_digits(clean, corrupted, clean * 0.9, "mask q=0.3")
        panel.mark_dirty(now=True)
        await pilot.pause()
        assert panel.layout_used[1] == 28 and "28 px" in panel.border_title
        inverse = inverse_palette("256", "intensity")
        # the second image of the first group is x̃: columns 29..56 of each line
        drawn = np.zeros((28, 28))
        for row, strip in enumerate(panel._strips[:14]):
            cells = [seg.style for seg in strip for _ in seg.text]
            left = 28 + 1  # past x and the gap
            for col in range(28):
                style = cells[left + col]
                drawn[2 * row, col] = inverse[style.color]
                drawn[2 * row + 1, col] = inverse[style.bgcolor]
        truth = corrupted[0].reshape(28, 28)
        ink = clean[0].reshape(28, 28) > 0.25
        dropped = ink & ~keep[0].reshape(28, 28)
        assert (drawn[dropped] == 0).all() and (drawn[ink & ~dropped] > 0).all()
        assert abs(dropped.sum() / ink.sum() - 0.3) < 0.1
        assert np.corrcoef(drawn.ravel(), truth.ravel())[0, 1] >= 0.95
        assert len(palette("256", "intensity")) == 26
