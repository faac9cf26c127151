"""Colour maps, one per colour mode, and the per-cell styles they produce, cached.

A map is chosen for the mode it is shown in (README, "Pictures"): the
256-colour maps are picked from the xterm 6×6×6 cube and 24-step grey ramp,
not downgraded from truecolor -- a downgraded map is a different map (its
zero may land on navy). Every signed map puts zero on a neutral grey, is
monotone (the farther from zero, the farther the colour from the grey) and
symmetric (the same |value| gets the same contrast either sign), so a filter's weakest weights are
its least visible part in every mode.

Values are quantised to a few dozen levels before they become colours: that
bounds the number of distinct Rich styles (so they can be cached), and lets
neighbouring cells share a style so Textual sends one escape sequence for a
run of cells instead of one per cell -- which is most of the bandwidth.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style

MODES = ("truecolor", "256", "grey", "ascii")
# Signed maps: "colour" (grey zero, blue −, orange +) and "grey" (mid-grey
# zero, dark −, light +: the PNG's map). "intensity" is black..white (digits).
CMAPS = ("colour", "grey")
KINDS = ("colour", "grey", "intensity")

# The 256-colour diverging map, hand-picked from the xterm cube: xterm numbers
# from the most negative to zero to the most positive. Zero is the mid-grey
# 245, as in the PNG; colour grows with |value| at about the same lightness
# (a cool-warm map): each blue step and its orange mirror are about equally
# far from the grey (CIE ΔE 23/17, 46/44, 68/69, 94/92; tests/test_colormaps.py).
# The cube has no dark colour of low chroma, so a dark zero cannot grow its
# colour gradually: its first step would be navy, and weak weights shout.
_COLOUR_256 = (27, 69, 68, 103, 245, 138, 173, 203, 202)
# Greys with a mid-grey zero: black, the xterm ramp 18..238 (233..255) and
# white -- 128 ± 10·k, and 0 / 255 at the ends.
_GREY_256 = (16, *range(233, 256), 231)
# Intensities black..white: black, the whole ramp 8..238, white.
_INTENSITY_256 = (16, *range(232, 256), 231)
TRUECOLOR_LEVELS = 49  # odd: zero is a level of its own

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


def map_kind(mode: str, diverging: bool, cmap: str = "colour") -> str:
    """Which palette a picture uses: intensities for unsigned images; for
    signed ones the chosen map, except that the grey mode has only greys."""
    if not diverging:
        return "intensity"
    if cmap not in CMAPS:
        raise ValueError(f"cmap must be one of {CMAPS}, got {cmap!r}")
    return "grey" if mode == "grey" else cmap


def grey_value(t: np.ndarray | float) -> np.ndarray:
    """The grey map: t in [-1, 1] → 0..255, zero → 128. The PNG export uses
    this same function, so a filter has the same greys in both."""
    return np.rint((0.5 + 0.5 * np.clip(t, -1.0, 1.0)) * 255).astype(np.uint8)


def _xterm_rgb(number: int) -> tuple[int, int, int]:
    triplet = Color.from_ansi(number).get_truecolor()
    return triplet.red, triplet.green, triplet.blue


@lru_cache(maxsize=1)
def _colour_stops_lab() -> np.ndarray:
    from skimage.color import rgb2lab

    rgb = np.array([_xterm_rgb(n) for n in _COLOUR_256], dtype=np.float64) / 255
    return rgb2lab(rgb[None])[0]


def colour_rgb(t: np.ndarray | float) -> np.ndarray:
    """The colour map in truecolor: t in [-1, 1] → (…, 3) uint8, through the
    256-colour map's stops (so both modes show the same map, one finer),
    interpolated in CIELAB so lightness rises evenly between stops."""
    from skimage.color import lab2rgb

    stops = _colour_stops_lab()
    xs = np.linspace(-1.0, 1.0, len(stops))
    t = np.clip(np.asarray(t, dtype=np.float64), -1.0, 1.0)
    lab = np.stack([np.interp(t, xs, stops[:, c]) for c in range(3)], axis=-1)
    rgb = lab2rgb(lab.reshape(1, -1, 3)).reshape(lab.shape)
    return np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _full_palette(mode: str, kind: str) -> tuple[Color, ...]:
    if mode == "truecolor":
        t = np.linspace(-1.0, 1.0, TRUECOLOR_LEVELS)
        if kind == "colour":
            return tuple(Color.from_rgb(*map(int, rgb)) for rgb in colour_rgb(t))
        greys = grey_value(t)  # intensity: the same ramp, 0..1 mapped like −1..1
        return tuple(Color.from_rgb(int(v), int(v), int(v)) for v in greys)
    # 256 and grey: xterm colour numbers, exact on any 256-colour terminal.
    numbers = {"colour": _COLOUR_256, "grey": _GREY_256, "intensity": _INTENSITY_256}[kind]
    return tuple(Color.from_ansi(n) for n in numbers)


@lru_cache(maxsize=64)
def palette(mode: str, kind: str, levels: int | None = None) -> tuple[Color, ...]:
    """The colours of `kind` in `mode`, index 0 = the most negative (or darkest)
    value. `levels` (fewer, e.g. on a slow link) takes evenly spaced entries,
    an odd count for signed maps so that zero keeps its own colour."""
    if mode == "ascii":
        raise ValueError("ascii mode has no palette")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    full = _full_palette(mode, kind)
    if levels is None or levels >= len(full):
        return full
    levels = max(levels, 2)
    if kind != "intensity" and levels % 2 == 0:
        levels += 1
    picks = np.rint(np.linspace(0, len(full) - 1, levels)).astype(int)
    return tuple(full[i] for i in picks)


@lru_cache(maxsize=64)
def inverse_palette(mode: str, kind: str, levels: int | None = None) -> dict[Color, float]:
    """Colour → the value it stands for (signed maps: −1..1, intensity: 0..1):
    how a test reads a drawn picture back."""
    colours = palette(mode, kind, levels)
    lo = 0.0 if kind == "intensity" else -1.0
    return {c: lo + (1.0 - lo) * i / (len(colours) - 1) for i, c in enumerate(colours)}


@lru_cache(maxsize=65536)
def cell_style(mode: str, kind: str, levels: int | None, top: int, bottom: int) -> Style:
    """The style of one half-block cell: foreground = top pixel, background =
    bottom pixel (-1: no bottom pixel, the terminal background shows)."""
    colours = palette(mode, kind, levels)
    return Style(color=colours[top], bgcolor=None if bottom < 0 else colours[bottom])


def ascii_ramp(diverging: bool) -> str:
    return ASCII_DIVERGING if diverging else ASCII_UNIPOLAR


def quantise(values: np.ndarray, levels: int, diverging: bool) -> np.ndarray:
    """Map values (diverging: [-1, 1], else [0, 1]; clipped) to ints 0..levels-1."""
    lo = -1.0 if diverging else 0.0
    scaled = (np.clip(values, lo, 1.0) - lo) / (1.0 - lo)
    return np.rint(scaled * (levels - 1)).astype(np.int16)
