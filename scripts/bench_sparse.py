#!/usr/bin/env python
"""Where the sparse products stop paying: one training step (784 → 500, tied,
cross-entropy, plain SGD, float32) with X̃W and X̃ᵀδ_h taken over the non-zero
entries against the dense gemms, on batches of a given share of non-zero
entries. engine.SPARSE_DENSITY, the switch-over, should sit where the ratio
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

from aetui.engine import engine  # noqa: E402
from aetui.engine.blas import hold_engine_threads  # noqa: E402
from aetui.engine.model import init_params  # noqa: E402


def step_seconds(batch: int, density: float, sparse: bool, seconds: float) -> float:
    """Median time of one training step (uint8 batch in, plain SGD, no noise), over
    rounds of `seconds`/5: the sparse products forced on (sparse) or off."""
    n, k = 784, 500
    rng = np.random.default_rng(0)
    ink = rng.random((batch, n)) < density
    images = (ink * rng.integers(13, 256, (batch, n))).astype(np.uint8)
    params = init_params(n, k, seed=0, tied=True)
    opt = {name: np.zeros((2, *shape), np.float32) for name, shape in
           (("opt_W", (n, k)), ("opt_b", (k,)), ("opt_c", (n,)), ("opt_V", (1, 1)))}
    ws = engine.Workspace.allocate(batch, n, k)
    hyper = engine.Hyper.of(lr=1e-9)
    order = np.arange(batch)
    sums = np.zeros(4)

    def step():
        # Compressing is part of the sparse step's cost, as in training.
        engine.train_chunk(images, order, 0, 1, rng, params, opt, 0, hyper, ws, sums,
                           sparse_density=1.0 if sparse else 0.0)

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
    print(f"switch-over now: engine.SPARSE_DENSITY = {engine.SPARSE_DENSITY}")
    print(f"{'batch':>5}  {'density':>7}  {'dense ms':>8}  {'sparse ms':>9}  {'dense/sparse':>12}")
    for batch in (int(v) for v in args.batch.split(",")):
        for density in (float(v) for v in args.density.split(",")):
            dense = step_seconds(batch, density, False, args.seconds)
            sparse = step_seconds(batch, density, True, args.seconds)
            print(f"{batch:>5}  {density:>7.2f}  {dense * 1e3:>8.3f}  {sparse * 1e3:>9.3f}  "
                  f"{dense / sparse:>12.2f}")


if __name__ == "__main__":
    main()
