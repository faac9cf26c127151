"""The threaded path (README, "Threads"): the kernels on several threads still have
gradients that match finite differences, give the same bits for a given thread
count, and --threads / $AETUI_THREADS reach the trainer."""

import itertools
import threading

import naive
import numba
import numpy as np
import pytest
from test_kernels import VARIANTS, _problem, minibatch_objective

from aetui.cli import main
from aetui.commands import common
from aetui.core import engine
from aetui.core.model import Params

THREADS = 2  # numba's pool holds at least this many (NUMBA_NUM_THREADS ≥ cores ≥ …)


@pytest.fixture
def threaded():
    """Run the test's kernels on THREADS threads; back to one afterwards (the trainer's
    and the other tests' default)."""
    used = engine.use_threads(THREADS, loops=THREADS)
    yield used
    engine.use_threads(1)


def test_a_thread_safe_layer_is_loaded(threaded):
    # workqueue aborts the process when two threads enter parallel kernels at once.
    assert engine.threading_layer() in ("omp", "tbb")
    assert numba.get_num_threads() == min(THREADS, numba.config.NUMBA_NUM_THREADS)


@pytest.mark.parametrize(("tied", "variant", "beta", "sparse"), list(itertools.product(
    (True, False), VARIANTS, (0.0, 3.0), (False, True))))
def test_gradients_match_finite_differences_on_several_threads(threaded, tied, variant, beta,
                                                               sparse):
    x, xt, p = _problem(3, tied)
    naive.check_gradient(minibatch_objective(x, xt, tied, *variant, 0.01, beta, sparse), p)


def _train(images, threads, *, tied, steps=6, batch=16, seed=4):
    engine.use_threads(threads, loops=threads)
    n, k = images.shape[1], 40
    rng = np.random.default_rng(seed)
    W = (rng.normal(0, 0.1, (n, k))).astype(np.float32)
    V = None if tied else np.ascontiguousarray(W.T)
    model = Params(W, np.zeros(k, np.float32), np.zeros(n, np.float32), V)
    opt = {name: np.zeros((2, *a.shape), np.float32) for name, a in
           (("opt_W", W), ("opt_b", model.b), ("opt_c", model.c))}
    opt["opt_V"] = np.zeros((2, 1, 1) if tied else (2, k, n), np.float32)
    hyper = engine.Hyper.of(tied=tied, noise="mask", q=0.3, lr=0.1)
    sums = np.zeros(4)
    done, _, finite = engine.train_chunk(
        images, np.arange(len(images)), 0, steps, np.random.default_rng(seed), model, opt, 0,
        hyper, engine.Workspace.allocate(batch, n, k, np.float32), sums)
    assert (done, finite) == (steps, True)
    return [a.copy() for a in (model.W, model.b, model.c)], sums.copy()


@pytest.mark.parametrize("tied", [True, False])
def test_training_is_deterministic_for_a_given_thread_count(threaded, tied):
    images = (np.random.default_rng(0).random((96, 300)) < 0.2).astype(np.uint8) * 255
    first = _train(images, THREADS, tied=tied)
    again = _train(images, THREADS, tied=tied)
    for a, b in zip(first[0], again[0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[1], again[1])
    # The parallel loops split rows, not sums: one thread lands on the same result
    # (up to BLAS's own blocking, which may differ with its thread count).
    single = _train(images, 1, tied=tied)
    for a, b in zip(first[0], single[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sparse_products_give_the_same_bits_on_one_thread_and_several(threaded):
    x, xt, p = _problem(5, True)
    hyper = engine.Hyper.of(tied=True, beta=3.0, rho=0.1)
    params = Params(p["W"], p["b"], p["c"], None)
    many = engine.loss_and_gradients(xt, x, params, hyper, sparse_density=1.0)
    engine.use_threads(1)
    one = engine.loss_and_gradients(xt, x, params, hyper, sparse_density=1.0)
    assert many[0] == one[0]
    for name in ("W", "b", "c"):
        np.testing.assert_array_equal(getattr(many[1], name), getattr(one[1], name))


def test_threads_come_from_the_option_then_the_environment_then_the_cpus(monkeypatch):
    monkeypatch.delenv(common.THREADS_ENV, raising=False)
    assert common.resolve_threads(None) == engine.available_threads()
    monkeypatch.setenv(common.THREADS_ENV, "3")
    assert common.resolve_threads(None) == 3
    assert common.resolve_threads("1") == 1


@pytest.mark.parametrize(("argv", "env", "named"), [
    (["--threads", "0"], None, "--threads"),
    (["--threads", "two"], None, "--threads"),
    ([], "-1", "AETUI_THREADS"),
])
def test_bad_thread_counts_are_refused_in_one_line(monkeypatch, capsys, tmp_path, argv, env,
                                                   named):
    if env is None:
        monkeypatch.delenv(common.THREADS_ENV, raising=False)
    else:
        monkeypatch.setenv(common.THREADS_ENV, env)
    code = main(["train", "--dataset", "digits", "--steps", "1",
                 "--out", str(tmp_path / "run.npz"), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("aetui: error:") and named in err and "Traceback" not in err
    assert not (tmp_path / "run.npz").exists()


@pytest.mark.parametrize(("model", "expected"), [
    (["--hidden", "200", "--batch", "128"], 2),  # 128 × 784 × 200 ≥ PARALLEL_PRODUCT_MACS
    (["--hidden", "8"], 1),                     # products too small to share
])
def test_the_trainer_trains_on_the_threads_it_is_given(monkeypatch, tmp_path, model, expected):
    seen = []
    real = engine.use_threads
    monkeypatch.setattr(engine, "use_threads", lambda n: seen.append(n) or real(n))
    monkeypatch.setenv(common.THREADS_ENV, "2")
    try:
        assert main(["train", "--dataset", "digits", "--steps", "3", *model,
                     "--out", str(tmp_path / "run.npz")]) == 0
    finally:
        real(1)
    assert seen and set(seen) == {expected}


def test_only_large_products_share_blas_threads():
    big = engine.PARALLEL_PRODUCT_MACS
    assert engine.blas_threads_for(4, 1, big, 1) == 4
    assert engine.blas_threads_for(4, 1, big - 1, 1) == 1
    assert engine.blas_threads_for(1, 128, 784, 500) == 1


def _digits_split(n_train=600, n_test=200):
    from aetui.data import load_dataset

    data = load_dataset("digits", progress=False)
    return (data.train_x[:n_train], data.train_y[:n_train], data.test_x[:n_test],
            data.test_y[:n_test])


def test_compare_trains_its_models_at_once_with_the_same_results_as_in_turn():
    from aetui.config import Settings
    from aetui.core.experiments import NoiseComparison

    dataset = _digits_split()
    base = Settings(hidden=12, batch=20, seed=3, noise="mask")
    names = []

    def run(workers):
        comparison = NoiseComparison(base, dataset, [0, 0.3, 0.6], probe=True,
                                     filter_count=4, workers=workers,
                                     on_run_started=lambda i, label, t: names.append(
                                         threading.current_thread().name))
        return comparison.run()

    names.clear()
    in_turn = run(1)
    names.clear()
    at_once = run(3)
    assert all(name.startswith("aetui-model") for name in names)
    assert [r.label for r in at_once.runs] == [r.label for r in in_turn.runs]
    for a, b in zip(in_turn.runs, at_once.runs, strict=True):
        assert a.steps == b.steps
        np.testing.assert_array_equal(a.filters, b.filters)  # each model deterministic
        assert a.probe == b.probe
    assert at_once.baselines == in_turn.baselines


def test_the_three_probes_run_at_once_with_the_same_accuracies():
    from aetui.core.analysis import probe_accuracies
    from aetui.core.model import init_params

    train_x, train_y, test_x, test_y = _digits_split()
    params = init_params(784, 10, 0, True)
    threads = []

    def progress(name, fraction):
        threads.append(threading.current_thread().name)

    at_once = probe_accuracies(params, train_x, train_y, test_x, test_y, workers=3,
                               progress=progress, max_iter=50)
    assert {t for t in threads if t.startswith("aetui-probe")}
    in_turn = probe_accuracies(params, train_x, train_y, test_x, test_y, max_iter=50)
    assert at_once == in_turn


def test_the_lab_leaves_one_thread_to_the_interface(monkeypatch):
    from aetui.commands import lab
    from aetui.config import Settings

    monkeypatch.setenv(common.THREADS_ENV, "4")
    assert lab.lab_trainer_threads(None) == 3
    assert lab.lab_trainer_threads("1") == 1
    app = lab.build_lab_app(Settings(hidden=4), trainer_threads=3)
    images = np.zeros((4, 784), np.uint8)
    assert app.trainer_factory(Settings(hidden=4), images, images).blas_threads == 3
