"""`aetui bench`: samples/s of the training engine against plain numpy, same workload.

The measuring lives in `aetui.experiments.bench` (scripts/bench_train.py runs the same
code); this module parses options, loads MNIST and holds the BLAS libraries
to a thread count while it measures.

The first section measures what a user gets: `aetui train` on its threads (its steps
split over numba's threads) against numpy and PyTorch at their library defaults.
The single-thread section holds the BLAS libraries to a count: numpy and scipy
(whose BLAS numba's np.dot calls) each bundle an OpenBLAS with its own thread
pool, and on a machine busy with other work a pool's threads wait for each other
at every product. Both implementations get the same count, printed in the report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from aetui.config import MAX_BATCH
from aetui.errors import ConfigError

DEFAULT_BATCHES = "20,128"
DEFAULT_SECONDS = 3.0
DEFAULT_REPEATS = 3
DEFAULT_THREADS = 1
MAX_SECONDS = 600.0  # per implementation per round
MAX_REPEATS = 100


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bench",
        help="samples/s of the training engine vs a plain-numpy implementation",
        description="Train 784 → 500 (tied, masking q = 0.3, cross-entropy, SGD lr 0.1, "
        "float32, loss every batch) on the 60,000 MNIST training images with the engine "
        "and with a plain-numpy implementation of the same workload, in turns, and print "
        "samples/s of both, their ratio, and the machine's measured sgemm GFLOP/s with "
        "the samples/s that rate would give (≈ 3.9 MFLOP per sample).",
    )
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder with the MNIST IDX files (default: found or downloaded as "
                        "for training)")
    p.add_argument("--dataset", choices=("mnist", "digits"), default="mnist",
                   help="mnist (default; when it cannot be found or downloaded, the built-in "
                        "digits are used instead and the report says so) or digits")
    p.add_argument("--batch", default=DEFAULT_BATCHES, metavar="B[,B…]",
                   help=f"batch sizes to measure, comma-separated (default {DEFAULT_BATCHES})")
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, metavar="S",
                   help=f"seconds per implementation per round (default {DEFAULT_SECONDS:g})")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, metavar="N",
                   help=f"rounds; the median is reported (default {DEFAULT_REPEATS})")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS, metavar="N",
                   help="BLAS threads for both implementations while measuring "
                        f"(default {DEFAULT_THREADS}; 0 leaves numpy's as it is, while the "
                        "engine runs on one, as the trainer always does)")
    p.add_argument("--train-threads", default=None, metavar="N[,N…]",
                   help="thread counts to measure `aetui train` at, comma-separated; the "
                        "first is compared with numpy and PyTorch (default: --threads' "
                        "default for train: $AETUI_THREADS, else every CPU)")
    p.add_argument("--json", action="store_true",
                   help="print the report as one JSON object on stdout")
    return p


def parse_batches(text: str) -> list[int]:
    """'20,128' -> [20, 128]; ConfigError naming --batch otherwise."""
    try:
        batches = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise ConfigError("--batch", f"expected comma-separated integers, got {text!r}") from None
    if not batches or any(not 1 <= b <= MAX_BATCH for b in batches):
        raise ConfigError("--batch", f"expected batch sizes from 1 to {MAX_BATCH}, got "
                                     f"{text!r}")
    return batches


def run(args: argparse.Namespace) -> int:
    batches = parse_batches(args.batch)
    if not 0 < args.seconds <= MAX_SECONDS:  # also refuses nan and inf
        raise ConfigError("--seconds", f"must be in (0, {MAX_SECONDS:g}], got {args.seconds:g}")
    if not 1 <= args.repeats <= MAX_REPEATS:
        raise ConfigError("--repeats", f"must be from 1 to {MAX_REPEATS}, got {args.repeats}")
    cores = os.cpu_count() or 1
    if not 0 <= args.threads <= cores:
        raise ConfigError("--threads", f"must be from 0 to {cores} (this machine's cores), "
                                       f"got {args.threads}")

    from aetui.commands.common import resolve_threads

    if args.train_threads is None:
        thread_counts = [resolve_threads(None)]
    else:
        thread_counts = [resolve_threads(part) for part in str(args.train_threads).split(",")
                         if part.strip()] or [resolve_threads(None)]

    from aetui.data import load_dataset
    from aetui.engine import engine
    from aetui.engine.blas import all_blas_threads
    from aetui.experiments import bench, bench_defaults

    data = load_dataset(args.dataset, data_dir=args.data_dir, progress=not args.json)
    if data.note:
        print(f"aetui: {data.note}", file=sys.stderr)
    say = (lambda _msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
    defaults = bench_defaults.run_defaults_benchmark(
        data.train_x, data.test_x, batches=batches, thread_counts=thread_counts,
        seconds=args.seconds, repeats=args.repeats, progress=say)
    blas_at_defaults = bench.blas_info()
    with all_blas_threads(args.threads) as pinned:
        report = bench.run_benchmark(data.train_x, data.test_x, batches=batches,
                                     seconds=args.seconds, repeats=args.repeats,
                                     progress=say)
    report["blas_threads"] = pinned
    report["defaults"] = defaults
    report["blas_at_defaults"] = blas_at_defaults
    report["threading_layer"] = engine.threading_layer()
    report["dataset"] = {"name": data.name, "source": data.source, "note": data.note}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"dataset: {data.name} ({data.source}, {len(data.train_x):,} training images)"
              + ("" if data.name == "mnist" else " — not MNIST: numbers are not comparable "
                 "with the issue's table"))
        print(f"cores: {report['cpus']}; numba threading layer: {report['threading_layer']}")
        print(bench_defaults.format_defaults(defaults))
        for entry in blas_at_defaults:
            print(f"BLAS at the defaults: {os.path.basename(entry.get('filepath', '?'))}: "
                  f"{entry.get('num_threads', '?')} threads ({entry.get('version', '')})")
        print()
        print("single thread: the engine's kernels against numpy, both on the BLAS threads "
              "below")
        print(bench.format_report(report))
        threads = ("left as they were" if pinned is None
                   else f"{pinned} per BLAS library, both implementations (--threads)")
        print(f"BLAS threads while measuring: {threads}")
    return 0
