"""Analysis: filters, PCA, smoothness and the linear probe, on synthetic and real data."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from aetui.engine import objective
from aetui.experiments import analysis

# ---------------------------------------------------------------- helpers


def read_idx(path: Path) -> np.ndarray:
    """A minimal IDX reader, so these tests do not depend on the data package."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims[0], -1) if ndim == 3 else data


@pytest.fixture(scope="module")
def mnist_small(mnist_dir):
    """5,000 training and 2,000 test images of real MNIST."""
    train_x = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")[:5000]
    train_y = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")[:5000]
    test_x = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:2000]
    test_y = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:2000]
    return train_x, train_y, test_x, test_y


def gaussian_blobs(n: int, width: float, rng: np.random.Generator) -> np.ndarray:
    """n 28×28 images, each a Gaussian bump of the given width at a random place."""
    yy, xx = np.mgrid[0:28, 0:28]
    centres = rng.uniform(6, 22, size=(n, 2))
    d2 = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
    return np.exp(-d2 / (2 * width**2)).reshape(n, 784)


# ---------------------------------------------------------------- filters


def test_normalized_filters_are_unit_norm_columns_of_w():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(784, 10)).astype(np.float32)
    W[:, 3] = 0.0
    f = objective.normalized_filters(W, [1, 3, 7])
    assert f.shape == (3, 784) and f.dtype == np.float32
    np.testing.assert_allclose(f[0], W[:, 1] / np.linalg.norm(W[:, 1]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(f[[0, 2]], axis=1), 1.0, rtol=1e-5)
    assert np.all(f[1] == 0.0)  # a dead unit gives zeros, never NaN
    assert objective.normalized_filters(W).shape == (10, 784)
    with pytest.raises(ValueError):
        objective.normalized_filters(W, [10])


# ---------------------------------------------------------------- smoothness


def test_smoothness_of_white_noise_is_near_zero():
    rng = np.random.default_rng(1)
    s = analysis.filter_smoothness(rng.normal(size=(200, 784)))
    # 200 filters × ~750 pixel pairs: the standard error is about 0.003.
    assert abs(s) < 0.02


def test_smoothness_of_wide_blobs_is_high_and_grows_with_width():
    rng = np.random.default_rng(2)
    narrow = analysis.filter_smoothness(gaussian_blobs(50, 1.0, rng))
    wide = analysis.filter_smoothness(gaussian_blobs(50, 3.0, rng))
    assert 0.5 < narrow < wide
    assert wide > 0.9


def test_smoothness_ignores_sign_and_scale_and_skips_constant_filters():
    rng = np.random.default_rng(3)
    blobs = gaussian_blobs(20, 2.0, rng)
    s = analysis.filter_smoothness(blobs)
    assert analysis.filter_smoothness(-3.0 * blobs) == pytest.approx(s)
    with_flat = np.vstack([blobs, np.zeros((5, 784))])
    assert analysis.filter_smoothness(with_flat) == pytest.approx(s)
    assert np.isnan(analysis.filter_smoothness(np.ones((2, 784))))


def test_smoothness_of_a_known_pattern():
    # Vertical stripes alternating every column: right-shift correlation -1,
    # down-shift +1, so the mean is exactly 0.
    stripes = np.tile(np.array([1.0, -1.0] * 14), 28)[None]
    assert analysis.filter_smoothness(stripes) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        analysis.filter_smoothness(np.zeros((2, 100)))


# ---------------------------------------------------------------- PCA


def correlated_data(rng: np.random.Generator, n: int = 2000, d: int = 40) -> np.ndarray:
    """Rows with distinct variances along random directions, shifted off zero."""
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    spread = np.linspace(3.0, 0.1, d)
    return (rng.normal(size=(n, d)) * spread) @ basis.T + 5.0


def test_pca_matches_numpy_svd():
    rng = np.random.default_rng(4)
    x = correlated_data(rng)
    k = 8
    pca = analysis.fit_pca(x, k)
    centred = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    # Same directions up to sign, same variances, unit norm and orthogonal.
    np.testing.assert_allclose(np.abs(np.sum(pca.components * vt[:k], axis=1)), 1.0, atol=1e-8)
    np.testing.assert_allclose(pca.variances, s[:k] ** 2 / (len(x) - 1), rtol=1e-8)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(k), atol=1e-10)
    # The coordinates' variances are the eigenvalues.
    coords = pca.transform(x)
    np.testing.assert_allclose(coords.var(axis=0, ddof=1), pca.variances, rtol=1e-3)


def test_pca_components_contract_and_determinism(mnist_small):
    train_x = mnist_small[0]
    comps = analysis.pca_components(train_x, 16)
    assert comps.shape == (16, 784) and comps.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(comps, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(comps, analysis.pca_components(train_x, 16))
    # Each component's largest-magnitude entry is positive (the sign rule).
    assert np.all(comps[np.arange(16), np.abs(comps).argmax(axis=1)] > 0)
    # uint8 input is the same data as floats in [0, 1].
    as_float = analysis.pca_components(train_x.astype(np.float32) / 255.0, 16)
    np.testing.assert_allclose(np.abs(np.sum(comps * as_float, axis=1)), 1.0, atol=1e-4)
    with pytest.raises(ValueError):
        analysis.fit_pca(train_x, 785)


# ---------------------------------------------------------------- probe


def test_probe_separates_separable_data():
    rng = np.random.default_rng(5)
    centres = rng.normal(scale=4.0, size=(3, 20))
    y = rng.integers(0, 3, size=1500)
    x = centres[y] + rng.normal(size=(1500, 20))
    x = x.astype(np.float32)
    probe = analysis.fit_linear_probe(x[:1000], y[:1000])
    assert probe.accuracy(x[1000:], y[1000:]) > 0.99
    assert set(probe.predict(x[1000:])) <= {0, 1, 2}


def test_probe_keeps_label_values_and_is_at_chance_on_noise():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2000, 30)).astype(np.float32)
    y = rng.choice(np.array([3, 7]), size=2000)
    probe = analysis.fit_linear_probe(x[:1000], y[:1000])
    assert set(np.unique(probe.predict(x))) <= {3, 7}
    assert 0.4 < probe.accuracy(x[1000:], y[1000:]) < 0.6


def test_probe_reports_progress_and_rejects_bad_input():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    seen: list[float] = []
    analysis.fit_linear_probe(x, y, max_iter=20, progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(ValueError):
        analysis.fit_linear_probe(x, np.zeros(300))
    with pytest.raises(ValueError):
        analysis.fit_linear_probe(x, y[:10])


def test_probe_penalty_shrinks_weights():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(500, 10)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=500) > 0).astype(int)
    loose = analysis.fit_linear_probe(x, y, l2=1e-6)
    tight = analysis.fit_linear_probe(x, y, l2=1.0)
    assert np.linalg.norm(tight.weights) < 0.2 * np.linalg.norm(loose.weights)


@pytest.mark.mnist
def test_probe_accuracies_on_real_digits(mnist_small):
    train_x, train_y, test_x, test_y = mnist_small
    rng = np.random.default_rng(9)
    # A random encoder stands in for a trained one: features are still informative.
    params = SimpleNamespace(W=rng.normal(scale=0.05, size=(784, 64)).astype(np.float32),
                             b=np.zeros(64, np.float32))
    stages: set[str] = set()
    acc = analysis.probe_accuracies(params, train_x, train_y, test_x, test_y,
                                    progress=lambda stage, f: stages.add(stage))
    assert set(acc) == {"raw", "features", "pca"}
    # 5,000 training images: raw pixels reach ~86%; 64 PCA directions do as well;
    # 64 random sigmoid features ~80%: less, but far above chance (10%).
    assert acc["raw"] > 0.83
    assert acc["pca"] > 0.83
    assert 0.5 < acc["features"] < acc["raw"]
    assert {"raw", "features", "pca"} <= stages


def test_encode_is_the_sigmoid_encoder():
    rng = np.random.default_rng(10)
    params = SimpleNamespace(W=rng.normal(size=(784, 4)).astype(np.float32),
                             b=rng.normal(size=4).astype(np.float32))
    x = rng.integers(0, 256, size=(7, 784)).astype(np.uint8)
    h = analysis.encode(params, x)
    expected = 1.0 / (1.0 + np.exp(-((x / 255.0) @ params.W + params.b)))
    np.testing.assert_allclose(h, expected, rtol=1e-4, atol=1e-6)
    assert h.dtype == np.float32


def test_probe_runs_scipy_blas_on_one_thread():
    from aetui.engine.blas import engine_blas_controls

    controls = engine_blas_controls()
    if not controls:
        pytest.skip("no separate OpenBLAS for scipy here")
    for _, _, put in controls:
        put(2)
    rng = np.random.default_rng(0)
    analysis.fit_linear_probe(rng.random((40, 5)), rng.integers(0, 2, 40), max_iter=3)
    # The probe's L-BFGS-B leaves scipy's pool (numba's too) held at one thread.
    assert all(get() == 1 for _, get, _ in controls)


@pytest.mark.parametrize(("loss", "decoder"), [("ce", "sigmoid"), ("mse", "sigmoid"),
                                               ("mse", "linear")])
@pytest.mark.parametrize("tied", [True, False])
def test_reconstruction_loss_matches_the_formula(loss, decoder, tied):
    rng = np.random.default_rng(11)
    W = rng.normal(scale=0.1, size=(784, 6)).astype(np.float32)
    V = None if tied else rng.normal(scale=0.1, size=(6, 784)).astype(np.float32)
    params = SimpleNamespace(W=W, b=rng.normal(size=6).astype(np.float32), V=V,
                             c=rng.normal(size=784).astype(np.float32))
    x = rng.integers(0, 256, size=(5, 784)).astype(np.uint8)
    xf = x / 255.0
    h = 1.0 / (1.0 + np.exp(-(xf @ W + params.b)))
    a = h @ (W.T if tied else V) + params.c
    out = a if decoder == "linear" else 1.0 / (1.0 + np.exp(-a))
    if loss == "ce":
        expected = -np.sum(xf * np.log(out) + (1 - xf) * np.log(1 - out)) / 5
    else:
        expected = np.sum((out - xf) ** 2) / 5
    got = analysis.reconstruction_loss(params, x, loss, decoder)
    assert got == pytest.approx(expected, rel=1e-4)
