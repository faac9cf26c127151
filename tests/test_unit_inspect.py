"""The unit inspector's numbers (aetui/experiments/inspect.py) against direct computations."""

import numpy as np
import pytest

from aetui.engine.model import Params
from aetui.experiments.inspect import N_EXTREMES, UnitInspector, corrupt, respond


def _model(tied: bool, k: int = 12, n_in: int = 784, seed: int = 0) -> Params:
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.05, (n_in, k)).astype(np.float32)
    V = None if tied else rng.normal(0, 0.05, (k, n_in)).astype(np.float32)
    return Params(W, rng.normal(0, 0.5, k).astype(np.float32),
                  rng.normal(0, 0.5, n_in).astype(np.float32), V)


def _images(n: int = 200, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, 784)) ** 3 * 255).astype(np.uint8)


def _direct_loss(p: Params, x: np.ndarray, silence: int | None, loss: str) -> float:
    """Per-example reconstruction loss in float64, written out from the README's formula."""
    x = x.astype(np.float64) / 255.0
    h = 1.0 / (1.0 + np.exp(-(x @ p.W.astype(np.float64) + p.b)))
    if silence is not None:
        h[:, silence] = 0.0
    V = p.W.T if p.V is None else p.V
    xhat = 1.0 / (1.0 + np.exp(-(h @ V.astype(np.float64) + p.c)))
    if loss == "mse":
        return float(np.sum((xhat - x) ** 2) / len(x))
    return float(-np.sum(x * np.log(xhat) + (1 - x) * np.log(1 - xhat)) / len(x))


@pytest.mark.parametrize(("tied", "loss"), [(True, "ce"), (False, "ce"), (False, "mse")])
def test_report_matches_direct_computation(tied, loss):
    p, x = _model(tied), _images()
    inspector = UnitInspector(p, x, loss=loss, step=7)
    acts = 1.0 / (1.0 + np.exp(-(x.astype(np.float64) / 255.0 @ p.W.astype(np.float64) + p.b)))
    for unit in (0, 5, 11):
        r = inspector.report(unit, rho=0.05)
        a = acts[:, unit]
        assert set(r.top) == set(np.argsort(-a)[:N_EXTREMES])
        assert set(r.bottom) == set(np.argsort(a)[:N_EXTREMES])
        assert np.all(np.diff(r.top_values) <= 0) and np.all(np.diff(r.bottom_values) >= 0)
        assert r.rho_hat == pytest.approx(a.mean(), rel=1e-5)
        assert r.hist_counts.sum() == len(x)
        assert r.hist_counts[np.searchsorted(r.hist_edges, a.max(), side="right") - 1] >= 1
        base = _direct_loss(p, x, None, loss)
        silenced = _direct_loss(p, x, unit, loss)
        assert r.base_loss == pytest.approx(base, rel=1e-4)
        assert r.silencing_rise == pytest.approx(silenced - base, rel=2e-3, abs=1e-4)
        assert r.silencing_share == pytest.approx((silenced - base) / base, rel=2e-3,
                                                  abs=1e-6)
        w = p.W[:, unit]
        assert np.allclose(r.encoder, w / np.linalg.norm(w), atol=1e-6)
        if tied:
            assert r.decoder is None and r.decoder_minus_encoder is None
        else:
            v = p.V[unit]
            assert np.allclose(r.decoder_minus_encoder, v / np.linalg.norm(v) - r.encoder,
                               atol=1e-6)
    assert r.step == 7 and r.rho == 0.05
    with pytest.raises(IndexError):
        inspector.report(12, rho=0.05)


def test_respond_is_the_model_output():
    p = _model(tied=False)
    x = np.random.default_rng(3).random(784).astype(np.float32)
    out = respond(p, x, noise="mask", q=0.5, rng=np.random.default_rng(0))
    h = 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ p.W + p.b)))
    xhat = 1.0 / (1.0 + np.exp(-(h @ p.V + p.c)))
    assert np.allclose(out.code, h, atol=1e-5)
    assert np.allclose(out.recon, xhat, atol=1e-5)
    assert list(out.top_units) == list(np.argsort(-h)[:6])
    kept = out.corrupted != 0
    assert np.array_equal(out.corrupted[kept], x[kept])
    assert 0.4 < 1 - kept.mean() < 0.6  # about q of the pixels masked


def test_corruption_kinds():
    rng = np.random.default_rng(0)
    x = np.full((50, 784), 0.5, np.float32)
    assert np.array_equal(corrupt(x, "none", 0.3, 0.1, rng), x)
    g = corrupt(x, "gaussian", 0.0, 0.2, rng)
    assert abs(float(np.std(g - x)) - 0.2) < 0.01
    sp = corrupt(x, "saltpepper", 0.4, 0.0, rng)
    hit = sp != 0.5
    assert abs(hit.mean() - 0.4) < 0.02 and set(np.unique(sp[hit])) == {0.0, 1.0}
