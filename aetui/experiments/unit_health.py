"""Dead and saturated hidden units, by what they do on the held-out images.

A unit is *dead* when its activation never reaches DEAD_BELOW on any held-out image:
it carries nothing about any input. It is *saturated* when its activation never
falls below SATURATED_ABOVE: always on, it carries nothing either. A low mean ρ̂
is not death: the edge detectors of a denoising AE on natural patches sit at
ρ̂ ≈ 0.004 and fire near 1 on the few patches holding their edge (README, "Dead
and saturated units").
"""

from __future__ import annotations

import numpy as np

from aetui.engine.model import hidden_activations

DEAD_BELOW = 0.1  # a unit whose activation stays under this on every held-out image is dead
SATURATED_ABOVE = 0.9  # ... that stays over this on every held-out image is saturated
RULE = f"dead: h < {DEAD_BELOW:g}, saturated: h > {SATURATED_ABOVE:g}, on every held-out image"


def activation_range(params, images: np.ndarray, block: int = 1000) -> np.ndarray:
    """Each hidden unit's least and greatest activation h(x) over the rows of `images`
    (uint8 pixels or float rows, clean): float32, 2 × k (row 0 min, row 1 max)."""
    k = int(np.asarray(params.W).shape[1])
    low = np.full(k, np.inf, np.float32)
    high = np.full(k, -np.inf, np.float32)
    for start in range(0, len(images), block):
        h = hidden_activations(params, images[start:start + block])
        np.minimum(low, h.min(axis=0), out=low)
        np.maximum(high, h.max(axis=0), out=high)
    return np.stack([low, high])


def dead_units(h_range: np.ndarray) -> np.ndarray:
    """Boolean mask of the dead units, from activation_range()'s 2 × k array."""
    return np.asarray(h_range)[1] < DEAD_BELOW


def saturated_units(h_range: np.ndarray) -> np.ndarray:
    """Boolean mask of the saturated units, from activation_range()'s 2 × k array."""
    return np.asarray(h_range)[0] > SATURATED_ABOVE


def counts(h_range: np.ndarray | None) -> tuple[int, int] | None:
    """(dead, saturated) counts, or None when the range was not measured."""
    if h_range is None or np.asarray(h_range).size == 0:
        return None
    return int(dead_units(h_range).sum()), int(saturated_units(h_range).sum())
