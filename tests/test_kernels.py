"""The jitted kernels: gradients against finite differences, corruption statistics,
the KL term, and a plain-numpy reference of the forward pass."""

import itertools

import numpy as np
import pytest

from aetui.core import kernels as K

M, N, HID = 5, 12, 7  # a batch small enough for exhaustive finite differences


def _problem(seed: int, tied: bool):
    rng = np.random.default_rng(seed)
    x = rng.random((M, N))
    xt = x * (rng.random((M, N)) > 0.3)
    params = {
        "W": rng.normal(0, 0.5, (N, HID)),
        "b": rng.normal(0, 0.1, HID),
        "c": rng.normal(0, 0.1, N),
        "V": rng.normal(0, 0.5, (HID, N)) if not tied else np.zeros((1, 1)),
    }
    return x, xt, params


def _objective(x, xt, p, tied, loss, decoder, l2, beta, rho=0.1, sparse=False):
    ws = {"h": np.empty((M, HID)), "z": np.empty((M, N)), "dh": np.empty((M, HID)),
          "gW": np.empty((N, HID)), "gb": np.empty(HID), "gc": np.empty(N),
          "gV": np.empty((HID, N)), "rho_hat": np.empty(HID)}
    terms = K._forward_backward(xt, x, p["W"], p["b"], p["c"], p["V"], tied, loss, decoder,
                                l2, beta, rho, 1.0 if sparse else 0.0, **ws)
    return sum(terms), terms, ws


VARIANTS = [(K.LOSS_CE, K.DECODER_SIGMOID), (K.LOSS_MSE, K.DECODER_SIGMOID),
            (K.LOSS_MSE, K.DECODER_LINEAR)]


@pytest.mark.parametrize(("tied", "variant", "l2", "beta", "sparse"), list(itertools.product(
    (True, False), VARIANTS, (0.0, 0.01), (0.0, 3.0), (False, True))))
def test_gradients_match_finite_differences(tied, variant, l2, beta, sparse):
    """Both ways of taking the products with X̃ (dense gemm, sparse sums) are checked."""
    loss, decoder = variant
    x, xt, p = _problem(1, tied)
    _, _, ws = _objective(x, xt, p, tied, loss, decoder, l2, beta, sparse=sparse)
    analytic = {"W": ws["gW"].copy(), "b": ws["gb"].copy(), "c": ws["gc"].copy(),
                "V": ws["gV"].copy()}
    names = ("W", "b", "c") if tied else ("W", "b", "c", "V")
    eps = 1e-6
    for name in names:
        param = p[name]
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            up = _objective(x, xt, p, tied, loss, decoder, l2, beta, sparse=sparse)[0]
            param[idx] = old - eps
            down = _objective(x, xt, p, tied, loss, decoder, l2, beta, sparse=sparse)[0]
            param[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        error = np.abs(numeric - analytic[name]).max() / np.abs(numeric).max()
        assert error <= 1e-6, f"{name}: relative error {error:.2e}"


def _reference_terms(x, xt, p, tied, loss, decoder, l2, beta, rho=0.1):
    """The objective in plain numpy, straight from THEORY.md."""
    h = 1 / (1 + np.exp(-(xt @ p["W"] + p["b"])))
    V = p["W"].T if tied else p["V"]
    a = h @ V + p["c"]
    xhat = 1 / (1 + np.exp(-a)) if decoder == K.DECODER_SIGMOID else a
    if loss == K.LOSS_CE:
        recon = -np.sum(x * np.log(xhat) + (1 - x) * np.log(1 - xhat)) / len(x)
    else:
        recon = np.sum((xhat - x) ** 2) / len(x)
    l2_term = l2 * (np.sum(p["W"] ** 2) + (0 if tied else np.sum(p["V"] ** 2)))
    r = np.clip(h.mean(axis=0), 1e-6, 1 - 1e-6)
    kl = np.sum(rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r)))
    return recon, l2_term, beta * kl


@pytest.mark.parametrize(("tied", "variant", "sparse"), list(itertools.product(
    (True, False), VARIANTS, (False, True))))
def test_loss_terms_match_numpy_reference(tied, variant, sparse):
    loss, decoder = variant
    x, xt, p = _problem(2, tied)
    _, terms, _ = _objective(x, xt, p, tied, loss, decoder, 0.01, 3.0, sparse=sparse)
    np.testing.assert_allclose(terms, _reference_terms(x, xt, p, tied, loss, decoder, 0.01, 3.0),
                               rtol=1e-10)


def test_kl_term_is_zero_at_target_and_positive_elsewhere():
    rng = np.random.default_rng(0)
    x = rng.random((M, N))
    p = {"W": np.zeros((N, HID)), "b": np.zeros(HID), "c": np.zeros(N), "V": np.zeros((1, 1))}
    # W = 0: every h is sigmoid(b); choose b so that ρ̂ = ρ exactly.
    rho = 0.1
    p["b"][:] = np.log(rho / (1 - rho))
    _, terms, ws = _objective(x, x, p, True, K.LOSS_CE, K.DECODER_SIGMOID, 0.0, 3.0, rho=rho)
    assert abs(terms[2]) < 1e-12
    # ... and so does its gradient: the same as with β = 0.
    _, _, ws0 = _objective(x, x, p, True, K.LOSS_CE, K.DECODER_SIGMOID, 0, 0.0, rho=rho)
    np.testing.assert_allclose(ws["gb"], ws0["gb"], atol=1e-12)
    for b in (-4.0, -1.0, 0.0, 2.0):
        p["b"][:] = b
        assert _objective(x, x, p, True, K.LOSS_CE, K.DECODER_SIGMOID, 0.0, 3.0,
                          rho=rho)[1][2] > 0


def _corrupt(noise, q=0.0, sigma=0.0, shape=(400, 784), value=0.5, seed=0):
    x = np.full(shape, value, np.float32)
    out = np.empty_like(x)
    K._corrupt(np.random.default_rng(seed), x, out, noise, q, sigma)
    return out


@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.9])
def test_masking_zeroes_a_fraction_q(q):
    out = _corrupt(K.NOISE_MASK, q=q)
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
    out = np.empty_like(x)
    K._corrupt(np.random.default_rng(1), x, out, K.NOISE_MASK, q, 0.0)
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
    noise = _corrupt(K.NOISE_GAUSSIAN, sigma=sigma) - 0.5
    n = noise.size
    assert abs(noise.mean()) <= 4 * sigma / np.sqrt(n)
    assert abs(noise.var() - sigma**2) <= 4 * sigma**2 * np.sqrt(2 / n)


def test_salt_and_pepper_proportions():
    q = 0.3
    out = _corrupt(K.NOISE_SALTPEPPER, q=q)
    n = out.size
    for value, p in ((0.0, q / 2), (1.0, q / 2), (0.5, 1 - q)):
        share = np.mean(out == value)
        assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / n)


def test_corruption_is_fresh_every_draw_and_none_copies():
    rng = np.random.default_rng(0)
    x = np.full((4, 784), 0.5, np.float32)
    a, b = np.empty_like(x), np.empty_like(x)
    K._corrupt(rng, x, a, K.NOISE_MASK, 0.5, 0.0)
    K._corrupt(rng, x, b, K.NOISE_MASK, 0.5, 0.0)
    assert not np.array_equal(a, b)
    K._corrupt(rng, x, a, K.NOISE_NONE, 0.5, 0.0)
    np.testing.assert_array_equal(a, x)


def test_encoder_matches_numpy():
    from aetui.core.model import hidden_activations, init_params

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
    in 32 lanes would pass float64's range."""
    rng = np.random.default_rng(n)
    a = rng.normal(0, 0.1, n)
    t = rng.random(n)
    expected = np.sum(np.logaddexp(0, a) - t * a)
    z, c, gc = a.copy(), np.zeros(n), np.zeros(n)
    total = K._cross_entropy_row(z, t, c, 1.0, 0.5, np.empty(n), np.empty(n, np.int32),
                                 np.empty(K.LANES), gc)
    assert total == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(z, (1 / (1 + np.exp(-a)) - t) * 0.5, rtol=1e-12, atol=1e-15)
