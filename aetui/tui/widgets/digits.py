"""The Digits panel: clean x, corrupted x̃, reconstruction x̂ and |x − x̂|
for the fixed held-out display digits."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment

from aetui.render import grid_geometry, render_grid
from aetui.render.pixels import grid_capacity, grid_rgb
from aetui.tui.widgets.filters import resolution_forms
from aetui.tui.widgets.image_view import ImageView, pixel_sizes
from aetui.tui.widgets.titles import fit, part, title_width

KINDS = ("x", "x̃", "x̂", "|x−x̂|")
GROUP_GAP = 3  # columns between one digit's four images and the next digit's
# The largest size that shows `min_digits` digits (the layout sets it; full
# screen: one): smaller pictures average the corruption away (x̃ would look
# like x), so a few sharp digits beat many smudges.
MIN_DIGITS = 1


class DigitsPanel(ImageView):
    """Rows of kinds × columns of digits when that fits, else one row per digit."""

    def __init__(self, *, mode: str = "truecolor", interval: float = 1.0,
                 levels: int | None = None, id: str | None = None) -> None:
        super().__init__(interval=interval, id=id)
        self.mode = mode
        self.levels = levels
        self.images: np.ndarray | None = None  # (4, d, 784)
        # Natural-image patches: drawn at their shape, and signed (whitened) values
        # on one shared diverging scale instead of intensities in [0, 1].
        self.shape: tuple[int, int] = (28, 28)
        self.signed = False
        self.noise_label = ""
        self.layout_used = ("rows", 0, 0)
        self.min_digits = MIN_DIGITS  # the layout's target
        self.set_titles(title="digits")

    def set_digits(self, clean: np.ndarray, corrupted: np.ndarray, recon: np.ndarray,
                   noise_label: str, shape: tuple[int, int] = (28, 28),
                   signed: bool = False) -> None:
        self.shape, self.signed = tuple(shape), signed
        error = np.abs(clean - recon)
        self.images = np.stack([clean, corrupted, recon, error])
        self.noise_label = noise_label
        self.mark_dirty()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.mark_dirty(now=True)

    def build_pixels(self, width_px: int, height_px: int) -> np.ndarray | None:
        """Pixel graphics: full resolution; kinds as rows when four rows fit,
        else each digit's four images side by side."""
        if self.images is None:
            return None
        d = self.images.shape[1]
        cols, rows = grid_capacity(width_px, height_px, self.shape)
        if rows >= 4:
            shown = min(d, cols)
            images, grid_cols = self.images[:, :shown].reshape(4 * shown, -1), shown
        else:
            per_row = max(1, cols // 4)
            shown = min(d, per_row * rows)
            images = self.images[:, :shown].transpose(1, 0, 2).reshape(4 * shown, -1)
            grid_cols = 4 * min(per_row, shown)
        self.layout_used = ("pixels", self.shape[1], shown)
        self._title(self.shape[1], "")
        if self.signed:
            return grid_rgb(images / self._signed_scale(shown), self.shape, cols=grid_cols,
                            normalise="none", diverging=True)
        return grid_rgb(images, self.shape, cols=grid_cols, normalise="none", diverging=False)

    def _title(self, size: int, orient: str) -> None:
        """What is shown, shortened to the border by dropping words, never figures."""
        width = title_width(self) if self.is_mounted else 200
        self.set_titles(title=fit([
            part(f"{self._what()}: {' · '.join(KINDS)}", self._what(), keep=9),
            part(f"({orient})" if orient else "", "", keep=0),
            part(f"x̃ with {self.noise_label}", f"x̃: {self.noise_label}", "", keep=3),
            part(*resolution_forms(size, self.shape[1]), keep=5)], width))

    def _what(self) -> str:
        return "patches" if self.signed else "digits"

    def _signed_scale(self, shown: int) -> float:
        return float(np.abs(self.images[:, :shown]).max()) or 1.0

    def choose_layout(self, width: int, height: int, d: int) -> tuple[str, int, int]:
        """(orientation, pixel size, digits shown): the largest size that shows
        `min_digits` digits (one when full screen; or all), trying kinds-as-rows
        first; if none does, the size that shows the most.

        rows: 4 grid rows (x, x̃, x̂, |x−x̂|), one digit per column.
        cols: each digit is a group of 4 images side by side; groups fill
        the width, then wrap to further grid rows.
        """
        sizes = pixel_sizes(self.shape)
        best = ("rows", sizes[-1], 0)
        for size in sizes:
            # Largest first: the first size that shows the layout's minimum wins.
            least = 1 if self.has_class("-maximized") else self.min_digits
            want = min(least, d)
            for orient in ("rows", "cols"):
                if orient == "rows":
                    geo = grid_geometry(d, self.shape, size=size, width=width)
                    shown = geo.cols if 4 * geo.cell_h + 3 <= height else 0
                else:
                    rows = (height + 1) // (grid_geometry(1, self.shape, size=size).cell_h
                                            + 1)
                    shown = self._groups_per_row(width, size, self.shape) * rows
                shown = min(shown, d)
                if shown >= want:
                    return orient, size, shown
                if shown > best[2]:
                    best = (orient, size, shown)
        return best

    @staticmethod
    def _groups_per_row(width: int, size: int, shape: tuple[int, int] = (28, 28)) -> int:
        group_w = grid_geometry(4, shape, size=size, cols=4).width
        return max(0, (width + GROUP_GAP) // (group_w + GROUP_GAP))

    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        if self.images is None:
            return [[Segment("waiting for the first snapshot…")]]
        d = self.images.shape[1]
        orient, size, shown = self.choose_layout(width, height, d)
        self.layout_used = (orient, size, shown)
        what = self._what()
        self._title(size, "rows" if orient == "rows" else "columns")
        if shown == 0:
            return [[Segment(f"too small for {what}")]]
        # Digits: intensities, not signed weights: black..white, no rescaling, so a
        # faint reconstruction looks faint. Patches: one shared signed scale.
        scale = self._signed_scale(shown) if self.signed else 1.0

        def draw(images, cols):
            if self.signed:
                return render_grid(images / scale, self.shape, mode=self.draw_mode,
                                   normalise="none", cols=cols, size=size, diverging=True,
                                   levels=self.levels)
            return render_grid(images, self.shape, mode=self.draw_mode, normalise="none",
                               cols=cols, size=size, diverging=False, levels=self.levels)

        if orient == "rows":
            return draw(self.images[:, :shown].reshape(4 * shown, -1), shown)
        # One block of four images per digit; blocks side by side, a wider gap
        # between them so it is clear which x̂ belongs to which x.
        blocks = [draw(self.images[:, i], 4) for i in range(shown)]
        per_row = max(1, self._groups_per_row(width, size, self.shape))
        lines: list[list[Segment]] = []
        for start in range(0, shown, per_row):
            if start:
                lines.append([Segment(" ")])
            row = blocks[start:start + per_row]
            for y in range(len(row[0])):
                line: list[Segment] = []
                for j, block in enumerate(row):
                    if j:
                        line.append(Segment(" " * GROUP_GAP))
                    line.extend(block[y])
                lines.append(line)
        return lines
