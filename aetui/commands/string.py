"""`aetui string CKPT`: print a checkpoint's lab string; and what `--lab STRING` shares
between the lab and `aetui train` (the string's settings, and what a replay says)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aetui.config import Settings, field_names, option_name
from aetui.errors import CheckpointError, ConfigError

# Where the data are is the one thing a string cannot say (it holds no paths).
DATA_OPTIONS = ("dataset", "data_dir")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "string",
        help="print a checkpoint's lab string (replay it with --lab)",
        description="Print the lab string stored in a checkpoint: one line holding the "
        "data, every setting, the seed and the knob log. `aetui --lab STRING` replays it "
        "in the lab, `aetui train --lab STRING` headless.",
    )
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint (.npz)")
    return p


def run(args: argparse.Namespace) -> int:
    from aetui.training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(Path(args.checkpoint))
    if not ckpt.lab_string:
        raise CheckpointError(f"{args.checkpoint}: holds no lab string (saved by an aetui "
                              f"older than lab strings)")
    print(ckpt.lab_string)
    return 0


def add_lab_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--lab", metavar="STRING", default=None,
                        help="replay a lab string: its settings, and each logged knob "
                             "change at its step (--data-dir/--dataset may say where its "
                             "data are); @FILE reads it from a file, - from stdin")


def replay_settings(args: argparse.Namespace):
    """(Settings, LabRecord) for `--lab STRING`; ConfigError / LabStringError otherwise."""
    from aetui.training.labstring import decode, read_argument

    record = decode(read_argument(args.lab))
    for option in ("load", "config"):
        if getattr(args, option, None):
            raise ConfigError("--lab", f"can't be combined with --{option} (the string "
                                       f"holds the whole run from step 0)")
    given = [name for name in field_names() if name in vars(args)]
    for name in given:
        if name not in DATA_OPTIONS:
            raise ConfigError(option_name(name), "can't be combined with --lab (the string "
                                                 "holds every setting; only --data-dir and "
                                                 "--dataset say where its data are)")
    values = record.settings.to_dict()
    values.update({name: getattr(args, name) for name in given})
    return Settings.from_dict(values, source="--lab"), record


def exactness_line(record, data_hash: str) -> str | None:
    """One line saying why this replay may differ from the run, or None."""
    from aetui.training.labstring import exactness_notes

    notes = exactness_notes(record, data_hash)
    if not notes:
        return None
    hint = ""
    if record.data_hash != data_hash and record.data_name not in ("mnist", "digits"):
        hint = f" (pass --data-dir with the folder {record.data_name!r})"
    return f"the replay may not be exact: {'; '.join(notes)}{hint}; continuing"
