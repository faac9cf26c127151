"""The Digits panel: clean x, corrupted x̃, reconstruction x̂ and |x − x̂|
for the fixed held-out display digits."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment

from aetui.render import grid_geometry, render_grid
from aetui.tui.widgets.image_view import ImageView

KINDS = ("x", "x̃", "x̂", "|x−x̂|")
SIZES = (28, 21, 14, 12, 10, 7)
MIN_DIGITS = 4


class DigitsPanel(ImageView):
    """Rows of kinds × columns of digits when that fits, else one row per digit."""

    def __init__(self, *, mode: str = "truecolor", interval: float = 1.0,
                 levels: int | None = None, id: str | None = None) -> None:
        super().__init__(interval=interval, id=id)
        self.mode = mode
        self.levels = levels
        self.images: np.ndarray | None = None  # (4, d, 784)
        self.noise_label = ""
        self.layout_used = ("rows", 0, 0)
        self.border_title = "digits"

    def set_digits(self, clean: np.ndarray, corrupted: np.ndarray, recon: np.ndarray,
                   noise_label: str) -> None:
        error = np.abs(clean - recon)
        self.images = np.stack([clean, corrupted, recon, error])
        self.noise_label = noise_label
        self.mark_dirty()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.mark_dirty(now=True)

    def choose_layout(self, width: int, height: int, d: int) -> tuple[str, int, int]:
        """(orientation, pixel size, digits shown): the largest size that shows
        MIN_DIGITS digits (or all), trying kinds-as-rows first.

        rows: 4 grid rows (x, x̃, x̂, |x−x̂|), one digit per column.
        cols: each digit is a group of 4 images side by side; groups fill
        the width, then wrap to further grid rows.
        """
        want = min(MIN_DIGITS, d)
        best = ("rows", SIZES[-1], 0)
        for size in SIZES:
            for orient in ("rows", "cols"):
                if orient == "rows":
                    geo = grid_geometry(d, size=size, width=width)
                    shown = geo.cols if 4 * geo.cell_h + 3 <= height else 0
                else:
                    slots = grid_geometry(4 * d, size=size, width=width).cols
                    groups = slots // 4
                    rows = (height + 1) // (grid_geometry(1, size=size).cell_h + 1)
                    shown = groups * rows
                shown = min(shown, d)
                if shown >= want:
                    return orient, size, shown
                if shown > best[2]:
                    best = (orient, size, shown)
        return best

    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        if self.images is None:
            return [[Segment("waiting for the first snapshot…")]]
        d = self.images.shape[1]
        orient, size, shown = self.choose_layout(width, height, d)
        self.layout_used = (orient, size, shown)
        kinds = " · ".join(KINDS)
        self.border_title = (f"digits: {kinds} ({'rows' if orient == 'rows' else 'columns'})"
                             f" · x̃ with {self.noise_label}")
        if shown == 0:
            return [[Segment("too small for digits")]]
        if orient == "rows":
            picked = self.images[:, :shown].reshape(4 * shown, -1)
            cols = shown
        else:
            picked = self.images[:, :shown].transpose(1, 0, 2).reshape(4 * shown, -1)
            size_slots = grid_geometry(4 * shown, size=size, width=width).cols
            cols = 4 * max(1, size_slots // 4)
        # Intensities, not signed weights: black..white, no rescaling, so a
        # faint reconstruction looks faint.
        return render_grid(picked, mode=self.mode, normalise="none", cols=cols, size=size,
                           diverging=False, levels=self.levels)
