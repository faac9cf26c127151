"""What a model makes of images that are not digits (the lecture's step 1).

An overcomplete autoencoder left unregularised can learn to copy: it then
reconstructs a random scribble as well as a digit. A model that learned
digits reconstructs digits well and everything else worse. This module
measures that, and is shared by the tour's first chapters and the drawing
screen (which reports the drawing's error against the held-out digits').

Errors are mean squared errors per pixel of the clean reconstruction
x̂ = f(h(x)), pixels in [0, 1]; the same unit whatever loss the model trains on.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from aetui.data import as_float
from aetui.experiments.canvas import Canvas


def reconstruction_errors(params, x: np.ndarray, decoder: str = "sigmoid") -> np.ndarray:
    """Mean squared error per pixel of each row's clean reconstruction (float64, N)."""
    from aetui.engine.model import reconstruct

    x = np.asarray(x)
    x = as_float(x) if x.dtype == np.uint8 else np.asarray(x, np.float32)
    recon = reconstruct(params, x, decoder)
    return np.mean((np.asarray(recon, np.float64) - x) ** 2, axis=1)


def scribbles(n: int, seed: int = 0, shape: tuple[int, int] = (28, 28)) -> np.ndarray:
    """`n` random pen scribbles (2 to 4 strokes between random points, the drawing
    screen's pen), as float32 rows in [0, 1]: ink like a digit's, shapes like none."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, shape[0] * shape[1]), np.float32)
    for i in range(n):
        canvas = Canvas(shape)
        canvas.pen = int(rng.integers(1, 3))
        points = rng.uniform(2, np.array(shape) - 2, size=(int(rng.integers(3, 6)), 2))
        for a, b in pairwise(points):
            canvas.stroke(tuple(a), tuple(b))
        out[i] = canvas.flat
    return out


def random_images(n: int, seed: int = 0, n_in: int = 784, ink: float = 0.2) -> np.ndarray:
    """`n` images of independent pixels: each pixel is ink (uniform in [0.5, 1]) with
    probability `ink` (about a digit's share of inked pixels), else 0. float32 rows."""
    rng = np.random.default_rng(seed + 1)
    on = rng.random((n, n_in)) < ink
    return np.where(on, rng.uniform(0.5, 1.0, (n, n_in)), 0.0).astype(np.float32)


@dataclass(frozen=True)
class CopyCheck:
    """Errors (MSE per pixel) on digits and on non-digits, and their ratio.

    ratio = digits / non_digits: near 1 for a model that copies whatever it is
    given; near 0 for one that only knows how to draw digits."""

    digits: float
    non_digits: float

    @property
    def ratio(self) -> float:
        return self.digits / self.non_digits if self.non_digits > 0 else float("nan")


def non_digits(n: int, seed: int = 0) -> np.ndarray:
    """Half scribbles, half random images (28×28), float32 rows: the step-1 test set."""
    half = n // 2
    return np.concatenate([scribbles(half, seed), random_images(n - half, seed)])


def copy_check(params, digits: np.ndarray, decoder: str = "sigmoid", *, n: int = 200,
               seed: int = 0) -> CopyCheck:
    """Reconstruction error of (up to `n`) digits against `n` non-digits (non_digits)."""
    digits = np.asarray(digits)[:n]
    return CopyCheck(
        digits=float(reconstruction_errors(params, digits, decoder).mean()),
        non_digits=float(reconstruction_errors(params, non_digits(n, seed), decoder).mean()))
