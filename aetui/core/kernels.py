"""The jitted kernels: one forward/backward pass, and a chunk of training steps.

Private by design: the trainer (trainer.py) and model.py wrap these with
shape and dtype checks. Everything here is self-contained (no jitted code
imported from elsewhere, no module globals but integer codes) because numba's
on-disk cache does not track either.

Conventions (THEORY.md): reconstruction loss summed over pixels and averaged
over the batch; L2 term λ‖W‖² (+ λ‖V‖² untied), gradient 2λW; sparsity term
β·Σₗ KL(ρ‖ρ̂ₗ) with ρ̂ from the minibatch, clipped to [1e-6, 1 − 1e-6], no
gradient through a clipped value. Arrays: W (n×k), b (k), c (n), V (k×n);
tied means V = Wᵀ and the V argument is ignored.

No fastmath: it would let the compiler assume there are no NaNs, and NaN
detection is how a diverging run is caught.
"""

from aetui.paths import ensure_numba_cache_dir

ensure_numba_cache_dir()

import numba  # noqa: E402
import numpy as np  # noqa: E402

# Integer codes shared with trainer.py (plain ints: cached kernels freeze globals).
NOISE_NONE, NOISE_MASK, NOISE_GAUSSIAN, NOISE_SALTPEPPER = 0, 1, 2, 3
LOSS_CE, LOSS_MSE = 0, 1
DECODER_SIGMOID, DECODER_LINEAR = 0, 1
OPT_SGD, OPT_MOMENTUM, OPT_ADAM = 0, 1, 2

RHO_CLIP = 1e-6
MOMENTUM = 0.9
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8

_JIT = {"nogil": True, "cache": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def _corrupt(rng, x, out, noise, q, sigma):
    """Write a fresh corruption of the rows of `x` into `out` (same shape)."""
    m, n = x.shape
    for i in range(m):
        for j in range(n):
            v = x[i, j]
            if noise == NOISE_MASK:
                if rng.random() < q:
                    v = 0.0
            elif noise == NOISE_GAUSSIAN:
                v = v + sigma * rng.standard_normal()
            elif noise == NOISE_SALTPEPPER and rng.random() < q:
                v = 1.0 if rng.random() < 0.5 else 0.0
            out[i, j] = v


@numba.njit(**_JIT)
def _forward_backward(xt, x, W, b, c, V, tied, loss, decoder, l2, beta, rho,
                      h, z, dh, gW, gb, gc, gV, rho_hat):
    """Loss terms of one minibatch and their gradients, written into g*.

    xt: corrupted input (m×n), x: clean target (m×n), both floats in the
    weights' dtype. h (m×k), z (m×n), dh (m×k) and rho_hat (k) are workspace;
    on return h holds the hidden activations, z the reconstruction x̂ and
    rho_hat the (unclipped) mean activation of each unit on this batch.
    Returns (recon, l2_term, sparsity_term): recon summed over pixels and
    averaged over the m examples; the other two exactly as they enter the
    objective (λ‖W‖² …, β·Ω). The gradients are of their sum.
    """
    m, n = x.shape
    k = W.shape[1]
    inv_m = 1.0 / m
    # Encoder: H = sigmoid(X̃ W + b).
    np.dot(xt, W, h)
    for i in range(m):
        for l in range(k):
            h[i, l] = 1.0 / (1.0 + np.exp(-(h[i, l] + b[l])))
    # Decoder pre-activation: Z = H V + c, V = Wᵀ when tied.
    if tied:
        np.dot(h, W.T, z)
    else:
        np.dot(h, V, z)
    # Reconstruction loss and δ_out, fused per pixel; z becomes δ_out and the
    # reconstruction is recomputed from it where needed, saving a buffer.
    recon = 0.0
    for j in range(n):
        gc[j] = 0.0
    for i in range(m):
        row = 0.0
        for j in range(n):
            a = z[i, j] + c[j]
            t = x[i, j]
            if decoder == DECODER_SIGMOID:
                e = np.exp(-abs(a))
                xhat = 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)
                if loss == LOSS_CE:
                    # −[t log x̂ + (1−t) log(1−x̂)] = softplus(a) − t·a, stable for any a.
                    row += max(a, 0.0) + np.log1p(e) - t * a
                    d = (xhat - t) * inv_m
                else:
                    r = xhat - t
                    row += r * r
                    d = 2.0 * r * xhat * (1.0 - xhat) * inv_m
            else:
                r = a - t
                row += r * r
                d = 2.0 * r * inv_m
            z[i, j] = d
            gc[j] += d
        recon += row
    recon *= inv_m
    delta_out = z
    # ∂/∂V = Hᵀ δ_out (used as its transpose for tied W).
    np.dot(h.T, delta_out, gV)
    # Back into the hidden layer: δ_out Vᵀ (= δ_out W when tied).
    if tied:
        np.dot(delta_out, W, dh)
    else:
        np.dot(delta_out, V.T, dh)
    # Sparsity: ρ̂ from this batch, KL penalty and its derivative per unit.
    sparsity = 0.0
    for l in range(k):
        s = 0.0
        for i in range(m):
            s += h[i, l]
        rho_hat[l] = s * inv_m
    for l in range(k):
        gb[l] = 0.0
    for l in range(k):
        r_hat = rho_hat[l]
        clipped = False
        if r_hat < RHO_CLIP:
            r_hat = RHO_CLIP
            clipped = True
        elif r_hat > 1.0 - RHO_CLIP:
            r_hat = 1.0 - RHO_CLIP
            clipped = True
        if beta != 0.0:
            sparsity += (rho * np.log(rho / r_hat)
                         + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - r_hat)))
            dkl = 0.0 if clipped else beta * inv_m * (-rho / r_hat + (1.0 - rho) / (1.0 - r_hat))
        else:
            dkl = 0.0
        for i in range(m):
            hv = h[i, l]
            dh[i, l] = (dh[i, l] + dkl) * hv * (1.0 - hv)
    sparsity *= beta
    for i in range(m):
        for l in range(k):
            gb[l] += dh[i, l]
    # ∂/∂W = X̃ᵀ δ_h (+ (Hᵀ δ_out)ᵀ tied) + 2λW.
    np.dot(xt.T, dh, gW)
    l2_term = 0.0
    if tied:
        for j in range(n):
            for l in range(k):
                w = W[j, l]
                gW[j, l] += gV[l, j] + 2.0 * l2 * w
                l2_term += w * w
    else:
        for j in range(n):
            for l in range(k):
                w = W[j, l]
                gW[j, l] += 2.0 * l2 * w
                l2_term += w * w
        for l in range(k):
            for j in range(n):
                v = V[l, j]
                gV[l, j] += 2.0 * l2 * v
                l2_term += v * v
    return recon, l2 * l2_term, sparsity


@numba.njit(**_JIT)
def _apply_update(p, g, m1, m2, optimizer, lr, t):
    """One optimizer step on parameter p (any shape, flattened views) from gradient g.

    m1/m2 hold the momentum velocity or Adam's moments; t is Adam's step count
    after this update (for bias correction).
    """
    pf = p.reshape(-1)
    gf = g.reshape(-1)
    if optimizer == OPT_SGD:
        for i in range(pf.size):
            pf[i] -= lr * gf[i]
    elif optimizer == OPT_MOMENTUM:
        vf = m1.reshape(-1)
        for i in range(pf.size):
            vf[i] = MOMENTUM * vf[i] - lr * gf[i]
            pf[i] += vf[i]
    else:
        mf = m1.reshape(-1)
        sf = m2.reshape(-1)
        c1 = 1.0 - ADAM_BETA1**t
        c2 = 1.0 - ADAM_BETA2**t
        for i in range(pf.size):
            gi = gf[i]
            mf[i] = ADAM_BETA1 * mf[i] + (1.0 - ADAM_BETA1) * gi
            sf[i] = ADAM_BETA2 * sf[i] + (1.0 - ADAM_BETA2) * gi * gi
            pf[i] -= lr * (mf[i] / c1) / (np.sqrt(sf[i] / c2) + ADAM_EPS)


@numba.njit(**_JIT)
def _all_finite(a):
    af = a.reshape(-1)
    for i in range(af.size):  # noqa: SIM110 -- a plain loop compiles to the tightest code
        if not np.isfinite(af[i]):
            return False
    return True


@numba.njit(**_JIT)
def _train_chunk(images, order, pos, n_steps, batch, rng,
                 W, b, c, V, opt_W, opt_b, opt_c, opt_V, adam_t,
                 tied, noise, q, sigma, loss, decoder, l2, beta, rho, optimizer, lr,
                 x, xt, h, z, dh, gW, gb, gc, gV, rho_hat, sums):
    """Run up to `n_steps` minibatch updates over images[order[pos:]], in place.

    images: N×n uint8 (0..255), converted to [0, 1] one batch at a time.
    opt_*: (2, *shape) optimizer state per parameter; adam_t: Adam's step
    count before this chunk. x/xt/h/z/dh: (batch×·) workspace; g*: gradients.
    sums[0..2] accumulate recon, l2 and sparsity terms (per batch, as in
    _forward_backward) and sums[3] the number of updates, for running means.
    Stops early at the end of `order` or on a non-finite loss.
    Returns (steps done, new pos, finite?).
    """
    n_total = order.shape[0]
    n = images.shape[1]
    done = 0
    while done < n_steps and pos < n_total:
        m = min(batch, n_total - pos)
        xb = x[:m]
        xtb = xt[:m]
        for i in range(m):
            src = order[pos + i]
            for j in range(n):
                xb[i, j] = images[src, j] / 255.0
        _corrupt(rng, xb, xtb, noise, q, sigma)
        recon, l2_term, sparsity = _forward_backward(
            xtb, xb, W, b, c, V, tied, loss, decoder, l2, beta, rho,
            h[:m], z[:m], dh[:m], gW, gb, gc, gV, rho_hat)
        total = recon + l2_term + sparsity
        if not np.isfinite(total):
            return done, pos, False
        t = adam_t + done + 1
        _apply_update(W, gW, opt_W[0], opt_W[1], optimizer, lr, t)
        _apply_update(b, gb, opt_b[0], opt_b[1], optimizer, lr, t)
        _apply_update(c, gc, opt_c[0], opt_c[1], optimizer, lr, t)
        if not tied:
            _apply_update(V, gV, opt_V[0], opt_V[1], optimizer, lr, t)
        sums[0] += recon
        sums[1] += l2_term
        sums[2] += sparsity
        sums[3] += 1.0
        pos += m
        done += 1
    finite = _all_finite(W) and _all_finite(b) and _all_finite(c)
    if not tied:
        finite = finite and _all_finite(V)
    return done, pos, finite


@numba.njit(**_JIT)
def _encode(images, W, b, out):
    """Hidden activations h(x) of clean uint8 images (rows), written into out (N×k)."""
    m, n = images.shape
    k = W.shape[1]
    block = 256
    xb = np.empty((block, n), W.dtype)
    for start in range(0, m, block):
        stop = min(start + block, m)
        rows = stop - start
        for i in range(rows):
            for j in range(n):
                xb[i, j] = images[start + i, j] / 255.0
        hb = out[start:stop]
        np.dot(xb[:rows], W, hb)
        for i in range(rows):
            for l in range(k):
                hb[i, l] = 1.0 / (1.0 + np.exp(-(hb[i, l] + b[l])))
