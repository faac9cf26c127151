"""Issue 17: crafted checkpoints give the one-line error and exit 2 -- never a crash,
a traceback, an out-of-bounds index in a kernel, or a huge allocation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from crafted import N_TRAIN, arrays_of, crafted, json_field, tiny_dataset, valid_checkpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aetui.cli import main
from aetui.config import Settings
from aetui.errors import CheckpointError
from aetui.training.checkpoint import load_checkpoint
from aetui.training.trainer import Trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return valid_checkpoint(tmp_path_factory.mktemp("ckpt") / "good.npz")


def train_from(path, tmp_path, capsys, steps="2"):
    code = main(["train", "--load", str(path), "--steps", steps, "--json",
                 "--out", str(tmp_path / "out.npz")])
    return code, capsys.readouterr().err.strip()


def assert_one_line_error(code, err, *needles):
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("aetui: error: "), err
    for needle in needles:
        assert needle in err, err


# ----- 1: an image order outside the training set ---------------------------------------


@pytest.mark.parametrize("value", [10**9, -(10**9)])
def test_order_far_outside_the_data_is_refused_in_a_real_process(good, tmp_path, value):
    """Before: a segmentation fault (exit 139, no message). Run in a subprocess for that."""
    bad = crafted(good, tmp_path / "bad.npz", order=np.full(N_TRAIN, value, np.int64))
    script = (
        "import sys, aetui.data\n"
        "from crafted import tiny_dataset\n"
        "data = tiny_dataset()\n"
        "aetui.data.load_dataset = aetui.data.load.load_dataset = lambda *a, **k: data\n"
        "from aetui.cli import main\n"
        f"sys.exit(main(['train', '--load', {str(bad)!r}, '--steps', '5', '--out', "
        f"{str(tmp_path / 'o.npz')!r}]))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.path.join(REPO, "tests")]))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300, cwd=REPO)
    assert_one_line_error(result.returncode, result.stderr.strip(), "order")


def test_order_just_past_the_end_is_refused(good, tmp_path, tiny_data, capsys):
    """Before: N+5 trained silently on memory beyond the image buffer."""
    order = np.arange(N_TRAIN, dtype=np.int64)
    order[3] = N_TRAIN + 5
    bad = crafted(good, tmp_path / "bad.npz", order=order)
    code, err = train_from(bad, tmp_path, capsys)
    assert_one_line_error(code, err, "order", f"0..{N_TRAIN - 1}")
    with pytest.raises(CheckpointError):
        Trainer(load_checkpoint(bad).settings, tiny_data.train_x, tiny_data.test_x,
                checkpoint=load_checkpoint(bad))


# ----- 10: malformed contents ------------------------------------------------------------


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _state(good, **changes):
    state = json_field(good, "state")
    state.update(changes)
    return state


CASES = {
    "state is a list": lambda g: {"state": [1, 2]},
    "step is text": lambda g: {"state": _state(g, step="many")},
    "adam_t is 1e30": lambda g: {"state": _state(g, adam_t=1e30)},
    "pos is negative": lambda g: {"state": _state(g, pos=-4)},
    "rng state is a number": lambda g: {"state": _state(g, noise_rng=7)},
    "rng state has a text state": lambda g: {"state": _state(
        g, order_rng={"bit_generator": "PCG64", "state": {"state": "x", "inc": 1},
                      "has_uint32": 0, "uinteger": 0})},
    "curve rows are text": lambda g: {"state": _state(g, curve=[["a", "b"]])},
    "curve is a number": lambda g: {"state": _state(g, curve=3)},
    "history is an object": lambda g: {"history": {"a": 1}},
    "history holds lists": lambda g: {"history": [{"loss": [1, 2]}]},
    "knob_log entry misses keys": lambda g: {"knob_log": [{"step": 1}]},
    "knob_log names no setting": lambda g: {"knob_log": [
        {"step": 1, "name": "nope", "old": 1, "new": 2}]},
    "order is 2-D": lambda g: {"order": np.zeros((N_TRAIN, 2), np.int64)},
    "order is float": lambda g: {"order": np.zeros(N_TRAIN, np.float64)},
    "JSON nested 100,000 deep": lambda g: {"state": np.array(_deep(100_000))},
    "config batch 1e9": lambda g: {"config": {**json_field(g, "config"), "batch": 10**9}},
    "config hidden is text": lambda g: {"config": {**json_field(g, "config"), "hidden": "eight"}},
    "config is a number": lambda g: {"config": np.array("12")},
    "W is 3-D": lambda g: {"W": np.zeros((784, 8, 1), np.float32)},
    "W is text": lambda g: {"W": np.array(["a"] * 8)},
    "b wrong length": lambda g: {"b": np.zeros(3, np.float32)},
    "opt_W wrong shape": lambda g: {"opt_W": np.zeros((2, 3, 3), np.float32)},
    "weights of 1e300 in float64": lambda g: {"W": np.full((784, 8), 1e300)},
    "W holds NaN": lambda g: {"W": np.full((784, 8), np.nan, np.float32)},
    "config JSON is a number array": lambda g: {"config": np.arange(3)},
    "format unknown": lambda g: {"format": np.array("something-else")},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_contents_are_one_line_errors(good, tmp_path, tiny_data, capsys, case):
    bad = crafted(good, tmp_path / "bad.npz", **CASES[case](good))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 14: no numpy warning line may leak first
        code, err = train_from(bad, tmp_path, capsys)
    assert_one_line_error(code, err, "bad.npz")


def test_an_npy_header_claiming_a_trillion_elements_is_refused_before_allocating(good,
                                                                              tmp_path):
    import io
    import zipfile

    # The header says 10¹² float32 values; the entry holds 64 bytes.
    header = np.lib.format.header_data_from_array_1_0(np.zeros(3, np.float32))
    header["shape"] = (10**12,)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    buf.write(b"\0" * 64)
    arrays = arrays_of(good)
    arrays.pop("order")
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("order.npy", buf.getvalue())
    with pytest.raises(CheckpointError, match="claims 4,000,000,000,000 bytes"):
        load_checkpoint(bad)


def test_a_small_file_with_a_huge_order_is_refused(good, tmp_path):
    """Before: a 1.6 MB checkpoint (compressed) grew to 1.1 GB when read."""
    arrays = arrays_of(good)
    arrays["order"] = np.zeros(150_000_000, np.int64)  # compresses to ~1 MB
    bad = tmp_path / "bad.npz"
    np.savez_compressed(bad, **arrays)
    assert bad.stat().st_size < 5_000_000
    with pytest.raises(CheckpointError, match="limit"):
        load_checkpoint(bad)


@pytest.mark.parametrize("command", ["filters", "probe"])
def test_weights_of_the_wrong_shape_are_one_line_errors(tmp_path, capsys, command, tiny_data):
    data = tiny_dataset()
    small = Trainer(Settings(hidden=4, batch=5),
                    data.train_x[:, :100], data.test_x[:, :100])
    path = small.save(tmp_path / "w100.npz")
    code = main([command, str(path)])
    assert_one_line_error(code, capsys.readouterr().err.strip(), "100 inputs")


# ----- 14: messages -------------------------------------------------------------------


def test_a_text_file_never_suggests_an_unsafe_load(tmp_path, capsys):
    text = tmp_path / "notes.npz"
    text.write_text("hello, not a checkpoint\n")
    code = main(["probe", str(text)])
    err = capsys.readouterr().err.strip()
    assert_one_line_error(code, err, "not a .npz archive")
    assert "pickle" not in err


def test_a_folder_is_named_as_a_folder(tmp_path, capsys):
    code = main(["probe", str(tmp_path)])
    assert_one_line_error(code, capsys.readouterr().err.strip(), "is a folder")


# ----- the property: any mutated field gives exit 0 or the one-line error ------------------

FIELDS = ("W", "b", "c", "order", "opt_W", "opt_b", "config", "state", "history", "knob_log",
          "format")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["step", "pos", "adam_t", "curve", "noise_rng", "hidden", "batch",
                         "name", "old", "new", "x"]), inner, max_size=4),
    max_leaves=12)

arrays = st.builds(
    lambda dtype, shape, fill: np.full(shape, fill).astype(dtype, casting="unsafe"),
    st.sampled_from(["float32", "float64", "int64", "uint8", "bool", "complex64", "<U3"]),
    st.lists(st.integers(0, 9), max_size=3).map(tuple),
    st.sampled_from([0, 1, -1, 1e30, 7, 59, 60]))


def _mutation(good, field, kind, value):
    if kind == "drop":
        return {field: None}
    if kind == "json":
        return {field: np.array(json.dumps(value))}
    if kind == "state-field":
        state = json_field(good, "state")
        state[value[0]] = value[1]
        return {"state": state}
    return {field: value}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS),
       mutation=st.one_of(
           st.tuples(st.just("drop"), st.none()),
           st.tuples(st.just("json"), json_values),
           st.tuples(st.just("array"), arrays),
           st.tuples(st.just("state-field"), st.tuples(
               st.sampled_from(["step", "epoch_index", "pos", "adam_t", "curve",
                                "order_rng", "noise_rng"]), json_values))))
def test_any_mutated_field_is_exit_0_or_one_line_exit_2(good, tmp_path, tiny_data, capsys,
                                                        field, mutation):
    kind, value = mutation
    bad = crafted(good, tmp_path / "mutated.npz", **_mutation(good, field, kind, value))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, err = train_from(bad, tmp_path, capsys, steps="1")
    assert code in (0, 2), err
    if code == 2:
        assert_one_line_error(code, err)
