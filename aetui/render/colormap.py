"""Colour maps and the per-cell styles they produce, cached.

Values are quantised to a few dozen levels before they become colours: that
bounds the number of distinct Rich styles (so they can be cached), and lets
neighbouring cells share a style so Textual sends one escape sequence for a
run of cells instead of one per cell -- which is most of the bandwidth.
"""

from __future__ import annotations

import itertools
import os
from functools import lru_cache

import numpy as np
from rich.color import Color, ColorSystem
from rich.style import Style

MODES = ("truecolor", "256", "grey", "ascii")

# Diverging map for filters, centred on near-black so that a weight of zero
# looks like the terminal background: negative weights cool, positive warm.
_DIVERGING_STOPS = (
    (-1.0, (170, 215, 255)),
    (-0.5, (45, 110, 215)),
    (0.0, (14, 14, 18)),
    (0.5, (215, 90, 30)),
    (1.0, (255, 230, 140)),
)

# Plain-ASCII ramps. Unipolar: dark to bright. Diverging: negatives use
# '-' and '=', positives '+' and '#', so the sign stays readable without colour.
ASCII_UNIPOLAR = " .:-=+*#%@"
ASCII_DIVERGING = "=-, .+#"


def default_mode(*, ascii: bool = False) -> str:
    """The image mode for this terminal: ascii under --ascii or NO_COLOR,
    truecolor when COLORTERM says so, otherwise 256 colours."""
    from aetui.terminal import unicode_ok

    # ASCII also when the locale cannot show the half-block characters.
    if ascii or os.environ.get("NO_COLOR") or not unicode_ok():
        return "ascii"
    if os.environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor"
    return "256"


def default_levels(mode: str) -> int:
    """How many grey/colour levels a mode distinguishes."""
    return {"truecolor": 48, "256": 32, "grey": 24, "ascii": len(ASCII_UNIPOLAR)}[mode]


def _interp_stops(t: float) -> tuple[int, int, int]:
    """RGB of the diverging map at t in [-1, 1]."""
    for (t0, c0), (t1, c1) in itertools.pairwise(_DIVERGING_STOPS):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return tuple(round(a + (b - a) * f) for a, b in zip(c0, c1, strict=True))
    return _DIVERGING_STOPS[-1][1]


@lru_cache(maxsize=32)
def palette(mode: str, diverging: bool, levels: int) -> tuple[Color, ...]:
    """`levels` colours, index 0 = the most negative (or darkest) value."""
    if mode == "ascii":
        raise ValueError("ascii mode has no palette")
    colours: list[Color] = []
    for i in range(levels):
        t = i / (levels - 1)  # 0..1
        if mode == "grey" or not diverging:
            if mode == "grey" or mode == "256":
                # The xterm grey ramp (232..255) plus black and white: exact
                # greys on any 256-colour terminal.
                g = round(t * 25)
                colours.append(Color.from_ansi(16 if g == 0 else 231 if g == 25 else 231 + g))
                continue
            v = round(t * 255)
            colours.append(Color.from_rgb(v, v, v))
            continue
        r, g, b = _interp_stops(2.0 * t - 1.0)
        colour = Color.from_rgb(r, g, b)
        if mode == "256":
            colour = colour.downgrade(ColorSystem.EIGHT_BIT)
        colours.append(colour)
    return tuple(colours)


@lru_cache(maxsize=65536)
def cell_style(mode: str, diverging: bool, levels: int, top: int, bottom: int) -> Style:
    """The style of one half-block cell: foreground = top pixel, background =
    bottom pixel (-1: no bottom pixel, the terminal background shows)."""
    colours = palette(mode, diverging, levels)
    return Style(color=colours[top], bgcolor=None if bottom < 0 else colours[bottom])


def ascii_ramp(diverging: bool) -> str:
    return ASCII_DIVERGING if diverging else ASCII_UNIPOLAR


def quantise(values: np.ndarray, levels: int, diverging: bool) -> np.ndarray:
    """Map values (diverging: [-1, 1], else [0, 1]; clipped) to ints 0..levels-1."""
    lo = -1.0 if diverging else 0.0
    scaled = (np.clip(values, lo, 1.0) - lo) / (1.0 - lo)
    return np.rint(scaled * (levels - 1)).astype(np.int16)
