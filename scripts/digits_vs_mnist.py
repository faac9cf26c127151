"""How much like handwriting are the built-in digits? Train on them, test on MNIST.

A linear classifier (softmax regression, `aetui.experiments.analysis.fit_linear_probe`)
is fitted to the built-in digits' training set and scored on the real MNIST
test set; chance is 10 %. For comparison it also prints the accuracy on the
built-in test set and the time the digits took to generate.

    python scripts/digits_vs_mnist.py [--data-dir ../shared/mnist] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from aetui.data import as_float, digits, load_dataset
from aetui.errors import AetuiError
from aetui.experiments.analysis import fit_linear_probe

DEFAULT_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "mnist"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None,
                        help=f"MNIST folder (default: {DEFAULT_MNIST} if it exists, else "
                             f"the usual look-up: $AETUI_DATA_DIR, the cache, a download)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the built-in digits")
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

    kwargs = {} if args.l2 is None else {"l2": args.l2}
    probe = fit_linear_probe(as_float(train_x), train_y, **kwargs)
    on_digits = probe.accuracy(as_float(test_x), test_y)
    on_mnist = probe.accuracy(as_float(mnist.test_x), mnist.test_y)
    print(f"built-in digits: {len(train_x):,} train + {len(test_x):,} test generated in "
          f"{seconds:.2f} s (seed {args.seed})")
    print(f"linear classifier trained on the built-in digits: {on_digits:.1%} on their test "
          f"set, {on_mnist:.1%} on the MNIST test set ({len(mnist.test_x):,} images; "
          f"chance 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
