"""The float32 path that trains (vectorised expf included) agrees with the float64
path that the finite-difference checks prove."""

import itertools

import numpy as np
import pytest

from aetui.engine import engine
from aetui.engine.model import Params


def test_fast_expf_matches_numpy_within_a_few_ulp():
    values = np.concatenate([-np.logspace(-8, 1.9, 20_000), [0.0, -87.0, -86.9, -1e-30]])
    buf = engine.exp_nonpositive(values.astype(np.float32))
    expected = np.exp(values.astype(np.float32))
    np.testing.assert_allclose(buf, expected, rtol=4e-7, atol=0)


@pytest.mark.parametrize(("tied", "variant", "beta", "sparse"), list(itertools.product(
    (True, False), (("ce", "sigmoid"), ("mse", "sigmoid"), ("mse", "linear")), (0.0, 3.0),
    (0.0, 1.0))))
def test_float32_step_matches_float64(tied, variant, beta, sparse):
    loss, decoder = variant
    rng = np.random.default_rng(5)
    m, n, k = 20, 784, 50
    x = (rng.random((m, n)) < 0.2) * rng.random((m, n))
    xt = x * (rng.random((m, n)) > 0.3)
    p64 = {"W": rng.uniform(-0.3, 0.3, (n, k)), "b": np.zeros(k), "c": np.zeros(n),
           "V": rng.uniform(-0.3, 0.3, (k, n)) if not tied else None}
    results = {}
    for dtype in (np.float64, np.float32):
        p = {name: None if a is None else a.astype(dtype) for name, a in p64.items()}
        hyper = engine.Hyper.of(tied=tied, loss=loss, decoder=decoder, l2=0.01, beta=beta,
                                rho=0.05)
        terms, g = engine.loss_and_gradients(xt.astype(dtype), x.astype(dtype),
                                             Params(p["W"], p["b"], p["c"], p["V"]), hyper,
                                             sparse_density=sparse)
        results[dtype] = (np.array(terms), {"gW": g.W, "gb": g.b, "gc": g.c, "gV": g.V})
    t64, g64 = results[np.float64]
    t32, g32 = results[np.float32]
    np.testing.assert_allclose(t32, t64, rtol=1e-4)
    for name in ("gW", "gb", "gc") + (() if tied else ("gV",)):
        scale = np.abs(g64[name]).max()
        assert np.abs(g32[name] - g64[name]).max() <= 1e-3 * scale, name
