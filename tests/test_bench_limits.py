"""`aetui bench`: each implementation as a share of the machine's dense and sparse limits."""

import os
import subprocess
import sys

import numpy as np
import pytest

from aetui.experiments import bench_defaults
from aetui.experiments.bench import flops_per_sample


def test_sparse_flops_take_the_non_zero_share_of_the_two_products_with_x():
    n, k = 784, 500
    assert bench_defaults.sparse_flops_per_sample(n, k, 1.0) == flops_per_sample(n, k)
    assert bench_defaults.sparse_flops_per_sample(n, k, 0.0) == 6 * n * k
    assert bench_defaults.sparse_flops_per_sample(n, k, 0.13) == pytest.approx(
        2 * n * k * 3.26)


def test_limits_are_the_sgemm_rate_over_each_flop_count():
    lim = bench_defaults.limits(100.0, 784, 500, 0.13)
    assert lim["dense"] == pytest.approx(100e9 / (10 * 784 * 500))
    assert lim["sparse"] == pytest.approx(100e9 / (2 * 784 * 500 * 3.26))
    assert lim["sparse"] > lim["dense"]


def test_the_report_gives_each_runner_its_share_of_both_limits():
    rng = np.random.default_rng(0)
    images = (rng.random((400, 784)) < 0.2).astype(np.uint8) * 255
    report = bench_defaults.run_defaults_benchmark(
        images, images[:50], batches=[20], thread_counts=[2, 1], seconds=0.05, repeats=1)
    row = report["results"][0]
    assert report["input_density"] == pytest.approx(0.2 * 0.7, abs=0.01)
    assert row["sgemm_gflops"]["median"] > 0
    for name in ("aetui_2", "aetui_1", "numpy"):
        for kind in ("dense", "sparse"):
            assert row["share_of_limits"][name][kind] == pytest.approx(
                row[name]["median"] / row["limits"][kind])
    text = bench_defaults.format_defaults(report)
    assert "dense / sparse" in text and "sgemm" in text


def test_numba_loads_openmp_before_torch():
    # One libgomp per process: loaded by torch first, it would make numba's parts spin
    # (its default wait); loaded by numba first it reads aetui's passive policy.
    pytest.importorskip("torch")
    script = ("import os; from aetui.experiments import bench_defaults; "
              "bench_defaults.torch_info(); "
              "maps = [l.split()[-1] for l in open('/proc/self/maps') if 'libgomp' in l]; "
              "print(os.environ.get('OMP_WAIT_POLICY'), len(set(maps)), "
              "all('torch' not in m for m in maps))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout.split()
    assert out[-3:] == ["passive", "1", "True"]
