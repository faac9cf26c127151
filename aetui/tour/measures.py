"""The numbers that decide the tour's claims, each from weights or images alone.

Every function is pure numpy (no trainer, no Textual) so the tour panel, the
headless check and the tests compute a claim the same way. Where the project
already measures something (filter smoothness, locality, KL) this reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aetui.engine import objective
from aetui.experiments import analysis
from aetui.experiments.novelty import CopyCheck, copy_check  # noqa: F401  (re-exported)

HOLDS, NOT_YET, FAILS = "holds", "not yet", "does not hold"


def verdict(measured: float | None, threshold: float, sense: str, settled: bool) -> str:
    """holds when `measured` is on the right side of `threshold` (sense ">=" or "<=");
    otherwise "not yet" while training has not run long enough (`settled` False),
    "does not hold" once it has. No number yet (None, NaN): "not yet"."""
    if measured is None or not np.isfinite(measured):
        return NOT_YET
    ok = measured >= threshold if sense == ">=" else measured <= threshold
    if ok:
        return HOLDS
    return FAILS if settled else NOT_YET


def denoise_gain(clean: np.ndarray, corrupted: np.ndarray, recon: np.ndarray,
                 changed_only: bool = True) -> float:
    """Share of the corruption's squared error the model removes, in (−∞, 1]:
    1 − Σ(x̂ − x)² / Σ(x̃ − x)², over the pixels the noise changed (changed_only: the
    dropped pixels of masking noise) or over all. 1: every changed pixel restored;
    0: no better than the corrupted input. NaN when the noise changed nothing."""
    x, xt, xr = (np.asarray(a, np.float64) for a in (clean, corrupted, recon))
    where = (xt != x) if changed_only else np.ones_like(x, bool)
    noise = float(((xt - x) ** 2)[where].sum())
    if noise <= 0:
        return float("nan")
    return 1.0 - float(((xr - x) ** 2)[where].sum()) / noise


def smoothness_rise(filters_by_level: Sequence[np.ndarray],
                    shape: tuple[int, int] = (28, 28)) -> float:
    """Filter smoothness of the last (noisiest) model minus that of the first (no noise):
    `analysis.filter_smoothness` of each set of filters (rows). > 0: smoother, wider
    strokes as the noise rises."""
    first, last = filters_by_level[0], filters_by_level[-1]
    return (analysis.filter_smoothness(last, shape)
            - analysis.filter_smoothness(first, shape))


def locality_gap(filters: np.ndarray, others: np.ndarray, shape: tuple[int, int],
                 channels: int = 1) -> float:
    """Mean locality (`analysis.filter_locality`: energy share within 2 px of the peak)
    of `filters` minus that of `others`. > 0: the first set is more edge-like, local."""
    return (analysis.edge_measures(filters, shape, channels)["locality"]
            - analysis.edge_measures(others, shape, channels)["locality"])


def activity_ratio(rho_hat: np.ndarray, rho: float) -> float:
    """Mean ρ̂ over the units divided by the target ρ: 1 when the units fire, on average,
    as rarely as asked; ≫ 1 when they are mostly on."""
    return float(np.mean(rho_hat)) / rho


def omega_per_unit(rho_hat: np.ndarray, rho: float) -> float:
    """Ω/k = mean over units of KL(ρ‖ρ̂ₗ), in nats: 0 exactly when every ρ̂ₗ = ρ."""
    return float(np.mean(objective.kl_divergence(rho, rho_hat)))


def omega_gradient(rho_hat: np.ndarray, rho: float) -> np.ndarray:
    """∂Ω/∂ρ̂ₗ = −ρ/ρ̂ₗ + (1−ρ)/(1−ρ̂ₗ), per unit (float64; ρ̂ clipped as Ω's)."""
    r = objective.clip_rho_hat(rho_hat)
    return -rho / r + (1.0 - rho) / (1.0 - r)


def sparsity_weight_gradient(W: np.ndarray, b: np.ndarray, x: np.ndarray,
                             rho: float) -> np.ndarray:
    """∂Ω/∂W by the chain rule: (1/m) Σᵢ xᵢⱼ g′(aᵢₗ) ∂Ω/∂ρ̂ₗ, with h = g(xW + b) the
    sigmoid and ρ̂ its mean over the m rows of x (pixels in [0, 1]). float64, n_in × k."""
    x = np.asarray(x, np.float64)
    h = 1.0 / (1.0 + np.exp(-(x @ np.asarray(W, np.float64) + b)))
    d_rho = omega_gradient(h.mean(axis=0), rho)
    return x.T @ (h * (1.0 - h) * d_rho) / len(x)


def gradient_check(W: np.ndarray, b: np.ndarray, x: np.ndarray, rho: float, *,
                   entries: int = 24, seed: int = 0, eps: float = 1e-5) -> float:
    """Relative error ‖g − g̃‖ / ‖g + g̃‖ between the chain-rule ∂Ω/∂Wⱼₗ (g) and central
    finite differences of Ω(W) (g̃) at `entries` random (j, l), in float64: about 1e-9
    when the formula is right, ≈ 1 when it is wrong. Entries are drawn among the pixels
    with the most ink (a pixel that is almost always 0 has a gradient near 0)."""
    W = np.asarray(W, np.float64)
    b = np.asarray(b, np.float64)
    x = np.asarray(x, np.float64)
    analytic = sparsity_weight_gradient(W, b, x, rho)
    rng = np.random.default_rng(seed)
    ink = np.abs(x).mean(axis=0)
    live = np.argsort(-ink)[: max(1, len(ink) // 4)]
    live = live[ink[live] > 0]
    if not live.size:
        return float("nan")

    # One weight Wⱼₗ moves only unit l's pre-activations (by δ·xⱼ): Ω changes by unit l's
    # KL term alone, so each difference costs O(m), not a new x W.
    pre = x @ W + b

    def kl_of(column: np.ndarray) -> float:
        h = 1.0 / (1.0 + np.exp(-column))
        return float(objective.kl_divergence(rho, np.array([h.mean()]))[0])

    numeric, exact = [], []
    for _ in range(entries):
        j, col = int(rng.choice(live)), int(rng.integers(W.shape[1]))
        up = kl_of(pre[:, col] + eps * x[:, j])
        down = kl_of(pre[:, col] - eps * x[:, j])
        numeric.append((up - down) / (2 * eps))
        exact.append(analytic[j, col])
    numeric, exact = np.array(numeric), np.array(exact)
    scale = float(np.linalg.norm(numeric + exact))
    return float(np.linalg.norm(numeric - exact)) / scale if scale > 0 else 0.0
