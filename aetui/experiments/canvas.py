"""A 28×28 drawing canvas with a soft round pen, for "draw a digit" in the lab.

Pixels are floats in [0, 1] (0 = background), like MNIST's after /255. The pen
leaves a disc with a soft edge one pixel wide -- MNIST's digits were
anti-aliased strokes about two to three pixels wide -- so a drawn digit looks
to the model like the digits it trained on. No Textual here: the lab's canvas
widget maps mouse and keys onto these calls.
"""

from __future__ import annotations

import numpy as np

PEN_RADII = (0.7, 1.2, 1.7, 2.4)  # pixels; the default is the second-widest
DEFAULT_PEN = 2


class Canvas:
    """`pixels` (rows × cols float32 in [0, 1]); a keyboard cursor; a pen size."""

    def __init__(self, shape: tuple[int, int] = (28, 28)) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.pixels = np.zeros(self.shape, np.float32)
        self.cursor = (self.shape[0] // 2, self.shape[1] // 2)
        self.pen = DEFAULT_PEN
        self.edits = 0  # bumped by every change (the lab redraws on a new count)
        rows, cols = np.mgrid[0:self.shape[0], 0:self.shape[1]]
        self._rows = rows.astype(np.float32)
        self._cols = cols.astype(np.float32)

    @property
    def radius(self) -> float:
        return PEN_RADII[self.pen]

    @property
    def flat(self) -> np.ndarray:
        """The image as one row of n_in pixels (a copy)."""
        return self.pixels.reshape(-1).copy()

    def set_pen(self, delta: int) -> int:
        """A smaller (−1) or larger (+1) pen; returns the new size index."""
        self.pen = max(0, min(len(PEN_RADII) - 1, self.pen + delta))
        return self.pen

    def pen_footprint(self, row: float, col: float) -> np.ndarray:
        """How much ink the pen centred at (row, col) lays on each pixel, in [0, 1]:
        1 inside the radius, falling linearly to 0 over the next pixel."""
        d = np.hypot(self._rows - row, self._cols - col)
        return np.clip(self.radius + 1.0 - d, 0.0, 1.0)

    def stroke(self, start: tuple[float, float], end: tuple[float, float] | None = None,
               *, ink: bool = True) -> None:
        """Draw (ink) or erase along the segment start→end (a dot if end is None), in
        pixel coordinates (row, col); the pen is stamped every half pixel so a fast
        mouse drag leaves a continuous stroke."""
        r0, c0 = start
        r1, c1 = end if end is not None else start
        n = max(1, int(np.ceil(2 * np.hypot(r1 - r0, c1 - c0))))
        footprint = np.zeros(self.shape, np.float32)
        for t in np.linspace(0.0, 1.0, n + 1):
            np.maximum(footprint, self.pen_footprint(r0 + t * (r1 - r0), c0 + t * (c1 - c0)),
                       out=footprint)
        if ink:
            np.maximum(self.pixels, footprint, out=self.pixels)
        else:  # subtract: the same pen over the same path takes back what it laid
            np.maximum(self.pixels - footprint, 0.0, out=self.pixels)
        self.edits += 1

    def move_cursor(self, d_row: int, d_col: int) -> tuple[int, int]:
        r = max(0, min(self.shape[0] - 1, self.cursor[0] + d_row))
        c = max(0, min(self.shape[1] - 1, self.cursor[1] + d_col))
        self.cursor = (r, c)
        return self.cursor

    def ink_at_cursor(self, ink: bool = True) -> None:
        self.stroke(self.cursor, ink=ink)

    def clear(self) -> None:
        self.pixels[...] = 0.0
        self.edits += 1

    def load(self, image: np.ndarray) -> None:
        """Replace the drawing with `image` (n_in values; uint8 0..255 or floats in
        [0, 1]; floats outside [0, 1], e.g. under Gaussian noise, are clipped)."""
        image = np.asarray(image)
        if image.dtype == np.uint8:
            image = image.astype(np.float32) / np.float32(255.0)
        self.pixels[...] = np.clip(np.asarray(image, np.float32).reshape(self.shape), 0, 1)
        self.edits += 1
