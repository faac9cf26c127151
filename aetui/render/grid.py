"""Lay images out in a grid and turn them into lines of Rich segments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from rich.segment import Segment

from aetui.render.colormap import MODES, ascii_ramp, cell_style, map_kind, palette, quantise

HALF_BLOCK = "▀"
NORMALISATIONS = ("each", "shared", "none")


@dataclass(frozen=True)
class GridGeometry:
    """Where images go: `cols` × `rows` images of `cell_w` × `cell_h` terminal cells
    each (pixel size `px_w` × `px_h`), separated by `gap` columns / `row_gap` lines."""

    cols: int
    rows: int
    px_w: int
    px_h: int
    gap: int
    row_gap: int

    @property
    def cell_w(self) -> int:
        return self.px_w

    @property
    def cell_h(self) -> int:
        return (self.px_h + 1) // 2

    @property
    def width(self) -> int:
        return self.cols * self.cell_w + max(self.cols - 1, 0) * self.gap

    @property
    def height(self) -> int:
        return self.rows * self.cell_h + max(self.rows - 1, 0) * self.row_gap

    @property
    def capacity(self) -> int:
        return self.cols * self.rows


def grid_geometry(n: int, shape: tuple[int, int] = (28, 28), *, size: int | None = None,
                  width: int | None = None, height: int | None = None,
                  cols: int | None = None, gap: int = 1, row_gap: int = 1) -> GridGeometry:
    """How many images of pixel width `size` (default: the native width) fit in
    `width` × `height` cells; `cols` forces the column count. Always ≥ 1×1."""
    px_w = size or shape[1]
    px_h = max(1, round(shape[0] * px_w / shape[1]))
    cell_h = (px_h + 1) // 2
    if cols is None:
        cols = max(1, (width + gap) // (px_w + gap)) if width else min(max(n, 1), 8)
    cols = max(1, min(cols, max(n, 1)))
    if height is not None:
        rows = max(1, (height + row_gap) // (cell_h + row_gap))
    else:
        rows = -(-max(n, 1) // cols)
    return GridGeometry(cols, rows, px_w, px_h, gap, row_gap)


def resample(images: np.ndarray, shape: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """(n, h*w) images → (n, out_h, out_w) by area averaging (exact copy when equal).

    Pillow's BOX filter: each output pixel is the mean of the source pixels it
    covers, weighted by overlap -- so a smaller picture is a fair summary, and
    the panel title says when it is one.
    """
    stack = np.asarray(images, dtype=np.float32).reshape(-1, shape[0], shape[1])
    if tuple(out) == tuple(shape):
        return stack
    size = (int(out[1]), int(out[0]))  # Pillow takes (width, height)
    return np.stack([np.asarray(Image.fromarray(img, mode="F").resize(
        size, Image.Resampling.BOX)) for img in stack]) if len(stack) else \
        np.zeros((0, out[0], out[1]), np.float32)


def normalise_images(stack: np.ndarray, normalise: str, diverging: bool) -> np.ndarray:
    """Scale to [-1, 1] (diverging, by max |v|) or [0, 1] (by min..max).

    each: every image on its own scale (shapes comparable, magnitudes not);
    shared: one scale for all (magnitudes comparable); none: as given.
    """
    if normalise not in NORMALISATIONS:
        raise ValueError(f"normalise must be one of {NORMALISATIONS}, got {normalise!r}")
    if normalise == "none" or stack.size == 0:
        return stack
    axes = (1, 2) if normalise == "each" else None
    with np.errstate(invalid="ignore", divide="ignore"):
        if diverging:
            scale = np.max(np.abs(stack), axis=axes, keepdims=True)
            out = stack / np.where(scale > 0, scale, 1.0)
        else:
            lo = np.min(stack, axis=axes, keepdims=True)
            span = np.max(stack, axis=axes, keepdims=True) - lo
            out = (stack - lo) / np.where(span > 0, span, 1.0)
    return np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=-1.0 if diverging else 0.0)


def render_grid(images: np.ndarray, shape: tuple[int, int] = (28, 28), mode: str = "truecolor",
                normalise: str = "each", cols: int | None = None, width: int | None = None,
                diverging: bool = True, *, size: int | None = None, gap: int = 1,
                row_gap: int = 1, levels: int | None = None,
                cmap: str = "colour") -> list[list[Segment]]:
    """Draw `images` (n × h·w floats) as a grid; return one list of Segments per line.

    mode: truecolor | 256 | grey (half-blocks, two pixel rows per cell) or
    ascii (one character per cell, the two pixel rows averaged).
    diverging: values are signed (filters), drawn with `cmap` -- "colour" (zero
    mid-grey, negative blue, positive orange) or "grey" (zero mid-grey, negative
    dark, positive light, as in the PNG); otherwise intensities (digits:
    black..white).
    levels: fewer colours than the map has (slow links); default: all of them.
    size: pixel width each image is resampled to (default: native).
    Every line has the same cell length (the grid width); missing images are blank.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    images = np.asarray(images, dtype=np.float32).reshape(-1, shape[0] * shape[1])
    n = images.shape[0]
    geo = grid_geometry(n, shape, size=size, width=width, cols=cols, gap=gap, row_gap=row_gap)
    stack = resample(images, shape, (geo.px_h, geo.px_w))
    stack = normalise_images(stack, normalise, diverging)
    if mode == "ascii":
        kind, levels = "", None
        q = quantise(stack, len(ascii_ramp(diverging)), diverging)
    else:
        kind = map_kind(mode, diverging, cmap)
        q = quantise(stack, len(palette(mode, kind, levels)), diverging)
    n_rows = -(-n // geo.cols) if n else 0
    blank_image = " " * geo.cell_w
    lines: list[list[Segment]] = []
    for grid_row in range(n_rows):
        if grid_row:
            lines.extend([[Segment(" " * geo.width)]] * geo.row_gap)
        members = range(grid_row * geo.cols, min(n, (grid_row + 1) * geo.cols))
        for cell_row in range(geo.cell_h):
            line: list[Segment] = []
            for slot in range(geo.cols):
                if slot:
                    line.append(Segment(" " * geo.gap))
                index = grid_row * geo.cols + slot
                if index not in members:
                    line.append(Segment(blank_image))
                    continue
                line.extend(_image_row(q[index], cell_row, mode, diverging, kind, levels,
                                       stack[index]))
            lines.append(line)
    return lines


def _image_row(q: np.ndarray, cell_row: int, mode: str, diverging: bool, kind: str,
               levels: int | None, values: np.ndarray) -> list[Segment]:
    """One text line of one image: runs of identical cells merged into one Segment."""
    top_y = 2 * cell_row
    has_bottom = top_y + 1 < q.shape[0]
    if mode == "ascii":
        pair = values[top_y] if not has_bottom else (values[top_y] + values[top_y + 1]) / 2
        ramp = ascii_ramp(diverging)
        text = "".join(ramp[i] for i in quantise(pair, len(ramp), diverging))
        return [Segment(text)]
    top = q[top_y].tolist()
    bottom = q[top_y + 1].tolist() if has_bottom else [-1] * len(top)
    out: list[Segment] = []
    run_start = 0
    for x in range(1, len(top) + 1):
        if x == len(top) or top[x] != top[run_start] or bottom[x] != bottom[run_start]:
            style = cell_style(mode, kind, levels, top[run_start], bottom[run_start])
            out.append(Segment(HALF_BLOCK * (x - run_start), style))
            run_start = x
    return out
