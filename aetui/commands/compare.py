"""`aetui compare --q 0,0.25,0.5`: vanilla vs denoising autoencoders, all else equal.

Trains one model per level of the compared noise setting (q for mask and
saltpepper noise, --sigma for gaussian), with the same seed, data and every
other setting, then reports for each: final train and held-out reconstruction
loss, linear-probe accuracy on h(x), mean ρ̂ and filter smoothness; the raw
pixels and PCA are probed once as baselines.
"""

from __future__ import annotations

import argparse
import json
import sys

from aetui.commands import common
from aetui.commands.probe import StageProgress, require_two_classes
from aetui.errors import ConfigError

DEFAULT_LEVELS = {"q": "0,0.25,0.5", "sigma": "0,0.5,1"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "compare",
        help="train one model per noise level (all else equal) and compare them",
        description="Train one model per value of the noise level -- --q for mask and "
        "saltpepper noise, --sigma for gaussian, given as a comma-separated list (default "
        "0,0.25,0.5 and 0,0.5,1) -- with the same seed, data and other settings, then "
        "report train/held-out reconstruction loss, linear-probe accuracy, mean ρ̂ and "
        "filter smoothness for each. The lecture's figure: --hidden 500 --epochs 15.",
    )
    common.add_settings_options(p)
    run_group = p.add_argument_group("comparison")
    run_group.add_argument("--epochs", type=int, default=None, metavar="N",
                           help="passes over the training images for every model (default: "
                                "1, on patches 30)")
    common.add_threads_option(run_group, "the comparison (models train at once, one "
                              "thread each)")
    run_group.add_argument("--json", action="store_true",
                           help="print one JSON object on stdout instead of a table")
    run_group.add_argument("--png", metavar="FILE", default=None,
                           help="also write the models' filter grids side by side, "
                                "labelled, as a PNG")
    run_group.add_argument("--units", type=int, default=100, metavar="N",
                           help="filters per model in the PNG (default: 100)")
    run_group.add_argument("--no-probe", dest="probe", action="store_false",
                           help="skip the linear probes (faster)")
    return p


def split_levels(args: argparse.Namespace) -> tuple[str, tuple[float, ...]]:
    """Take the compared field's comma-separated levels out of `args`.

    The noise type comes from --noise (or --load / --config, else mask); the
    field it compares may hold a list, which Settings cannot, so it is removed
    from the namespace before the settings are built. Returns (field, levels).
    """
    from aetui.experiments.experiments import level_field, parse_levels

    noise = getattr(args, "noise", None)
    if noise is None:
        settings, _ = common.settings_from_args(_without(args, ("q", "sigma")))
        noise = settings.noise
    field = level_field("mask" if noise == "none" else noise)
    text = getattr(args, field, None) or DEFAULT_LEVELS[field]
    if field in vars(args):
        delattr(args, field)
    return field, parse_levels(text, f"--{field}")


def _without(args: argparse.Namespace, names: tuple[str, ...]) -> argparse.Namespace:
    return argparse.Namespace(**{k: v for k, v in vars(args).items() if k not in names})


def run(args: argparse.Namespace) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise ConfigError("--epochs", f"must be at least 1, got {args.epochs}")
    if args.units < 1:
        raise ConfigError("--units", f"must be at least 1, got {args.units}")
    swept = any(getattr(args, name, None) is not None for name in ("q", "sigma"))
    field, levels = split_levels(args)
    settings, _ = common.settings_from_args(args)
    if args.epochs is None:
        from aetui.config import default_epochs

        args.epochs = default_epochs(settings.dataset)
    args.threads = common.resolve_threads(args.threads)
    if settings.noise == "none":
        settings = settings.replace(noise="mask")
    for level in levels:  # a bad level is an error before any data is loaded
        settings.replace(**{field: level})

    from aetui.config import is_patches
    from aetui.data import image_layout, load_dataset_for
    from aetui.experiments.experiments import NoiseComparison, patch_variants

    data = load_dataset_for(settings, progress=not args.json)
    if data.note:
        print(f"aetui: {data.note}", file=sys.stderr)
    patches = is_patches(settings.dataset)
    shape, channels = image_layout(settings)
    # Patches with no level list: the lecture's figure, DAE vs weight decay (and PCA).
    variants = patch_variants(settings, data.train_x) if (
        patches and not swept and settings.noise == "gaussian") else None
    if variants:
        levels = tuple(float(v.sigma) if v.noise == "gaussian" else 0.0 for _, v in variants)
    if patches and args.probe:
        print("aetui: no linear probe on natural-image patches: they have no labels",
              file=sys.stderr)
    elif args.probe:
        require_two_classes(data.train_y)

    # The models (and the raw-pixel and PCA probes) train at once, sharing the cores.
    workers = min(len(levels) + 1, args.threads)
    with StageProgress(enabled=not args.json) as progress:
        per_epoch = -(-len(data.train_x) // settings.batch)

        def on_snapshot(index: int, snap) -> None:
            label = comparison_labels[index]
            progress.update(f"{label}: training",
                            min(snap.step / (per_epoch * args.epochs), 1.0))

        comparison = NoiseComparison(
            settings, tuple(data), levels, epochs=args.epochs,
            probe=args.probe and data.labelled, filter_count=args.units,
            on_progress=progress.update, on_snapshot=None if args.json else on_snapshot,
            image_shape=shape, channels=channels, edge_measures=patches, variants=variants,
            workers=workers, model_threads=max(1, args.threads // workers))
        comparison_labels = comparison.labels
        result, interrupted = common.run_interruptibly(comparison.run, comparison.stop,
                                                       "aetui-compare")

    if args.png and result.runs:
        from aetui.figures.png import save_panels

        panels = [(_titled(r.label, r.locality, r.orientation), r.filters)
                  for r in result.runs]
        if result.pca_filters is not None:
            m = result.pca_measures
            panels.insert(0, (_titled("PCA", m["locality"], m["orientation"]),
                              result.pca_filters))
        saved = save_panels(args.png, panels, shape, cols=10 if args.units >= 40 else None,
                            scale=max(2, round(56 / shape[0])))
        print(f"aetui: wrote {saved}", file=sys.stderr)
    if args.json:
        record = result.to_json()
        record.update(dataset=data.name, n_train=len(data.train_x), n_test=len(data.test_x),
                      settings=settings.to_dict(), levels=list(levels))
        record["settings"].pop(field, None)
        print(json.dumps(record))
    else:
        print_table(result, data, settings, field)
    if interrupted:
        print(f"aetui: interrupted after {len(result.runs)} of {len(levels)} models",
              file=sys.stderr)
        return 128 + interrupted
    return 0


def _titled(label: str, locality: float | None, orientation: float | None) -> str:
    """A panel's title with its edge measures (patches), as in the lab's compare screen."""
    if locality is None or orientation is None:
        return label
    return f"{label} · local {locality:.2f} · orient {orientation:.2f}"


def print_table(result, data, settings, field: str) -> None:
    """The comparison as a Rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    fixed = (f"{data.name}, {len(data.train_x):,} images, {data.train_x.shape[1]} → "
             f"{settings.hidden} "
             f"{'tied' if settings.tied else 'untied'}, {settings.loss}, {result.noise} noise, "
             f"batch {settings.batch}, lr {settings.lr:g}, seed {settings.seed}")
    table = Table(title=f"noise comparison: {fixed}", caption=(
        "train / held-out: reconstruction loss per example, summed over pixels (train: "
        "last epoch, corrupted inputs; held-out: clean test images) · probe: linear-probe "
        "test accuracy · ρ̂: mean hidden activation on the test images · smooth: filter "
        "smoothness (0 = pixel noise, 1 = smooth)" + (
            " · local: share of a filter's energy within 2 px of its peak · orient: "
            "concentration of its power spectrum around one orientation (both 0..1, "
            "means over the filters)" if result.pca_measures is not None else "")))
    edges = result.pca_measures is not None
    probed = any(r.probe is not None for r in result.runs) or bool(result.baselines)
    columns = [("model", "left"), ("epochs", "right"), ("train", "right"),
               ("held-out", "right")]
    columns += [("probe", "right")] if probed else []
    columns += [("ρ̂", "right"), ("smooth", "right")]
    columns += [("local", "right"), ("orient", "right")] if edges else []
    for name, justify in [*columns, ("time", "right")]:
        table.add_column(name, justify=justify, no_wrap=True)
    for r in result.runs:
        probe = ["-" if r.probe is None else f"{100 * r.probe:.2f}%"] if probed else []
        measures = [f"{r.locality:.3f}", f"{r.orientation:.3f}"] if edges else []
        table.add_row(r.label, str(r.epochs), f"{r.train_loss:.2f}", f"{r.val_loss:.2f}",
                      *probe, f"{r.rho_hat_mean:.3f}", f"{r.smoothness:.3f}", *measures,
                      f"{r.seconds:.0f} s")
    if edges:
        m = result.pca_measures
        table.add_row("PCA", *[""] * (len(columns) - 3), f"{m['locality']:.3f}",
                      f"{m['orientation']:.3f}", "")
        if result.noise_measures is not None:  # the no-structure baseline, this patch size
            m = result.noise_measures
            table.add_row("white noise", *[""] * (len(columns) - 3), f"{m['locality']:.3f}",
                          f"{m['orientation']:.3f}", "")
    names = {"raw": "raw pixels", "pca": f"PCA-{settings.hidden}"}
    for key, acc in result.baselines.items():
        table.add_row(names.get(key, key), "", "", "", f"{100 * acc:.2f}%",
                      *[""] * (len(columns) - 4))
    Console().print(table)
