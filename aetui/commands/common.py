"""Options shared by the lab and `aetui train`, and how they become Settings."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from pathlib import Path

from aetui.config import (
    Settings,
    dataset_defaults,
    field_choices,
    field_help,
    field_names,
    load_toml,
    option_name,
)
from aetui.errors import ConfigError

# Boolean fields get a --name/--no-name pair; tied is spelled --tied/--untied.
_BOOL_NEGATIONS = {"tied": "--untied"}


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """Add one option per Settings field, plus --load and --config.

    Defaults are SUPPRESSed so that only what the user typed reaches the
    namespace: that is what lets the command line override --load and --config.
    """
    group = parser.add_argument_group("model, data and training settings")
    defaults = Settings()
    for name in field_names():
        option = option_name(name)
        default = getattr(defaults, name)
        help_text = f"{field_help(name)} (default: {default})"
        if isinstance(default, bool):
            group.add_argument(option, dest=name, action="store_const", const=True,
                               default=argparse.SUPPRESS, help=help_text)
            group.add_argument(_BOOL_NEGATIONS.get(name, f"--no-{name.replace('_', '-')}"),
                               dest=name,
                               action="store_const", const=False, default=argparse.SUPPRESS,
                               help=f"the opposite of {option}")
            continue
        group.add_argument(option, dest=name, metavar=_metavar(name), type=str,
                           choices=field_choices(name), default=argparse.SUPPRESS,
                           help=help_text)
    group.add_argument("--load", metavar="CKPT", default=None,
                       help="start from a checkpoint (.npz); options given here override "
                            "its settings")
    group.add_argument("--config", metavar="FILE.toml", default=None,
                       help="read settings from a TOML file (same names as the options); "
                            "options given here override it")


def _metavar(name: str) -> str:
    choices = field_choices(name)
    if choices:
        return "|".join(choices)
    return {"data_dir": "DIR", "limit": "N", "hidden": "K", "batch": "M",
            "dataset": "mnist|digits|patches[:PATH]", "patch_size": "PX",
            "patch_count": "N", "whiten_eps": "EPS"}.get(name, name.upper())


def settings_from_args(args: argparse.Namespace) -> tuple[Settings, Path | None]:
    """Settings from defaults < --config < --load checkpoint < command line.

    Returns the settings and the checkpoint path (or None). Raises ConfigError /
    CheckpointError with a one-line message naming the problem.
    """
    merged: dict = {}
    if getattr(args, "config", None):
        merged.update({k.replace("-", "_"): v for k, v in load_toml(args.config).items()})
    load_path = None
    if getattr(args, "load", None):
        load_path = Path(args.load)
        if not load_path.is_file():
            raise ConfigError("--load", f"no such file: {load_path}")
        from aetui.core.checkpoint import read_settings

        merged.update(read_settings(load_path).to_dict())
    for name in field_names():
        if name in vars(args):
            merged[name] = getattr(args, name)
    # A dataset's own defaults (patches: linear decoder, …) sit just above Settings'.
    merged = {**dataset_defaults(merged.get("dataset", Settings().dataset)), **merged}
    return Settings.from_dict(merged, source="--config"), load_path


def run_interruptibly(work: Callable[[], object], stop: Callable[[], None],
                      name: str) -> tuple[object, bool]:
    """Run `work` on a thread so that Ctrl+C reaches the main thread at once (not after
    a nogil kernel returns); on Ctrl+C call `stop` and wait for `work` to finish.

    Returns (what `work` returned, interrupted?); an exception in `work` is re-raised.
    """
    box: dict = {}

    def target() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # re-raised on the main thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    interrupted = False
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        interrupted = True
        stop()
        worker.join()
    if "error" in box:
        raise box["error"]
    return box.get("result"), interrupted
