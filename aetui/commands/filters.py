"""`aetui filters CKPT`: what each hidden unit looks for, in the terminal or as a PNG.

Unit l's filter is Wₗ/‖Wₗ‖, the unit-norm input that excites it most. With
`--pca K` the data's first K principal components are drawn beside them, in
the same grid style, for comparison (PCA gives global blobs, not strokes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from aetui.commands.probe import add_data_options, load_data
from aetui.errors import ConfigError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "filters",
        help="draw a checkpoint's filters (and PCA components) in the terminal or as a PNG",
        description="Draw the filters Wₗ/‖Wₗ‖ of a checkpoint's first hidden units with "
        "half-block colour (or ASCII) in the terminal, or write them as a PNG grid. "
        "--pca K adds the data's first K principal components in the same style.",
    )
    p.add_argument("checkpoint", metavar="CKPT", nargs="?", default=None,
                   help="a checkpoint (.npz) from aetui (optional with --pca)")
    p.add_argument("--units", type=int, default=None, metavar="N",
                   help="how many units to draw, from unit 0 (default: 64 in the "
                        "terminal, 100 in a PNG; at most k)")
    p.add_argument("--pca", type=int, default=None, metavar="K",
                   help="also draw the first K principal components of the training images")
    p.add_argument("--png", metavar="FILE", default=None,
                   help="write a PNG instead of drawing in the terminal")
    p.add_argument("--map", dest="cmap", choices=("colour", "grey"), default=None,
                   help="colour map for signed weights, the same in the terminal and the "
                        "PNG: colour (blue −, orange +) or grey (dark −, light +), zero "
                        "mid-grey in both; default: colour in the terminal, grey in a PNG")
    p.add_argument("--ascii", action="store_true",
                   help="plain ASCII characters, no colour (also with NO_COLOR)")
    add_data_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    from aetui.engine.objective import normalized_filters
    from aetui.experiments.analysis import pca_components

    if args.checkpoint is None and args.pca is None:
        raise ConfigError("CKPT", "give a checkpoint, or --pca K for the data's components")
    for option, value in (("--units", args.units), ("--pca", args.pca)):
        if value is not None and value < 1:
            raise ConfigError(option, f"must be at least 1, got {value}")
    from aetui.config import Settings, dataset_defaults, is_patches
    from aetui.data import image_layout

    panels: list[tuple[str, np.ndarray]] = []
    settings = None
    if args.checkpoint is not None:
        from aetui.training.checkpoint import fit_inputs, load_checkpoint

        checkpoint = load_checkpoint(Path(args.checkpoint))
        # The filters are drawn as the run's images (28×28 digits, or its patches).
        # (Colour patches are drawn as their planes side by side: h × w is all of a row.)
        (h, w), _ = image_layout(checkpoint.settings)
        fit_inputs(checkpoint, h * w,
                   f"its {'patches' if is_patches(checkpoint.settings.dataset) else 'images'} "
                   f"({h}×{w}) have")
        settings = checkpoint.settings
        W = checkpoint.params.W
        count = min(args.units or (100 if args.png else 64), W.shape[1])
        panels.append((f"{Path(args.checkpoint).name}: units 0–{count - 1} of "
                       f"{W.shape[1]}", normalized_filters(W, range(count))))
    if args.pca is not None:
        data = load_data(args, settings)
        if args.pca > data.train_x.shape[1]:
            raise ConfigError("--pca", f"at most {data.train_x.shape[1]} components, "
                                       f"got {args.pca}")
        panels.append((f"PCA of {data.name}: components 1–{args.pca}",
                       pca_components(data.train_x, args.pca)))
    name = args.dataset or (settings.dataset if settings is not None else "mnist")
    layout_of = settings if settings is not None and is_patches(settings.dataset) else \
        Settings(**dataset_defaults(name)).replace(dataset=name)
    shape, channels = image_layout(layout_of)
    if is_patches(layout_of.dataset):
        _print_measures(panels, shape, channels)
    if args.png:
        from aetui.figures.png import save_panels

        cols = 10 if max(len(images) for _, images in panels) >= 40 else None
        # Patches are drawn about as large as a digit, so an orientation can be seen.
        saved = save_panels(args.png, panels, shape, cols=cols,
                            scale=max(2, round(56 / shape[0])), cmap=args.cmap or "grey")
        print(f"aetui: wrote {saved}", file=sys.stderr)
        return 0
    from rich.console import Console

    from aetui.render import ImageGrid, default_mode

    console = Console()
    mode = default_mode(ascii=args.ascii)
    for title, images in panels:
        console.print(ImageGrid(images, shape, mode=mode, title=title,
                                size=None if shape == (28, 28) else 2 * shape[1],
                                cmap=args.cmap or "colour"))
    return 0


def _print_measures(panels, shape, channels) -> None:
    """Edges versus gratings as numbers, one line per drawn set (README)."""
    from aetui.experiments.analysis import edge_measures

    for title, images in panels:
        m = edge_measures(images, shape, channels)
        print(f"aetui: {title}: locality {m['locality']:.3f}, orientation "
              f"{m['orientation']:.3f}", file=sys.stderr)
