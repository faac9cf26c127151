"""Plain SGD takes its step inside the gradient's own gemm (W ← (1 − 2λ·lr)W − lr·AᵀB);
that step must be exactly W − lr·∂L̂/∂W with the gradient the finite-difference test checks."""

import itertools

import numpy as np
import pytest

from aetui.core import kernels as K

M, N, HID = 5, 30, 7


@pytest.mark.parametrize(("tied", "l2", "noise", "sparse"), list(itertools.product(
    (True, False), (0.0, 0.01), (K.NOISE_NONE, K.NOISE_MASK), (0.0, 1.0))))
def test_fused_sgd_step_equals_w_minus_lr_times_checked_gradient(tied, l2, noise, sparse):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (M, N), dtype=np.uint8)
    W = rng.normal(0, 0.3, (N, HID))
    b = rng.normal(0, 0.1, HID)
    c = rng.normal(0, 0.1, N)
    V = np.zeros((1, 1)) if tied else rng.normal(0, 0.3, (HID, N))
    x = images / 255.0
    # The same corruption the chunk will draw: same generator state.
    xt = np.empty_like(x)
    K._corrupt(np.random.default_rng(9), x, xt, noise, 0.3, 0.0)
    ws = {"h": np.empty((M, HID)), "z": np.empty((M, N)), "dh": np.empty((M, HID)),
          "gW": np.empty((N, HID)), "gb": np.empty(HID), "gc": np.empty(N),
          "gV": np.empty((HID, N)), "rho_hat": np.empty(HID)}
    terms = K._forward_backward(xt, x, W, b, c, V, tied, K.LOSS_CE, K.DECODER_SIGMOID, l2,
                                3.0, 0.1, sparse, **ws)
    lr = 0.05
    after = [W.copy(), b.copy(), c.copy(), V.copy()]
    opt = [np.zeros((2, *a.shape)) for a in after]
    sums = np.zeros(4)
    done, pos, finite = K._train_chunk(
        images, np.arange(M), 0, 1, M, np.random.default_rng(9), *after, *opt, 0,
        tied, noise, 0.3, 0.0, K.LOSS_CE, K.DECODER_SIGMOID, l2, 3.0, 0.1, K.OPT_SGD, lr, sparse,
        np.empty((M, N)), np.empty((M, N)), np.empty((M, HID)), np.empty((M, N)),
        np.empty((M, HID)), np.empty((N, HID)), np.empty(HID), np.empty(N),
        np.empty((HID, N)), np.empty(HID), sums)
    assert (done, pos, finite) == (1, M, True)
    np.testing.assert_allclose(sums[:3], terms, rtol=1e-12)
    expected = [W - lr * ws["gW"], b - lr * ws["gb"], c - lr * ws["gc"]]
    if not tied:
        expected.append(V - lr * ws["gV"])
    for got, want in zip(after, expected, strict=False):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_gemm_matches_numpy_for_every_transpose_and_scalars():
    rng = np.random.default_rng(0)
    for dtype, ta, tb in itertools.product((np.float32, np.float64), (False, True), (False, True)):
        a = rng.random((5, 7) if ta else (7, 5)).astype(dtype)
        bm = rng.random((3, 5) if tb else (5, 3)).astype(dtype)
        c = rng.random((7, 3)).astype(dtype)
        want = -0.5 * ((a.T if ta else a) @ (bm.T if tb else bm)) + 2.0 * c
        K._gemm(ta, tb, -0.5, a, bm, 2.0, c)
        np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-13)
    with pytest.raises(ValueError, match="incompatible"):
        K._gemm(False, False, 1.0, np.ones((2, 3)), np.ones((2, 3)), 0.0, np.ones((2, 3)))
