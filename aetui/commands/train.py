"""`aetui train`: headless training with a Rich progress bar, or JSON lines for scripts."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from aetui.commands import common, string
from aetui.config import default_epochs
from aetui.errors import ConfigError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="train headless, with a progress bar or JSON lines",
        description="Train headless, with a Rich progress bar (on stderr) or JSON lines "
        "(on stdout), then save a checkpoint.",
    )
    common.add_settings_options(p)
    run_group = p.add_argument_group("run")
    run_group.add_argument("--epochs", type=int, default=None, metavar="N",
                           help="passes over the training images (default: 1, on patches "
                                "30; no limit with --steps)")
    run_group.add_argument("--steps", type=int, default=None, metavar="N",
                           help="stop after N minibatch updates; --steps 0 saves the initial "
                                "weights")
    run_group.add_argument("--out", metavar="PATH", default=None,
                           help="write the final checkpoint (.npz) here (default: a new file "
                                "under ~/.local/share/aetui/checkpoints)")
    string.add_lab_option(run_group)
    common.add_threads_option(run_group, "training")
    run_group.add_argument("--json", action="store_true",
                           help="instead of the progress bar, print one JSON object per epoch "
                                "(and one for a final partial epoch) on stdout")
    return p


def run(args: argparse.Namespace) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise ConfigError("--epochs", f"must be at least 1, got {args.epochs}")
    if args.steps is not None and args.steps < 0:
        raise ConfigError("--steps", f"must be at least 0, got {args.steps}")
    record = None
    if args.lab:
        settings, record = string.replay_settings(args)
        load_path = None
    else:
        settings, load_path = common.settings_from_args(args)
    args.threads = common.resolve_threads(args.threads)
    from aetui.files import save_destination

    # Checked now: a destination that cannot be written would lose the run at the end.
    out = save_destination(args.out, "train", "--out")
    with common.EndingSignals() as signals:
        return _train(args, settings, load_path, out, signals, record)


def _train(args, settings, load_path, out: Path, signals: common.EndingSignals,
           record=None) -> int:
    from aetui.data import load_dataset_for
    from aetui.training.checkpoint import load_checkpoint
    from aetui.training.trainer import Trainer

    checkpoint = load_checkpoint(load_path) if load_path else None
    data = load_dataset_for(settings, progress=not args.json)
    if data.note:
        print(f"aetui: {data.note}", file=sys.stderr)
    train_x, _, test_x, _ = data

    steps = args.steps
    if record is not None and steps is None and args.epochs is None:
        steps = record.step  # as far as the string's run went
    max_epochs = args.epochs if args.epochs is not None else (
        None if steps else default_epochs(settings.dataset))
    report = _Reporter(json_lines=args.json, total_steps=_total_steps(
        settings, len(train_x), max_epochs, steps))
    trainer = Trainer(settings, train_x, test_x, checkpoint=checkpoint,
                      on_snapshot=report.snapshot, on_epoch=report.epoch,
                      on_diverged=report.diverged, image_shape=data.image_shape,
                      threads=args.threads)
    report.trainer = trainer
    report.start_step = trainer.step  # the bar counts this run's steps, not a resumed total
    trainer.data_name = data.name
    if record is not None:
        trainer.schedule(record.changes, split=record.split, stream=record.stream,
                         reference=record.reference)
        note = string.exactness_line(record, trainer.data_hash)
        if note:
            print(f"aetui: {note}", file=sys.stderr)

    if steps == 0:
        signals.hold()
        saved = trainer.save(out)
        print(f"aetui: saved the initial weights to {saved}", file=sys.stderr)
        return signals.exit_code() or 0

    start_step = trainer.step
    _, interrupted = common.run_interruptibly(
        lambda: trainer.run(max_steps=steps, max_epochs=max_epochs), trainer.stop,
        "aetui-train", signals)
    report.close()
    if record is not None and trainer.step == record.step:
        trainer.apply_due_changes()  # the string's last changes, made at its last step
    if args.json and trainer.step > report.last_epoch_step and not report.diverged_message:
        report.emit(report.partial_record(start_step))
    # A full disk (or a folder gone) at the end must not lose the run: a fresh name in the
    # checkpoint folder instead, as the lab does (README "Limits and safety").
    from aetui.training.run import save_run

    saved, note = save_run(trainer, out, prefix="train")
    if note:
        print(f"aetui: {note}", file=sys.stderr)
    if report.diverged_message:
        print(f"aetui: error: {report.diverged_message}; last finite weights saved to {saved}",
              file=sys.stderr)
        return 1
    code = signals.exit_code() or (128 + interrupted if interrupted else None)
    if code:
        print(f"aetui: interrupted at step {trainer.step}; saved to {saved}", file=sys.stderr)
        return code
    print(f"aetui: saved {saved}", file=sys.stderr)
    return 0


def _total_steps(settings, n_train: int, max_epochs: int | None, max_steps: int | None):
    # One L-BFGS iteration is a full pass: an epoch of one update.
    per_epoch = 1 if settings.optimizer == "lbfgs" else -(-n_train // settings.batch)
    limits = [n for n in (max_steps, per_epoch * max_epochs if max_epochs else None) if n]
    return min(limits) if limits else None


class _Reporter:
    """Turns trainer callbacks into a progress bar or JSON lines (trainer thread)."""

    def __init__(self, *, json_lines: bool, total_steps: int | None) -> None:
        self.json_lines = json_lines
        self.trainer = None
        self.start_step = 0
        self.last_epoch_step = -1
        self.diverged_message: str | None = None
        self._lock = threading.Lock()
        self._progress = None
        self._task = None
        self._started = time.perf_counter()
        if not json_lines:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._progress.add_task("training", total=total_steps, info="")
            self._progress.start()

    def emit(self, record: dict) -> None:
        with self._lock:
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()

    def snapshot(self, snap) -> None:
        if self._progress is None:
            return
        state = "compiling…" if snap.state == "compiling" else f"{snap.samples_per_s:,.0f}/s"
        loss = f" loss {snap.train.recon:.2f}" if snap.train else ""
        self._progress.update(self._task, completed=max(0, snap.step - self.start_step),
                              info=f"epoch {snap.epoch:.2f} {state}{loss}")

    def epoch(self, record: dict) -> None:
        self.last_epoch_step = int(record["step"])
        if self.json_lines:
            self.emit(record)
        elif self._progress is not None:
            floor = record.get("val_floor")
            above = ("" if floor is None or record["val_recon"] is None else
                     f" ({record['val_recon'] - floor:.3f} above its {floor:.2f} floor)")
            noisy = record.get("val_recon_corrupted")
            noisy = "" if noisy is None else f" (recon on x̃ as trained {noisy:.3f})"
            self._progress.console.print(
                f"epoch {record['epoch']}: train {record['train_loss']:.3f} "
                f"held-out {record['val_loss']:.3f}{above}{noisy} "
                f"ρ̂ {record['rho_hat_mean']:.3f} "
                f"{record['samples_per_s']:,.0f} samples/s")

    def diverged(self, message: str) -> None:
        self.diverged_message = message
        if self.trainer is not None:
            self.trainer.stop()

    def partial_record(self, start_step: int) -> dict:
        """The --json record for a run that ended mid-epoch (e.g. --steps)."""
        snap = self.trainer.snapshot()
        train = snap.train
        val = snap.val
        return {
            "epoch": round(float(snap.epoch), 4),
            "step": int(snap.step),
            "train_loss": _total(train),
            "val_loss": _total(val),
            "recon": None if train is None else float(train.recon),
            "l2": None if train is None else float(train.l2),
            "sparsity": None if train is None else float(train.sparsity),
            "rho_hat_mean": float(snap.rho_hat.mean()) if snap.rho_hat.size else None,
            "val_recon_corrupted": snap.curve[-1].val_corrupted if snap.curve else None,
            "samples_per_s": float(self.trainer.epoch_samples_per_s()),  # as epochs'
            "seconds": round(time.perf_counter() - self._started, 3),
            "steps_run": int(snap.step) - start_step,
        }

    def close(self) -> None:
        if self._progress is not None:
            if self.trainer is not None:
                self._progress.update(self._task,
                                      completed=max(0, self.trainer.step - self.start_step))
            self._progress.stop()


def _total(terms) -> float | None:
    return None if terms is None else float(terms.total)
