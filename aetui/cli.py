"""The command line: `aetui` opens the lab; subcommands run headless.

Imports stay light here (no numba, no Textual) so that `--help` is instant;
each subcommand imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from aetui import __version__
from aetui.errors import AetuiError

# Subcommand name -> module in aetui.commands (each: add_parser, run).
SUBCOMMANDS = ("train", "probe", "compare", "filters", "bench", "string", "export", "tour")


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line naming the option, and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # One prefix for every error, whichever subcommand parsed it, and the option
        # first as in ConfigError: "aetui: error: --epochs: invalid int value: 'x'".
        if message.startswith("argument "):
            message = message[len("argument "):]
        message = message.replace("\n", " ")
        self.exit(2, f"aetui: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from aetui.commands import common, lab

    parser = _Parser(
        prog="aetui",
        description="A terminal lab for watching autoencoders learn on MNIST. "
        "With no subcommand, opens the live lab and starts training.",
    )
    parser.add_argument("--version", action="version", version=f"aetui {__version__}")
    common.add_settings_options(parser)
    lab.add_lab_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"aetui.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            from aetui.commands import lab

            return lab.run(args)
        module = importlib.import_module(f"aetui.commands.{args.command}")
        return module.run(args)
    except AetuiError as exc:
        print(f"aetui: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # Before any work could be saved (a run in progress saves and returns itself).
        print("aetui: interrupted", file=sys.stderr)
        return 128 + getattr(exc, "signum", 2)
