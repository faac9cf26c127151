"""Image grids as PNG files (Pillow): filters, PCA components and digits, labelled.

Filters are signed: each is scaled by its own largest |value| so that zero is
mid-grey, positive weights light and negative dark -- the look of the classic
denoising-autoencoder figures. The lab's grey map is this same map, and
cmap="colour" draws the lab's colour map instead (README, "Pictures").
Digits (unsigned, in [0, 1]) go black to white.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from aetui.errors import AetuiError
from aetui.files import write_atomically
from aetui.render.colormap import colour_rgb, grey_value

BACKGROUND = 255  # white page between images and panels
LABEL_HEIGHT = 18  # pixels reserved above each panel for its label


def grid_array(images: np.ndarray, shape: tuple[int, int] = (28, 28), cols: int | None = None,
               *, scale: int = 2, gap: int = 2, signed: bool = True,
               cmap: str = "grey") -> np.ndarray:
    """Tile images (n × h·w floats) into one uint8 greyscale array (or RGB,
    (…, 3), with cmap="colour": the terminal's colour map).

    cols: images per row (default: about square). scale: each pixel becomes a
    scale × scale block. gap: white pixels between images (before scaling).
    signed: per-image symmetric scaling, 0 → 128 (filters); otherwise values in
    [0, 1] → 0..255 (digits).
    """
    h, w = shape
    stack = np.asarray(images, dtype=np.float64).reshape(-1, h, w)
    n = len(stack)
    if n == 0:
        raise ValueError("no images to draw")
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    if signed:
        # The terminal's scaling rule ("each": by the filter's own max |value|)
        # and its grey map, from the same function.
        peak = np.abs(stack).max(axis=(1, 2), keepdims=True)
        unit = np.nan_to_num(stack / np.where(peak > 0, peak, 1.0))
        pixels = colour_rgb(unit) if cmap == "colour" else grey_value(unit)
    else:
        pixels = np.round(np.nan_to_num(np.clip(stack, 0.0, 1.0)) * 255).astype(np.uint8)
    out = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap,
                   *pixels.shape[3:]), BACKGROUND, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = pixels[i]
    return out.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else out


def panels_image(panels: Sequence[tuple[str, np.ndarray]], shape: tuple[int, int] = (28, 28),
                 cols: int | None = None, *, scale: int = 2, signed: bool = True,
                 margin: int = 12, cmap: str = "grey") -> Image.Image:
    """Labelled grids side by side, one per (label, images) pair, on a white page
    (greyscale, or RGB with cmap="colour")."""
    if not panels:
        raise ValueError("no panels to draw")
    grids = [grid_array(images, shape, cols, scale=scale, signed=signed, cmap=cmap)
             for _, images in panels]
    colour = grids[0].ndim == 3
    width = sum(g.shape[1] for g in grids) + margin * (len(grids) + 1)
    height = max(g.shape[0] for g in grids) + LABEL_HEIGHT + 2 * margin
    page = Image.new("RGB" if colour else "L", (width, height),
                     (BACKGROUND,) * 3 if colour else BACKGROUND)
    draw = ImageDraw.Draw(page)
    font = _font()
    x = margin
    for (label, _), grid in zip(panels, grids, strict=True):
        draw.text((x, margin), _plain(label), fill=(0, 0, 0) if colour else 0, font=font)
        page.paste(Image.fromarray(grid, mode="RGB" if colour else "L"),
                   (x, margin + LABEL_HEIGHT))
        x += grid.shape[1] + margin
    return page


def save_panels(path: str | Path, panels: Sequence[tuple[str, np.ndarray]],
                shape: tuple[int, int] = (28, 28), cols: int | None = None, *,
                scale: int = 2, signed: bool = True, cmap: str = "grey") -> Path:
    """Write labelled grids side by side as a PNG (atomically); return the path.

    Raises AetuiError (one line) when the file cannot be written.
    """
    image = panels_image(panels, shape, cols, scale=scale, signed=signed, cmap=cmap)
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise AetuiError(f"--png: no such folder: {target.parent}")
    # Never a half-written PNG: the project's atomic write (temporary file, rename).
    try:
        write_atomically(target, lambda fh: image.save(fh, format="PNG"))
    except OSError as exc:
        raise AetuiError(f"--png: cannot write {target}: {exc.strerror or exc}") from None
    return target


def save_grid(path: str | Path, images: np.ndarray, label: str = "",
              shape: tuple[int, int] = (28, 28), cols: int | None = None, *,
              scale: int = 2, signed: bool = True) -> Path:
    """One labelled grid as a PNG; see `save_panels`."""
    return save_panels(path, [(label, images)], shape, cols, scale=scale, signed=signed)


# Pillow's built-in font has Latin glyphs only: spell out the rest.
_PLAIN = str.maketrans({"–": "-", "—": "-", "σ": "sigma", "ρ": "rho", "λ": "lambda",
                        "β": "beta", "→": "->", "×": "x", "ˆ": "", "\u0302": ""})


def _plain(label: str) -> str:
    return label.translate(_PLAIN)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        # Pillow ≥ 10.1 ships a scalable default font; older ones take no size.
        return ImageFont.load_default(size=14)
    except TypeError:
        return ImageFont.load_default()
