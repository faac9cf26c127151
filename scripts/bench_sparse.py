#!/usr/bin/env python
"""Where the sparse products stop paying: one training step (784 → 500, tied,
cross-entropy, plain SGD, float32) with X̃W and X̃ᵀδ_h taken over the non-zero
entries against the dense gemms, on batches of a given share of non-zero
entries. kernels.SPARSE_DENSITY, the switch-over, should sit where the ratio
crosses 1.

    python scripts/bench_sparse.py
    python scripts/bench_sparse.py --batch 20,128 --density 0.05,0.13,0.19,0.25,0.3,0.4
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "aetui-bench-numba"))

import numpy as np  # noqa: E402

from aetui.core import kernels as K  # noqa: E402
from aetui.core.blas import hold_engine_threads  # noqa: E402


def step_seconds(batch: int, density: float, sparse: bool, seconds: float) -> float:
    """Median time of one forward/backward/SGD step, over rounds of `seconds`/5."""
    n, k = 784, 500
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = ((rng.random((batch, n)) < density) * rng.uniform(0.05, 1, (batch, n))).astype(f32)
    W = rng.uniform(-0.1, 0.1, (n, k)).astype(f32)
    b, c, V = np.zeros(k, f32), np.zeros(n, f32), np.zeros((1, 1), f32)
    ws = [np.empty(s, f32) for s in ((batch, k), (batch, n), (batch, k), (n, k), k, n, (1, 1), k)]
    stack_x, stack_h = K._stack_workspace(W, True, batch)
    sparse_ws = K._sparse_workspace(W, batch)

    def step():
        # Compressing is part of the sparse step's cost, as in training.
        compressed = sparse and K._compress_rows(x, x.size, *sparse_ws[:3]) >= 0
        K._forward_backward_into(x, x, W, b, c, V, True, K.LOSS_CE, K.DECODER_SIGMOID, 0.0,
                                 0.0, 0.1, *ws, stack_x, stack_h, sparse_ws,
                                 compressed, True, 1e-9, False)

    step()
    rounds = []
    for _ in range(5):
        reps, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 5:
            step()
            reps += 1
        rounds.append((time.perf_counter() - started) / reps)
    return float(np.median(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="20,128")
    parser.add_argument("--density", default="0.05,0.1,0.13,0.16,0.19,0.22,0.25,0.3,0.4")
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args()
    hold_engine_threads(1)
    print(f"switch-over now: kernels.SPARSE_DENSITY = {K.SPARSE_DENSITY}")
    print(f"{'batch':>5}  {'density':>7}  {'dense ms':>8}  {'sparse ms':>9}  {'dense/sparse':>12}")
    for batch in (int(v) for v in args.batch.split(",")):
        for density in (float(v) for v in args.density.split(",")):
            dense = step_seconds(batch, density, False, args.seconds)
            sparse = step_seconds(batch, density, True, args.seconds)
            print(f"{batch:>5}  {density:>7.2f}  {dense * 1e3:>8.3f}  {sparse * 1e3:>9.3f}  "
                  f"{dense / sparse:>12.2f}")


if __name__ == "__main__":
    main()
