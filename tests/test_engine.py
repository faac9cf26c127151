"""The engine boundary: the one door into the kernels, checking what it is given."""

import re
from pathlib import Path

import numpy as np
import pytest

from aetui.engine import engine
from aetui.engine.model import Params, init_params

REPO = Path(__file__).resolve().parents[1]


def test_nothing_outside_the_engine_calls_a_private_kernel():
    """Only kernels.py and engine.py name an underscore kernel (stumpy's pattern)."""
    kernel_source = (REPO / "aetui" / "engine" / "kernels.py").read_text()
    private = set(re.findall(r"^def (_\w+)\(", kernel_source, re.M))
    assert {"_train_chunk", "_corrupt", "_encode", "_forward_backward"} <= private
    pattern = re.compile(r"\b(?:kernels|K)\.(" + "|".join(sorted(private)) + r")\b")
    offenders = []
    for folder in ("aetui", "scripts", "tests"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name in ("kernels.py", "engine.py") and path.parent.name == "engine":
                continue
            offenders += [f"{path.relative_to(REPO)}: {m}"
                          for m in pattern.findall(path.read_text())]
    assert offenders == []


def test_train_chunk_refuses_mismatched_arrays_with_a_message():
    params = init_params(30, 4, seed=0, tied=True)
    images = np.zeros((10, 30), np.uint8)
    opt = {"opt_W": np.zeros((2, 30, 4), np.float32), "opt_b": np.zeros((2, 4), np.float32),
           "opt_c": np.zeros((2, 30), np.float32), "opt_V": np.zeros((2, 1, 1), np.float32)}
    ws = engine.Workspace.allocate(5, 30, 4)
    args = (images, np.arange(10), 0, 1, np.random.default_rng(0), params, opt, 0,
            engine.Hyper.of(), ws, np.zeros(4))
    assert engine.train_chunk(*args)[:2] == (1, 5)
    with pytest.raises(ValueError, match=r"workspace h must have shape \(5, 4\)"):
        engine.train_chunk(*args[:9], engine.Workspace.allocate(5, 30, 3), args[10])
    with pytest.raises(TypeError, match="images must be a uint8 or float32"):
        engine.train_chunk(images.astype(np.float64), *args[1:])
    with pytest.raises(ValueError, match="tied"):
        engine.train_chunk(*args[:8], engine.Hyper.of(tied=False), *args[9:])
    with pytest.raises(ValueError, match="order must index"):
        engine.train_chunk(images, np.arange(10) + 8, *args[2:])


def test_loss_and_gradients_refuses_mixed_dtypes_and_non_contiguous_rows():
    p = init_params(12, 3, seed=0, tied=True)
    x = np.zeros((4, 12), np.float32)
    with pytest.raises(TypeError, match="float32"):
        engine.loss_and_gradients(x.astype(np.float64), x, p, engine.Hyper.of())
    with pytest.raises(ValueError, match="contiguous"):
        engine.loss_and_gradients(np.zeros((4, 24), np.float32)[:, ::2], x, p,
                                  engine.Hyper.of())
    with pytest.raises(ValueError, match="unknown noise"):
        engine.Hyper.of(noise="blur")
    p64 = Params(p.W.astype(np.float64), p.b.astype(np.float64), p.c.astype(np.float64))
    with pytest.raises(TypeError, match="b must be float32"):
        engine.loss_and_gradients(x, x, Params(p.W, p64.b, p.c), engine.Hyper.of())


@pytest.mark.parametrize(("tied", "decoder"), [(True, "sigmoid"), (False, "sigmoid"),
                                               (True, "linear")])
def test_reconstruct_matches_the_formula(tied, decoder):
    rng = np.random.default_rng(3)
    params = init_params(30, 7, seed=1, tied=tied)
    params.c[:] = rng.normal(0, 0.3, 30)
    x = rng.random((9, 30)).astype(np.float32)
    W = params.W.astype(np.float64)
    V = W.T if tied else params.V.astype(np.float64)
    a = 1 / (1 + np.exp(-(x @ W + params.b))) @ V + params.c
    want = 1 / (1 + np.exp(-a)) if decoder == "sigmoid" else a
    got = engine.reconstruct(params, x, decoder)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="decoder"):
        engine.reconstruct(params, x, "tanh")


def test_gemm_takes_a_single_row_view_and_column_blocks():
    rng = np.random.default_rng(4)
    a = rng.random(30).astype(np.float32)[None]  # numpy's stride for the new axis is 0
    b = rng.random((30, 12)).astype(np.float32)
    c = np.zeros((1, 12), np.float32)
    engine.gemm(False, False, 1.0, a, b, 0.0, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
