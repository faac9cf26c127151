"""A Rich renderable for image grids: what `aetui filters` prints."""

from __future__ import annotations

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment

from aetui.render.grid import grid_geometry, render_grid


class ImageGrid:
    """Images drawn as a grid that fills the console width (or `cols` columns).

    Same arguments as `render_grid`; `title`, when given, is printed above.
    """

    def __init__(self, images: np.ndarray, shape: tuple[int, int] = (28, 28),
                 mode: str = "truecolor", normalise: str = "each", cols: int | None = None,
                 diverging: bool = True, *, size: int | None = None, gap: int = 1,
                 row_gap: int = 1, title: str | None = None, cmap: str = "colour") -> None:
        self.images = np.asarray(images, dtype=np.float32).reshape(-1, shape[0] * shape[1])
        self.shape = shape
        self.mode = mode
        self.normalise = normalise
        self.cols = cols
        self.diverging = diverging
        self.size = size
        self.gap = gap
        self.row_gap = row_gap
        self.title = title
        self.cmap = cmap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title:
            yield Segment(self.title[: options.max_width])
            yield Segment.line()
        lines = render_grid(self.images, self.shape, self.mode, self.normalise, self.cols,
                            options.max_width, self.diverging, size=self.size, gap=self.gap,
                            row_gap=self.row_gap, cmap=self.cmap)
        for line in lines:
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        geo = grid_geometry(len(self.images), self.shape, size=self.size, cols=self.cols or 1,
                            gap=self.gap)
        full = grid_geometry(len(self.images), self.shape, size=self.size,
                             width=options.max_width if self.cols is None else None,
                             cols=self.cols, gap=self.gap)
        return Measurement(min(geo.width, options.max_width), min(full.width, options.max_width))
