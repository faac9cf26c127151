"""Rendering: half-block grids, colour modes, normalisation, the Rich renderable."""

import io

import numpy as np
import pytest
from rich.console import Console
from rich.segment import Segment

from aetui.render import ImageGrid, grid_geometry, render_grid, resample
from aetui.render.colormap import cell_style, palette
from aetui.render.grid import normalise_images


def _text(line):
    return "".join(seg.text for seg in line)


def _width(line):
    return Segment.get_line_length(line)


def test_half_block_two_pixel_rows_per_cell():
    img = np.zeros((1, 4 * 4), np.float32)
    img[0, :4] = 1.0  # top row white, the rest black
    lines = render_grid(img, shape=(4, 4), mode="truecolor", normalise="none", diverging=False)
    assert len(lines) == 2  # 4 pixel rows -> 2 text lines
    assert _text(lines[0]) == "▀▀▀▀"
    seg = lines[0][0]
    assert seg.style.color.get_truecolor().red == 255  # top pixel white
    assert seg.style.bgcolor.get_truecolor().red == 0  # bottom pixel black
    assert len(lines[0]) == 1  # identical cells are merged into one segment


def test_odd_height_leaves_bottom_unpainted():
    lines = render_grid(np.ones((1, 9)), shape=(3, 3), mode="truecolor", normalise="none",
                        diverging=False)
    assert len(lines) == 2
    assert lines[1][0].style.bgcolor is None


def test_grid_layout_fills_width_and_lines_are_equal_length():
    imgs = np.random.default_rng(0).normal(size=(10, 784))
    lines = render_grid(imgs, width=100)  # 3 columns of 28 + 2 gaps = 86
    geo = grid_geometry(10, width=100)
    assert geo.cols == 3 and geo.cell_h == 14
    assert len(lines) == 4 * 14 + 3  # 4 grid rows with 1-line gaps
    assert {_width(line) for line in lines} == {86}


def test_size_resamples():
    imgs = np.random.default_rng(1).random((3, 784))
    lines = render_grid(imgs, size=14, cols=3, diverging=False)
    assert len(lines) == 7 and _width(lines[0]) == 3 * 14 + 2
    small = resample(imgs, (28, 28), (14, 14))
    expected = imgs.reshape(3, 14, 2, 14, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(small, expected, rtol=1e-5)


@pytest.mark.parametrize("mode", ["truecolor", "256", "grey", "ascii"])
def test_every_mode_renders(mode):
    imgs = np.random.default_rng(2).normal(size=(4, 784))
    lines = render_grid(imgs, mode=mode, width=80)
    assert lines and all(_width(line) == _width(lines[0]) for line in lines)
    if mode == "ascii":
        assert all(seg.style is None for line in lines for seg in line)
        assert "▀" not in "".join(_text(line) for line in lines)
    else:
        assert "▀" in _text(lines[0])


def test_256_mode_uses_eight_bit_colours():
    colours = palette("256", "colour")
    assert all(c.number is not None and c.triplet is None for c in colours)


def test_normalisation_each_vs_shared():
    stack = np.stack([np.full((2, 2), 0.1), np.full((2, 2), -2.0)])
    each = normalise_images(stack, "each", diverging=True)
    shared = normalise_images(stack, "shared", diverging=True)
    np.testing.assert_allclose(each[0], 1.0)
    np.testing.assert_allclose(each[1], -1.0)
    np.testing.assert_allclose(shared[0], 0.05)
    np.testing.assert_allclose(shared[1], -1.0)
    with pytest.raises(ValueError):
        normalise_images(stack, "bogus", True)


def test_zero_and_nan_images_do_not_crash():
    imgs = np.zeros((2, 784))
    imgs[1, 0] = np.nan
    lines = render_grid(imgs, width=60)
    assert len(lines) == 14


def test_diverging_sign_is_visible_in_colour():
    neg = cell_style("truecolor", "colour", None, 0, 0).color.get_truecolor()
    pos = cell_style("truecolor", "colour", None, 48, 48).color.get_truecolor()
    assert neg.blue > neg.red and pos.red > pos.blue


def test_image_grid_renderable_fits_console():
    imgs = np.random.default_rng(3).normal(size=(12, 784))
    console = Console(width=70, record=True, color_system="truecolor", file=io.StringIO())
    console.print(ImageGrid(imgs, title="filters"))
    text = console.export_text()
    lines = text.splitlines()
    assert lines[0] == "filters"
    assert max(len(line) for line in lines) <= 70
    assert text.count("▀") == 12 * 28 * 14
