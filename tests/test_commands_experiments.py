"""`aetui probe`, `aetui compare`, `aetui filters` and the PNG writer, end to end."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aetui.cli import main
from aetui.render import png

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
