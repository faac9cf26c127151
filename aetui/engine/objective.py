"""The objective's math in plain numpy: one home for every term the lab shows.

The kernels (kernels.py) compute the same terms fused with their gradients,
in float32, for training; this module computes them from arrays, in float64,
for the held-out figures, the sparsity panel, the analysis and the tests'
references. The conventions are the README's ("What is computed"):

- reconstruction loss summed over pixels, averaged over examples: the
  cross-entropy in nats, or the squared error (no ½);
- L2 term λ(‖W‖² + ‖V‖²) (V only when untied; no ½);
- sparsity term β·Σₗ KL(ρ‖ρ̂ₗ), ρ̂ₗ the mean activation of unit l, clipped to
  [RHO_CLIP, 1 − RHO_CLIP] before the logs.

No numba here: importing this module compiles nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The one clip of ρ̂ before log ρ̂ and log(1 − ρ̂): the kernels take it as an
# argument (engine.py passes this constant), so every KL figure agrees.
RHO_CLIP = 1e-6


def clip_rho_hat(rho_hat: np.ndarray) -> np.ndarray:
    """ρ̂ clipped to [RHO_CLIP, 1 − RHO_CLIP], as float64."""
    return np.clip(np.asarray(rho_hat, dtype=np.float64), RHO_CLIP, 1.0 - RHO_CLIP)


def kl_divergence(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """KL(ρ‖ρ̂) per element of rho_hat (the curve Ω(ρ̂) for one unit), in nats, float64.

    Zero at ρ̂ = ρ, positive elsewhere; ρ̂ is clipped first (clip_rho_hat)."""
    r = clip_rho_hat(rho_hat)
    return rho * np.log(rho / r) + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - r))


def sparsity_term(rho_hat: np.ndarray, rho: float, beta: float) -> float:
    """β·Σₗ KL(ρ‖ρ̂ₗ) over the units: the sparsity term as it enters the objective."""
    if beta == 0.0:
        return 0.0
    return float(beta * np.sum(kl_divergence(rho, rho_hat)))


def l2_term(params, l2: float) -> float:
    """λ(‖W‖² + ‖V‖²) (V only when untied), as it enters the objective."""
    total = float(np.sum(np.square(params.W, dtype=np.float64)))
    if params.V is not None:
        total += float(np.sum(np.square(params.V, dtype=np.float64)))
    return l2 * total


def reconstruction_loss_sum(params, h: np.ndarray, clean: np.ndarray, loss: str = "ce",
                            decoder: str = "sigmoid") -> float:
    """Reconstruction loss of the rows of `clean` (floats in [0, 1]) from their hidden
    activations `h`, summed over pixels AND rows (divide by the row count for the
    per-example figure): cross-entropy in nats, or squared error."""
    V = params.W.T if params.V is None else params.V
    a = (h @ V + params.c).astype(np.float64)
    clean = np.asarray(clean, dtype=np.float64)
    if decoder == "linear":
        return float(np.sum((a - clean) ** 2))
    if loss == "mse":
        return float(np.sum((1.0 / (1.0 + np.exp(-a)) - clean) ** 2))
    # −[x log σ(a) + (1−x) log(1−σ(a))] = softplus(a) − x·a, exact for any a.
    return float(np.sum(np.logaddexp(0.0, a) - clean * a))


def cross_entropy_floor(images: np.ndarray, scale: float = 255.0) -> float:
    """The least cross-entropy any model can reach on these images, in nats per image:
    the entropy of the targets, −Σⱼ[xⱼ log xⱼ + (1−xⱼ) log(1−xⱼ)] with x = pixels/scale,
    averaged over the images (uint8 rows). The reconstruction loss minus this is what
    a model can still learn; on MNIST's training images it is ≈ 45.7 (x/255)."""
    x = np.arange(256) / float(scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_value = -(x * np.log(x) + (1 - x) * np.log(1 - x))
    per_value = np.nan_to_num(per_value)  # 0·log 0 = 0 at x = 0 and x = 1
    images = np.asarray(images)
    if len(images) == 0:
        return 0.0
    total = 0.0
    for start in range(0, len(images), 10_000):
        total += float(per_value[images[start:start + 10_000]].sum())
    return total / len(images)


def normalized_filters(W: np.ndarray, units: Sequence[int] | range | None = None) -> np.ndarray:
    """The unit-norm inputs that most excite each hidden unit: Wₗ/‖Wₗ‖.

    W is n_in × k (one column per hidden unit). Returns a float32 array of
    shape (len(units), n_in), one filter per row; all units when `units` is
    None. A unit whose column is all zero gives a zero row (not NaN).
    """
    W = np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"W must be n_in × k, got shape {W.shape}")
    cols = np.arange(W.shape[1]) if units is None else np.asarray(list(units), dtype=np.intp)
    if cols.size and (cols.min() < 0 or cols.max() >= W.shape[1]):
        raise ValueError(f"units must lie in 0..{W.shape[1] - 1}")
    filters = W[:, cols].T.astype(np.float64)
    norms = np.linalg.norm(filters, axis=1, keepdims=True)
    # A dead all-zero column stays zero rather than becoming 0/0.
    filters /= np.where(norms > 0, norms, 1.0)
    return filters.astype(np.float32)
