"""What every export bundle holds, checked file by file (shared by the export tests)."""

import csv
import struct

import numpy as np
from PIL import Image

from aetui.experiments.export import METRIC_COLUMNS
from aetui.training.labstring import decode

PNG_SIZES = {"filters.png": (800, 840), "rho_hat.png": (700, 400), "loss.png": (900, 450)}


def png_size(path) -> tuple[int, int]:
    """Width and height from the PNG header (signature, then the IHDR chunk)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path.name
    return struct.unpack(">II", head[16:24])


def check_bundle(folder, *, with_svg: bool):
    """Shared by the headless and the lab export tests: what every bundle holds."""
    names = {"checkpoint.npz", "metrics.csv", "knobs.csv", "filters.png", "digits.png",
             "rho_hat.png", "loss.png", "lab.txt", "README.md"} | (
        {"screen.svg"} if with_svg else set())
    assert {p.name for p in folder.iterdir()} == names
    with np.load(folder / "checkpoint.npz", allow_pickle=False) as npz:
        assert {"W", "b", "c", "lab_string"} <= set(npz.files)
        step = int(npz["step"])
        W = npz["W"]
    with (folder / "metrics.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == METRIC_COLUMNS and len(rows) >= 2
    with (folder / "knobs.csv").open(newline="") as fh:
        knobs = list(csv.DictReader(fh))
    for name, size in PNG_SIZES.items():
        assert png_size(folder / name) == size
    for name in ("filters.png", "digits.png", "rho_hat.png", "loss.png"):
        with Image.open(folder / name) as image:
            image.load()  # decodes the whole file
            assert image.size[0] >= 300 and image.size[1] >= 200
    lab = (folder / "lab.txt").read_text().strip()
    record = decode(lab)
    assert record.step == step
    readme = (folder / "README.md").read_text()
    assert "aetui train --lab" in readme and "`--hidden` |" in readme
    if with_svg:
        assert (folder / "screen.svg").read_text().lstrip().startswith("<svg")
    return rows, knobs, record, W
