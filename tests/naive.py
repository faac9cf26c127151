"""Naive references for the engine's tests, in plain numpy, straight from the README's
formulas ("What is computed"), and the one finite-difference gradient checker.

Slow and obvious on purpose: every test of a kernel compares it with something
here. The sparsity term's KL comes from aetui.engine.objective (its own tests
check it against hand values), so that the kernels are held to the same clip.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from aetui.engine import objective


def random_problem(seed: int, tied: bool, m: int, n: int, k: int):
    """(x, x̃, params): m random rows of n pixels, x̃ with 30 % of them dropped, and
    random weights for k hidden units (V too when untied): the gradient checks' batch."""
    rng = np.random.default_rng(seed)
    x = rng.random((m, n))
    xt = x * (rng.random((m, n)) > 0.3)
    p = {"W": rng.normal(0, 0.5, (n, k)), "b": rng.normal(0, 0.1, k),
         "c": rng.normal(0, 0.1, n)}
    if not tied:
        p["V"] = rng.normal(0, 0.5, (k, n))
    return x, xt, p


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def objective_terms(x, xt, p, tied, loss, decoder, l2, beta, rho=0.1):
    """(recon, l2_term, sparsity_term) of one batch: recon summed over pixels and
    averaged over rows; ρ̂ from this batch. p: dict of W, b, c, V (V unused when tied);
    loss "ce"|"mse", decoder "sigmoid"|"linear"."""
    h = sigmoid(xt @ p["W"] + p["b"])
    V = p["W"].T if tied else p["V"]
    a = h @ V + p["c"]
    xhat = sigmoid(a) if decoder == "sigmoid" else a
    if loss == "ce":
        recon = -np.sum(x * np.log(xhat) + (1 - x) * np.log(1 - xhat)) / len(x)
    else:
        recon = np.sum((xhat - x) ** 2) / len(x)
    l2_term = l2 * (np.sum(p["W"] ** 2) + (0 if tied else np.sum(p["V"] ** 2)))
    return recon, l2_term, objective.sparsity_term(h.mean(axis=0), rho, beta)


def cross_entropy_sum(a: np.ndarray, t: np.ndarray) -> float:
    """Σ −[t log σ(a) + (1−t) log(1−σ(a))] from the logits, stably."""
    return float(np.sum(np.logaddexp(0, a) - t * a))


Objective = Callable[[dict[str, np.ndarray]], tuple[float, dict[str, np.ndarray]]]


def check_gradient(objective_fn: Objective, params: dict[str, np.ndarray], *,
                   eps: float = 1e-6, tol: float = 1e-6) -> None:
    """Assert that the analytic gradient objective_fn returns matches central finite
    differences, entry by entry, for every array it returns a gradient of.

    objective_fn(params) -> (value, {name: ∂value/∂params[name]}); params: float64
    arrays, perturbed in place and restored. The error is relative to the
    largest numeric entry of each gradient.
    """
    _, analytic = objective_fn(params)
    analytic = {name: np.array(g, dtype=np.float64) for name, g in analytic.items()}
    for name, grad in analytic.items():
        param = params[name]
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            up = objective_fn(params)[0]
            param[idx] = old - eps
            down = objective_fn(params)[0]
            param[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        error = np.abs(numeric - grad).max() / np.abs(numeric).max()
        assert error <= tol, f"∂/∂{name}: relative error {error:.2e}"
