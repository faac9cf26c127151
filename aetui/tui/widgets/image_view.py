"""Base for panels that draw images (filters, digits).

Blocks and ASCII: the Line API, redrawn on a timer (RedrawTimer), and only
changed cells are repainted (LineCacheWidget).

Pixels: a textual-image child widget (kitty graphics or sixel) shows the
grid as an RGB picture; it is sent whole, so only when it changed, and at
most once per `PIXEL_INTERVAL_FACTOR` intervals (README, "Pictures").
"""

from __future__ import annotations

import time

import numpy as np
from rich.segment import Segment

from aetui.render.graphics import cell_pixels, pixel_widget_class
from aetui.render.pixels import BACKGROUND
from aetui.tui.widgets.line_cache import LineCacheWidget
from aetui.tui.widgets.redraw import RedrawTimer, panel_css

# Pixel widths tried for an image, largest first (28 = native MNIST).
PIXEL_SIZES = (28, 21, 14, 12, 10, 7)
PATCH_ZOOMS = (4, 3, 2)  # patches: whole multiples of their width


def pixel_sizes(shape: tuple[int, int]) -> tuple[int, ...]:
    """The widths to try for images of `shape`: the ladder for 28×28 digits; whole
    multiples of a patch's width, never below 2× (8 × 8 at native size is 4 rows of
    cells, too few to read an orientation)."""
    if tuple(shape) == (28, 28):
        return PIXEL_SIZES
    return tuple(m * shape[1] for m in PATCH_ZOOMS)

PIXEL_INTERVAL_FACTOR = 6.0  # README, "Pictures": ≤ 100 KB/s with pixels
MAX_SCALE = 3  # screen pixels per image pixel, at most: bytes grow with the area


def frame_for_cells(picture: np.ndarray, width_px: int, height_px: int,
                    cell: tuple[int, int]) -> np.ndarray:
    """The picture enlarged by the largest whole factor that fits (≤ MAX_SCALE;
    each pixel a square block), then padded to whole terminal cells."""
    h, w = picture.shape[:2]
    scale = max(1, min(MAX_SCALE, width_px // max(w, 1), height_px // max(h, 1)))
    big = picture.repeat(scale, axis=0).repeat(scale, axis=1)
    cw, ch = cell
    out_h, out_w = -(-big.shape[0] // ch) * ch, -(-big.shape[1] // cw) * cw
    out = np.empty((out_h, out_w, 3), np.uint8)
    out[:] = BACKGROUND
    out[:big.shape[0], :big.shape[1]] = big
    return out


class ImageView(RedrawTimer, LineCacheWidget):
    """Subclasses implement `build_lines(width, height) -> list[list[Segment]]` and
    `build_pixels(width_px, height_px) -> (H, W, 3) uint8 array | None`."""

    DEFAULT_CSS = panel_css("ImageView") + """
    ImageView { padding: 0 1; }
    """

    ALLOW_MAXIMIZE = True  # the lab's full-screen key; panels take no focus

    def __init__(self, *, interval: float = 1.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.interval = interval
        self.graphics = "blocks"  # "blocks" | "pixels" | "ascii"
        self.protocol: str | None = None
        self.pixels: np.ndarray | None = None  # what the pixel widget shows (tests)
        self._pixel_widget = None
        self._pixels_sent_at = 0.0

    def set_graphics(self, graphics: str, protocol: str | None = None) -> None:
        """Switch between pixels, half-blocks and ASCII; redraw at once."""
        self.graphics, self.protocol = graphics, protocol
        if graphics != "pixels" and self._pixel_widget is not None:
            self._pixel_widget.remove()
            self._pixel_widget = None
            self.pixels = None
        self._pixels_sent_at = 0.0
        self._published_for = None  # a full repaint under the new mode
        self.mark_dirty(now=True)

    def mark_dirty(self, *, now: bool = False) -> None:
        """New data: redraw at the next tick, or at once (a key was pressed)."""
        if now:
            self._pixels_sent_at = 0.0
        super().mark_dirty(now=now)

    @property
    def draw_mode(self) -> str:
        """The colour mode drawn in: ASCII when the pictures are ASCII."""
        return "ascii" if self.graphics == "ascii" else self.mode

    def stale(self) -> bool:
        return self._published_for != self.size

    def on_resize(self) -> None:
        self._pixels_sent_at = 0.0
        self.redraw()

    def redraw(self) -> None:
        width, height = self.size
        self._dirty = False
        if width <= 0 or height <= 0:
            return
        if self.graphics == "pixels":
            self._redraw_pixels(width, height)
            return
        self.publish(self.build_lines(width, height))

    def _redraw_pixels(self, width: int, height: int) -> None:
        now = time.monotonic()
        if now - self._pixels_sent_at < self.interval * PIXEL_INTERVAL_FACTOR:
            self._dirty = True  # drawn at a later tick
            return
        cw, ch = cell_pixels()
        picture = self.build_pixels(width * cw, height * ch)
        if picture is None:
            self.publish(self.build_lines(width, height))  # a message, as text
            if self._pixel_widget is not None:
                self._pixel_widget.display = False
            return
        self.publish([])
        if self.pixels is not None and np.array_equal(picture, self.pixels) \
                and self._pixel_widget is not None and self._pixel_widget.display:
            return
        from PIL import Image

        self.pixels = picture
        self._pixels_sent_at = now
        framed = frame_for_cells(picture, width * cw, height * ch, (cw, ch))
        image = Image.fromarray(framed, mode="RGB")
        # Exactly the cells the framed picture covers: textual-image then
        # resizes it 1:1, and no smoothing blurs the pixels. Styles are set
        # before the image and only when they change: each change repaints the
        # widget, and every repaint sends the whole picture again.
        cells = (framed.shape[1] // cw, framed.shape[0] // ch)
        widget = self._pixel_widget
        if widget is None:
            widget = self._pixel_widget = pixel_widget_class(self.protocol)(
                image, classes="pixels")
            widget.styles.width, widget.styles.height = cells
            self.mount(widget)
            return
        if (widget.styles.width.value, widget.styles.height.value) != cells:
            widget.styles.width, widget.styles.height = cells
        widget.display = True
        widget.image = image

    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        raise NotImplementedError

    def build_pixels(self, width_px: int, height_px: int) -> np.ndarray | None:
        return None
