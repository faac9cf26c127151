"""`aetui` with no subcommand: the live lab."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path


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
    group.add_argument("--history-mb", type=str, default="200", metavar="MB",
                       help="memory for the run's history (scrub with < >; default 200)")


def run(args: argparse.Namespace) -> int:
    from aetui.commands import common
    from aetui.paths import ensure_numba_cache_dir

    settings, load_path = common.settings_from_args(args)
    history_mb = _history_mb(getattr(args, "history_mb", "200"))
    if not sys.stdout.isatty() and not os.environ.get("AETUI_FORCE_TUI"):
        print("aetui: error: the lab needs a terminal (use `aetui train` for scripts)",
              file=sys.stderr)
        return 2
    ensure_numba_cache_dir()
    # Textual reads its frame-rate cap once, at import: set it first. The lab
    # never needs more than ~15 frames a second (5 on a slow link).
    os.environ.setdefault("TEXTUAL_FPS", "5" if args.slow_link else "15")

    from aetui.tui.app import LabApp, LabOptions

    options = LabOptions(ascii=args.ascii, slow_link=args.slow_link,
                         save_path=Path(args.save) if args.save else None,
                         save_on_quit=args.save_on_quit, history_mb=history_mb)
    app = LabApp(settings, checkpoint_path=load_path, options=options)
    saved = app.run()
    # After a hang-up the terminal is gone: the checkpoint is saved, the words may not land.
    with contextlib.suppress(OSError):
        if app.failure is not None:
            print(f"aetui: error: {app.failure}", file=sys.stderr)
        if saved:
            print(f"aetui: saved {saved}")
        elif options.save_on_quit and app.failure is None and app.return_code == 0:
            print("aetui: nothing was saved (training had not started)", file=sys.stderr)
    return 1 if app.failure is not None else (app.return_code or 0)


def _history_mb(text: str) -> float:
    """--history-mb as a positive number of megabytes (ConfigError otherwise)."""
    from aetui.errors import ConfigError

    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ConfigError("--history-mb", f"must be a number of megabytes, got {text!r}") \
            from None
    if not value > 0 or value == float("inf"):
        raise ConfigError("--history-mb", f"must be a positive number, got {text}")
    return value
