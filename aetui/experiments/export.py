"""The export bundle: one folder that shows a run and says how to replay it.

Holds the checkpoint, metrics.csv (every loss point), knobs.csv (the knob log),
filters.png, digits.png, rho_hat.png, loss.png, screen.svg (from the lab only),
lab.txt (the lab string) and a README.md. Written into a hidden temporary
folder next to the target and renamed into place, so a bundle is whole or absent.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np

from aetui.config import option_name
from aetui.errors import AetuiError
from aetui.files import fsync_folder, temp_path, working_folder, writable_problem
from aetui.knob_table import noise_label
from aetui.training.checkpoint import Checkpoint, save_checkpoint
from aetui.training.snapshots import point_from_row

METRIC_COLUMNS = ("step", "epoch", "train_recon", "train_l2", "train_sparsity", "train_total",
                  "val_recon", "val_l2", "val_sparsity", "val_total", "rho_hat_mean",
                  "samples_per_s")
KNOB_COLUMNS = ("step", "name", "old", "new")


class ExportError(AetuiError):
    """The bundle cannot be written where asked."""


def write_bundle(folder: str | Path, ckpt: Checkpoint, test_x: np.ndarray, *,
                 svg: str | None = None, val_count: int = 1000,
                 display_count: int = 8) -> Path:
    """Write the bundle of `ckpt` into `folder` (new, or an empty folder); returns its path.

    `test_x` are the held-out images the run measured on (its first `val_count`) and
    showed (its first `display_count`); `svg` the lab screen, if exported from the lab.
    """
    target = check_target(folder)
    tmp = temp_path(target)
    try:
        tmp.mkdir(parents=True)
        _write_contents(tmp, ckpt, test_x, svg, val_count, display_count)
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
        fsync_folder(target.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def check_target(folder: str | Path) -> Path:
    """The bundle's folder, checked before any work: new or an empty folder, not a
    symbolic link (dangling or not: the rename at the end would fail or write through
    it), in a folder where files can be made. Raises ExportError (one line)."""
    target = Path(folder).expanduser()
    try:
        if target.is_symlink():
            raise ExportError(f"{target}: is a symbolic link (give the folder itself)")
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise ExportError(f"{target}: exists and is not an empty folder")
    except OSError as exc:
        raise ExportError(f"cannot use {target}: {exc.strerror or exc}") from None
    problem = writable_problem(target)
    if problem:
        raise ExportError(f"cannot write {target}: {problem}")
    return target


def bundle_folder(stem: str) -> Path:
    """A fresh folder name `stem` for a bundle from the lab: in the working folder, or,
    when that is gone or not writable (deleted under the running lab), in
    `~/.local/share/aetui/exports`. Never raises for a missing working folder."""
    from aetui.paths import data_home

    here = working_folder()  # the data folder when the working folder was deleted
    if here == data_home() or writable_problem(here / stem):
        here = data_home() / "exports"
    folder = here / stem
    while folder.exists() or folder.is_symlink():
        folder = folder.with_name(folder.name + "-1")
    return folder


def _write_contents(out: Path, ckpt: Checkpoint, test_x: np.ndarray, svg: str | None,
                    val_count: int, display_count: int) -> None:
    from aetui.engine.engine import held_out
    from aetui.figures import plots
    from aetui.training.trainer import Trainer

    settings = ckpt.settings
    save_checkpoint(out / "checkpoint.npz", ckpt)
    rows = metric_rows(ckpt)
    _write_csv(out / "metrics.csv", METRIC_COLUMNS, rows)
    knobs = [[c["step"], c["name"], c["old"], c["new"]] for c in ckpt.knob_log]
    _write_csv(out / "knobs.csv", KNOB_COLUMNS, knobs)

    # A trainer built from the checkpoint shows the digits exactly as the lab does.
    view = Trainer(settings, test_x, test_x, checkpoint=ckpt, val_count=val_count,
                   display_count=display_count, threads=None)
    snap = view.snapshot()
    _, rho_hat = held_out(ckpt.params, view.val_x, settings.loss,
                                        settings.decoder)
    shape = snap.image_shape
    plots.filters_png(out / "filters.png", ckpt.params.W, shape)
    plots.digits_png(out / "digits.png", snap.clean, snap.corrupted, snap.recon, shape,
                     noise_label(settings.noise, settings.q, settings.sigma))
    plots.rho_hat_png(out / "rho_hat.png", rho_hat, settings.rho, settings.beta)
    plots.loss_png(out / "loss.png", [r[0] for r in rows], [r[5] for r in rows],
                   [r[9] for r in rows],
                   _knob_marks(ckpt.knob_log))
    if svg is not None:
        (out / "screen.svg").write_text(svg, encoding="utf-8")
    (out / "lab.txt").write_text((ckpt.lab_string or "") + "\n", encoding="utf-8")
    (out / "README.md").write_text(bundle_readme(ckpt, svg is not None), encoding="utf-8")


def metric_rows(ckpt: Checkpoint) -> list[list]:
    """One row per loss point, in METRIC_COLUMNS order (None where not measured)."""
    rows = []
    for point in map(point_from_row, ckpt.state.get("curve", [])):
        train = [float(v) for v in (point.train.recon, point.train.l2, point.train.sparsity)]
        val = ([None] * 3 if point.val is None else
               [float(v) for v in (point.val.recon, point.val.l2, point.val.sparsity)])
        val_total = None if None in val else sum(val)
        rows.append([point.step, point.epoch, *train, sum(train), *val, val_total,
                     point.rho_hat_mean, point.samples_per_s])
    return rows


def _knob_marks(log: list[dict]) -> list[tuple[int, str]]:
    """One label per step at which knobs changed ("q→0.5, lr→0.05")."""
    marks: dict[int, list[str]] = {}
    for c in log:
        marks.setdefault(int(c["step"]), []).append(f"{c['name']}→{c['new']}")
    return [(step, ", ".join(labels)) for step, labels in marks.items()]


def _write_csv(path: Path, header, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v)
                             for v in row])


def bundle_readme(ckpt: Checkpoint, with_svg: bool) -> str:
    """The bundle's README: what the run was and how to replay it."""
    s = ckpt.settings
    lines = [
        "# aetui export",
        "",
        f"A run of {ckpt.step:,} updates ({ckpt.epoch:.2f} epochs) on `{s.dataset}`, "
        f"{s.hidden} hidden units.",
        "",
        "## Settings (at the end of the run)",
        "",
        "| setting | value |",
        "|---|---|",
        *(f"| `{option_name(k)}` | {'—' if v is None else v} |"
          for k, v in s.to_dict().items()),
        "",
        f"Knob changes during the run: {len(ckpt.knob_log)} (see `knobs.csv`).",
        "",
        "## Replay",
        "",
        "`lab.txt` holds the lab string: the data's name and content hash, every "
        "setting at step 0, the seed and each knob change with its step.",
        "",
        "    aetui --lab \"$(cat lab.txt)\"                  # in the lab",
        f"    aetui train --lab \"$(cat lab.txt)\" --steps {ckpt.step}   # headless",
        "",
        "With the same data, aetui version and CPU the replay gives the same float32 "
        "weights at every logged step; otherwise it says so in one line and continues. "
        "A folder dataset is named, not located: add `--data-dir DIR`.",
        "",
        "## Files",
        "",
        "- `checkpoint.npz`: the weights and run state (`numpy.load` reads it); "
        "`aetui --load checkpoint.npz` continues the run",
        "- `metrics.csv`: every loss point (step, epoch, train and held-out terms, mean ρ̂, "
        "samples/s)",
        "- `knobs.csv`: the knob log (step, name, old, new)",
        "- `filters.png`, `digits.png` (x, x̃, x̂), `rho_hat.png`, `loss.png`",
        *(["- `screen.svg`: the lab screen at export"] if with_svg else []),
        "- `lab.txt`: the lab string",
        "",
    ]
    return "\n".join(lines)
