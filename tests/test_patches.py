"""Natural-image patches (--dataset patches[:PATH]): shape, statistics, files, measures,
a short run end to end, and no network."""

import socket
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from aetui.cli import main
from aetui.data import load_dataset
from aetui.data.patches import LINEAR_STD, PatchOptions, photos_from_path
from aetui.errors import DataError
from aetui.experiments.analysis import edge_measures, filter_locality, filter_orientation

# Whitening fitted on the training patches with a tiny ε: their covariance is the
# identity up to this (max |entry − δᵢⱼ|); ε = 1e-6 of the mean eigenvalue alone
# moves the diagonal by less than 1e-5, the rest is float32 rounding.
WHITE_TOLERANCE = 0.02


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_bundled_photos_load_without_network(no_network):
    ds = load_dataset("patches", patch_options=PatchOptions(size=8, count=2000))
    assert ds.train_x.shape == (2000, 64) and ds.train_x.dtype == np.float32
    assert ds.test_x.shape[1] == 64 and ds.image_shape == (8, 8)
    assert not ds.labelled and "scikit-image" in ds.source


def test_patches_have_zero_mean_each_when_asked():
    opts = PatchOptions(size=6, count=3000, whiten="none", mean=True, decoder="linear")
    x = load_dataset("patches", patch_options=opts).train_x
    assert x.shape == (3000, 36)
    assert np.abs(x.mean(axis=1)).max() < 1e-5
    # Without the option the patches keep their brightness: their means differ.
    raw = load_dataset("patches", patch_options=PatchOptions(
        size=6, count=3000, whiten="none", mean=False, decoder="linear")).train_x
    assert raw.mean(axis=1).std() > 0.5 * LINEAR_STD


@pytest.mark.parametrize("kind", ["zca", "pca"])
def test_whitened_covariance_is_the_identity(kind):
    opts = PatchOptions(size=4, count=20000, mean=False, whiten=kind, whiten_eps=1e-6,
                        decoder="linear")
    x = load_dataset("patches", patch_options=opts).train_x.astype(np.float64)
    cov = np.cov(x, rowvar=False)
    assert np.abs(cov / LINEAR_STD**2 - np.eye(16)).max() < WHITE_TOLERANCE


def test_zca_with_a_larger_eps_damps_the_smallest_directions():
    opts = PatchOptions(size=4, count=20000, mean=False, whiten="zca", whiten_eps=1.0,
                        decoder="linear")
    x = load_dataset("patches", patch_options=opts).train_x.astype(np.float64)
    values = np.linalg.eigvalsh(np.cov(x, rowvar=False))
    assert values.max() / values.min() > 2  # no longer white


def test_sigmoid_decoder_gets_patches_inside_its_range():
    x = load_dataset("patches", patch_options=PatchOptions(
        size=8, count=3000, decoder="sigmoid")).train_x
    assert x.min() >= 0.1 - 1e-6 and x.max() <= 0.9 + 1e-6


def test_colour_patches_are_three_planes_side_by_side():
    ds = load_dataset("patches", patch_options=PatchOptions(size=5, count=500, gray=False))
    assert ds.train_x.shape == (500, 75) and ds.image_shape == (5, 15)


def _write_png(path, seed, size=(40, 50)):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(path)


def test_a_folder_of_images_loads(tmp_path):
    _write_png(tmp_path / "a.png", 1)
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(tmp_path / "b.jpg")
    (tmp_path / "notes.txt").write_text("not an image, and not named like one")
    photos = photos_from_path(tmp_path, gray=True)
    assert [p.name for p in photos] == ["a.png", "b.jpg"]
    ds = load_dataset(f"patches:{tmp_path}",
                      patch_options=PatchOptions(size=8, count=500, whiten="none"))
    assert ds.train_x.shape == (500, 64) and ds.source == str(tmp_path)


def test_a_non_image_file_is_a_one_line_error_naming_it(tmp_path, capsys):
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"this is not a PNG at all")
    with pytest.raises(DataError, match=r"holiday\.png"):
        photos_from_path(bad, gray=True)
    code = main(["train", "--dataset", f"patches:{bad}", "--steps", "1",
                 "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("aetui: error:") and "holiday.png" in err and "\n" not in err


def test_a_folder_without_images_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "readme.txt").write_text("nothing to see")
    code = main(["train", "--dataset", f"patches:{tmp_path}", "--steps", "1",
                 "--out", str(tmp_path / "x.npz")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and str(tmp_path) in err and "\n" not in err


def _gabor_grating_plaid(n=8):
    y, x = np.mgrid[0:n, 0:n] - (n - 1) / 2
    gabor = np.exp(-(x**2 + y**2) / (2 * 1.2**2)) * np.cos(2 * np.pi * x / 4)
    grating = np.cos(2 * np.pi * (x + y) / 5)
    plaid = np.cos(2 * np.pi * x / 4) * np.cos(2 * np.pi * y / 4)  # PCA-like checkerboard
    return (f.reshape(1, -1) for f in (gabor, grating, plaid))


def test_measures_rank_a_gabor_above_gratings():
    gabor, grating, plaid = _gabor_grating_plaid()
    # Locality tells an edge from any global grating ...
    assert filter_locality(gabor, (8, 8))[0] > 2 * filter_locality(grating, (8, 8))[0]
    assert filter_locality(gabor, (8, 8))[0] > 2 * filter_locality(plaid, (8, 8))[0]
    # ... orientation tells it from a plaid (a single grating is oriented too).
    assert filter_orientation(gabor, (8, 8))[0] > 0.5 > filter_orientation(plaid, (8, 8))[0]
    both = edge_measures(np.vstack([gabor, gabor]), (8, 8))
    assert both["locality"] == pytest.approx(filter_locality(gabor, (8, 8))[0])


def test_measures_read_colour_planes():
    gabor, _, _ = _gabor_grating_plaid()
    planes = np.stack([gabor.reshape(8, 8)] * 3, axis=1).reshape(1, -1)  # (y, c, x)
    assert filter_locality(planes, (8, 24), channels=3)[0] == pytest.approx(
        filter_locality(gabor, (8, 8))[0])


def test_a_short_run_trains_renders_and_reloads(tmp_path, capsys):
    from aetui.training.checkpoint import load_checkpoint

    out = tmp_path / "patches.npz"
    base = ["--dataset", "patches", "--patch-size", "6", "--patch-count", "2000",
            "--hidden", "16"]
    assert main(["train", *base, "--steps", "200", "--out", str(out)]) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.params.n_in == 36 and ckpt.step == 200
    s = ckpt.settings
    # The patch options and the patch defaults travel with the checkpoint.
    assert (s.dataset, s.patch_size, s.decoder, s.loss) == ("patches", 6, "linear", "mse")
    assert np.abs(ckpt.params.W).max() > 0 and ckpt.params.all_finite()
    png = tmp_path / "f.png"
    assert main(["filters", str(out), "--png", str(png), "--pca", "8"]) == 0
    err = capsys.readouterr().err
    assert "locality" in err and "orientation" in err
    with Image.open(png) as image:
        assert image.width > 100 and image.height > 50
    assert main(["filters", str(out), "--ascii"]) == 0
    assert main(["train", "--load", str(out), "--steps", "5", "--out", str(out)]) == 0
    assert load_checkpoint(out).step == 205


def test_the_probe_says_patches_have_no_labels(tmp_path, capsys):
    out = tmp_path / "p.npz"
    assert main(["train", "--dataset", "patches", "--patch-count", "500", "--hidden", "4",
                 "--steps", "0", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["probe", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "labels" in err and "\n" not in err


async def test_the_lab_trains_on_patches_and_draws_them_at_their_shape():
    from fake_trainer import wait_for

    from aetui.config import PATCH_DEFAULTS, Settings
    from aetui.tui.app import LabApp
    from aetui.tui.options import LabOptions
    from aetui.tui.widgets.digits import DigitsPanel
    from aetui.tui.widgets.filters import FiltersPanel
    from aetui.tui.widgets.status import StatusBar

    settings = Settings(**{**PATCH_DEFAULTS, "dataset": "patches", "patch_size": 8,
                           "patch_count": 2000,
                           "hidden": 16})
    app = LabApp(settings, options=LabOptions(save_on_quit=False))
    async with app.run_test(size=(120, 40)) as pilot:
        lab = app.lab
        assert await wait_for(pilot, lambda: lab.snapshot is not None and lab.snapshot.step > 0,
                              timeout=120)
        filters, digits = lab.query_one(FiltersPanel), lab.query_one(DigitsPanel)
        assert filters.shape == (8, 8) and digits.shape == (8, 8) and digits.signed
        assert lab.snapshot.filters.shape[1] == 64
        assert await wait_for(pilot, lambda: "64→16" in lab.query_one(StatusBar).last_text)
        # Drawn larger than native (8 px) so an orientation can be seen.
        assert filters.geometry_for(*filters.content_size).px_w >= 16
        await pilot.press("P")  # the data's PCA components, at most n_in = 64 of them
        assert await wait_for(pilot, lambda: filters.pca is not None, timeout=30)
        assert filters.pca.shape == (64, 64)
        await pilot.press("p")
        await pilot.pause(0.3)
        assert any("no labels" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+q")


async def test_compare_screen_on_patches_shows_pca_and_the_measures():
    from fake_trainer import wait_for
    from textual.app import App

    from aetui.config import PATCH_DEFAULTS, Settings
    from aetui.data import load_dataset_for
    from aetui.tui.screens.compare import CompareScreen, GridView

    settings = Settings(**{**PATCH_DEFAULTS, "dataset": "patches", "patch_size": 8,
                           "patch_count": 1000,
                           "hidden": 8})
    data = load_dataset_for(settings, progress=False)

    class AppStandIn(App):
        def on_mount(self) -> None:
            self.push_screen(self.compare)

    class LabStandIn:
        """Just what CompareScreen.from_lab reads from the lab screen and its run."""

        def __init__(self) -> None:
            self.run = SimpleNamespace(dataset=data, trainer_factory=None)
            self.session = SimpleNamespace(settings=settings)
            self.options = SimpleNamespace(image_mode=lambda: "ascii")

    app = AppStandIn()
    app.compare = screen = CompareScreen.from_lab(LabStandIn())
    # The lecture's figure: the DAE beside the weight-decay AE (README).
    assert screen.labels == ["DAE σ=1.6×std", "weight decay λ=0.003"]
    assert screen.image_shape == (8, 8)
    async with app.run_test(size=(160, 50)) as pilot:
        assert await wait_for(pilot, lambda: screen.finished, timeout=120)
        await pilot.pause(0.1)
        assert screen.error is None and sorted(screen.results) == [0, 1]
        pca = screen.query_one("#filters-pca", GridView)
        assert "local" in pca.border_title and "orient" in pca.border_title
        assert pca.shape == (8, 8) and pca.images.shape[1] == 64
        for i in range(2):
            title = screen.query_one(f"#filters-{i}", GridView).border_title
            assert "local" in title and "probe" not in title


def test_colour_patches_train_and_render_from_the_command_line(tmp_path, capsys):
    from aetui.training.checkpoint import load_checkpoint

    out = tmp_path / "colour.npz"
    assert main(["train", "--dataset", "patches", "--no-patch-gray", "--patch-size", "4",
                 "--patch-count", "300", "--hidden", "4", "--steps", "5",
                 "--out", str(out)]) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.params.n_in == 48 and ckpt.settings.patch_gray is False
    assert main(["filters", str(out), "--png", str(tmp_path / "c.png")]) == 0
    with Image.open(tmp_path / "c.png") as image:
        image.load()  # a complete PNG
