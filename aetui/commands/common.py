"""Options shared by the lab and `aetui train`, and how they become Settings."""

from __future__ import annotations

import argparse
import signal
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
        from aetui.training.checkpoint import read_settings

        merged.update(read_settings(load_path).to_dict())
    for name in field_names():
        if name in vars(args):
            merged[name] = getattr(args, name)
    # A dataset's own defaults (patches: linear decoder, …) sit just above Settings'.
    merged = {**dataset_defaults(merged.get("dataset", Settings().dataset), merged), **merged}
    return Settings.from_dict(merged, source="--config"), load_path


class Terminated(KeyboardInterrupt):
    """Ctrl+C, SIGTERM or SIGHUP reached a headless run; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class EndingSignals:
    """Ctrl+C, a job scheduler's SIGTERM and a dropped session's SIGHUP end a headless
    run the same way: the first raises Terminated in the main thread (the run stops and
    saves); from `hold()` on, or after the first, signals are only remembered, so none
    can tear the save. `exit_code()`: 128 + the first signal's number, or None."""

    def __init__(self) -> None:
        self.first: int | None = None
        self._held = False
        self._previous: dict = {}

    def __enter__(self) -> EndingSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in ENDING_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            # After a TERM or HUP the process is on its way out: a repeat of it must not
            # kill it between the save and the exit code, so that handler stays.
            if self.first is None or signum == signal.SIGINT:
                signal.signal(signum, handler)

    def _handle(self, signum: int, _frame) -> None:
        if self.first is None:
            self.first = signum
            if not self._held:
                raise Terminated(signum)

    def hold(self) -> None:
        self._held = True

    def exit_code(self) -> int | None:
        return None if self.first is None else 128 + self.first


def run_interruptibly(work: Callable[[], object], stop: Callable[[], None],
                      name: str, signals: EndingSignals | None = None) -> tuple[object, int]:
    """Run `work` on a thread so that Ctrl+C (or SIGTERM/SIGHUP inside an EndingSignals
    block) reaches the main thread at once (not after a nogil kernel returns); then call
    `stop` and wait for `work` to finish. With `signals`, later signals are held from the
    moment `work` ends, so the caller's save cannot be torn.

    Returns (what `work` returned, the signal number that interrupted it or 0); an
    exception in `work` is re-raised.
    """
    box: dict = {}

    def target() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # re-raised on the main thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=name, daemon=True)
    interrupted = 0
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt as exc:
        interrupted = getattr(exc, "signum", signal.SIGINT)
        stop()
        worker.join()
    finally:
        if signals is not None:
            signals.hold()
    if "error" in box:
        raise box["error"]
    return box.get("result"), int(interrupted)


THREADS_ENV = "AETUI_THREADS"


def add_threads_option(group, what: str) -> None:
    """--threads N: the threads `what` runs on (README, "Threads")."""
    group.add_argument("--threads", metavar="N", default=None,
                       help=f"threads for {what} (default: ${THREADS_ENV}, else every "
                            "CPU this process may use)")


def resolve_threads(value: str | int | None) -> int:
    """--threads, else $AETUI_THREADS, else every available CPU; a whole number ≥ 1
    (more than the CPUs available is allowed, and clamped by the engine)."""
    import os

    from aetui.config import INT_TEXT, MAX_THREADS
    from aetui.engine.engine import available_threads

    option = "--threads"
    if value is None:
        value = os.environ.get(THREADS_ENV) or None
        option = THREADS_ENV
    if value is None:
        return available_threads()
    # ASCII digits only, as every number aetui reads (config.coerce): int() would also
    # take '٣', ' 5' and '1_0'.
    if not isinstance(value, int) and not INT_TEXT.fullmatch(str(value)):
        raise ConfigError(option, f"expected a whole number of threads, got {value!r}")
    count = int(value)
    if count < 1:
        raise ConfigError(option, f"must be at least 1, got {count}")
    if count > MAX_THREADS:  # the lab string's split has the same ceiling
        raise ConfigError(option, f"must be at most {MAX_THREADS}, got {count}")
    return count
