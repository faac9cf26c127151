"""The lab's quick start (issue 24, cold start): the first steps on the numpy reference
path (engine/reference.py) while the kernels compile in the background, a switch at a
step boundary recorded in the lab string, and replays that take the same paths."""

import itertools
import json
import threading
import zlib

import naive
import numpy as np
import pytest
from test_kernels import VARIANTS
from test_replay import SETTINGS, _same, _trainer, data  # noqa: F401 -- data: a fixture

from aetui.engine import engine, reference
from aetui.engine.model import Params
from aetui.training import labstring
from aetui.training import trainer as trainer_module
from aetui.training.snapshots import COMPILING, TRAINING


def _problem(seed, tied, m=6, n=20, k=8):
    return naive.random_problem(seed, tied, m, n, k)


@pytest.mark.parametrize(("tied", "variant", "beta"), list(itertools.product(
    (True, False), VARIANTS, (0.0, 3.0))))
def test_the_reference_gradient_matches_finite_differences_and_the_engine(tied, variant, beta):
    x, xt, p = _problem(2, tied)
    loss, decoder = variant
    s = SETTINGS.replace(tied=tied, loss=loss, decoder=decoder, l2=0.01, beta=beta, rho=0.1)

    def objective(q):
        terms, grads = reference.loss_and_gradients(
            xt, x, Params(q["W"], q["b"], q["c"], q.get("V")), s)
        return sum(terms), grads
    naive.check_gradient(objective, p)
    terms, grads = reference.loss_and_gradients(xt, x, Params(**p), s)
    hyper = engine.Hyper.of(tied=tied, loss=loss, decoder=decoder, l2=0.01, beta=beta, rho=0.1)
    e_terms, e_grads = engine.loss_and_gradients(xt, x, Params(**p), hyper)
    np.testing.assert_allclose(terms, e_terms, rtol=1e-10, atol=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads[name], getattr(e_grads, name), rtol=1e-9,
                                   atol=1e-12)


@pytest.mark.parametrize(("noise", "q", "sigma"), [("mask", 0.3, 0.0), ("saltpepper", 0.2, 0.0),
                                                   ("none", 0.0, 0.0), ("gaussian", 0.0, 0.4)])
def test_the_reference_draws_the_counter_stream(noise, q, sigma):
    x = np.where(np.random.default_rng(1).random((9, 61)) < 0.3, 0.7, 0.0).astype(np.float32)
    ours = reference.corrupt(11, 40, x, noise, q, sigma)
    kernels = engine.corrupt_counter(11, 40, x, noise, q, sigma)
    if noise == "gaussian":  # numpy's and the C library's log and cos may differ by an ulp
        np.testing.assert_allclose(ours, kernels, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(ours, kernels)


def _hold_compile(monkeypatch):
    """Background compiles wait for the returned event (a slow machine's cold start)."""
    release = threading.Event()
    real = trainer_module.Trainer._compile_kernels

    def slow(self):
        assert release.wait(120)
        real(self)
    monkeypatch.setattr(trainer_module.Trainer, "_compile_kernels", slow)
    return release


def _no_kernels(monkeypatch):
    """Make every engine entry a quick start must not call fail (numba compiling)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was called while the kernels compile")
    for name in ("train_chunk", "held_out", "corrupt", "reconstruct", "encode"):
        monkeypatch.setattr(engine, name, refuse)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_quick_start_trains_at_once_then_switches_and_replays_exactly(data, monkeypatch,  # noqa: F811
                                                                       optimizer):
    settings = SETTINGS.replace(optimizer=optimizer, lr=0.1 if optimizer == "sgd" else 0.01,
                                hidden=64, batch=40)  # two parts on 2 threads
    release = _hold_compile(monkeypatch)
    states = []
    run = _trainer(data, settings, threads=2, on_snapshot=lambda snap: states.append(
        (snap.state, snap.corrupted.copy(), snap.clean.copy(), snap.filters.shape)))
    run.start_on_reference()
    with monkeypatch.context() as during:
        _no_kernels(during)
        run.warm_up()  # returns at once: the compile waits in the background
        run.run(max_steps=9)
    assert run.step == 9 and run.reference_steps == 9
    assert COMPILING not in [state for state, *_ in states]
    state, corrupted, clean, filters = states[0]  # the first frame: real digits, noise, filters
    assert state == TRAINING and filters[0] > 0 and clean.any()
    assert not np.array_equal(corrupted, clean)
    release.set()
    run._compile_thread.join(600)  # a cold compile on a busy machine
    run.run(max_steps=7)  # switches to the kernels at the next step boundary
    assert run.step == 16 and run.reference_steps == 9
    record = labstring.decode(run.lab_string())
    assert (record.reference, record.stream) == (9, engine.STREAM_COUNTER)
    for threads in (1, 2):
        replay = _trainer(data, record.settings, threads=threads)
        replay.schedule(record.changes, split=record.split, stream=record.stream,
                        reference=record.reference)
        replay.run(max_steps=16)
        assert _same(replay.weights(), run.weights())
    kernels_only = _trainer(data, record.settings, threads=2)  # the check above can fail
    kernels_only.schedule(record.changes, split=record.split, stream=record.stream)
    kernels_only.run(max_steps=16)
    assert not _same(kernels_only.weights(), run.weights())


def test_a_checkpoint_keeps_the_reference_steps_and_resumes_on_the_kernels(data, tmp_path):  # noqa: F811
    run = _trainer(data)
    run.schedule([], reference=6)
    run.run(max_steps=10)
    assert run.reference_steps == 6
    from aetui.training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(run.save(tmp_path / "run.npz"))
    resumed = _trainer(data, ckpt.settings, checkpoint=ckpt)
    assert resumed.reference_steps == 6
    resumed.run(max_steps=5)
    run.run(max_steps=5)
    assert _same(resumed.weights(), run.weights())
    assert labstring.decode(resumed.lab_string()).reference == 6


def test_a_resumed_or_replayed_run_never_starts_on_the_reference_path(data):  # noqa: F811
    run = _trainer(data)
    run.schedule([], reference=0)
    run.start_on_reference()  # a replay keeps the string's switch
    run.run(max_steps=3)
    assert run.reference_steps == 0


def _payload_string(edit):
    record = labstring.LabRecord(SETTINGS, (), 5, "digits", "0" * 16, "0", "?")
    payload = json.loads(zlib.decompress(labstring._unb64(
        labstring.encode(record).split(".")[1])))
    edit(payload)
    head = f"{labstring.FORMAT}.{labstring._b64(zlib.compress(json.dumps(payload).encode()))}"
    return f"{head}.{labstring._check(head)}"


def test_strings_without_reference_steps_have_none_and_bad_counts_are_refused():
    assert labstring.decode(_payload_string(lambda p: p.pop("w"))).reference == 0
    assert labstring.decode(_payload_string(lambda p: p.update(w=5))).reference == 5
    for bad in (6, -1, True, "3", 1.5):  # more than the string's steps, or no count
        with pytest.raises(labstring.LabStringError, match="reference"):
            labstring.decode(_payload_string(lambda p, bad=bad: p.update(w=bad)))


def test_a_string_taken_mid_replay_counts_only_the_steps_done(data):  # noqa: F811
    run = _trainer(data)
    run.schedule([], reference=8)
    run.run(max_steps=5)
    record = labstring.decode(run.lab_string())  # 8 would be refused: more than 5 steps
    assert (record.step, record.reference) == (5, 5)


def test_a_reset_after_the_switch_trains_the_new_run_on_the_kernels(data, monkeypatch):  # noqa: F811
    run = _trainer(data)
    run.schedule([], reference=4)
    run.run(max_steps=6)
    run.reset()
    run.run(max_steps=3)
    assert run.step == 3 and run.reference_steps == 0
