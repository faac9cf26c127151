"""The jitted kernels, through the engine: gradients against finite differences,
corruption statistics, the KL term, and the naive references (tests/naive.py)."""

import itertools

import naive
import numpy as np
import pytest

from aetui.engine import engine
from aetui.engine.model import Params

M, N, HID = 5, 12, 7  # a batch small enough for exhaustive finite differences


def _problem(seed: int, tied: bool):
    return naive.random_problem(seed, tied, M, N, HID)


def _as_params(p) -> Params:
    return Params(p["W"], p["b"], p["c"], p.get("V"))


def _objective(x, xt, p, tied, loss, decoder, l2, beta, rho=0.1, sparse=False):
    hyper = engine.Hyper.of(tied=tied, loss=loss, decoder=decoder, l2=l2, beta=beta, rho=rho)
    terms, grads = engine.loss_and_gradients(xt, x, _as_params(p), hyper,
                                             sparse_density=1.0 if sparse else 0.0)
    return sum(terms), terms, grads


def minibatch_objective(x, xt, tied, loss, decoder, l2, beta, sparse):
    """The training step's objective as check_gradient takes it."""
    def value_and_gradient(p):
        total, _, g = _objective(x, xt, p, tied, loss, decoder, l2, beta, sparse=sparse)
        grads = {"W": g.W, "b": g.b, "c": g.c}
        if not tied:
            grads["V"] = g.V
        return total, grads
    return value_and_gradient


VARIANTS = [("ce", "sigmoid"), ("mse", "sigmoid"), ("mse", "linear")]


@pytest.mark.parametrize(("tied", "variant", "l2", "beta", "sparse"), list(itertools.product(
    (True, False), VARIANTS, (0.0, 0.01), (0.0, 3.0), (False, True))))
def test_gradients_match_finite_differences(tied, variant, l2, beta, sparse):
    """Both ways of taking the products with X̃ (dense gemm, sparse sums) are checked."""
    x, xt, p = _problem(1, tied)
    naive.check_gradient(minibatch_objective(x, xt, tied, *variant, l2, beta, sparse), p)


@pytest.mark.parametrize(("tied", "variant", "sparse"), list(itertools.product(
    (True, False), VARIANTS, (False, True))))
def test_loss_terms_match_numpy_reference(tied, variant, sparse):
    loss, decoder = variant
    x, xt, p = _problem(2, tied)
    _, terms, _ = _objective(x, xt, p, tied, loss, decoder, 0.01, 3.0, sparse=sparse)
    np.testing.assert_allclose(
        terms, naive.objective_terms(x, xt, p, tied, loss, decoder, 0.01, 3.0), rtol=1e-10)


def test_kl_term_is_zero_at_target_and_positive_elsewhere():
    rng = np.random.default_rng(0)
    x = rng.random((M, N))
    p = {"W": np.zeros((N, HID)), "b": np.zeros(HID), "c": np.zeros(N)}
    # W = 0: every h is sigmoid(b); choose b so that ρ̂ = ρ exactly.
    rho = 0.1
    p["b"][:] = np.log(rho / (1 - rho))
    _, terms, g = _objective(x, x, p, True, "ce", "sigmoid", 0.0, 3.0, rho=rho)
    assert abs(terms[2]) < 1e-12
    # ... and so does its gradient: the same as with β = 0.
    _, _, g0 = _objective(x, x, p, True, "ce", "sigmoid", 0, 0.0, rho=rho)
    np.testing.assert_allclose(g.b, g0.b, atol=1e-12)
    for b in (-4.0, -1.0, 0.0, 2.0):
        p["b"][:] = b
        assert _objective(x, x, p, True, "ce", "sigmoid", 0.0, 3.0, rho=rho)[1][2] > 0


def _corrupt(noise, q=0.0, sigma=0.0, shape=(400, 784), value=0.5, seed=0):
    x = np.full(shape, value, np.float32)
    return engine.corrupt(np.random.default_rng(seed), x, noise, q, sigma)


@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.9])
def test_masking_zeroes_a_fraction_q(q):
    out = _corrupt("mask", q=q)
    n = out.size
    fraction = np.mean(out == 0)
    se = np.sqrt(q * (1 - q) / n)
    assert abs(fraction - q) <= 4 * se + 1e-12
    assert np.all((out == 0) | (out == 0.5))


def test_masking_on_mostly_zero_images_masks_a_fraction_q_of_the_ink():
    """Only non-zero pixels take a draw (two per generator call): on digit-like
    inputs the ink is masked at rate q, independently from pixel to pixel."""
    q = 0.3
    rng = np.random.default_rng(4)
    x = ((rng.random((2000, 784)) < 0.2) * rng.uniform(0.1, 1.0, (2000, 784))).astype(np.float32)
    out = engine.corrupt(np.random.default_rng(1), x, "mask", q, 0.0)
    ink = x != 0
    assert np.all(out[~ink] == 0)
    kept = out[ink] != 0
    np.testing.assert_array_equal(out[ink][kept], x[ink][kept])
    n = kept.size
    assert abs((1 - kept.mean()) - q) <= 4 * np.sqrt(q * (1 - q) / n)
    # Consecutive ink pixels share a draw half the time: their keep decisions
    # must still be uncorrelated.
    a, b = kept[:-1].astype(float), kept[1:].astype(float)
    corr = np.corrcoef(a, b)[0, 1]
    assert abs(corr) <= 4 / np.sqrt(n)


def test_gaussian_noise_has_mean_zero_and_variance_sigma_squared():
    sigma = 0.7
    noise = _corrupt("gaussian", sigma=sigma) - 0.5
    n = noise.size
    assert abs(noise.mean()) <= 4 * sigma / np.sqrt(n)
    assert abs(noise.var() - sigma**2) <= 4 * sigma**2 * np.sqrt(2 / n)


def test_salt_and_pepper_proportions():
    q = 0.3
    out = _corrupt("saltpepper", q=q)
    n = out.size
    for value, p in ((0.0, q / 2), (1.0, q / 2), (0.5, 1 - q)):
        share = np.mean(out == value)
        assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / n)


def test_corruption_is_fresh_every_draw_and_none_copies():
    rng = np.random.default_rng(0)
    x = np.full((4, 784), 0.5, np.float32)
    a, b = np.empty_like(x), np.empty_like(x)
    engine.corrupt(rng, x, "mask", 0.5, 0.0, out=a)
    engine.corrupt(rng, x, "mask", 0.5, 0.0, out=b)
    assert not np.array_equal(a, b)
    engine.corrupt(rng, x, "none", 0.5, 0.0, out=a)
    np.testing.assert_array_equal(a, x)


def test_encoder_matches_numpy():
    from aetui.engine.model import hidden_activations, init_params

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(300, 784), dtype=np.uint8)
    params = init_params(784, 16, seed=0, tied=True)
    expected = 1 / (1 + np.exp(-((images / 255.0) @ params.W + params.b)))
    np.testing.assert_allclose(hidden_activations(params, images), expected, rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("n", [784, 40_000])
def test_cross_entropy_of_a_row_matches_numpy_at_any_length(n):
    """The row's Σ log1p(e) runs as lane products; rows too long for them take one
    log per pixel. Logits near 0 make every factor (1 + e) near 2: 40,000 of them
    in 32 lanes would pass float64's range. W = 0 makes the logits the bias c."""
    rng = np.random.default_rng(n)
    a = rng.normal(0, 0.1, n)
    t = rng.random((1, n))
    p = {"W": np.zeros((n, 1)), "b": np.zeros(1), "c": a.copy()}
    _, terms, g = _objective(t, t, p, True, "ce", "sigmoid", 0.0, 0.0)
    assert terms[0] == pytest.approx(naive.cross_entropy_sum(a, t[0]), rel=1e-12)
    np.testing.assert_allclose(g.c, naive.sigmoid(a) - t[0], rtol=1e-12, atol=1e-15)
