"""The objective's one home (aetui/engine/objective.py): hand values, the clip the
kernels share, and the held-out measurement against the naive reference."""

import naive
import numpy as np
import pytest

from aetui.engine import engine, objective
from aetui.engine.model import Params, init_params


def test_kl_divergence_matches_hand_values_and_its_shape():
    rho = 0.1
    # KL(0.1‖0.5) = 0.1 log 0.2 + 0.9 log 1.8
    assert objective.kl_divergence(rho, np.array([0.5]))[0] == pytest.approx(
        0.1 * np.log(0.2) + 0.9 * np.log(1.8), rel=1e-12)
    curve = objective.kl_divergence(rho, np.linspace(0.01, 0.99, 99))
    assert curve.min() >= 0 and abs(objective.kl_divergence(rho, np.array([rho]))[0]) < 1e-15
    assert np.argmin(curve) == 9  # ρ̂ = 0.1


def test_rho_hat_is_clipped_before_the_logs():
    eps = objective.RHO_CLIP
    at_clip = objective.kl_divergence(0.1, np.array([eps, 1 - eps]))
    np.testing.assert_array_equal(objective.kl_divergence(0.1, np.array([0.0, 1.0])), at_clip)
    assert np.all(np.isfinite(at_clip))


def test_kernels_clip_rho_hat_where_objective_does():
    """A dead unit (ρ̂ far below the clip) costs the same in the kernel as here, and
    its clipped ρ̂ passes no gradient."""
    rng = np.random.default_rng(0)
    x = rng.random((4, 6))
    W, c = rng.normal(0, 0.1, (6, 3)), np.zeros(6)
    b = np.array([-40.0, 0.0, 40.0])  # dead, alive, saturated
    hyper = engine.Hyper.of(beta=2.0, rho=0.1)
    (_, _, sparsity), grads = engine.loss_and_gradients(x, x, Params(W, b, c), hyper)
    assert sparsity == pytest.approx(objective.sparsity_term(grads.rho_hat, 0.1, 2.0),
                                     rel=1e-12)
    (_, _, _), no_kl = engine.loss_and_gradients(x, x, Params(W, b, c),
                                                 engine.Hyper.of(beta=0.0))
    np.testing.assert_allclose(grads.b[[0, 2]], no_kl.b[[0, 2]], atol=1e-15)
    assert abs(grads.b[1] - no_kl.b[1]) > 1e-3


def test_l2_term_counts_v_only_when_untied():
    tied = init_params(20, 5, seed=0, tied=True)
    untied = init_params(20, 5, seed=0, tied=False)
    w2 = float(np.sum(tied.W.astype(np.float64) ** 2))
    assert objective.l2_term(tied, 0.5) == pytest.approx(0.5 * w2)
    assert objective.l2_term(untied, 0.5) == pytest.approx(0.5 * 2 * w2)


@pytest.mark.parametrize(("loss", "decoder"), [("ce", "sigmoid"), ("mse", "sigmoid"),
                                               ("mse", "linear")])
def test_clean_loss_and_rho_hat_match_the_naive_objective(loss, decoder):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (600, 30), dtype=np.uint8)  # three blocks of rows
    params = init_params(30, 6, seed=2, tied=False)
    recon, rho_hat = engine.held_out(params, images, loss, decoder)
    x = images / 255.0
    p = {name: a.astype(np.float64) for name, a in params.arrays().items()}
    want, _, _ = naive.objective_terms(x, x, p, False, loss, decoder, 0.0, 0.0)
    assert recon == pytest.approx(want, rel=1e-5)
    np.testing.assert_allclose(rho_hat, naive.sigmoid(x @ p["W"] + p["b"]).mean(axis=0),
                               rtol=1e-5)
