"""The export bundle: every file is there and loads, and the numbers agree with the run."""

import csv
import struct

import numpy as np
import pytest
from PIL import Image

from aetui import cli
from aetui.core.checkpoint import load_checkpoint
from aetui.core.export import METRIC_COLUMNS
from aetui.core.labstring import decode
from aetui.core.trainer import measure
from aetui.data import load_dataset

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


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A short headless run with two knob overrides on resume (so knobs.csv has rows)."""
    folder = tmp_path_factory.mktemp("run")
    first, second = folder / "a.npz", folder / "b.npz"
    base = ["--dataset", "digits", "--limit", "200", "--hidden", "9", "--batch", "10"]
    assert cli.main(["train", *base, "--steps", "25", "--out", str(first), "--json"]) == 0
    assert cli.main(["train", "--load", str(first), "--q", "0.5", "--beta", "0.1",
                     "--steps", "15", "--out", str(second), "--json"]) == 0
    return second


def test_headless_export_writes_a_whole_bundle(trained, tmp_path, capsys):
    out = tmp_path / "bundle"
    capsys.readouterr()
    assert cli.main(["export", str(trained), str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    rows, knobs, record, W = check_bundle(out, with_svg=False)
    ckpt = load_checkpoint(trained)
    assert np.array_equal(W, ckpt.params.W)
    assert record.step == ckpt.step == 40
    # The CSV's last loss is the checkpoint's: measured again from its weights.
    last = rows[-1]
    assert int(last["step"]) == ckpt.step
    _, _, test_x, _ = load_dataset("digits", seed=ckpt.settings.seed, limit=200)
    recon, rho_hat = measure(ckpt.params, test_x[:1000], ckpt.settings)
    assert float(last["val_recon"]) == pytest.approx(recon, rel=1e-9)
    assert float(last["rho_hat_mean"]) == pytest.approx(float(rho_hat.mean()), rel=1e-6)
    assert float(last["val_total"]) == pytest.approx(
        float(last["val_recon"]) + float(last["val_l2"]) + float(last["val_sparsity"]))
    assert [(int(k["step"]), k["name"], k["new"]) for k in knobs] == [
        (25, "q", "0.5"), (25, "beta", "0.1")]
    assert int(rows[0]["step"]) == 0 and [int(r["step"]) for r in rows] == sorted(
        int(r["step"]) for r in rows)


def test_export_refuses_a_folder_in_use_without_touching_it(trained, tmp_path, capsys):
    used = tmp_path / "used"
    used.mkdir()
    (used / "mine.txt").write_text("keep me")
    assert cli.main(["export", str(trained), str(used)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aetui: error:") and "not an empty folder" in err
    assert [p.name for p in used.iterdir()] == ["mine.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
