"""`aetui probe CKPT`: how linearly separable are the digits in h(x)?

Fits a softmax-regression probe on the training split and scores it on the
test split, for the raw pixels, the checkpoint's hidden features h(x), and
PCA with as many components as hidden units.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from aetui.config import DATASETS, Settings, dataset_defaults, is_patches
from aetui.errors import ConfigError

PROBES = (("raw", "raw pixels"), ("pca", "PCA"), ("features", "autoencoder h(x)"))


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "probe",
        help="linear-probe accuracy of a checkpoint's features vs raw pixels and PCA",
        description="Fit a multinomial logistic regression (small L2 penalty) on the "
        "training split and report its test accuracy on the raw pixels, the checkpoint's "
        "hidden features h(x), and PCA with as many components as hidden units.",
    )
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint (.npz) from aetui")
    add_data_options(p)
    from aetui.commands.common import add_threads_option

    add_threads_option(p, "the three probes (run at once when there are cores)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of a table")
    return p


def add_data_options(p: argparse.ArgumentParser) -> None:
    """--dataset, --data-dir and --limit, defaulting to what the checkpoint used."""
    where = " (default: the checkpoint's)"
    group = p.add_argument_group("data")
    group.add_argument("--dataset", metavar="|".join((*DATASETS[:2], "patches[:PATH]")),
                       default=None,
                       help=f"mnist, the built-in digits, or natural-image patches{where}")
    group.add_argument("--data-dir", metavar="DIR", default=None,
                       help=f"folder with MNIST-format IDX files{where}")
    group.add_argument("--limit", type=int, default=None, metavar="N",
                       help="use only the first N training images (default: all)")


def run(args: argparse.Namespace) -> int:
    from aetui.commands.common import resolve_threads
    from aetui.experiments.analysis import probe_accuracies
    from aetui.training.checkpoint import fit_inputs, load_checkpoint

    threads = resolve_threads(args.threads)
    checkpoint = load_checkpoint(Path(args.checkpoint))
    if is_patches(args.dataset or checkpoint.settings.dataset):
        raise ConfigError("probe", "the linear probe needs labelled data (mnist or digits); "
                                   "natural-image patches have no labels")
    data = load_data(args, checkpoint.settings)
    train_x, train_y, test_x, test_y = data
    fit_inputs(checkpoint, train_x.shape[1])
    require_two_classes(train_y)
    k = int(checkpoint.params.W.shape[1])
    started = time.perf_counter()
    labels = {"raw": "raw pixels", "pca": f"PCA-{k}", "features": "autoencoder h(x)"}
    with StageProgress(enabled=not args.json) as progress:
        accuracy = probe_accuracies(
            checkpoint.params, train_x, train_y, test_x, test_y,
            progress=lambda name, fraction: progress.update(labels[name], fraction),
            workers=threads)
    seconds = time.perf_counter() - started
    result = {
        "checkpoint": str(args.checkpoint), "dataset": data.name, "hidden": k,
        "n_train": len(train_x), "n_test": len(test_x),
        "raw": accuracy["raw"], "pca": accuracy["pca"], "features": accuracy["features"],
        "seconds": round(seconds, 2),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"linear probe: {data.name}, {len(train_x):,} train / "
                        f"{len(test_x):,} test images")
    table.add_column("representation")
    table.add_column("dimensions", justify="right")
    table.add_column("test accuracy", justify="right")
    dims = {"raw": train_x.shape[1], "pca": k, "features": k}
    for key, name in PROBES:
        table.add_row(name, str(dims[key]), f"{100 * accuracy[key]:.2f}%")
    Console().print(table)
    print(f"aetui: probes took {seconds:.1f} s", file=sys.stderr)
    return 0


def require_two_classes(train_y) -> None:
    """A probe tells classes apart: with one class among the training images (a small
    --limit) there is nothing to fit, so say so before any work."""
    import numpy as np

    if len(np.unique(train_y)) < 2:
        raise ConfigError("--limit", f"the linear probe needs at least two classes among the "
                                     f"training images; these {len(train_y)} hold one (use a "
                                     f"larger --limit, or --no-probe where there is one)")


def load_data(args: argparse.Namespace, settings=None):
    """The dataset the options (else the checkpoint's settings) name; patches are made
    with the checkpoint's patch settings (else the patch defaults)."""
    from aetui.data import load_dataset_for

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit", f"must be at least 1, got {args.limit}")
    name = args.dataset or (settings.dataset if settings is not None else "mnist")
    data_dir = args.data_dir
    if data_dir is None and settings is not None and args.dataset is None:
        data_dir = settings.data_dir
    base = settings if settings is not None and is_patches(settings.dataset) else \
        Settings(**dataset_defaults(name))
    chosen = base.replace(dataset=name, data_dir=data_dir, limit=args.limit)
    data = load_dataset_for(chosen, progress=not getattr(args, "json", False))
    if data.note:
        print(f"aetui: {data.note}", file=sys.stderr)
    return data


class StageProgress:
    """A Rich progress bar on stderr with one line per stage (probe, PCA, …).

    `update(stage, fraction)` may be called from any thread; disabled, it does
    nothing (JSON output stays clean).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> StageProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.percentage:>3.0f}%"),
                                      TimeElapsedColumn(), console=Console(stderr=True))
            self._progress.start()
        return self

    def update(self, stage: str, fraction: float) -> None:
        if self._progress is None:
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._progress.add_task(stage, total=1.0)
        self._progress.update(self._tasks[stage], completed=fraction)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
