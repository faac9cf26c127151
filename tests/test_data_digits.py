"""The built-in digits: shape, balance, determinism, MNIST-like framing, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from aetui.data import as_float, digits, load_dataset


@pytest.fixture(scope="module")
def builtin():
    start_cpu, start = time.process_time(), time.perf_counter()
    data = digits.builtin(0)
    return data, time.process_time() - start_cpu, time.perf_counter() - start


def test_sizes_dtypes_and_balance(builtin):
    (train_x, train_y, test_x, test_y), _, _ = builtin
    assert train_x.shape == (digits.N_TRAIN, 784) and digits.N_TRAIN >= 20_000
    assert test_x.shape == (digits.N_TEST, 784) and digits.N_TEST >= 5_000
    assert {a.dtype for a in (train_x, train_y, test_x, test_y)} == {np.dtype(np.uint8)}
    assert np.bincount(train_y, minlength=10).tolist() == [digits.N_TRAIN // 10] * 10
    assert np.bincount(test_y, minlength=10).tolist() == [digits.N_TEST // 10] * 10
    assert not np.array_equal(train_y[:100], np.sort(train_y[:100]))  # shuffled


def test_generated_within_the_time_budget(builtin):
    # CPU time: the generator is single-threaded numpy, so this holds on a busy machine.
    _, cpu_seconds, wall_seconds = builtin
    assert cpu_seconds < 3.0, f"built-in digits took {cpu_seconds:.2f} s of CPU"
    assert wall_seconds < 10.0


def test_deterministic_from_the_seed():
    a_x, a_y = digits.generate(200, 7)
    b_x, b_y = digits.generate(200, 7)
    c_x, _ = digits.generate(200, 8)
    assert np.array_equal(a_x, b_x) and np.array_equal(a_y, b_y)
    assert not np.array_equal(a_x, c_x)


def test_train_and_test_differ(builtin):
    (train_x, _, test_x, _), _, _ = builtin
    assert not np.array_equal(train_x[:50], test_x[:50])


def test_framed_like_mnist(builtin):
    """Ink in a ~20-pixel box, centre of mass at (14, 14), background exactly 0,
    dark cores and anti-aliased (grey) edges."""
    (train_x, _, _, _), _, _ = builtin
    x = train_x[:2000].reshape(-1, 28, 28).astype(np.float64)
    mass = x.sum(axis=(1, 2))
    assert mass.min() > 0
    rows, cols = np.mgrid[0:28, 0:28]
    centre_y = (x * rows).sum(axis=(1, 2)) / mass
    centre_x = (x * cols).sum(axis=(1, 2)) / mass
    assert abs(centre_y.mean() - 14) < 0.3 and abs(centre_x.mean() - 14) < 0.3
    assert np.abs(centre_y - 14).max() < 1.5 and np.abs(centre_x - 14).max() < 1.5
    inked = x > 25
    height = inked.any(axis=2).sum(axis=1)
    assert 18 <= np.median(height) <= 21 and height.max() <= 24
    # Margins mostly empty, as in MNIST (ink in the outer 1 / 2 pixels: 2 % / 13 %).
    frame = np.ones((28, 28), dtype=bool)
    frame[1:-1, 1:-1] = False
    assert (x[:, frame] > 0).any(axis=1).mean() < 0.06
    frame[2:-2, 2:-2] = False
    assert (x[:, frame] > 0).any(axis=1).mean() < 0.3
    assert 0.08 < (x > 0).mean() < 0.3  # MNIST: 19 % of pixels are not 0
    assert x.max() == 255
    grey = ((x > 0) & (x < 255)).sum() / (x > 0).sum()
    assert 0.2 < grey < 0.8


def test_classes_differ_and_images_vary(builtin):
    (train_x, train_y, _, _), _, _ = builtin
    means = np.stack([as_float(train_x[train_y == c]).mean(axis=0) for c in range(10)])
    distances = np.linalg.norm(means[:, None] - means[None], axis=2)
    assert distances[~np.eye(10, dtype=bool)].min() > 1.0
    ones = as_float(train_x[train_y == 1][:200])
    assert ones.std(axis=0).max() > 0.3  # not one picture repeated


def test_load_dataset_digits(builtin):
    (train_x, _, _, _), _, _ = builtin
    ds = load_dataset("digits", seed=0, limit=1000)
    assert ds.name == "digits" and ds.source == "built-in" and ds.note is None
    assert ds.train_x.shape == (1000, 784)
    assert np.array_equal(ds.train_x, train_x[:1000])
    assert ds.test_x.shape == (digits.N_TEST, 784)


def test_as_float_scales_to_unit_interval():
    out = as_float(np.array([[0, 51, 255]], dtype=np.uint8))
    assert out.dtype == np.float32
    assert np.allclose(out, [[0.0, 0.2, 1.0]])


@pytest.mark.mnist
def test_a_linear_classifier_trained_on_them_reads_real_mnist(mnist_dir):
    """The point of the built-in digits: they look like handwriting. A small version
    of scripts/digits_vs_mnist.py (the full one scores ~75 %); chance is 10 %."""
    from aetui.experiments.analysis import fit_linear_probe

    mnist = load_dataset("mnist", data_dir=mnist_dir)
    x, y = digits.generate(3000, 0)
    probe = fit_linear_probe(as_float(x), y, max_iter=100)
    accuracy = probe.accuracy(as_float(mnist.test_x[:2000]), mnist.test_y[:2000])
    assert accuracy > 0.6
