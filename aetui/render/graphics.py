"""Which way pictures reach the terminal: pixels (kitty graphics or sixel,
through textual-image), half-blocks, or ASCII.

Detection asks the terminal, so it must run before Textual takes the
terminal over (textual-image queries it when first imported); `--graphics`
and the lab's key override it. `--slow-link` keeps to blocks unless pixels
are asked for: a pixel frame is the whole picture, blocks send changed cells.
"""

from __future__ import annotations

GRAPHICS = ("auto", "pixels", "blocks", "ascii")
PROTOCOLS = ("sixel", "kitty", "halfcell")


def detect_protocol() -> str | None:
    """"sixel" or "kitty" if the terminal answered that it draws pixels, else None.
    Only on a real terminal; never raises."""
    try:
        from textual_image import renderable
        from textual_image.renderable.sixel import Image as Sixel
        from textual_image.renderable.tgp import Image as Kitty
    except Exception:  # a missing or broken textual-image: blocks still work
        return None
    if renderable.Image is Sixel:
        return "sixel"
    if renderable.Image is Kitty:
        return "kitty"
    return None


def resolve(requested: str, *, slow_link: bool = False, ascii: bool = False,
            detect=detect_protocol) -> tuple[str, str | None]:
    """(graphics, protocol): graphics is "pixels", "blocks" or "ascii"; protocol
    is the pixel protocol to use with "pixels" (sixel when asked for pixels
    on a terminal that did not say: tmux may draw sixel without announcing it)."""
    if requested not in GRAPHICS:
        raise ValueError(f"graphics must be one of {GRAPHICS}, got {requested!r}")
    if ascii or requested == "ascii":
        return "ascii", None
    if requested == "blocks" or (requested == "auto" and slow_link):
        return "blocks", None
    protocol = detect()
    if requested == "pixels":
        return "pixels", protocol or "sixel"
    return ("pixels", protocol) if protocol else ("blocks", None)


def pixel_widget_class(protocol: str | None):
    """The textual-image widget for a protocol (imported lazily: it queries the
    terminal once, at import)."""
    from textual_image import widget

    if protocol == "sixel":
        return widget.SixelImage
    if protocol == "kitty":
        return widget.TGPImage
    return widget.HalfcellImage


def cell_pixels() -> tuple[int, int]:
    """(width, height) of one terminal cell in pixels, as the terminal reported
    it (textual-image asks once, before Textual starts); 10×20 if unknown."""
    try:
        from textual_image._terminal import get_cell_size

        size = get_cell_size()
        if size.width > 0 and size.height > 0:
            return size.width, size.height
    except Exception:  # no terminal (tests, pipes): a usual cell
        pass
    return 10, 20
