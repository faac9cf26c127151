"""Each claim measure of the tour on constructed weights or images with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from aetui.engine.model import Params
from aetui.experiments.novelty import non_digits, random_images, scribbles
from aetui.tour import measures
from aetui.tour.chapters import CHAPTERS, covered_steps


def smooth_strokes(n: int, width: float, seed: int = 0) -> np.ndarray:
    """Gaussian-profile strokes (lines through random points) of a given width, 28×28."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(float)
    out = []
    for _ in range(n):
        angle, cy, cx = rng.uniform(0, np.pi), *rng.uniform(8, 20, 2)
        d = np.abs((yy - cy) * np.cos(angle) - (xx - cx) * np.sin(angle))
        out.append(np.exp(-0.5 * (d / width) ** 2).ravel())
    return np.array(out)


def test_smoothness_rise_positive_from_noise_to_strokes_and_with_width():
    noise = np.random.default_rng(0).normal(size=(50, 784))
    thin, wide = smooth_strokes(50, 0.8), smooth_strokes(50, 2.5)
    assert measures.smoothness_rise([noise, thin]) > 0.5
    assert measures.smoothness_rise([thin, wide]) > 0.05
    assert measures.smoothness_rise([wide, noise]) < -0.5


def test_locality_gap_local_blobs_vs_global_gratings():
    yy, xx = np.mgrid[0:12, 0:12].astype(float)
    local = np.array([np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0).ravel()
                      for cy, cx in [(3, 3), (6, 8), (9, 4)]])
    gratings = np.array([np.cos(2 * np.pi * (f * xx) / 12).ravel() for f in (1, 2, 3)])
    gap = measures.locality_gap(local, gratings, (12, 12))
    assert gap > 0.3
    assert measures.locality_gap(gratings, local, (12, 12)) == pytest.approx(-gap)


def test_omega_is_zero_exactly_at_the_target_and_rises_either_side():
    rho = 0.05
    assert measures.omega_per_unit(np.full(10, rho), rho) == pytest.approx(0.0, abs=1e-12)
    for off in (0.01, 0.2, 0.9):
        assert measures.omega_per_unit(np.full(10, off), rho) > 0.01
    assert measures.activity_ratio(np.full(10, rho), rho) == pytest.approx(1.0)
    assert measures.activity_ratio(np.full(10, 0.5), rho) == pytest.approx(10.0)
    # The gradient is 0 at ρ̂ = ρ, negative below, positive above.
    g = measures.omega_gradient(np.array([0.01, rho, 0.5]), rho)
    assert g[0] < 0 and g[1] == pytest.approx(0.0, abs=1e-12) and g[2] > 0


def test_gradient_check_passes_the_chain_rule_and_catches_a_wrong_one(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.random((60, 40))
    W, b = rng.normal(0, 0.3, (40, 12)), rng.normal(0, 1, 12)
    assert measures.gradient_check(W, b, x, 0.05) < 1e-6
    right = measures.omega_gradient
    monkeypatch.setattr(measures, "omega_gradient", lambda r, rho: 2 * right(r, rho))
    assert measures.gradient_check(W, b, x, 0.05) > 0.1


def test_denoise_gain_counts_the_changed_pixels():
    clean = np.array([[0.0, 1.0, 1.0, 0.5]])
    dropped = np.array([[0.0, 0.0, 1.0, 0.0]])  # pixels 1 and 3 dropped
    assert measures.denoise_gain(clean, dropped, clean) == 1.0  # all restored
    assert measures.denoise_gain(clean, dropped, dropped) == 0.0  # nothing restored
    half = np.array([[0.0, 0.5, 1.0, 0.25]])
    assert measures.denoise_gain(clean, dropped, half) == pytest.approx(0.75)
    assert np.isnan(measures.denoise_gain(clean, clean, clean))


def test_copy_check_identity_copies_and_a_digit_only_model_does_not():
    """An identity map (linear decoder, W = I·s) reconstructs anything; a model whose
    output ignores its input (a fixed mean digit) reconstructs digits better."""
    digits = smooth_strokes(40, 1.2)
    k = 784
    copier = Params(W=np.eye(784, k, dtype=np.float32) * 8, b=np.full(k, -4, np.float32),
                    c=np.zeros(784, np.float32), V=np.eye(k, 784, dtype=np.float32))
    ratio = measures.copy_check(copier, digits, "linear", n=40).ratio
    assert 0.3 < ratio < 3.0
    # "Digits" that are one stroke, slightly jittered: a model that always draws that
    # stroke reconstructs them well and nothing else.
    one = smooth_strokes(1, 1.2)[0]
    rng = np.random.default_rng(3)
    digits = np.clip(one + rng.normal(0, 0.02, (40, 784)), 0, 1)
    fixed = Params(W=np.zeros((784, 4), np.float32), b=np.zeros(4, np.float32),
                   c=one.astype(np.float32), V=np.zeros((4, 784), np.float32))
    assert measures.copy_check(fixed, digits, "linear", n=40).ratio < 0.05


def test_non_digits_are_images_with_ink():
    s, r = scribbles(5, seed=2), random_images(5, seed=2)
    assert s.shape == r.shape == (5, 784)
    assert 0.02 < (s > 0.5).mean() < 0.5 and 0.1 < (r > 0).mean() < 0.3
    assert np.array_equal(non_digits(6, 3), non_digits(6, 3))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.number)
def test_chapters_are_numbered_by_module_and_captioned(chapter):
    module = chapter.number.rsplit(".", 1)[0]
    steps = {"7.3": {1, 2, 3}, "7.4": set(range(4, 10)), "7.5": {10, 11, 12}}[module]
    assert set(chapter.steps) <= steps
    sentences = [s for s in chapter.caption.replace("e.g.", "eg").split(". ") if s]
    assert 2 <= len(sentences) <= 5
    assert chapter.claims and all(c.sense in (">=", "<=") for c in chapter.claims)


def test_every_lecture_step_is_covered_in_order():
    assert covered_steps() == set(range(1, 13))
    order = [s for c in CHAPTERS for s in c.steps]
    assert order == sorted(order)


def test_verdict_holds_not_yet_does_not_hold():
    v = measures.verdict
    assert v(0.6, 0.5, ">=", False) == measures.HOLDS
    assert v(0.4, 0.5, ">=", False) == measures.NOT_YET
    assert v(0.4, 0.5, ">=", True) == measures.FAILS
    assert v(0.4, 0.5, "<=", True) == measures.HOLDS
    assert v(float("nan"), 0.5, ">=", True) == measures.NOT_YET
    assert v(None, 0.5, "<=", True) == measures.NOT_YET
