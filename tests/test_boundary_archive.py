"""The archive reader (aetui.boundaries.archive): a checkpoint's total unpacked size is
bounded before anything is inflated, and every decoder error is one line (issue 26,
faults 3 and 4). Bombs are small here: the limits are lowered, not the memory raised."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from crafted import arrays_of, crafted, valid_checkpoint

from aetui.boundaries import archive
from aetui.cli import main
from aetui.errors import CheckpointError
from aetui.training import checkpoint
from aetui.training.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return valid_checkpoint(tmp_path_factory.mktemp("arch") / "valid.npz", dataset="digits")


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def rezip(src, dst, compression=zipfile.ZIP_DEFLATED, extra=None, replace=None):
    """`src`'s arrays in a new archive (`extra`: more members by name, raw bytes)."""
    members = {f"{k}.npy": npy_bytes(v) for k, v in arrays_of(src).items()}
    members.update(replace or {})
    members.update(extra or {})
    with zipfile.ZipFile(dst, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


def test_total_unpacked_size_is_bounded_before_inflating(ckpt, tmp_path, monkeypatch):
    # Eight 256 KiB zero arrays deflate to almost nothing; the limit is 1 MiB in all.
    zeros = npy_bytes(np.zeros(256 << 10, np.uint8))
    bomb = rezip(ckpt, tmp_path / "bomb.npz",
                 extra={f"history_{i}.npy": zeros for i in range(8)})
    assert bomb.stat().st_size < 64 << 10
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 1 << 20)
    inflated = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, m, *a, **k: inflated.append(m) or real_open(self, m, *a, **k))
    with pytest.raises(CheckpointError, match=r"unpack to .* more than the 1,048,576-byte"):
        load_checkpoint(bomb)
    assert inflated == []  # refused from the archive's directory alone


def test_history_arrays_beyond_what_aetui_writes_are_refused(ckpt, tmp_path, monkeypatch):
    # Carried on, they would make `train --load` write a file past the reader's limits.
    monkeypatch.setattr(checkpoint, "MAX_EXTRA_BYTES", 100_000)
    bad = rezip(ckpt, tmp_path / "extra.npz",
                extra={"history_filters.npy": npy_bytes(np.zeros(200_000, np.uint8))})
    with pytest.raises(CheckpointError, match=r"history_\* arrays unpack to 2\d\d,\d\d\d bytes"):
        load_checkpoint(bad)
    # Arrays of a known size but another kind: refused after reading (a reader's last word).
    arrays = checkpoint.read_archive(bad)
    with pytest.raises(CheckpointError, match="history arrays hold 200,000 bytes"):
        checkpoint._read_extra_arrays(bad, arrays)


def corrupt_member(path, name: str, dst):
    """`path` with bytes in the middle of member `name`'s compressed data flipped."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 2, start + min(info.compress_size, 40)):
        raw[i] ^= 0x5A
    dst.write_bytes(bytes(raw))
    return dst


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA,
                                         zipfile.ZIP_BZIP2])
def test_a_corrupt_compressed_member_is_one_line(ckpt, tmp_path, compression, capsys):
    good = rezip(ckpt, tmp_path / "good.npz", compression)
    assert load_checkpoint(good).params.hidden == 8  # every compression reads
    bad = corrupt_member(good, "W.npy", tmp_path / "bad.npz")
    with pytest.raises(CheckpointError, match=r"unreadable checkpoint|bad header|truncated"):
        load_checkpoint(bad)
    assert main(["filters", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aetui: error: ") and err.count("\n") == 1


def header_with(shape_text: str) -> bytes:
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


@pytest.mark.parametrize("shape", ["(-1, -1)", "(-4, -2)", "(2.5,)", "('a',)", "(1,",
                                   "(" + "(" * 200 + ")" * 200 + ")"])
def test_a_bad_npy_header_is_one_line(ckpt, tmp_path, shape):
    bad = rezip(ckpt, tmp_path / "hdr.npz",
                replace={"W.npy": header_with(shape) + b"\0" * 64})
    with pytest.raises(CheckpointError, match="bad header"):
        load_checkpoint(bad)


def test_an_array_is_exactly_its_declared_size_and_read_without_a_copy(ckpt):
    data = archive.read_archive(ckpt)
    W = data["W"]
    assert W.flags.writeable and W.base is not None  # a view of the one read buffer
    assert np.array_equal(W, arrays_of(ckpt)["W"])


def test_duplicate_and_foreign_entries_are_refused(ckpt, tmp_path):
    dst = tmp_path / "dup.npz"
    with zipfile.ZipFile(dst, "w") as zf:
        for name, array in arrays_of(ckpt).items():
            zf.writestr(f"{name}.npy", npy_bytes(array))
        with pytest.warns(UserWarning):
            zf.writestr("W.npy", npy_bytes(np.zeros((784, 8), np.float32)))
    with pytest.raises(CheckpointError, match="each once"):
        load_checkpoint(dst)
    other = crafted(ckpt, tmp_path / "ok.npz")
    with zipfile.ZipFile(other, "a") as zf:
        zf.writestr("../evil.txt", b"x")
    with pytest.raises(CheckpointError, match="unexpected entry"):
        load_checkpoint(other)
