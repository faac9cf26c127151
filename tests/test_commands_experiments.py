"""`aetui probe`, `aetui compare`, `aetui filters` and the PNG writer, end to end."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aetui.cli import main
from aetui.figures import png

# ---------------------------------------------------------------- PNG


def test_png_panels_are_side_by_side_and_labelled(tmp_path):
    rng = np.random.default_rng(0)
    panels = [("vanilla", rng.normal(size=(20, 784))), ("q=0.5", rng.normal(size=(20, 784)))]
    path = png.save_panels(tmp_path / "f.png", panels, cols=5, scale=2)
    image = Image.open(path)
    single = png.grid_array(panels[0][1], cols=5, scale=2)
    assert image.mode == "L"
    # Two grids side by side: wider than two grids, as tall as one plus its label.
    assert image.width > 2 * single.shape[1]
    assert single.shape[0] < image.height < single.shape[0] + 80
    # The label row holds dark text above each grid.
    top = np.asarray(image)[: png.LABEL_HEIGHT + 12]
    assert top.min() < 100
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left over


def test_png_grid_maps_zero_to_mid_grey_and_sign_to_brightness():
    f = np.zeros((1, 784))
    f[0, 0], f[0, 1] = 2.0, -1.0
    grid = png.grid_array(f, scale=1)
    assert grid[0, 0] == 255 and grid[0, 1] == 64 and grid[5, 5] == 128
    digits = png.grid_array(np.full((2, 784), 0.5), signed=False, scale=1, gap=1)
    assert digits[0, 0] == 128 and digits[0, 28] == png.BACKGROUND


def test_png_error_is_one_line(tmp_path):
    from aetui.errors import AetuiError

    with pytest.raises(AetuiError, match="no such folder"):
        png.save_grid(tmp_path / "missing" / "f.png", np.zeros((1, 784)))


# ---------------------------------------------------------------- filters


@pytest.mark.mnist
def test_filters_pca_png_and_terminal(mnist_dir, tmp_path, capsys):
    out = tmp_path / "pca.png"
    code = main(["filters", "--pca", "16", "--data-dir", str(mnist_dir), "--limit", "2000",
                 "--png", str(out)])
    assert code == 0 and Image.open(out).width > 4 * 28
    code = main(["filters", "--pca", "4", "--data-dir", str(mnist_dir), "--limit", "2000",
                 "--ascii"])
    printed = capsys.readouterr().out
    assert code == 0 and "PCA of mnist" in printed
    assert "\x1b[" not in printed  # ASCII mode: no colour escapes


def test_filters_needs_a_checkpoint_or_pca(capsys):
    assert main(["filters"]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["filters", "--pca", "0"]) == 2


# ---------------------------------------------------------------- with the real trainer


@pytest.fixture(scope="module")
def small_checkpoint(mnist_dir, tmp_path_factory):
    """A 784 → 32 model trained for one epoch on 1,000 real digits."""
    pytest.importorskip("aetui.training.trainer")
    path = tmp_path_factory.mktemp("ckpt") / "small.npz"
    code = main(["train", "--data-dir", str(mnist_dir), "--limit", "1000", "--hidden", "32",
                 "--epochs", "1", "--json", "--out", str(path)])
    assert code == 0 and path.exists()
    return path


@pytest.mark.mnist
def test_probe_json_reports_three_accuracies(small_checkpoint, mnist_dir, capsys):
    import json

    capsys.readouterr()
    code = main(["probe", str(small_checkpoint), "--data-dir", str(mnist_dir), "--limit",
                 "2000", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert record["hidden"] == 32 and record["n_train"] == 2000
    for key in ("raw", "pca", "features"):
        assert 0.5 < record[key] <= 1.0


@pytest.mark.mnist
def test_probe_table(small_checkpoint, mnist_dir, capsys):
    code = main(["probe", str(small_checkpoint), "--data-dir", str(mnist_dir), "--limit",
                 "1000"])
    out = capsys.readouterr().out
    assert code == 0
    assert "raw pixels" in out and "PCA" in out and "h(x)" in out and "%" in out


def test_probe_bad_checkpoint_is_one_line(tmp_path, capsys):
    pytest.importorskip("aetui.training.checkpoint")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    assert main(["probe", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aetui: error:") and "\n" not in err


@pytest.mark.mnist
def test_filters_of_a_checkpoint(small_checkpoint, mnist_dir, tmp_path, capsys):
    out = tmp_path / "f.png"
    assert main(["filters", str(small_checkpoint), "--units", "16", "--pca", "16",
                 "--data-dir", str(mnist_dir), "--limit", "1000", "--png", str(out)]) == 0
    two_panels = Image.open(out)
    assert main(["filters", str(small_checkpoint), "--units", "16", "--png", str(out)]) == 0
    assert two_panels.width > Image.open(out).width  # PCA drawn beside the filters
    assert main(["filters", str(small_checkpoint), "--units", "8", "--ascii"]) == 0
    printed = capsys.readouterr().out
    assert "units 0–7 of 32" in printed and "\x1b[" not in printed


@pytest.mark.mnist
def test_compare_json_and_png(mnist_dir, tmp_path, capsys):
    import json

    pytest.importorskip("aetui.training.trainer")
    out = tmp_path / "cmp.png"
    capsys.readouterr()
    code = main(["compare", "--q", "0,0.5", "--data-dir", str(mnist_dir), "--limit", "500",
                 "--hidden", "16", "--epochs", "1", "--json", "--png", str(out),
                 "--units", "16", "--sigma", "0.7"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["label"] for r in record["runs"]] == ["vanilla", "q=0.5"]
    assert record["settings"]["sigma"] == 0.7 and "q" not in record["settings"]
    for r in record["runs"]:
        assert set(r) >= {"train_loss", "val_loss", "probe", "rho_hat_mean", "smoothness"}
    assert set(record["baselines"]) == {"raw", "pca"}
    assert Image.open(out).width > 2 * 4 * 28


@pytest.mark.parametrize(("args", "option"), [
    (["--q", "0,abc"], "--q"),
    (["--q", "0,1.5"], "--q"),
    (["--noise", "gaussian", "--sigma", "0,-1"], "--sigma"),
    (["--noise", "none", "--q", "0,0"], "--q"),
    (["--epochs", "0"], "--epochs"),
])
def test_compare_bad_levels_are_one_line_errors(args, option, capsys):
    assert main(["compare", "--dataset", "digits", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aetui: error:") and option in err


@pytest.mark.mnist
def test_filters_map_is_the_same_in_png_and_terminal(small_checkpoint, tmp_path, capsys):
    out = tmp_path / "c.png"
    assert main(["filters", str(small_checkpoint), "--units", "4", "--map", "colour",
                 "--png", str(out)]) == 0
    assert Image.open(out).mode == "RGB"
    assert main(["filters", str(small_checkpoint), "--units", "4", "--png", str(out)]) == 0
    assert Image.open(out).mode == "L"  # the lecture's grey figure by default
