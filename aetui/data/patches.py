"""Patches of natural photographs: the photos bundled with scikit-image, or the user's own.

Nothing is downloaded: the bundled photographs are files inside scikit-image's
wheel (read with `skimage.data`), and a user's PNG/JPEG/TIFF files are decoded
by Pillow. The patches go through the classic preprocessing (README, "Natural
image patches"): per-patch mean removal, optional contrast normalisation,
PCA or ZCA whitening fitted on the training patches, then scaling into the
decoder's range. They are float32 rows, unlabelled; the image shape travels
with them (a colour patch is its three planes side by side).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aetui.boundaries.images import IMAGE_SUFFIXES, image_files, read_image  # noqa: F401
from aetui.boundaries.patch_data import check_before_whitening, check_positions
from aetui.errors import DataError

# Natural photographs shipped as files in scikit-image's wheel (skimage/data):
# scenes, textures, a face, a cat, astronomy. Left out on purpose: synthetic or
# document images (checkerboards, phantom, text, page, logo, horse silhouette)
# and microscopy whose statistics are not a natural scene's.
BUNDLED_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "grass", "gravel", "brick",
                  "rocket", "motorcycle", "moon", "hubble_deep_field")
TEST_COUNT = 5_000  # held-out patches, sampled apart from the training ones
# Sigmoid decoder: whitened values cut at ±3 standard deviations, mapped to [0.1, 0.9]
# (the sigmoid's useful range; 0 and 1 would need infinite pre-activations).
SIGMOID_RANGE = (0.1, 0.9)
TRUNCATE_STD = 3.0
CONTRAST_FLOOR = 1e-2  # a patch's std below this (flat sky) is not blown up to unit contrast
# Linear decoder: the patches' overall standard deviation. The initial weights are
# sized for pixels in [0, 1]; at this spread they leave the sigmoid units unsaturated
# (at 1.0 most units start saturated and the filters stay noise).
LINEAR_STD = 0.2


@dataclass(frozen=True)
class PatchOptions:
    """How patches are cut and prepared (the Settings fields patch_* and whiten*)."""

    size: int = 8
    count: int = 100_000
    gray: bool = True
    mean: bool = True
    contrast: bool = False
    whiten: str = "zca"
    whiten_eps: float = 0.1
    decoder: str = "linear"
    seed: int = 0

    @classmethod
    def from_settings(cls, settings) -> PatchOptions:
        return cls(settings.patch_size, settings.patch_count, settings.patch_gray,
                   settings.patch_mean, settings.patch_contrast, settings.whiten,
                   settings.whiten_eps, settings.decoder, settings.seed)

    @property
    def channels(self) -> int:
        return 1 if self.gray else 3

    @property
    def image_shape(self) -> tuple[int, int]:
        """How a patch row is drawn: size × size, or three planes side by side."""
        return (self.size, self.size * self.channels)


@dataclass(frozen=True)
class Photo:
    name: str
    pixels: np.ndarray  # H × W (grey) or H × W × 3, float64 in [0, 1]


def bundled_photos(gray: bool) -> list[Photo]:
    """The natural photographs inside scikit-image's wheel (no network)."""
    try:
        from skimage import data as skdata
    except ImportError as exc:  # a regular dependency; only a broken install lands here
        raise DataError(f"scikit-image is needed for --dataset patches: {exc}") from None
    photos = []
    for name in BUNDLED_PHOTOS:
        if name == "motorcycle":
            pixels = skdata.stereo_motorcycle()[0]  # the left view of the stereo pair
        else:
            pixels = getattr(skdata, name)()
        photos.append(Photo(name, _prepare(pixels, gray, name)))
    return photos


def photos_from_path(path: str | Path, gray: bool) -> list[Photo]:
    """The user's photographs: one image file, or every PNG/JPEG/TIFF in a folder.

    Raises DataError (one line naming the file) for a missing path, a file that
    is not a readable image, or a folder with no image in it.
    """
    # The image boundary: pixel limits, unreadable folders, warnings, finite pixels.
    return [Photo(f.name, _prepare(read_image(f), gray, str(f))) for f in image_files(path)]


def _prepare(pixels: np.ndarray, gray: bool, name: str) -> np.ndarray:
    """Float64 in [0, 1]; grey (ITU-R 601 luma) or RGB as asked."""
    a = np.asarray(pixels)
    if a.dtype == np.uint8:
        a = a / 255.0
    elif a.dtype == np.uint16:
        a = a / 65535.0
    a = a.astype(np.float64)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim == 2:
        return a if gray else np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim == 3 and a.shape[2] == 3:
        return a @ np.array([0.299, 0.587, 0.114]) if gray else a
    raise DataError(f"{name}: unsupported image layout {a.shape}")


def sample_patches(photos: list[Photo], size: int, count: int,
                   rng: np.random.Generator) -> np.ndarray:
    """`count` raw patches (float64 rows in [0, 1]), photos drawn in proportion to
    their area, positions uniform. A colour patch row holds row i of R, G, B in
    turn (three planes side by side when drawn size × 3·size)."""
    check_positions([ph.name for ph in photos], [ph.pixels.shape for ph in photos], size)
    usable = [ph for ph in photos if min(ph.pixels.shape[:2]) >= size]
    areas = np.array([(ph.pixels.shape[0] - size + 1) * (ph.pixels.shape[1] - size + 1)
                      for ph in usable], dtype=np.float64)
    which = rng.choice(len(usable), size=count, p=areas / areas.sum())
    channels = 1 if usable[0].pixels.ndim == 2 else 3
    out = np.empty((count, size * size * channels))
    for index, photo in enumerate(usable):
        rows = np.flatnonzero(which == index)
        if not len(rows):
            continue
        h, w = photo.pixels.shape[:2]
        ys = rng.integers(0, h - size + 1, len(rows))
        xs = rng.integers(0, w - size + 1, len(rows))
        # Index windows all at once: (n, size, size[, 3]).
        dy = np.arange(size)[None, :, None]
        dx = np.arange(size)[None, None, :]
        cut = photo.pixels[ys[:, None, None] + dy, xs[:, None, None] + dx]
        if channels == 3:
            cut = cut.transpose(0, 1, 3, 2)  # (n, y, channel, x): planes side by side
        out[rows] = cut.reshape(len(rows), -1)
    return out


@dataclass(frozen=True)
class Whitening:
    """x ↦ (x − mean) U diag(1/√(λ + ε)) [Uᵀ for ZCA], fitted on training patches."""

    mean: np.ndarray
    matrix: np.ndarray  # n × n

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) @ self.matrix


def fit_whitening(x: np.ndarray, kind: str, eps: float) -> Whitening:
    """PCA or ZCA whitening of the rows of x; ε is a fraction of the mean eigenvalue.

    With ε → 0 the whitened covariance is the identity; a positive ε damps the
    directions of smallest variance (pixel noise) instead of amplifying them.
    """
    mean = x.mean(axis=0)
    cov = np.cov(x - mean, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 0.0)[::-1]
    vectors = vectors[:, ::-1]
    scale = 1.0 / np.sqrt(values + eps * values.mean())
    matrix = vectors * scale
    if kind == "zca":
        matrix = matrix @ vectors.T
    return Whitening(mean, matrix)


@dataclass(frozen=True)
class PatchSet:
    train: np.ndarray  # float32 rows
    test: np.ndarray
    image_shape: tuple[int, int]
    photos: tuple[str, ...]


def make_patches(photos: list[Photo], options: PatchOptions) -> PatchSet:
    """Training and held-out patches, prepared as `options` say (see the module doc)."""
    rng = np.random.default_rng([options.seed, 14])
    raw = sample_patches(photos, options.size, options.count + TEST_COUNT, rng)
    x = preprocess_each(raw, options)
    train, test = x[:options.count], x[options.count:]
    check_before_whitening(train, options.whiten, ", ".join(ph.name for ph in photos[:3]))
    if options.whiten != "none":
        whitening = fit_whitening(train, options.whiten, options.whiten_eps)
        train, test = whitening.apply(train), whitening.apply(test)
    train, test = scale_for_decoder(train, test, options.decoder)
    return PatchSet(train.astype(np.float32), test.astype(np.float32), options.image_shape,
                    tuple(ph.name for ph in photos))


def preprocess_each(raw: np.ndarray, options: PatchOptions) -> np.ndarray:
    """Per-patch steps: remove the mean (each channel's), then divide by the std."""
    x = raw.copy()
    c = options.channels
    if options.mean:
        planes = x.reshape(len(x), options.size, c, options.size)
        planes -= planes.mean(axis=(1, 3), keepdims=True)
    if options.contrast:
        std = x.std(axis=1, keepdims=True)
        x /= np.maximum(std, CONTRAST_FLOOR)
    return x


def scale_for_decoder(train: np.ndarray, test: np.ndarray,
                      decoder: str) -> tuple[np.ndarray, np.ndarray]:
    """Linear decoder: centred, overall standard deviation LINEAR_STD (0.2; so σ = 0.1 is
    half the data's spread). Sigmoid decoder: cut at ±3 std and map onto [0.1, 0.9]."""
    center = float(train.mean())
    std = float(train.std()) or 1.0
    train, test = (train - center) / std, (test - center) / std
    if decoder == "linear":
        return train * LINEAR_STD, test * LINEAR_STD
    lo, hi = SIGMOID_RANGE
    half = (hi - lo) / 2

    def squash(a: np.ndarray) -> np.ndarray:
        return lo + half + half * np.clip(a, -TRUNCATE_STD, TRUNCATE_STD) / TRUNCATE_STD

    return squash(train), squash(test)
