"""How much like handwriting are the built-in digits? Learn on them, test on MNIST.

Three measurements, chance 10 % each:

1. pixels: a linear classifier (softmax regression, `aetui.experiments.analysis.fit_linear_probe`)
   fitted to the built-in digits' pixels, scored on the real MNIST test set;
2. code, classifier from built-in digits: a denoising autoencoder trained on the
   built-in digits only (784 → 200 tied, masking q = 0.25, SGD lr 0.1, batch 20,
   cross-entropy), a linear classifier fitted to its hidden code h(x) of the built-in
   digits, scored on h(x) of the MNIST test set: nothing of MNIST is seen before the test;
3. code probed on MNIST: the same autoencoder's code of MNIST, the probe fitted on the
   MNIST training set and scored on its test set (the lecture's pipeline, with features
   learned from the built-in digits instead of MNIST).

    python scripts/digits_vs_mnist.py [--data-dir ../shared/mnist] [--seed 0] [--epochs 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from aetui.config import Settings
from aetui.data import as_float, digits, load_dataset
from aetui.errors import AetuiError
from aetui.experiments.analysis import encode, fit_linear_probe
from aetui.training.trainer import Trainer

DEFAULT_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "mnist"
MODEL = {"hidden": 200, "noise": "mask", "q": 0.25, "lr": 0.1, "batch": 20, "loss": "ce"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None,
                        help=f"MNIST folder (default: {DEFAULT_MNIST} if it exists, else "
                             f"the usual look-up: $AETUI_DATA_DIR, the cache, a download)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the built-in digits and of the autoencoder")
    parser.add_argument("--epochs", type=int, default=5,
                        help="autoencoder epochs over the built-in digits (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="training threads")
    parser.add_argument("--l2", type=float, default=None,
                        help="probe penalty (default: the probe's own)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or (DEFAULT_MNIST if DEFAULT_MNIST.is_dir() else None)
    try:
        mnist = load_dataset("mnist", data_dir=data_dir, allow_fallback=False)
    except AetuiError as exc:
        print(f"digits_vs_mnist: error: {exc}", file=sys.stderr)
        return 2

    start = time.perf_counter()
    train_x, train_y, test_x, test_y = digits.builtin(args.seed)
    seconds = time.perf_counter() - start
    print(f"built-in digits: {len(train_x):,} train + {len(test_x):,} test generated in "
          f"{seconds:.2f} s (seed {args.seed})")

    kwargs = {} if args.l2 is None else {"l2": args.l2}
    probe = fit_linear_probe(as_float(train_x), train_y, **kwargs)
    print(f"1. pixels: a linear classifier fitted to the built-in digits: "
          f"{probe.accuracy(as_float(test_x), test_y):.1%} on their test set, "
          f"{probe.accuracy(as_float(mnist.test_x), mnist.test_y):.1%} on the MNIST test "
          f"set ({len(mnist.test_x):,} images; chance 10%)")

    settings = Settings(dataset="digits", seed=args.seed, **MODEL)
    start = time.perf_counter()
    trainer = Trainer(settings, train_x, test_x, threads=args.threads)
    trainer.run(max_epochs=args.epochs)
    params = trainer.weights()
    print(f"autoencoder on the built-in digits: 784 → {settings.hidden} tied, masking "
          f"q = {settings.q}, SGD lr {settings.lr}, batch {settings.batch}, {args.epochs} "
          f"epochs in {time.perf_counter() - start:.0f} s")
    code_probe = fit_linear_probe(encode(params, train_x), train_y, **kwargs)
    mnist_test_h = encode(params, mnist.test_x)
    print(f"2. code, classifier fitted to the built-in digits' h(x): "
          f"{code_probe.accuracy(encode(params, test_x), test_y):.1%} on their test set, "
          f"{code_probe.accuracy(mnist_test_h, mnist.test_y):.1%} on the MNIST test set")
    mnist_probe = fit_linear_probe(encode(params, mnist.train_x), mnist.train_y, **kwargs)
    print(f"3. code probed on MNIST (probe fitted on the {len(mnist.train_x):,} MNIST "
          f"training codes): {mnist_probe.accuracy(mnist_test_h, mnist.test_y):.1%} on the "
          f"MNIST test set")
    return 0


if __name__ == "__main__":
    sys.exit(main())
