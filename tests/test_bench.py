"""The benchmark's measuring code (aetui/experiments/bench.py): its report holds what the
issue asks for, and its numpy reference trains the same model as the engine.
Fast: a few hundred built-in digits, a fraction of a second per run; no timing is
asserted (the machine may be busy)."""

import json

import numpy as np
import pytest

from aetui.data import load_dataset
from aetui.engine.model import init_params
from aetui.experiments import bench


@pytest.fixture(scope="module")
def digits():
    train_x, _, test_x, _ = load_dataset("digits", seed=0)
    return train_x[:300], test_x[:50]


def test_flops_per_sample_counts_five_products():
    assert bench.flops_per_sample(784, 500) == 5 * 2 * 784 * 500  # ≈ 3.9 MFLOP
    shapes = bench.gemm_shapes(20, 784, 500)
    assert sum(2 * r * i * c for r, i, c in shapes) == 20 * bench.flops_per_sample(784, 500)


def test_report_has_both_batch_sizes_and_every_column(digits):
    train_x, test_x = digits
    report = bench.run_benchmark(train_x, test_x, batches=(20, 32), seconds=0.05, repeats=2,
                                 hidden=16)
    json.dumps(report)  # JSON-ready, as `aetui bench --json` prints it
    assert report["workload"]["images"] == len(train_x)
    assert report["workload"]["flops_per_sample"] == bench.flops_per_sample(784, 16)
    assert report["workload"]["input_density"] == pytest.approx(
        np.count_nonzero(train_x) / train_x.size * (1 - bench.Q))
    assert [r["batch"] for r in report["results"]] == [20, 32]
    for r in report["results"]:
        for key in ("engine_samples_per_s", "numpy_samples_per_s", "sgemm_gflops",
                    "engine_samples_per_cpu_s", "numpy_samples_per_cpu_s"):
            assert len(r[key]["runs"]) == 2
            assert r[key]["median"] > 0
        assert r["ratio"] == pytest.approx(r["engine_samples_per_s"]["median"]
                                           / r["numpy_samples_per_s"]["median"])
        assert r["ideal_samples_per_s"] == pytest.approx(
            r["sgemm_gflops"]["median"] * 1e9 / report["workload"]["flops_per_sample"])
    assert report["square_sgemm"]["gflops"] > 0
    text = bench.format_report(report)
    assert "engine/s" in text and "numpy/s" in text and "GFLOP/s" in text
    assert "skips X̃'s zero entries" in text


@pytest.mark.parametrize("batch", [20, 128])
def test_numpy_reference_matches_the_engine_without_corruption(digits, batch):
    """Same weights, same batches, q = 0: the same loss each step and the same weights
    after three SGD steps (float32 rounding apart)."""
    from aetui.training.trainer import Trainer

    train_x, test_x = digits
    settings = bench._settings(batch, 24, 0).replace(noise="none", q=0.0)
    trainer = Trainer(settings, train_x, test_x, threads=None)
    p = trainer.params
    ref = bench.NumpyReference(p.W, p.b, p.c, batch, q=0.0)
    ws = trainer._workspace(batch)
    for _ in range(3):
        rows = trainer.order[trainer.pos:trainer.pos + batch]
        ref_loss = ref.step(train_x, rows)
        before = trainer._sums.copy()
        assert trainer._train_chunk(1, ws) == 1
        engine_loss = (trainer._sums - before)[0]
        assert np.isfinite(ref_loss)
        assert ref_loss == pytest.approx(engine_loss, rel=1e-5)
    assert np.abs(trainer.params.W - ref.W).max() < 1e-5
    assert np.abs(trainer.params.b - ref.b).max() < 1e-5
    assert np.abs(trainer.params.c - ref.c).max() < 1e-5
    assert not np.array_equal(ref.W, init_params(784, 24, 0, True).W)  # it did train


def test_numpy_reference_masks_a_fraction_q():
    params = init_params(784, 8, 0, True)
    ref = bench.NumpyReference(params.W, params.b, params.c, 200, q=0.3)
    images = np.full((200, 784), 255, np.uint8)
    ref.step(images, np.arange(200))
    assert ref._xt.mean() == pytest.approx(0.7, abs=4 * np.sqrt(0.21 / ref._xt.size))


def test_the_defaults_section_measures_train_epochs_and_the_references():
    """`aetui bench`'s first table: aetui train's whole epochs at each thread count against
    numpy (and PyTorch when installed), on a small set so that an epoch is short."""
    from aetui.experiments import bench_defaults

    rng = np.random.default_rng(0)
    images = (rng.random((400, 784)) < 0.2).astype(np.uint8) * 255
    report = bench_defaults.run_defaults_benchmark(
        images, images[:50], batches=[20], thread_counts=[2, 1], seconds=0.05, repeats=1)
    row = report["results"][0]
    for name in ("aetui_2", "aetui_1", "numpy"):
        assert row[name]["median"] > 0
    assert row["vs_numpy"] == row["aetui_2"]["median"] / row["numpy"]["median"]
    assert ("torch" in row) == (report["torch"] is not None)
    text = bench_defaults.format_defaults(report)
    assert "train --threads 2" in text and "numpy" in text
