"""`aetui` with no subcommand: the live lab."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from aetui.commands import string


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("lab display")
    group.add_argument("--ascii", action="store_true",
                       help="draw images with plain ASCII characters, no colour")
    group.add_argument("--slow-link", action="store_true",
                       help="fewer frames and colours, for slow SSH links (≤ 15 KB/s)")
    group.add_argument("--graphics", choices=("auto", "pixels", "blocks", "ascii"),
                       default="auto",
                       help="how pictures are drawn: pixels (kitty graphics or sixel), "
                            "half-blocks or ASCII; auto asks the terminal (default; "
                            "blocks with --slow-link)")
    group.add_argument("--save", metavar="CKPT", default=None,
                       help="where to save the checkpoint on quit (default: a new file "
                            "under ~/.local/share/aetui/checkpoints)")
    group.add_argument("--no-save-on-quit", dest="save_on_quit", action="store_false",
                       help="do not save a checkpoint when quitting")
    string.add_lab_option(group)
    group.add_argument("--history-mb", type=str, default="200", metavar="MB",
                       help="memory for the run's history (scrub with < >; default 200)")
    from aetui.commands import common

    common.add_threads_option(group, "the lab (its trainer takes all but one)")


def run(args: argparse.Namespace) -> int:
    from aetui.commands import common
    from aetui.paths import ensure_numba_cache_dir

    record = None
    if getattr(args, "lab", None):
        settings, record = string.replay_settings(args)
        load_path = None
    else:
        settings, load_path = common.settings_from_args(args)
    trainer_threads = lab_trainer_threads(args.threads)
    from aetui.files import save_destination

    # Checked before the lab opens: a destination that cannot be written would only
    # be noticed at quit, with the run in hand.
    save_path = save_destination(args.save, "lab", "--save") if args.save else None
    history_mb = _history_mb(getattr(args, "history_mb", "200"))
    if not sys.stdout.isatty() and not os.environ.get("AETUI_FORCE_TUI"):
        print("aetui: error: the lab needs a terminal (use `aetui train` for scripts)",
              file=sys.stderr)
        return 2
    from aetui.terminal import lab_problem

    problem = lab_problem()
    if problem:
        print(f"aetui: error: {problem}", file=sys.stderr)
        return 2
    ensure_numba_cache_dir()
    # Textual reads its frame-rate cap once, at import: set it first. The lab
    # never needs more than ~15 frames a second (5 on a slow link).
    os.environ.setdefault("TEXTUAL_FPS", "5" if args.slow_link else "15")

    from aetui.render.graphics import resolve

    # Before Textual starts: detection asks the terminal and reads its answer.
    graphics, protocol = resolve(args.graphics, slow_link=args.slow_link, ascii=args.ascii)

    from aetui.tui.options import LabOptions

    options = LabOptions(ascii=args.ascii, slow_link=args.slow_link, graphics=graphics,
                         pixel_protocol=protocol, save_path=save_path,
                         save_on_quit=args.save_on_quit, end_after_hangup=True,
                         history_mb=history_mb)
    app = build_lab_app(settings, checkpoint_path=load_path, options=options, record=record,
                        trainer_threads=trainer_threads)
    app.lab.tour_at_start = bool(getattr(args, "tour", False))  # `aetui tour`
    saved = app.run()
    if app.exit_watchdog is not None:
        app.exit_watchdog.cancel()  # Textual's shutdown finished: no need to force it
    # After a hang-up the terminal is gone: the checkpoint is saved, the words may not land.
    with contextlib.suppress(OSError):
        if app.lab.run.failure is not None:
            print(f"aetui: error: {app.lab.run.failure}", file=sys.stderr)
        if saved:
            print(f"aetui: saved {saved}")
        elif options.save_on_quit and app.lab.run.failure is None and app.return_code == 0:
            print("aetui: nothing was saved (training had not started)", file=sys.stderr)
    return 1 if app.lab.run.failure is not None else (app.return_code or 0)


def lab_trainer_threads(value) -> int:
    """The lab's trainer threads: all that --threads / $AETUI_THREADS / the CPUs give but
    one, which is left to the interface (README, "Threads"); at least one."""
    from aetui.commands import common

    return max(1, common.resolve_threads(value) - 1)


def build_lab_app(settings, *, checkpoint_path=None, options=None, record=None,
                  trainer_threads: int = 1):
    """The LabApp, with trainers that know their data's name (for lab strings) and, for
    `--lab STRING`, replay `record`: each logged change at its step, pausing at the
    string's last step, after one line if the replay may not be exact."""
    from aetui.training.run import default_load_data, default_trainer_factory
    from aetui.tui.app import LabApp

    seen: dict = {}
    replay = [record] if record is not None else []

    def load_data(s):
        seen["dataset"] = default_load_data(s)
        return seen["dataset"]

    def trainer_factory(*args, **kwargs):
        trainer = default_trainer_factory(*args, threads=trainer_threads, **kwargs)
        if "dataset" in seen:
            trainer.data_name = seen["dataset"].name
        if replay:  # the first trainer only: a loaded checkpoint is not replayed
            rec = replay.pop()
            trainer.schedule(rec.changes, pause_at=rec.step, split=rec.split,
                             stream=rec.stream, reference=rec.reference)
            note = string.exactness_line(rec, trainer.data_hash)
            if note:
                app.call_from_thread(app.notify, note, title="replay", severity="warning",
                                     timeout=15)
        # A fresh run trains in numpy while the kernels compile (README, "Start-up").
        trainer.start_on_reference()
        return trainer

    app = LabApp(settings, checkpoint_path=checkpoint_path, options=options,
                 trainer_factory=trainer_factory, load_data=load_data)
    return app


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
