"""`aetui export CKPT DIR`: a checkpoint's export bundle (plots, CSVs, lab string, README)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="write a checkpoint's export bundle (plots, CSVs, lab string) to a folder",
        description="Write one folder with the checkpoint, metrics.csv, knobs.csv, "
        "filters.png, digits.png, rho_hat.png, loss.png, lab.txt and a README.md. The "
        "checkpoint's data are loaded again (as its settings say) for the digits and ρ̂.",
    )
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint (.npz)")
    p.add_argument("folder", metavar="DIR", help="the bundle's folder (new, or empty)")
    return p


def run(args: argparse.Namespace) -> int:
    from aetui.data import load_dataset_for
    from aetui.experiments.export import check_target, write_bundle
    from aetui.training.checkpoint import load_checkpoint

    check_target(args.folder)  # before the work: a bad destination is refused at once
    ckpt = load_checkpoint(Path(args.checkpoint))
    data = load_dataset_for(ckpt.settings, progress=True)
    if data.note:
        print(f"aetui: {data.note}", file=sys.stderr)
    path = write_bundle(args.folder, ckpt, data.test_x)
    print(path)
    return 0
