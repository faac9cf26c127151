"""Checks that patch data can be prepared and whitened at all, made before whitening.

Whitening divides by the square roots of the patches' covariance eigenvalues: data with
no variance (a constant image, one training patch, an image no bigger than the patch, so
that every patch is the same window) would divide by zero, and training would then
"diverge" with a message about the learning rate. These checks name the data instead.
(Non-finite pixels are refused where images are read: aetui.boundaries.images.)
"""

from __future__ import annotations

import numpy as np

from aetui.errors import ConfigError, DataError

MIN_VARIANCE = 1e-12  # mean per-pixel variance; 16-bit noise of 1 level is ~2e-10
VARIANCE_ROWS = 20_000  # patches are drawn at random positions: these show any variance


def check_positions(names: list[str], shapes: list[tuple[int, ...]], size: int) -> None:
    """DataError unless the images offer at least two distinct size×size windows."""
    positions = sum(max(0, h - size + 1) * max(0, w - size + 1) for h, w in
                    (s[:2] for s in shapes))
    if positions == 0:
        raise DataError(f"{names[0]}: every image is smaller than a {size}×{size} patch")
    if positions == 1:
        raise DataError(f"{names[0]}: the image is no bigger than a {size}×{size} patch, "
                        f"so every patch is the same window (use a smaller --patch-size or "
                        f"a larger image)")


def check_before_whitening(train: np.ndarray, whiten: str, source: str) -> None:
    """DataError (or ConfigError for --patch-count) when the training patches `train`
    (rows, as prepared) cannot be whitened or carry nothing to learn; `source` names
    the images they came from."""
    if whiten != "none" and len(train) < 2:
        raise ConfigError("--patch-count", f"whitening needs at least 2 training patches "
                                           f"(their covariance), got {len(train)}")
    sample = train[:VARIANCE_ROWS]  # var() copies its input: a bounded sample of rows
    with np.errstate(all="ignore"):
        finite = bool(np.isfinite(train).all())
        variance = float(sample.var(axis=0).mean()) if len(sample) > 1 else float(sample.var())
    if not finite:
        raise DataError(f"{source}: the patches hold NaN or infinite values")
    if not variance > MIN_VARIANCE:
        raise DataError(f"{source}: the patches have no variance (a constant image, or "
                        f"every patch the same): nothing to whiten or learn")
