"""The image reader and the patch-data checks (aetui.boundaries.images, .patch_data):
pixel limits before decoding, unreadable folders, and degenerate data named as the cause
before whitening, not reported as divergence (issue 26, faults 10, 11 and 13)."""

from __future__ import annotations

import pathlib
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from aetui.boundaries import images
from aetui.cli import main
from aetui.data import patches
from aetui.data.patches import PatchOptions, make_patches, photos_from_path
from aetui.errors import AetuiError, ConfigError, DataError


def png_declaring(path: pathlib.Path, width: int, height: int) -> pathlib.Path:
    """A tiny PNG whose header declares width × height (the pixels are never there)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    body = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [50_000, 12_000, 6_000])
def test_a_declared_bomb_is_one_line_before_decoding(tmp_path, side, capsys):
    bomb = png_declaring(tmp_path / "bomb.png", side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing raw may reach the user
        with pytest.raises(DataError, match="pixels"):
            photos_from_path(bomb, gray=True)
    assert main(["train", "--dataset", f"patches:{bomb}", "--steps", "1",
                 "--patch-count", "100"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pixel" in err and "Warning" not in err


def test_the_pixel_limit_is_explicit(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 30 * 30)
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "ok.png")
    Image.fromarray(np.zeros((30, 31), np.uint8)).save(tmp_path / "big.png")
    assert images.read_image(tmp_path / "ok.png").shape == (30, 30)
    with pytest.raises(DataError, match="31×30 pixels, more than the 900-pixel limit"):
        images.read_image(tmp_path / "big.png")


def test_an_unreadable_folder_is_one_line(tmp_path, monkeypatch):
    # Tests run as root here, where chmod 000 does not stop a read: the refusal is made.
    folder = tmp_path / "pics"
    folder.mkdir()
    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))
    monkeypatch.setattr(pathlib.Path, "iterdir", refuse)
    with pytest.raises(DataError, match=r"cannot read the folder .Permission denied"):
        photos_from_path(folder, gray=True)


def test_non_finite_pixels_are_refused_where_the_image_is_read(tmp_path):
    pixels = np.random.default_rng(0).random((40, 40)).astype(np.float32)
    pixels[3, 5] = np.nan
    Image.fromarray(pixels, mode="F").save(tmp_path / "nan.tif")
    pixels[3, 5] = np.inf
    Image.fromarray(pixels, mode="F").save(tmp_path / "inf.tif")
    for name in ("nan.tif", "inf.tif"):
        with pytest.raises(DataError, match="NaN or infinite"):
            photos_from_path(tmp_path / name, gray=True)


def options(**kw) -> PatchOptions:
    return PatchOptions(**{"size": 4, "count": 300, **kw})


def photo(pixels) -> patches.Photo:
    return patches.Photo("pic.png", np.asarray(pixels, np.float64))


@pytest.mark.parametrize("mean", [True, False])
def test_a_constant_image_is_named_as_the_cause(mean):
    with pytest.raises(DataError, match=r"pic\.png: the patches have no variance"):
        make_patches([photo(np.full((30, 30), 0.3))], options(mean=mean))


def test_one_training_patch_cannot_be_whitened():
    rich = np.random.default_rng(1).random((30, 30))
    with pytest.raises(ConfigError, match="--patch-count: whitening needs at least 2"):
        make_patches([photo(rich)], options(count=1))
    make_patches([photo(rich)], options(count=1, whiten="none"))  # nothing to fit


def test_an_image_no_bigger_than_the_patch_is_named():
    with pytest.raises(DataError, match="no bigger than a 4×4 patch"):
        make_patches([photo(np.random.default_rng(2).random((4, 4)))], options())
    with pytest.raises(DataError, match="smaller than a 4×4 patch"):
        make_patches([photo(np.random.default_rng(2).random((3, 9)))], options())


def test_degenerate_data_through_the_command_line_never_blame_the_learning_rate(
        tmp_path, capsys):
    Image.fromarray(np.full((40, 40), 77, np.uint8)).save(tmp_path / "flat.png")
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (8, 8), np.uint8)).save(
        tmp_path / "tiny.png")
    for argv in (["--dataset", f"patches:{tmp_path / 'flat.png'}"],
                 ["--dataset", f"patches:{tmp_path / 'tiny.png'}", "--patch-size", "8"]):
        assert main(["train", *argv, "--patch-count", "200", "--steps", "2"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "learning rate" not in err and "patch" in err


# ----- the property test reaches the patch options ---------------------------------------


@given(size=st.integers(2, 6), count=st.integers(1, 40), gray=st.booleans(),
       mean=st.booleans(), contrast=st.booleans(),
       whiten=st.sampled_from(["none", "pca", "zca"]),
       eps=st.floats(1e-6, 10.0), decoder=st.sampled_from(["linear", "sigmoid"]),
       side=st.integers(1, 9), flat=st.booleans())
@settings(max_examples=60, deadline=None)
def test_any_patch_options_give_finite_patches_or_one_line(size, count, gray, mean,
                                                          contrast, whiten, eps, decoder,
                                                          side, flat):
    rng = np.random.default_rng(size * 31 + side)
    pixels = np.full((side, side + 2, 3), 0.5) if flat else rng.random((side, side + 2, 3))
    photo_ = patches.Photo("p.png", pixels if not gray else pixels.mean(axis=2))
    opts = PatchOptions(size, count, gray, mean, contrast, whiten, eps, decoder, 0)
    try:
        made = make_patches([photo_], opts)
    except AetuiError as exc:
        assert "\n" not in str(exc)
        return
    assert made.train.shape == (count, size * size * (1 if gray else 3))
    assert np.isfinite(made.train).all() and np.isfinite(made.test).all()


def test_the_count_rule_knows_the_held_out_patches():
    from aetui.boundaries.counts import PATCH_TEST_COUNT

    assert PATCH_TEST_COUNT == patches.TEST_COUNT
