"""The held-out loss on corrupted inputs: the training loss's like for like.

Training measures x̂(x̃) against the clean x; the held-out loss of `engine.held_out`
feeds the clean x. Under masking noise the two differ even for a model that has
not overfitted (clean inputs carry 1/(1−q) times the input mass the model was
trained on: README, "The held-out loss and the training loss"), so the trainer
also measures the held-out images corrupted by the run's own noise.
"""

from __future__ import annotations

import numpy as np

from aetui.data import as_float
from aetui.engine.model import hidden_activations
from aetui.engine.objective import reconstruction_loss_sum

# The held-out corruption is drawn from one fixed stream per run (the seed and this
# tag): the same x̃ at every measurement, so the curve moves only when the model does.
NOISE_STREAM = 4


def noise_is_off(noise: str, q: float, sigma: float) -> bool:
    """True when the corruption leaves inputs unchanged (x̃ = x)."""
    return (noise == "none" or (noise in ("mask", "saltpepper") and q == 0.0)
            or (noise == "gaussian" and sigma == 0.0))


def corrupt_held_out(images: np.ndarray, noise: str, q: float, sigma: float,
                     seed: int) -> np.ndarray:
    """x̃ of the held-out rows (uint8 scaled by 1/255, or float rows as they are), float32,
    drawn from the run's fixed held-out noise stream (same draw for the same seed)."""
    from aetui.engine import engine

    clean = _as_rows(images)
    out = np.empty_like(clean)
    engine.corrupt(np.random.default_rng([seed, NOISE_STREAM]), clean, noise, q, sigma,
                   out=out)
    return out


def corrupted_held_out_loss(params, images: np.ndarray, noise: str, q: float, sigma: float,
                            seed: int, loss: str = "ce", decoder: str = "sigmoid") -> float:
    """Reconstruction loss of x̂(x̃) against the clean x on held-out rows, summed over
    pixels and averaged over rows (nats for "ce"): the training loss's measure on
    images never trained on. Equals the clean held-out loss when the noise is off."""
    clean = _as_rows(images)
    if len(clean) == 0:
        return 0.0
    noisy = clean if noise_is_off(noise, q, sigma) else corrupt_held_out(
        clean, noise, q, sigma, seed)
    h = hidden_activations(params, noisy)
    return reconstruction_loss_sum(params, h, clean, loss, decoder) / len(clean)


def _as_rows(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    x = as_float(x) if x.dtype == np.uint8 else x
    return np.ascontiguousarray(x, dtype=np.float32)
