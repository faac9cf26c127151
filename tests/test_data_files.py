"""MNIST-format folders: the real MNIST files, other datasets, and every kind of bad input."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from aetui.data import folder, idx, load_dataset, mnist
from aetui.errors import DataError

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path: Path, array: np.ndarray, *, magic: int | None = None,
              dims: tuple[int, ...] | None = None, gz: bool = False) -> Path:
    """Write `array` as an IDX file (header from the array unless overridden)."""
    dims = array.shape if dims is None else dims
    magic = (0x08 << 8 | len(dims)) if magic is None else magic
    data = struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims)
    data += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def make_dataset(root: Path, n_train: int = 30, n_test: int = 10, gz: bool = False) -> Path:
    """A tiny valid MNIST-format dataset in `root` (created)."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), gz=gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte",
                  rng.integers(0, 10, n, dtype=np.uint8), gz=gz)
    return root


# ------------------------------------------------------------------ real MNIST


@pytest.mark.mnist
def test_real_mnist_shapes_dtypes_counts_and_hashes(mnist_dir):
    ds = load_dataset("mnist", data_dir=mnist_dir)
    assert ds.name == "mnist" and ds.source == str(mnist_dir) and ds.note is None
    train_x, train_y, test_x, test_y = ds
    assert train_x.shape == (60000, 784) and test_x.shape == (10000, 784)
    assert train_y.shape == (60000,) and test_y.shape == (10000,)
    assert {a.dtype for a in ds} == {np.dtype(np.uint8)}
    assert np.bincount(train_y).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(test_y).tolist() == MNIST_TEST_COUNTS
    assert train_x[:, 0].max() == 0 and train_x.max() == 255  # 0 = background

    data = folder.load(mnist_dir)
    assert data.sha256 == mnist.SHA256
    # The digests are of the uncompressed content, recomputed independently here.
    for name, path in data.paths.items():
        assert hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest() == \
            mnist.SHA256[name]


@pytest.mark.mnist
def test_limit_keeps_the_first_training_images(mnist_dir):
    full = load_dataset("mnist", data_dir=mnist_dir)
    ds = load_dataset("mnist", data_dir=mnist_dir, limit=500)
    assert ds.train_x.shape == (500, 784) and ds.train_y.shape == (500,)
    assert np.array_equal(ds.train_x, full.train_x[:500])
    assert ds.test_x.shape == (10000, 784)


# ------------------------------------------------------------ other datasets


@pytest.mark.parametrize("gz", [False, True])
def test_any_mnist_format_folder_is_accepted_and_named_after_it(tmp_path, gz):
    root = make_dataset(tmp_path / "fashion", gz=gz)
    ds = load_dataset("mnist", data_dir=root, allow_download=False, allow_fallback=False)
    assert ds.name == "fashion" and ds.note is None
    assert ds.train_x.shape == (30, 784) and ds.test_x.shape == (10, 784)
    assert ds.train_x.dtype == np.uint8 and ds.train_y.dtype == np.uint8


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    root = make_dataset(tmp_path / "d", gz=True)
    for f in root.iterdir():  # .gz files renamed without the suffix
        f.rename(f.with_suffix(""))
    assert load_dataset("mnist", data_dir=root).train_x.shape == (30, 784)


def test_dotted_file_names_are_found(tmp_path):
    root = make_dataset(tmp_path / "kaggle")
    for f in root.iterdir():
        f.rename(f.with_name(f.name.replace("-idx", ".idx")))
    assert load_dataset("mnist", data_dir=root).test_y.shape == (10,)


# ------------------------------------------------------------------ bad input


def error_of(root: Path) -> str:
    with pytest.raises(DataError) as info:
        load_dataset("mnist", data_dir=root, allow_download=False, allow_fallback=False)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    root = make_dataset(tmp_path / "d")
    (root / "t10k-labels-idx1-ubyte").unlink()
    assert error_of(root).startswith(f"{root / 't10k-labels-idx1-ubyte'}: missing file")


def test_missing_folder(tmp_path):
    assert error_of(tmp_path / "nowhere") == f"{tmp_path / 'nowhere'}: no such folder"


def test_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    message = error_of(tmp_path / "photos")
    assert message.startswith(f"{tmp_path / 'photos'}: not an MNIST-format dataset")


def test_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "x.gz").write_bytes(b"")
    assert "not a folder" in error_of(tmp_path / "x.gz")


def test_wrong_magic_number(tmp_path):
    root = make_dataset(tmp_path / "d")
    write_idx(root / "train-images-idx3-ubyte", np.zeros((30, 28, 28)), magic=0x0801)
    assert error_of(root) == (f"{root / 'train-images-idx3-ubyte'}: wrong magic number "
                              f"0x00000801, expected 0x00000803 (IDX unsigned-byte images, 3-D)")


def test_not_an_idx_file_at_all(tmp_path):
    root = make_dataset(tmp_path / "d")
    (root / "train-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    assert error_of(root).startswith(f"{root / 'train-labels-idx1-ubyte'}: wrong magic number")


def test_images_of_the_wrong_size(tmp_path):
    root = make_dataset(tmp_path / "d")
    write_idx(root / "t10k-images-idx3-ubyte", np.zeros((10, 28, 30)))
    assert error_of(root) == (f"{root / 't10k-images-idx3-ubyte'}: inconsistent dimensions "
                              f"(images are 28×30, expected 28×28)")


def test_more_data_than_the_header_says(tmp_path):
    root = make_dataset(tmp_path / "d")
    write_idx(root / "t10k-images-idx3-ubyte", np.zeros((11, 28, 28)), dims=(10, 28, 28))
    assert error_of(root) == (f"{root / 't10k-images-idx3-ubyte'}: inconsistent dimensions "
                              f"(header says 10×28×28 = 7,840 bytes of data, but the file "
                              f"holds 8,624)")


def test_truncated_file(tmp_path):
    root = make_dataset(tmp_path / "d")
    path = root / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    assert error_of(root) == (f"{path}: truncated file (header says 30×28×28 = 23,520 bytes "
                              f"of data, found 23,420)")


def test_truncated_header(tmp_path):
    root = make_dataset(tmp_path / "d")
    path = root / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:6])
    assert error_of(root) == (f"{path}: truncated file (6 bytes, the header alone needs 8)")


def test_truncated_gzip(tmp_path):
    root = make_dataset(tmp_path / "d", gz=True)
    path = root / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-200])
    assert error_of(root) == f"{path}: truncated file (the gzip stream ends early)"


def test_corrupt_gzip(tmp_path):
    root = make_dataset(tmp_path / "d", gz=True)
    path = root / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[12:20] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    assert error_of(root).startswith(f"{path}: corrupt gzip data")


def test_label_and_image_counts_disagree(tmp_path):
    root = make_dataset(tmp_path / "d")
    write_idx(root / "train-labels-idx1-ubyte", np.zeros(29))
    assert error_of(root) == (f"{root / 'train-labels-idx1-ubyte'}: 29 labels, but "
                              f"train-images-idx3-ubyte holds 30 images")


def test_empty_dataset(tmp_path):
    root = make_dataset(tmp_path / "d")
    write_idx(root / "train-images-idx3-ubyte", np.zeros((0, 28, 28)))
    assert error_of(root) == f"{root / 'train-images-idx3-ubyte'}: holds no images"


def test_checksum_mismatch_in_the_cache(tmp_path, monkeypatch):
    # The cache only ever holds verified MNIST: anything else there is damage.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = make_dataset(tmp_path / "cache" / "aetui" / "mnist", gz=True)
    with pytest.raises(DataError) as info:
        load_dataset("mnist", allow_download=False, allow_fallback=False)
    message = str(info.value)
    assert message.startswith(f"{cache / 'train-images-idx3-ubyte.gz'}: checksum mismatch")
    assert "delete it to download it again" in message


def test_idx_reader_on_its_own(tmp_path):
    images = np.arange(2 * 784, dtype=np.uint8).reshape(2, 28, 28) % 251
    path = write_idx(tmp_path / "x-idx3-ubyte", images, gz=True)
    out = idx.read_images(path)
    assert out.shape == (2, 784) and out.flags.writeable
    assert np.array_equal(out, images.reshape(2, 784))


def test_data_imports_no_front_and_no_numba():
    import subprocess
    import sys

    code = ("import sys, aetui.data; "
            "print(sorted(m for m in ('textual', 'numba', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
