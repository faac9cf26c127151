"""The Filters panel: Wₗ/‖Wₗ‖ for as many hidden units as fit, or the data's
PCA components in the same grid for comparison."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment

from aetui.render import CMAPS, MODES, grid_geometry, render_grid
from aetui.render.pixels import grid_capacity, grid_rgb
from aetui.tui.widgets.image_view import ImageView, pixel_sizes
from aetui.tui.widgets.marks import mark_cursor
from aetui.tui.widgets.titles import fit, part, title_width

# "auto" takes the largest whole pixel size from 28 down to 7 that still shows
# `min_units` filters (the layout sets it; AUTO_MIN_UNITS by default): full
# resolution (28 px) whenever that many fit, else an area-averaged smaller
# picture, said so in the title -- any size, so the grid fills the panel.
# `z` forces 28 px or 14 px.
ZOOMS = ("auto", 28, 14)
AUTO_MIN_UNITS = 8
NATIVE = 28
FILTER_SIZES = tuple(range(NATIVE, 6, -1))


def filter_sizes(shape: tuple[int, int]) -> tuple[int, ...]:
    """Widths "auto" tries for filters of `shape`, largest first."""
    return FILTER_SIZES if tuple(shape) == (NATIVE, NATIVE) else pixel_sizes(shape)


def resolution_forms(size: int, native: int = NATIVE) -> tuple[str, ...]:
    """How the panel's pictures relate to the data's pixels, longest form first (the
    title takes the longest that fits; every form says when it is an area mean)."""
    if size == native:
        return (f"{native} px",)
    return (f"{size} px (area mean of {native})", f"{size} px (mean of {native})",
            f"{size} px mean")


def resolution_note(size: int, native: int = NATIVE) -> str:
    """How the panel's pictures relate to the data's pixels, for its title."""
    return resolution_forms(size, native)[0]


class FiltersPanel(ImageView):
    """Shows `filters` (rows = units `units`) or `pca` components, one page at a time.

    The app reads `capacity` to ask the trainer for exactly the units that fit.
    """

    def __init__(self, *, mode: str = "truecolor", interval: float = 1.0,
                 levels: int | None = None, id: str | None = None) -> None:
        super().__init__(interval=interval, id=id)
        self.mode = mode
        self.levels = levels
        self.cmap = "colour"
        self.size_shown = NATIVE
        self.normalise = "each"
        self.zoom: str | int = "auto"
        self.page = 0
        self.show_pca = False
        self.hidden = 0
        self.units: tuple[int, ...] = ()
        self.filters = np.zeros((0, 784), np.float32)
        self.shape: tuple[int, int] = (28, 28)  # how a filter row is drawn (patches: 8×8)
        self.pca: np.ndarray | None = None
        self.pca_status = ""
        self.capacity = 0
        self.min_units = AUTO_MIN_UNITS  # the layout's target for "auto"
        self.cursor = 0  # the unit the inspector opens (arrows, mouse)
        self._geo = None
        self._slots: list[int] = []  # units in grid order, as last drawn
        self._update_title()

    # -- what the app changes ----------------------------------------------------
    def set_filters(self, units: tuple[int, ...], filters: np.ndarray, hidden: int,
                    shape: tuple[int, int] = (28, 28)) -> None:
        self.units, self.filters, self.hidden = tuple(units), filters, hidden
        self.shape = tuple(shape)
        self.cursor = min(self.cursor, max(hidden - 1, 0))
        self._clamp_page()
        self._update_title()
        self.mark_dirty()

    def cycle_mode(self) -> str:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.mark_dirty(now=True)
        return self.mode

    def toggle_cmap(self) -> str:
        """Colour map ↔ the PNG's grey map (mid-grey zero)."""
        self.cmap = CMAPS[(CMAPS.index(self.cmap) + 1) % len(CMAPS)]
        self.mark_dirty(now=True)
        return self.cmap

    def toggle_normalise(self) -> str:
        self.normalise = "shared" if self.normalise == "each" else "each"
        self.mark_dirty(now=True)
        return self.normalise

    def cycle_zoom(self) -> str | int:
        self.zoom = ZOOMS[(ZOOMS.index(self.zoom) + 1) % len(ZOOMS)]
        self.mark_dirty(now=True)
        return self.zoom

    def turn_page(self, delta: int) -> int:
        self.page += delta
        self._clamp_page()
        self.mark_dirty(now=True)
        return self.page

    def toggle_pca(self) -> bool:
        self.show_pca = not self.show_pca
        self.page = 0
        self.mark_dirty(now=True)
        return self.show_pca

    def set_pca(self, components: np.ndarray | None, status: str = "") -> None:
        self.pca, self.pca_status = components, status
        self.mark_dirty(now=self.show_pca)

    def move_cursor(self, d_unit: int, d_row: int) -> bool:
        """Move the cursor by units and grid rows; returns True if the page turned
        (the app then asks the trainer for the new page's units)."""
        cols = self._geo.cols if self._geo is not None else 1
        return self.set_cursor(self.cursor + d_unit + d_row * cols)

    def set_cursor(self, unit: int) -> bool:
        self.cursor = max(0, min(int(unit), max(self.hidden - 1, 0)))
        page = self.cursor // max(self.capacity, 1)
        turned = page != self.page and not self.show_pca
        if turned:
            self.page = page
            self._clamp_page()
        self.mark_dirty(now=True)
        return turned

    def unit_at(self, x: int, y: int) -> int | None:
        """The unit drawn at content cell (x, y), or None (gap, empty slot, PCA)."""
        geo = self._geo
        if geo is None or self.show_pca or x < 0 or y < 0:
            return None
        col, dx = divmod(x, geo.cell_w + geo.gap)
        row, dy = divmod(y, geo.cell_h + geo.row_gap)
        if col >= geo.cols or dx >= geo.cell_w or dy >= geo.cell_h:
            return None
        slot = row * geo.cols + col
        return self._slots[slot] if slot < len(self._slots) else None

    async def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        unit = self.unit_at(offset.x, offset.y) if offset is not None else None
        if unit is None:
            return
        self.set_cursor(unit)
        if event.chain >= 2:  # double click: open it
            await self.run_action("screen.inspect")

    # -- geometry ---------------------------------------------------------------
    @property
    def total(self) -> int:
        """How many images can be paged through."""
        if self.show_pca:
            return 0 if self.pca is None else len(self.pca)
        return self.hidden

    @property
    def first(self) -> int:
        return self.page * max(self.capacity, 1)

    def pages(self) -> int:
        return max(1, -(-self.total // max(self.capacity, 1)))

    def _clamp_page(self) -> None:
        self.page = max(0, min(self.page, self.pages() - 1))

    def geometry_for(self, width: int, height: int):
        """The grid for this panel size and zoom: the largest size that shows
        AUTO_MIN_UNITS images (one when full screen; or all of them), else the
        smallest size."""
        sizes = filter_sizes(self.shape) if self.zoom == "auto" else (self.zoom,)
        # Full screen is for detail: full resolution as soon as one filter fits.
        least = 1 if self.has_class("-maximized") else self.min_units
        want = min(least, max(self.total, 1))
        geo = None
        for size in sizes:
            geo = grid_geometry(max(self.total, want), self.shape, size=size, width=width,
                                height=height)
            fits = geo.cell_h <= height and geo.cell_w <= width
            if fits and geo.capacity >= want:
                return geo
        return geo

    # -- drawing ----------------------------------------------------------------
    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        geo = self.geometry_for(width, height)
        self.capacity = geo.capacity
        self.size_shown = geo.px_w
        self._clamp_page()
        self._update_title()
        self._geo = geo
        images = self._visible()
        if images is None or len(images) == 0:
            self._slots = []
            return [[Segment(self._empty_message())]]
        lines = render_grid(images, self.shape, mode=self.draw_mode, normalise=self.normalise,
                            cols=geo.cols, size=geo.px_w, levels=self.levels, cmap=self.cmap)
        if not self.show_pca and self.cursor in self._slots:
            mark_cursor(lines, geo, self._slots.index(self.cursor),
                        ascii=self.draw_mode == "ascii")
        return lines

    def build_pixels(self, width_px: int, height_px: int) -> np.ndarray | None:
        """Pixel graphics: every filter at full resolution, as many as fit (the unit
        cursor is named in the title; it is marked on the blocks and ASCII paths)."""
        cols, rows = grid_capacity(width_px, height_px, self.shape)
        self.capacity = cols * rows
        self.size_shown = self.shape[1]
        self._clamp_page()
        self._update_title()
        images = self._visible()
        if images is None or len(images) == 0:
            return None
        return grid_rgb(images, self.shape, cols=cols, normalise=self.normalise, cmap=self.cmap)

    def _visible(self) -> np.ndarray | None:
        lo, hi = self.first, self.first + self.capacity
        if self.show_pca:
            return None if self.pca is None else self.pca[lo:hi]
        # Only the units the trainer sent that belong on this page, in order.
        wanted = [i for i, u in enumerate(self.units) if lo <= u < hi]
        self._slots = [self.units[i] for i in wanted]
        return self.filters[wanted] if wanted else None

    def _empty_message(self) -> str:
        if self.show_pca:
            return self.pca_status or "PCA: computing…"
        return "waiting for the first snapshot…"

    def _update_title(self) -> None:
        cap = max(self.capacity, 1)
        lo = self.first
        hi = min(self.total, lo + cap)
        if self.show_pca:
            what = [part(f"PCA components {lo + 1}–{hi} of {self.total}",
                         f"PCA {lo + 1}–{hi} of {self.total}", keep=4)]
        else:
            # The cursor's unit is kept longest: the arrows and the inspector use it.
            what = [part("filters Wₗ/‖Wₗ‖", "filters", keep=8),
                    part(f"units {lo}–{max(hi - 1, lo)} of {self.total}",
                         f"{lo}–{max(hi - 1, lo)} of {self.total}", "", keep=6),
                    part(f"▸{self.cursor}", "", keep=9)]
        drawn = "pixels" if self.graphics == "pixels" else self.draw_mode
        cmap = "" if drawn == "ascii" else f"{'grey' if drawn == 'grey' else self.cmap} map"
        width = title_width(self) if self.is_mounted else 200
        self.set_titles(
            fit([*what, part(*resolution_forms(self.size_shown, self.shape[1]), keep=5)],
                width),
            fit([part(f"page {self.page + 1}/{self.pages()}", keep=3),
                 part(self.normalise, "", keep=1), part(drawn, "", keep=2),
                 part(cmap, "", keep=0)], width))
