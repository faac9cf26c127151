"""The counter-based corruption stream (issue 24: no serial corruption in a split step).

Each part corrupts its own rows from a stream keyed by (seed, step, row): X̃ is the
same bits for any split, thread count and sparse/dense route; a training step is a
gradient step on exactly that X̃ (whose gradient matches finite differences); runs
and strings made before it (no stream recorded) keep the serial stream and replay.
"""

import json
import zlib

import naive
import numpy as np
import pytest
from test_replay import SETTINGS, _same, _trainer, data  # noqa: F401 -- data: a fixture

from aetui.engine import engine
from aetui.engine.model import Params
from aetui.training import labstring
from aetui.training.checkpoint import load_checkpoint

NOISES = [("mask", 0.3, 0.0), ("saltpepper", 0.2, 0.0), ("gaussian", 0.0, 0.3),
          ("none", 0.0, 0.0)]


@pytest.fixture
def two_threads():
    engine.use_threads(2)
    yield
    engine.use_threads(1)


def _digits(rows=11, n=50, seed=0):
    """Digit-like rows: about a fifth ink, in [0, 1]."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random((rows, n)) < 0.2, rng.random((rows, n)), 0.0)


@pytest.mark.parametrize(("noise", "q", "sigma"), NOISES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_corruption_is_the_same_bits_for_any_split_threads_and_route(two_threads, noise,
                                                                         q, sigma, dtype):
    x = _digits().astype(dtype)
    first = engine.corrupt_counter(7, 12, x, noise, q, sigma)
    for parts in (2, 3, 11, 15):  # 15: more parts than rows
        for density in (0.0, 1.0):  # dense, or through the compressed form
            again = engine.corrupt_counter(7, 12, x, noise, q, sigma, parts=parts,
                                           sparse_density=density)
            np.testing.assert_array_equal(again, first)
    engine.use_threads(1)
    np.testing.assert_array_equal(engine.corrupt_counter(7, 12, x, noise, q, sigma, parts=3),
                                  first)
    # A row's noise depends on its own key only: row 4 of the batch alone is row 4's.
    np.testing.assert_array_equal(engine.corrupt_counter(7, 12, x[:5], noise, q, sigma),
                                  first[:5])


@pytest.mark.parametrize(("noise", "q", "sigma"), NOISES[:3])
def test_another_seed_step_or_row_draws_other_noise(noise, q, sigma):
    x = np.full((2, 400), 0.5)
    base = engine.corrupt_counter(1, 5, x, noise, q, sigma)
    for other in (engine.corrupt_counter(2, 5, x, noise, q, sigma),
                  engine.corrupt_counter(1, 6, x, noise, q, sigma)):
        assert np.mean(other != base) > 0.1
    assert np.mean(base[0] != base[1]) > 0.1  # two equal rows, two draws


def test_the_noise_has_the_distribution_it_names():
    x = np.full((64, 784), 0.5)
    count = x.size
    masked = engine.corrupt_counter(3, 0, x, "mask", 0.3)
    kept = np.mean(masked == 0.5)
    assert abs(kept - 0.7) < 4 * np.sqrt(0.21 / count)  # binomial, 4 standard errors
    assert set(np.unique(masked)) == {0.0, 0.5}
    salted = engine.corrupt_counter(3, 0, x, "saltpepper", 0.2)
    flipped = salted != 0.5
    assert abs(np.mean(flipped) - 0.2) < 4 * np.sqrt(0.16 / count)
    assert abs(np.mean(salted[flipped]) - 0.5) < 4 * np.sqrt(0.25 / flipped.sum())
    assert set(np.unique(salted)) == {0.0, 0.5, 1.0}
    noise = engine.corrupt_counter(3, 0, x, "gaussian", 0.0, 0.3) - 0.5
    assert abs(noise.mean()) < 4 * 0.3 / np.sqrt(count)
    assert abs(noise.std() / 0.3 - 1) < 0.01
    # Gaussian tails: Box–Muller's pairs are normal, not merely spread out.
    assert abs(np.mean(np.abs(noise) > 0.6) - 0.0455) < 0.004
    # Neighbouring pixels (one draw gives a pair) are uncorrelated.
    assert abs(np.corrcoef(noise[:, 0::2].ravel(), noise[:, 1::2].ravel())[0, 1]) < 0.02


def _model(n, k, seed=4, tied=True, dtype=np.float32):
    rng = np.random.default_rng(seed)
    W = rng.normal(0, 0.1, (n, k)).astype(dtype)
    V = None if tied else np.ascontiguousarray(W.T)
    return Params(W, np.zeros(k, dtype), np.zeros(n, dtype), V)


def _chunk(images, model, hyper, *, parts, stream, seed=9, step=0, steps=1, batch=None,
           density=engine.SPARSE_DENSITY):
    n, k = model.W.shape
    batch = batch or len(images)
    opt = {name: np.zeros((2, *a.shape), np.float32) for name, a in
           (("opt_W", model.W), ("opt_b", model.b), ("opt_c", model.c))}
    opt["opt_V"] = np.zeros((2, 1, 1) if model.V is None else (2, k, n), np.float32)
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    sums = np.zeros(4)
    done, _, finite = engine.train_chunk(
        images, np.arange(len(images)), 0, steps, rng, model, opt, 0, hyper,
        engine.Workspace.allocate(batch, n, k), sums, parts=parts, stream=stream, seed=seed,
        step=step, sparse_density=density)
    assert (done, finite) == (steps, True)
    if stream == engine.STREAM_COUNTER:
        assert rng.bit_generator.state == before  # the serial generator is not drawn from
    return sums


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("density", [0.0, 1.0])
def test_a_counter_stream_step_is_a_gradient_step_on_its_corruption(two_threads, tied,
                                                                    density):
    images = (_digits(20, 120, seed=1) * 255).astype(np.uint8)
    x = images.astype(np.float32) * np.float32(1.0 / 255.0)  # as the kernel scales
    hyper = engine.Hyper.of(tied=tied, noise="mask", q=0.3, lr=0.5)
    for parts in (1, 3):
        model = _model(120, 40, tied=tied)
        start = model.copy()
        sums = _chunk(images, model, hyper, parts=parts, stream=engine.STREAM_COUNTER,
                      seed=9, step=17, density=density)
        xt = engine.corrupt_counter(9, 17, x, "mask", 0.3)
        terms, grads = engine.loss_and_gradients(xt, x, start, hyper, parts=parts,
                                                 sparse_density=density)
        assert sums[0] == pytest.approx(terms[0], rel=1e-5)
        np.testing.assert_allclose(model.W, start.W - 0.5 * grads.W, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(model.b, start.b - 0.5 * grads.b, rtol=1e-4, atol=1e-6)
    # … and that gradient is the objective's, on this X̃, by finite differences (a
    # corner of the batch: pixel j's noise is draw j of its row, whatever the width).
    x64 = x[:5, :24].astype(np.float64)
    xt64 = engine.corrupt_counter(9, 17, x64, "mask", 0.3)
    np.testing.assert_array_equal(xt64, xt[:5, :24])  # float64 draws the same masks
    p = {"W": _model(24, 8, tied=tied, dtype=np.float64).W.copy(),
         "b": np.zeros(8), "c": np.zeros(24)}
    if not tied:
        p["V"] = np.ascontiguousarray(p["W"].T)
    h64 = engine.Hyper.of(tied=tied, l2=0.01, beta=3.0, rho=0.1)
    engine.use_threads(1)  # the same bits for 3 parts on any threads; many tiny calls

    def objective(q):
        terms, g = engine.loss_and_gradients(xt64, x64, Params(q["W"], q["b"], q["c"],
                                                               q.get("V")), h64, parts=3)
        grads = {"W": g.W, "b": g.b, "c": g.c, **({} if tied else {"V": g.V})}
        return sum(terms), grads
    naive.check_gradient(objective, p)


@pytest.mark.parametrize(("noise", "q", "sigma"), NOISES[:3])
def test_training_on_the_counter_stream_gives_the_same_bits_on_any_threads(noise, q, sigma):
    images = (_digits(70, 300, seed=2) * 255).astype(np.uint8)  # a short last batch of 6
    hyper = engine.Hyper.of(tied=True, noise=noise, q=q, sigma=sigma, optimizer="adam",
                            lr=0.01)
    runs = []
    for threads in (1, 2, 1):
        engine.use_threads(threads)
        model = _model(300, 40)
        sums = _chunk(images, model, hyper, parts=3, stream=engine.STREAM_COUNTER, steps=5,
                      batch=16)
        runs.append((model, sums))
    engine.use_threads(1)
    for model, sums in runs[1:]:
        np.testing.assert_array_equal(model.W, runs[0][0].W)
        np.testing.assert_array_equal(sums, runs[0][1])
    # One part draws the same X̃: only the order of partial sums differs.
    whole = _model(300, 40)
    sums = _chunk(images, whole, hyper, parts=1, stream=engine.STREAM_COUNTER, steps=5,
                  batch=16)
    np.testing.assert_allclose(sums, runs[0][1], rtol=1e-4)
    np.testing.assert_allclose(whole.W, runs[0][0].W, rtol=1e-3, atol=1e-5)
    serial = _model(300, 40)
    _chunk(images, serial, hyper, parts=3, stream=engine.STREAM_SERIAL, steps=5, batch=16)
    assert not np.allclose(serial.W, whole.W, rtol=1e-3, atol=1e-5)  # another stream


def test_a_new_run_records_the_counter_stream_and_replays_to_the_same_bits(data):  # noqa: F811
    run = _trainer(data, threads=2)
    run.run(max_steps=30)
    record = labstring.decode(run.lab_string())
    assert record.stream == engine.STREAM_COUNTER
    replay = _trainer(data, record.settings, threads=1)
    replay.schedule(record.changes, split=record.split, stream=record.stream)
    replay.run(max_steps=30)
    assert _same(replay.weights(), run.weights())


def _old_string(record: labstring.LabRecord) -> str:
    """`record` as a string made before the stream was recorded (no "r")."""
    payload = json.loads(zlib.decompress(labstring._unb64(
        labstring.encode(record).split(".")[1])))
    del payload["r"]
    head = f"{labstring.FORMAT}.{labstring._b64(zlib.compress(json.dumps(payload).encode()))}"
    return f"{head}.{labstring._check(head)}"


def test_an_old_string_replays_on_the_serial_stream(data, tmp_path):  # noqa: F811
    old = _trainer(data)
    old.noise_stream = engine.STREAM_SERIAL  # a run of an aetui before the counter stream
    old.run(max_steps=30)
    record = labstring.decode(_old_string(old.lab_record()))
    assert record.stream == engine.STREAM_SERIAL
    replay = _trainer(data, record.settings)
    replay.schedule(record.changes, split=record.split, stream=record.stream)
    replay.run(max_steps=30)
    assert _same(replay.weights(), old.weights())
    new = _trainer(data)  # the check above can fail: the streams differ
    new.run(max_steps=30)
    assert not _same(new.weights(), old.weights())
    # A checkpoint of that run resumes on its stream, also one saved without it.
    path = old.save(tmp_path / "old.npz")
    ckpt = load_checkpoint(path)
    ckpt.state.pop("noise_stream")
    resumed = _trainer(data, ckpt.settings, checkpoint=ckpt)
    assert resumed.noise_stream == engine.STREAM_SERIAL
    resumed.run(max_steps=10)
    old.run(max_steps=10)
    assert _same(resumed.weights(), old.weights())


@pytest.mark.parametrize("bad", [0, 3, True, "2", 1.5])
def test_a_string_with_an_unknown_stream_is_refused(bad):
    record = labstring.LabRecord(SETTINGS, (), 0, "digits", "0" * 16, "0", "?")
    payload = json.loads(zlib.decompress(labstring._unb64(
        labstring.encode(record).split(".")[1])))
    payload["r"] = bad
    head = f"{labstring.FORMAT}.{labstring._b64(zlib.compress(json.dumps(payload).encode()))}"
    with pytest.raises(labstring.LabStringError, match="noise stream"):
        labstring.decode(f"{head}.{labstring._check(head)}")
