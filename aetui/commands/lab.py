"""`aetui` with no subcommand: the live lab (placeholder until the TUI issue lands)."""

import argparse


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("lab display")
    group.add_argument("--ascii", action="store_true",
                       help="draw images with plain ASCII characters, no colour")
    group.add_argument("--slow-link", action="store_true",
                       help="fewer frames and colours, for slow SSH links (≤ 15 KB/s)")
    group.add_argument("--save", metavar="CKPT", default=None,
                       help="where to save the checkpoint on quit (default: a new file "
                            "under ~/.local/share/aetui/checkpoints)")
    group.add_argument("--no-save-on-quit", dest="save_on_quit", action="store_false",
                       help="do not save a checkpoint when quitting")


def run(args: argparse.Namespace) -> int:
    raise SystemExit("aetui: the lab is not built yet")
