"""Plain SGD takes its step inside the gradient's own gemm (W ← (1 − 2λ·lr)W − lr·AᵀB);
that step must be exactly W − lr·∂L̂/∂W with the gradient the finite-difference test checks."""

import itertools

import numpy as np
import pytest

from aetui.engine import engine
from aetui.engine.model import Params

M, N, HID = 5, 30, 7


def _one_chunk_step(images, params, *, tied, l2, beta, noise, q, sparse_density, seed,
                    lr=0.05):
    """One plain-SGD step of _train_chunk (CE, sigmoid decoder) from params = [W, b, c, V]:
    returns the parameters after it and the chunk's loss sums."""
    m, n = images.shape
    k = params[0].shape[1]
    after = [p.copy() for p in params]
    model = Params(*after[:3], None if tied else after[3])
    opt = {name: np.zeros((2, *a.shape)) for name, a in
           zip(("opt_W", "opt_b", "opt_c"), after, strict=False)}
    opt["opt_V"] = np.zeros((2, 1, 1) if tied else (2, k, n))
    sums = np.zeros(4)
    hyper = engine.Hyper.of(tied=tied, noise=noise, q=q, l2=l2, beta=beta, rho=0.1, lr=lr)
    done, pos, finite = engine.train_chunk(
        images, np.arange(m), 0, 1, np.random.default_rng(seed), model, opt, 0, hyper,
        engine.Workspace.allocate(m, n, k, np.float64), sums, sparse_density=sparse_density)
    assert (done, pos, finite) == (1, m, True)
    return after, sums


@pytest.mark.parametrize(("tied", "l2", "noise", "sparse"), list(itertools.product(
    (True, False), (0.0, 0.01), ("none", "mask"), (0.0, 1.0))))
def test_fused_sgd_step_equals_w_minus_lr_times_checked_gradient(tied, l2, noise, sparse):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (M, N), dtype=np.uint8)
    W = rng.normal(0, 0.3, (N, HID))
    b = rng.normal(0, 0.1, HID)
    c = rng.normal(0, 0.1, N)
    V = np.zeros((1, 1)) if tied else rng.normal(0, 0.3, (HID, N))
    x = images / 255.0
    # The same corruption the chunk will draw: same generator state.
    xt = engine.corrupt(np.random.default_rng(9), x, noise, 0.3, 0.0)
    hyper = engine.Hyper.of(tied=tied, l2=l2, beta=3.0, rho=0.1)
    terms, g = engine.loss_and_gradients(xt, x, Params(W, b, c, None if tied else V), hyper,
                                         sparse_density=sparse)
    lr = 0.05
    after, sums = _one_chunk_step(images, [W, b, c, V], tied=tied, l2=l2, beta=3.0,
                                  noise=noise, q=0.3, sparse_density=sparse, seed=9, lr=lr)
    np.testing.assert_allclose(sums[:3], terms, rtol=1e-12)
    expected = [W - lr * g.W, b - lr * g.b, c - lr * g.c]
    if not tied:
        expected.append(V - lr * g.V)
    for got, want in zip(after, expected, strict=False):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_gemm_matches_numpy_for_every_transpose_and_scalars():
    rng = np.random.default_rng(0)
    for dtype, ta, tb in itertools.product((np.float32, np.float64), (False, True), (False, True)):
        a = rng.random((5, 7) if ta else (7, 5)).astype(dtype)
        bm = rng.random((3, 5) if tb else (5, 3)).astype(dtype)
        c = rng.random((7, 3)).astype(dtype)
        want = -0.5 * ((a.T if ta else a) @ (bm.T if tb else bm)) + 2.0 * c
        engine.gemm(ta, tb, -0.5, a, bm, 2.0, c)
        np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-13)
    with pytest.raises(ValueError, match="incompatible"):
        engine.gemm(False, False, 1.0, np.ones((2, 3)), np.ones((2, 3)), 0.0, np.ones((2, 3)))


@pytest.mark.parametrize("noise", ["mask", "none"])
def test_every_route_from_images_to_corrupted_batch_trains_the_same(noise):
    """A batch reaches the products compressed (sparse enough), compressed and then
    expanded (masking left it too dense), or dense from the start (the clean images
    are too dense): all three must draw the same masks and take the same step."""
    q = 0.3 if noise == "mask" else 0.0
    m, n, k = 5, 30, 4
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (m, n), dtype=np.uint8)
    images[rng.random((m, n)) < 0.3] = 0  # about 70% ink
    W = rng.normal(0, 0.3, (n, k))
    b, c = np.zeros(k), np.zeros(n)
    size = m * n
    clean = np.count_nonzero(images) / size
    # A seed whose masks keep more than the expected share, so that a switch-over
    # just under the masked density sends the batch down the "expanded" route.
    for seed in range(50):
        xt = engine.corrupt(np.random.default_rng(seed), images / 255.0, noise, q, 0.0)
        masked = np.count_nonzero(xt) / size
        if masked - 0.5 / size >= clean * (1 - q) or noise == "none":
            break
    else:
        pytest.fail("no seed kept more than the expected share")

    def step(images, density, noise, q, seed):
        after, _ = _one_chunk_step(images, [W, b, c, np.zeros((1, 1))], tied=True, l2=0.0,
                                   beta=0.0, noise=noise, q=q, sparse_density=density,
                                   seed=seed)
        return after[0]

    reference = step(images, 0.0, noise, q, seed)  # dense all the way
    routes = {"compressed": 1.0, "dense from the start": clean * (1 - q) / 2}
    if noise == "mask":
        routes["expanded"] = masked - 0.5 / size
    poison = np.full_like(images, 255)
    for route, density in routes.items():
        # A dense step on other images first: its freed buffers are what the
        # next step's workspace is likely to get, so a route that forgot to
        # fill one would compute with these values, not the right ones.
        step(poison, 0.0, "none", 0.0, 0)
        got = step(images, density, noise, q, seed)
        np.testing.assert_allclose(got, reference, rtol=0, atol=1e-13, err_msg=route)
