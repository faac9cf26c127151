"""Full-batch L-BFGS: scipy's L-BFGS-B driving the engine's full-batch objective.

UFLDL's sparse-autoencoder exercise trains this way: the whole training set in
every evaluation, ρ̂ over the whole set in the sparsity term. The weights are
packed into one float64 vector θ = [W, b, c, (V)]; each evaluation is two
passes over the images in chunks (engine.full_batch_loss_and_gradient), in
float64 so that the line search sees an exact objective.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from aetui.engine import engine
from aetui.engine.model import Params

MEMORY = 10  # L-BFGS-B's number of correction pairs (scipy's maxcor)
CHUNK = 1000  # images per block of a full-batch pass: bounds the workspace


class FullBatchLBFGS:
    """The objective over `images` (N×n uint8 digits or float32 patch rows, clean) for a
    model of `hidden` units."""

    def __init__(self, images: np.ndarray, hidden: int, hyper: engine.Hyper, *,
                 chunk: int = CHUNK) -> None:
        self.images = np.ascontiguousarray(
            images, dtype=np.uint8 if images.dtype == np.uint8 else np.float32)
        self.n, self.k = int(self.images.shape[1]), int(hidden)
        self.hyper = hyper
        self.chunk = chunk
        self.evaluations = 0
        self.last_terms = (0.0, 0.0, 0.0)

    @property
    def size(self) -> int:
        n, k = self.n, self.k
        return n * k + k + n + (0 if self.hyper.tied else k * n)

    def unpack(self, theta: np.ndarray) -> Params:
        """W, b, c, V as views into θ (float64, C-contiguous)."""
        n, k = self.n, self.k
        W = theta[:n * k].reshape(n, k)
        b = theta[n * k:n * k + k]
        c = theta[n * k + k:n * k + k + n]
        V = None if self.hyper.tied else theta[n * k + k + n:].reshape(k, n)
        return Params(W, b, c, V)

    def pack(self, params: Params) -> np.ndarray:
        theta = np.empty(self.size)
        view = self.unpack(theta)
        view.W[...], view.b[...], view.c[...] = params.W, params.b, params.c
        if view.V is not None:
            view.V[...] = params.V
        return theta

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective (recon + l2 + sparsity, recon averaged over the N images) at θ
        and its gradient, as one flat float64 vector."""
        theta = np.ascontiguousarray(theta, dtype=np.float64)
        grad = np.empty(self.size)
        g = self.unpack(grad)
        grads = engine.Gradients(g.W, g.b, g.c, g.V, np.empty(self.k))
        terms, grads = engine.full_batch_loss_and_gradient(
            self.images, self.unpack(theta), self.hyper, chunk=self.chunk, grads=grads)
        self.evaluations += 1
        self.last_terms = terms
        total = sum(terms)
        if not np.isfinite(total):
            return np.inf, np.zeros_like(grad)  # the line search backs off
        return total, grad

    def minimize(self, theta0: np.ndarray, on_iteration: Callable[[np.ndarray], None],
                 max_iter: int) -> optimize.OptimizeResult:
        """Run L-BFGS-B from θ0 for at most `max_iter` iterations, with a fresh memory.
        on_iteration(θ) runs after each one; raising StopIteration in it ends the run
        (the result then holds the last iterate)."""

        def callback(intermediate_result: optimize.OptimizeResult) -> None:
            on_iteration(intermediate_result.x)

        return optimize.minimize(
            self.value_and_gradient, theta0, jac=True, method="L-BFGS-B", callback=callback,
            options={"maxiter": max(1, int(max_iter)), "maxcor": MEMORY, "ftol": 1e-12,
                     "gtol": 1e-9, "maxfun": 20 * max(1, int(max_iter))})
