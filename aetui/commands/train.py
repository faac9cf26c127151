"""`aetui train`: headless training (placeholder run until the trainer lands)."""

import argparse

from aetui.commands import common


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("train", help="train headless, with a progress bar or JSON lines",
                              description="Train headless, with a Rich progress bar or JSON lines.")
    common.add_settings_options(p)
    run_group = p.add_argument_group("run")
    run_group.add_argument("--epochs", type=int, default=None, metavar="N",
                           help="passes over the training images (default: 1 unless --steps)")
    run_group.add_argument("--steps", type=int, default=None, metavar="N",
                           help="stop after N minibatch updates; --steps 0 saves the initial "
                                "weights")
    run_group.add_argument("--out", metavar="PATH", default=None,
                           help="write the final checkpoint (.npz) here")
    run_group.add_argument("--json", action="store_true",
                           help="print one JSON object per epoch on stdout instead of a "
                                "progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    settings, _load = common.settings_from_args(args)
    print(settings)
    return 0
