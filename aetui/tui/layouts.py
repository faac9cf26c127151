"""The lab's layouts, chosen by the terminal's size (README, "Layouts").

Three layouts, one rule:

- large   (≥ 160 × 48): digits at 28 px (one digit per band of 4 images), the
  filters fill the rest of the left column;
- default (≥ 120 × 40): two or more digits at 14 px, at least 16 filters;
- small   (anything smaller, down to the 80 × 24 minimum): panels take shares of
  the screen (app.tcss); `f` shows one panel full screen.

The image column's width and the digits panel's height are computed here from
the picture geometry, so the pictures fill their panels; the panels then pick
their own pixel sizes within them (FiltersPanel.geometry_for,
DigitsPanel.choose_layout) with the targets the layout sets.
"""

from __future__ import annotations

from dataclasses import dataclass

# Breakpoints: (width, height) the terminal must reach for each layout.
DEFAULT_AT = (120, 40)
LARGE_AT = (160, 48)
CHROME_ROWS = 4  # status bar (3) and footer (1)
FRAME = 2  # a panel's border, in rows or columns
PAD = 2  # the image panels' padding (one column each side)
GROUP_GAP_COLS = 3  # between digit groups (DigitsPanel.GROUP_GAP)
# Default layout: room for this many 10-px filters per row, so 16 fit in 3 rows.
DEFAULT_FILTER_COLS, SMALLEST_FILTER = 6, 10
DIGITS_SHARE = 0.5  # the digits panel takes at most this share of the panels' height


# The lab's panels, in the order `w` selects them (ids of the lab screen's widgets).
PANEL_ORDER = ("filters", "digits", "loss", "sparsity")


@dataclass(frozen=True)
class Layout:
    """What a layout asks of the lab screen and its panels.

    left_width: columns of the image column (None: CSS shares, app.tcss);
    digits_height: rows of the digits panel (None: CSS shares);
    digit_px: the pixel size the digits are laid out for; min_digits and
    min_filters: how many the panels' automatic sizes must show."""

    name: str
    left_width: int | None
    digits_height: int | None
    digit_px: int
    min_digits: int
    min_filters: int


def _cell_h(px: int) -> int:
    return (px + 1) // 2


def digit_group_width(px: int) -> int:
    """Cells of one digit's four images side by side (x, x̃, x̂, |x − x̂|)."""
    return 4 * px + 3


def digits_rows(px: int, n: int) -> int:
    """Rows of `n` digits, one group per band, a blank row between bands."""
    return n * _cell_h(px) + (n - 1)


def choose_layout(width: int, height: int) -> Layout:
    """The layout for a terminal of `width` × `height` cells."""
    panels_h = height - CHROME_ROWS
    if width >= LARGE_AT[0] and height >= LARGE_AT[1]:
        name, px, share, min_digits, min_filters = "large", 28, 0.72, 1, 24
    elif width >= DEFAULT_AT[0] and height >= DEFAULT_AT[1]:
        name, px, share, min_digits, min_filters = "default", 14, 0.575, 2, 16
    else:
        return Layout("small", None, None, 14, 1, 8)
    filters_w = DEFAULT_FILTER_COLS * (SMALLEST_FILTER + 1) - 1
    left = max(digit_group_width(px), filters_w, round(share * width) - FRAME - PAD)
    # As many digits as fit in the digits share of the height (at least the minimum).
    n = max(min_digits, int((DIGITS_SHARE * panels_h + 1) // (_cell_h(px) + 1)))
    return Layout(name, left + FRAME + PAD, digits_rows(px, n) + FRAME, px, min_digits,
                  min_filters)


def apply_layout(screen, layout: Layout) -> None:
    """Size the lab screen's columns and panels for `layout` (inline styles; the
    small layout clears them, so app.tcss's shares apply)."""
    for name in ("small", "default", "large"):
        screen.set_class(name == layout.name, f"-layout-{name}")
    left = screen.query_one("#left")
    digits = screen.query_one("#digits")
    filters = screen.query_one("#filters")
    if layout.left_width is None:
        left.styles.width = None
        digits.styles.height = None
        filters.styles.height = None
    else:
        left.styles.width = layout.left_width
        digits.styles.height = layout.digits_height
        filters.styles.height = "1fr"
    digits.min_digits = layout.min_digits
    filters.min_units = layout.min_filters
    digits.mark_dirty(now=True)
    filters.mark_dirty(now=True)
