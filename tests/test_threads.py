"""The threaded path (README, "Threads"): the kernels on several threads still have
gradients that match finite differences, give the same bits for a given thread
count, and --threads / $AETUI_THREADS reach the trainer."""

import itertools
import threading

import naive
import numba
import numpy as np
import pytest
from crafted import refused_train
from test_kernels import VARIANTS

from aetui.cli import main
from aetui.commands import common
from aetui.engine import engine
from aetui.engine.model import Params

THREADS = 2  # numba's pool holds at least this many (NUMBA_NUM_THREADS ≥ cores ≥ …)


@pytest.fixture
def threaded():
    """Run the test's kernels on THREADS threads; back to one afterwards (the trainer's
    and the other tests' default)."""
    used = engine.use_threads(THREADS)
    yield used
    engine.use_threads(1)


def test_a_thread_safe_layer_is_loaded(threaded):
    # workqueue aborts the process when two threads enter parallel kernels at once.
    assert engine.threading_layer() in ("omp", "tbb")
    assert numba.get_num_threads() == min(THREADS, numba.config.NUMBA_NUM_THREADS)


def _wide_problem(seed: int, tied: bool, m=5, n=20, k=40):
    """A batch wide enough to split: 3 blocks of hidden units, 2 of pixels."""
    return naive.random_problem(seed, tied, m, n, k)


def _split_objective(x, xt, tied, loss, decoder, beta, sparse, parts):
    hyper = engine.Hyper.of(tied=tied, loss=loss, decoder=decoder, l2=0.01, beta=beta, rho=0.1)

    def value_and_gradient(p):
        terms, g = engine.loss_and_gradients(
            xt, x, Params(p["W"], p["b"], p["c"], p.get("V")), hyper,
            sparse_density=1.0 if sparse else 0.0, parts=parts)
        grads = {"W": g.W, "b": g.b, "c": g.c}
        if not tied:
            grads["V"] = g.V
        return sum(terms), grads
    return value_and_gradient


@pytest.mark.parametrize(("tied", "variant", "beta", "sparse"), list(itertools.product(
    (True, False), VARIANTS, (0.0, 3.0), (False, True))))
def test_gradients_of_a_split_step_match_finite_differences(threaded, tied, variant, beta,
                                                            sparse):
    x, xt, p = _wide_problem(3, tied)
    naive.check_gradient(_split_objective(x, xt, tied, *variant, beta, sparse, parts=3), p)


def _train(images, threads, parts, *, tied, optimizer="sgd", steps=6, batch=16, seed=4):
    engine.use_threads(threads)
    n, k = images.shape[1], 40
    rng = np.random.default_rng(seed)
    W = (rng.normal(0, 0.1, (n, k))).astype(np.float32)
    V = None if tied else np.ascontiguousarray(W.T)
    model = Params(W, np.zeros(k, np.float32), np.zeros(n, np.float32), V)
    opt = {name: np.zeros((2, *a.shape), np.float32) for name, a in
           (("opt_W", W), ("opt_b", model.b), ("opt_c", model.c))}
    opt["opt_V"] = np.zeros((2, 1, 1) if tied else (2, k, n), np.float32)
    hyper = engine.Hyper.of(tied=tied, noise="mask", q=0.3, optimizer=optimizer,
                            lr=0.1 if optimizer == "sgd" else 0.01)
    sums = np.zeros(4)
    done, _, finite = engine.train_chunk(
        images, np.arange(len(images)), 0, steps, np.random.default_rng(seed), model, opt, 0,
        hyper, engine.Workspace.allocate(batch, n, k, np.float32), sums, parts=parts)
    assert (done, finite) == (steps, True)
    return [a.copy() for a in (model.W, model.b, model.c, model.V) if a is not None], sums.copy()


@pytest.mark.parametrize(("tied", "optimizer"), [(True, "sgd"), (False, "sgd"),
                                                 (True, "adam"), (False, "momentum")])
def test_training_gives_the_same_bits_for_a_given_split_whatever_runs_it(threaded, tied,
                                                                         optimizer):
    images = (np.random.default_rng(0).random((96, 300)) < 0.2).astype(np.uint8) * 255
    first = _train(images, THREADS, 3, tied=tied, optimizer=optimizer)
    again = _train(images, THREADS, 3, tied=tied, optimizer=optimizer)
    one_thread = _train(images, 1, 3, tied=tied, optimizer=optimizer)
    for run in (again, one_thread):  # a part's work does not depend on the thread it is on
        for a, b in zip(first[0], run[0], strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(first[1], run[1])
    # A split changes only the order of partial sums: one part lands close by.
    single = _train(images, 1, 1, tied=tied, optimizer=optimizer)
    for a, b in zip(first[0], single[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert not np.array_equal(first[0][0], single[0][0])  # the split did take place


def test_a_split_step_matches_the_whole_one(threaded):
    x, xt, p = _wide_problem(5, True)
    hyper = engine.Hyper.of(tied=True, beta=3.0, rho=0.1, l2=0.01)
    params = Params(p["W"], p["b"], p["c"], None)
    whole = engine.loss_and_gradients(xt, x, params, hyper, sparse_density=1.0)
    split = engine.loss_and_gradients(xt, x, params, hyper, sparse_density=1.0, parts=3)
    np.testing.assert_allclose(split[0], whole[0], rtol=1e-12)
    for name in ("W", "b", "c", "rho_hat"):
        np.testing.assert_allclose(getattr(split[1], name), getattr(whole[1], name),
                                   rtol=1e-12, atol=1e-15)


def test_held_out_measurement_and_encoder_give_the_same_bits_on_any_thread_count(threaded):
    from aetui.engine.model import init_params

    images = np.random.default_rng(2).integers(0, 256, (700, 784), dtype=np.uint8)
    params = init_params(784, 40, seed=1, tied=True)
    many = engine.held_out(params, images), engine.encode(params.W, params.b, images)
    engine.use_threads(1)
    one = engine.held_out(params, images), engine.encode(params.W, params.b, images)
    assert many[0][0] == one[0][0]
    np.testing.assert_array_equal(many[0][1], one[0][1])
    np.testing.assert_array_equal(many[1], one[1])


@pytest.mark.parametrize(("layer", "waits"), [("workqueue", True), ("omp", False)])
def test_on_the_workqueue_layer_parallel_kernels_take_turns(monkeypatch, layer, waits):
    """workqueue aborts the process when two threads launch parallel kernels at once."""
    from aetui.engine import threads
    from aetui.engine.model import init_params

    params = init_params(784, 8, seed=1, tied=True)
    images = np.zeros((10, 784), np.uint8)
    engine.encode(params.W, params.b, images)  # compiled before the clock starts
    monkeypatch.setattr(threads, "_layer", layer)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (engine.encode(params.W, params.b, images),
                                              done.set()))
    with threads._TURNS:  # another thread's kernel is running
        worker.start()
        assert done.wait(1.0) is not waits
    worker.join(10)
    assert done.is_set()


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
    ([], "٣", "AETUI_THREADS"),  # an Arabic-Indic 3: int() takes it, aetui does not
    ([], " 2", "AETUI_THREADS"),
    (["--threads", "1_0"], None, "--threads"),
])
def test_bad_thread_counts_are_refused_in_one_line(monkeypatch, capsys, tmp_path, argv, env,
                                                   named):
    code, err = refused_train(monkeypatch, capsys, tmp_path, argv, env)
    assert code == 2
    assert err.startswith("aetui: error:") and named in err and "Traceback" not in err
    assert not (tmp_path / "run.npz").exists()


@pytest.mark.parametrize(("model", "expected"), [
    (["--hidden", "200", "--batch", "128"], 2),  # 128 × 784 × 200: two parts
    (["--hidden", "8"], 1),                     # one block of units: nothing to split
])
def test_the_trainer_trains_on_the_threads_it_is_given(monkeypatch, tmp_path, model, expected):
    threads, parts = [], []
    real_use, real_chunk = engine.use_threads, engine.train_chunk
    monkeypatch.setattr(engine, "use_threads", lambda n: threads.append(n) or real_use(n))
    # (hidden units, parts) of each chunk: warm_up's tiny models (2 units) run whole.
    monkeypatch.setattr(engine, "train_chunk", lambda *a, **kw: parts.append(
        (a[5].W.shape[1], kw["parts"])) or real_chunk(*a, **kw))
    monkeypatch.setenv(common.THREADS_ENV, "2")
    try:
        assert main(["train", "--dataset", "digits", "--steps", "3", *model,
                     "--out", str(tmp_path / "run.npz")]) == 0
    finally:
        real_use(1)
    assert threads and set(threads) == {2}
    hidden = int(model[1])
    assert {split for units, split in parts if units == hidden} == {expected}


def test_a_step_is_split_only_where_each_part_has_work_of_its_own():
    assert engine.parts_for(4, 20, 784, 500) == 4
    assert engine.parts_for(1, 128, 784, 500) == 1
    assert engine.parts_for(2, 20, 784, engine.UNIT_BLOCK) == 1  # one block of units
    assert engine.parts_for(8, 128, 784, 40) == 3                # three blocks
    small = engine.PART_MACS // (784 * 64)
    assert engine.parts_for(8, small, 784, 64) == 1              # too little work to share


def _digits_split(n_train=600, n_test=200):
    from aetui.data import load_dataset

    data = load_dataset("digits", progress=False)
    return (data.train_x[:n_train], data.train_y[:n_train], data.test_x[:n_test],
            data.test_y[:n_test])


def test_compare_trains_its_models_at_once_with_the_same_results_as_in_turn():
    from aetui.config import Settings
    from aetui.experiments.experiments import NoiseComparison

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
    from aetui.engine.model import init_params
    from aetui.experiments.analysis import probe_accuracies

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
    assert app.lab.run.trainer_factory(Settings(hidden=4), images, images).threads == 3
