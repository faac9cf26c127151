"""Image grids as RGB pixels, for terminals with a pixel protocol (kitty, sixel).

The same palettes as the half-block path (colormap.palette, truecolor
entries), the same normalisation, the same layout rule -- only every image
pixel is a screen pixel block instead of half a character cell.
"""

from __future__ import annotations

import numpy as np

from aetui.render.colormap import map_kind, palette, quantise
from aetui.render.grid import normalise_images

GAP_PX = 2  # pixels between images: enough to tell them apart at scale 1
BACKGROUND = (24, 24, 28)


def palette_rgb(kind: str, levels: int | None = None) -> np.ndarray:
    """(L, 3) uint8: the truecolor palette of `kind`."""
    colours = palette("truecolor", kind, levels)
    return np.array([[c.get_truecolor().red, c.get_truecolor().green, c.get_truecolor().blue]
                     for c in colours], dtype=np.uint8)


def grid_rgb(images: np.ndarray, shape: tuple[int, int] = (28, 28), cols: int = 8, *,
             normalise: str = "each", diverging: bool = True, cmap: str = "colour",
             gap: int = GAP_PX, levels: int | None = None) -> np.ndarray:
    """Tile images (n × h·w) into an (H, W, 3) uint8 array, full resolution,
    `cols` per row, on a dark background. Signed images use `cmap`."""
    h, w = shape
    stack = np.asarray(images, dtype=np.float32).reshape(-1, h, w)
    n = len(stack)
    cols = max(1, min(cols, max(n, 1)))
    rows = max(1, -(-n // cols))
    stack = normalise_images(stack, normalise, diverging)
    rgb = palette_rgb(map_kind("truecolor", diverging, cmap), levels)
    coloured = rgb[quantise(stack, len(rgb), diverging)]
    out = np.empty((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), np.uint8)
    out[:] = BACKGROUND
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = coloured[i]
    return out


def grid_capacity(width_px: int, height_px: int, shape: tuple[int, int] = (28, 28),
                  gap: int = GAP_PX) -> tuple[int, int]:
    """(cols, rows) of full-resolution images that fit in a pixel area (≥ 1 each)."""
    cols = max(1, (width_px + gap) // (shape[1] + gap))
    rows = max(1, (height_px + gap) // (shape[0] + gap))
    return cols, rows
