"""Pixels -> Rich segments and Textual strips.

Images (filters, digits) are drawn with the upper-half-block character `▀`:
its foreground colours the top pixel and its background the bottom one, so
one terminal cell shows two pixel rows and a 28×28 image is 28×14 cells,
about square on screen. Half-blocks work over SSH and inside tmux, where
sixel and kitty graphics do not reliably.

No Textual here: `aetui filters` uses the Rich renderable without the app.
"""

from aetui.render.colormap import CMAPS, MODES, default_mode
from aetui.render.grid import GridGeometry, grid_geometry, render_grid, resample
from aetui.render.renderable import ImageGrid

__all__ = [
    "CMAPS",
    "MODES",
    "GridGeometry",
    "ImageGrid",
    "default_mode",
    "grid_geometry",
    "render_grid",
    "resample",
]
