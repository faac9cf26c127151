"""The pictures read back: render a known filter and digit in each mode, decode
the drawn cells (foreground = top pixel, background = bottom pixel) through
the palette's inverse, and compare with the source."""

import itertools

import numpy as np
import pytest
from rich.color import ColorType

from aetui.data.digits import generate
from aetui.figures.png import grid_array
from aetui.render import render_grid
from aetui.render.colormap import (
    _COLOUR_256,
    colour_rgb,
    grey_value,
    inverse_palette,
    map_kind,
    palette,
)

COLOUR_MODES = ("truecolor", "256", "grey")


def known_filter() -> np.ndarray:
    """A Gabor-like stroke detector: signed, zero on a wide border (28×28)."""
    y, x = np.mgrid[0:28, 0:28] - 13.5
    envelope = np.exp(-(x**2 + y**2) / (2 * 4.0**2))
    w = envelope * np.cos(2 * np.pi * (0.8 * x + 0.6 * y) / 7.0)
    w[envelope < 0.02] = 0.0  # an exactly-untrained border
    return w / np.abs(w).max()


def known_digit() -> np.ndarray:
    return generate(1, seed=3)[0][0].reshape(28, 28) / 255.0


def _lightness(colour) -> float:
    """CIE L* of a Rich colour."""
    t = colour.get_truecolor()
    rgb = np.array([t.red, t.green, t.blue]) / 255
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = float(lin @ [0.2126, 0.7152, 0.0722])
    return 116 * np.cbrt(y) - 16 if y > 0.008856 else 903.3 * y


def decode(lines, mode: str, kind: str, shape=(28, 28)) -> np.ndarray:
    """Pixel values back from the drawn cells of one image."""
    inverse = inverse_palette(mode, kind)
    out = np.full(shape, np.nan)
    for row, line in enumerate(lines):
        x = 0
        for seg in line:
            for _ in seg.text:
                out[2 * row, x] = inverse[seg.style.color]
                if 2 * row + 1 < shape[0]:
                    out[2 * row + 1, x] = inverse[seg.style.bgcolor]
                x += 1
    assert not np.isnan(out).any(), "every pixel is drawn"
    return out


@pytest.mark.parametrize("cmap", ["colour", "grey"])
@pytest.mark.parametrize("mode", COLOUR_MODES)
def test_a_filter_decodes_back_to_itself(mode, cmap):
    w = known_filter()
    lines = render_grid(w.reshape(1, -1), mode=mode, cmap=cmap)
    assert len(lines) == 14 and sum(len(s.text) for s in lines[0]) == 28  # full resolution
    kind = map_kind(mode, True, cmap)
    back = decode(lines, mode, kind)
    assert np.corrcoef(back.ravel(), w.ravel())[0, 1] >= 0.95
    # zero → the neutral colour, decoded as exactly zero
    zero = palette(mode, kind)[len(palette(mode, kind)) // 2].get_truecolor()
    assert zero.red == zero.green == zero.blue
    np.testing.assert_array_equal(back[w == 0], 0.0)
    # sign preserved wherever the weight is more than one colour step from zero
    step = 2.0 / (len(palette(mode, kind)) - 1)
    clear = np.abs(w) > step
    np.testing.assert_array_equal(np.sign(back[clear]), np.sign(w[clear]))


@pytest.mark.parametrize("mode", COLOUR_MODES)
def test_a_digit_decodes_back_to_itself(mode):
    digit = known_digit()
    lines = render_grid(digit.reshape(1, -1), mode=mode, normalise="none", diverging=False)
    back = decode(lines, mode, "intensity")
    assert np.corrcoef(back.ravel(), digit.ravel())[0, 1] >= 0.95
    np.testing.assert_array_equal(back[digit == 0], 0.0)


def test_ascii_keeps_the_sign():
    w = known_filter()
    text = ["".join(s.text for s in line)
            for line in render_grid(w.reshape(1, -1), mode="ascii")]
    pairs = (w[0::2] + w[1::2]) / 2  # a character stands for two pixel rows
    chars = np.array([list(t) for t in text])
    assert set(chars[pairs > 0.5]) <= {"+", "#"}
    assert set(chars[pairs < -0.5]) <= {"-", "="}
    assert set(chars[pairs == 0]) == {" "}


@pytest.mark.parametrize("mode", ["256", "truecolor"])
def test_masked_digit_shows_the_dropped_pixels(mode):
    digit = known_digit()
    rng = np.random.default_rng(0)
    keep = rng.random(digit.shape) >= 0.3  # mask noise, q = 0.3
    masked = digit * keep
    lines = render_grid(masked.reshape(1, -1), mode=mode, normalise="none", diverging=False)
    back = decode(lines, mode, "intensity")
    ink = digit > 0.25
    dropped = ink & ~keep
    # every dropped ink pixel is drawn black; every kept one is not
    assert dropped.sum() > 20
    np.testing.assert_array_equal(back[dropped], 0.0)
    assert (back[ink & keep] > 0).all()
    found = (back == 0) & ink
    assert abs(found.sum() / ink.sum() - 0.3) < 0.1


@pytest.mark.parametrize("mode", COLOUR_MODES)
@pytest.mark.parametrize("cmap", ["colour", "grey"])
def test_signed_maps_are_neutral_monotone_and_symmetric(mode, cmap):
    colours = palette(mode, map_kind(mode, True, cmap))
    n = len(colours)
    assert n % 2 == 1
    zero = colours[n // 2].get_truecolor()
    assert zero.red == zero.green == zero.blue
    light = [_lightness(c) for c in colours]
    if cmap == "grey" or mode == "grey":
        # dark − / light +: lightness rises through the whole map; the grey
        # values are symmetric about zero as in the PNG (128 ± the same step)
        assert all(b > a for a, b in itertools.pairwise(light))
        grey = np.array([c.get_truecolor().red for c in colours], dtype=float)
        np.testing.assert_allclose(grey - grey[n // 2], -(grey - grey[n // 2])[::-1], atol=2.0)
    else:
        # colour grows with |value| either side of the grey, as far for −v as for +v
        from skimage.color import rgb2lab

        def lab(c):
            t = c.get_truecolor()
            return rgb2lab(np.array([[[t.red, t.green, t.blue]]]) / 255)[0, 0]

        far = [float(np.linalg.norm(lab(c) - lab(colours[n // 2]))) for c in colours]
        pos, neg = far[n // 2 + 1:], far[n // 2 - 1::-1]
        assert all(b > a for a, b in itertools.pairwise(pos))
        assert all(b > a for a, b in itertools.pairwise(neg))
        np.testing.assert_allclose(pos, neg, atol=6.5)
        # and the sign is in the hue: negative blue, positive warm
        neg_end, pos_end = colours[0].get_truecolor(), colours[-1].get_truecolor()
        assert neg_end.blue > neg_end.red and pos_end.red > pos_end.blue
    assert len(set(colours)) == n  # decodable: one colour per level


def test_256_maps_are_xterm_colours_chosen_not_downgraded():
    for kind in ("colour", "grey", "intensity"):
        for c in palette("256", kind):
            assert c.type == ColorType.EIGHT_BIT and c.number >= 16
    # zero is a grey of the ramp, never navy (17) as a downgraded map gave
    assert _COLOUR_256[len(_COLOUR_256) // 2] in range(232, 256)
    assert 17 not in _COLOUR_256
    assert palette("256", "grey")[12].number == 244  # (128, 128, 128)


def test_png_and_terminal_grey_maps_agree():
    w = known_filter() * 0.37  # the scaling rule is the same too: by the filter's max |w|
    png = grid_array(w.reshape(1, -1), scale=1, gap=0)
    lines = render_grid(w.reshape(1, -1), mode="truecolor", cmap="grey")
    drawn = np.array([[seg.style.color.get_truecolor().red for seg in line
                       for _ in seg.text] for line in lines])
    # the terminal draws the PNG's greys, quantised to its 49 levels
    assert np.abs(drawn.astype(int) - png[0::2].astype(int)).max() <= 3
    assert png[w == 0].tolist() == [grey_value(0.0)] * int((w == 0).sum())
    assert grey_value(0.0) == 128


def test_png_colour_map_is_the_terminals():
    w = known_filter()
    png = grid_array(w.reshape(1, -1), scale=1, gap=0, cmap="colour")
    assert png.shape == (28, 28, 3)
    lines = render_grid(w.reshape(1, -1), mode="truecolor", cmap="colour")
    drawn = np.array([[tuple(seg.style.color.get_truecolor()) for seg in line
                       for _ in seg.text] for line in lines])
    # the same map: the terminal's 49 levels are samples of the PNG's continuous map
    levels = np.rint((w[0::2] + 1) * 24) / 24 - 1
    np.testing.assert_array_equal(drawn, colour_rgb(levels))
    assert np.abs(drawn.astype(int) - png[0::2].astype(int)).mean() < 6
    zero = png[w == 0]
    assert (zero == zero[0]).all() and zero[0][0] == zero[0][1] == zero[0][2]

