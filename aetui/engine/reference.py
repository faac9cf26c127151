"""The reference path: training steps in numpy while the kernels compile.

A fresh install has no compiled kernels, and compiling them takes half a minute
(README, "Start-up"). The lab does not wait: its first steps run here, the same
objective and optimizers as the kernels (README, "What is computed") on the
counter corruption stream, while a background thread compiles the kernels; the
trainer switches to them at a step boundary and records that step in the run's
lab string, so a replay takes this path for exactly those steps.

Every call is one thread's numpy and scipy work with no numba dispatcher in it
(a kernel's compilation holds numba's lock), and its products go through scipy's
sgemm, which the engine holds to one thread: the same bits on any machine's
thread count. The bits are not the kernels' (other roundings), only this
path's own.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from aetui.engine.objective import RHO_CLIP

MOMENTUM = 0.9  # kernels.MOMENTUM, ADAM_*: the optimizers' constants
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise on uint64 (as in the kernels)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def counter_draws(seed: int, step: int, rows: int, count: int) -> np.ndarray:
    """rows × count random uint64s: draw j of row i of update `step` of a run seeded
    `seed`, the kernels' counter stream."""
    with np.errstate(over="ignore"):
        key = _mix64(np.uint64(seed) * _GOLDEN + _GOLDEN)
        key = _mix64(key + np.uint64(step))
        keys = _mix64(key + np.arange(rows, dtype=np.uint64))
        counters = (np.arange(count, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
        return _mix64(keys[:, None] + counters[None, :])


def corrupt(seed: int, step: int, x: np.ndarray, noise: str, q: float, sigma: float
            ) -> np.ndarray:
    """X̃ of the batch x for update `step` from the counter stream: for masking and
    salt-and-pepper noise the kernels' bits (integer draws, exact comparisons);
    for gaussian noise the same draws through numpy's log, sqrt and cos."""
    m, n = x.shape
    if noise == "none":
        return x.copy()
    if noise == "gaussian":
        bits = counter_draws(seed, step, m, (n + 1) // 2)
        inv32 = 1.0 / 4294967296.0
        u1 = ((bits >> np.uint64(32)).astype(np.float64) + 0.5) * inv32
        u2 = (bits & np.uint64(0xFFFFFFFF)).astype(np.float64) * inv32
        r = sigma * np.sqrt(-2.0 * np.log(u1))
        z = np.empty((m, 2 * bits.shape[1]))
        z[:, 0::2] = r * np.cos(2.0 * np.pi * u2)
        z[:, 1::2] = r * np.sin(2.0 * np.pi * u2)
        return (x + z[:, :n]).astype(x.dtype)
    bits = counter_draws(seed, step, m, n)
    u = (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    if noise == "mask":
        return np.where(u >= q, x, 0).astype(x.dtype)
    salt = (bits & np.uint64(1)).astype(x.dtype)
    return np.where(u < q, salt, x).astype(x.dtype)


def _mm(a: np.ndarray, b: np.ndarray, trans_a: bool = False, trans_b: bool = False
        ) -> np.ndarray:
    """op(a)·op(b) in float32 through scipy's sgemm (float64 through dgemm)."""
    gemm = blas.sgemm if a.dtype == np.float32 else blas.dgemm
    return np.ascontiguousarray(gemm(1.0, a, b, trans_a=trans_a, trans_b=trans_b))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(a))
    r = 1 / (1 + e)
    return np.where(a >= 0, r, e * r).astype(a.dtype)


def _decoder_weights(params):
    return params.W.T if params.V is None else params.V


def _reconstruction(o: np.ndarray, x: np.ndarray, loss: str, decoder: str
                    ) -> tuple[float, np.ndarray]:
    """(the loss summed over pixels and rows, ∂/∂o) for the decoder's input o = HV + c
    against the clean x, as the kernels' loss (before dividing by m)."""
    if decoder == "sigmoid" and loss == "ce":
        xhat = _sigmoid(o)
        total = float(np.sum(np.maximum(o, 0) - x * o + np.log1p(np.exp(-np.abs(o)))))
        return total, xhat - x
    if decoder == "sigmoid":
        xhat = _sigmoid(o)
        res = xhat - x
        return float(np.sum(res.astype(np.float64) ** 2)), 2 * res * xhat * (1 - xhat)
    res = o - x
    return float(np.sum(res.astype(np.float64) ** 2)), 2 * res


def _kl(rho_hat: np.ndarray, rho: float, beta: float, m: int, dtype
        ) -> tuple[float, np.ndarray]:
    """(Σ KL(ρ‖ρ̂), ∂(β·Σ KL)/∂h per example) with ρ̂ clipped, no gradient where clipped."""
    r = np.clip(rho_hat.astype(np.float64), RHO_CLIP, 1 - RHO_CLIP)
    kl = float(np.sum(rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))))
    clipped = (rho_hat < RHO_CLIP) | (rho_hat > 1 - RHO_CLIP)
    d = np.where(clipped, 0.0, beta / m * (-rho / r + (1 - rho) / (1 - r)))
    return kl, d.astype(dtype)


def loss_and_gradients(xt: np.ndarray, x: np.ndarray, params, s):
    """((recon, l2_term, sparsity_term), {W, b, c, V}) of one batch for settings `s`
    (a config.Settings): the objective of engine.loss_and_gradients, in numpy."""
    m = x.shape[0]
    W, b, c = params.W, params.b, params.c
    V = _decoder_weights(params)
    h = _sigmoid(_mm(xt, W) + b)
    recon, delta = _reconstruction(_mm(h, V) + c, x, s.loss, s.decoder)
    delta = (delta / np.asarray(m, delta.dtype)).astype(W.dtype)
    rho_hat = h.mean(axis=0, dtype=np.float64)
    kl, dkl = _kl(rho_hat, s.rho, s.beta, m, W.dtype) if s.beta else (0.0, 0)
    dh = (_mm(delta, V, trans_b=True) + dkl) * h * (1 - h)
    two_l2 = np.asarray(2 * s.l2, W.dtype)
    grads = {"W": _mm(xt, dh, trans_a=True) + two_l2 * W, "b": dh.sum(axis=0),
             "c": delta.sum(axis=0)}
    l2_sum = float(np.sum(W.astype(np.float64) ** 2))
    if params.V is None:
        grads["W"] += _mm(delta, h, trans_a=True)
    else:
        grads["V"] = _mm(h, delta, trans_a=True) + two_l2 * params.V
        l2_sum += float(np.sum(params.V.astype(np.float64) ** 2))
    return (recon / m, s.l2 * l2_sum, s.beta * kl), grads


def _update(p: np.ndarray, g: np.ndarray, state: np.ndarray, optimizer: str, lr: float,
            t: int) -> None:
    """One optimizer step on p in place (state: (2, *p.shape), as the kernels keep it)."""
    if optimizer == "sgd":
        p -= np.asarray(lr, p.dtype) * g
    elif optimizer == "momentum":
        state[0] = MOMENTUM * state[0] - lr * g
        p += state[0]
    else:
        state[0] = ADAM_BETA1 * state[0] + (1 - ADAM_BETA1) * g
        state[1] = ADAM_BETA2 * state[1] + (1 - ADAM_BETA2) * g * g
        c1, c2 = 1 - ADAM_BETA1**t, 1 - ADAM_BETA2**t
        p -= (lr * (state[0] / c1) / (np.sqrt(state[1] / c2) + ADAM_EPS)).astype(p.dtype)


def train_chunk(images: np.ndarray, order: np.ndarray, pos: int, n_steps: int, params,
                opt: dict[str, np.ndarray], adam_t: int, s, batch: int, sums: np.ndarray,
                seed: int, step: int) -> tuple[int, int, bool]:
    """engine.train_chunk on this path, for the counter stream: up to `n_steps` updates
    of `batch` rows over images[order[pos:]] (uint8 scaled by 1/255, or float rows),
    in place on params and opt; sums as engine's. Returns (done, new pos, finite?)."""
    scale = np.float32(1 / 255) if images.dtype == np.uint8 else np.float32(1)
    done = 0
    while done < n_steps and pos < len(order):
        rows = order[pos:pos + batch]
        x = images[rows].astype(np.float32) * scale
        xt = corrupt(seed, step + done, x, s.noise, s.q, s.sigma)
        terms, grads = loss_and_gradients(xt, x, params, s)
        if not np.isfinite(sum(terms)):
            return done, pos, False
        t = adam_t + done + 1
        for name in ("W", "b", "c", "V"):
            if name in grads:
                _update(getattr(params, name), grads[name], opt[f"opt_{name}"], s.optimizer,
                        s.lr, t)
        sums[:3] += terms
        sums[3] += 1
        pos += len(rows)
        done += 1
    arrays = [params.W, params.b, params.c] + ([params.V] if params.V is not None else [])
    return done, pos, all(bool(np.isfinite(a).all()) for a in arrays)


def held_out(params, images: np.ndarray, loss: str, decoder: str) -> tuple[float, np.ndarray]:
    """engine.held_out on this path: (loss summed over pixels, averaged over images; ρ̂)."""
    scale = np.float32(1 / 255) if images.dtype == np.uint8 else np.float32(1)
    x = images.astype(np.float32) * scale
    if len(x) == 0:
        return 0.0, np.zeros(params.hidden)
    h = _sigmoid(_mm(x, params.W) + params.b)
    recon, _ = _reconstruction(_mm(h, _decoder_weights(params)) + params.c, x, loss, decoder)
    return recon / len(x), h.mean(axis=0, dtype=np.float64)


def reconstruct(params, x: np.ndarray, decoder: str) -> np.ndarray:
    """engine.reconstruct on this path: x̂ for rows x, float32."""
    x = np.asarray(x, np.float32)
    h = _sigmoid(_mm(x, params.W) + params.b)
    o = _mm(h, _decoder_weights(params)) + params.c
    return _sigmoid(o) if decoder == "sigmoid" else o
