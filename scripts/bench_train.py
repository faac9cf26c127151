#!/usr/bin/env python
"""How fast the engine trains, against a plain-numpy implementation of the same workload.

784 → 500, tied, masking q = 0.3, cross-entropy, SGD lr 0.1, float32, the loss
computed every batch, all 60,000 MNIST training images, at batch 20 and 128:
samples/s of both, their ratio, and this machine's sgemm GFLOP/s with the
samples/s it would give at 100 % (≈ 3.9 MFLOP per sample). The same code as
`aetui bench` (aetui/experiments/bench.py); the options are the same too:

    python scripts/bench_train.py                      # MNIST from ../shared/mnist if there
    python scripts/bench_train.py --batch 20,128 --seconds 3 --repeats 3 --threads 1
    python scripts/bench_train.py --json > bench.json
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aetui.cli import main  # noqa: E402

SHARED_MNIST = REPO.parent / "shared" / "mnist"

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--data-dir" not in argv and (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        argv = ["--data-dir", str(SHARED_MNIST), *argv]
    sys.exit(main(["bench", *argv]))
