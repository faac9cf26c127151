"""The bounded JSON reader (aetui.boundaries.bounded_json) and every place that reads
JSON from outside: checkpoint fields, lab strings (--lab, and inside a checkpoint), the
lab's stored history (issue 26, faults 2, 5 and 6)."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from crafted import crafted, valid_checkpoint
from hypothesis import given, settings
from hypothesis import strategies as st

from aetui.boundaries import bounded_json
from aetui.cli import main
from aetui.errors import CheckpointError
from aetui.training import history, labstring
from aetui.training.checkpoint import load_checkpoint


def nesting(value) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                           allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab"\\[]{}\n é')),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(alphabet=st.sampled_from('k"\\[{'), max_size=3), inner, max_size=3),
    max_leaves=12)


@given(JSON)
@settings(max_examples=200, deadline=None)
def test_depth_is_the_nesting_of_any_value_strings_aside(value):
    text = json.dumps(value, ensure_ascii=False)
    assert bounded_json.depth(text) == nesting(value)
    assert bounded_json.loads(text, max_depth=nesting(value)) == value
    if nesting(value):
        with pytest.raises(bounded_json.JsonLimitError, match="deeper"):
            bounded_json.loads(text, max_depth=nesting(value) - 1)


@given(st.text(alphabet=st.sampled_from('"\\[]{}a1,: '), max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_value_or_one_json_limit_error(text):
    try:
        bounded_json.loads(text, max_depth=3)
    except bounded_json.JsonLimitError as exc:
        assert "\n" not in str(exc)


@pytest.mark.timeout(60)
def test_escaped_quotes_are_read_in_linear_time():
    # Fault 2's shape: an opening quote and 200,000 escaped quotes, never closed. The old
    # nesting check restarted its string match at every quote: minutes on this input.
    text = '"' + '\\"' * 200_000
    assert bounded_json.depth(text) == 0
    with pytest.raises(bounded_json.JsonLimitError, match="not valid JSON"):
        bounded_json.loads(text)


def test_deep_nesting_is_one_line_not_a_recursion_error():
    for text in ("[" * 100_000, '{"a":' * 50_000, "[" * 100_000 + "]" * 100_000):
        with pytest.raises(bounded_json.JsonLimitError, match="deeper than 16"):
            bounded_json.loads(text)


def test_size_limit_and_constants():
    with pytest.raises(bounded_json.JsonLimitError, match="more than the 10 limit"):
        bounded_json.loads("[" + "1," * 10 + "1]", max_chars=10)
    for bad in ("NaN", "[Infinity]", "-Infinity"):
        with pytest.raises(bounded_json.JsonLimitError, match="not valid JSON"):
            bounded_json.loads(bad)
    with pytest.raises(bounded_json.JsonLimitError, match="not UTF-8"):
        bounded_json.loads(b"\xff[]")


# ----- checkpoints (fault 2) -------------------------------------------------------------


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return valid_checkpoint(tmp_path_factory.mktemp("json") / "valid.npz", dataset="digits")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("field", ["config", "history", "knob_log", "state"])
def test_a_400kb_checkpoint_field_is_refused_at_once(ckpt, tmp_path, field, capsys):
    bad = crafted(ckpt, tmp_path / "bad.npz", **{field: np.array('"' + '\\"' * 200_000)})
    with pytest.raises(CheckpointError, match=f"'{field}': not valid JSON"):
        load_checkpoint(bad)
    for argv in (["filters", str(bad)], ["string", str(bad)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not valid JSON" in err


# ----- lab strings (fault 5) -------------------------------------------------------------


def forged(payload_text: str) -> str:
    """A lab string with the right checksum around any payload (the checksum is public)."""
    head = f"ae1.{labstring._b64(zlib.compress(payload_text.encode(), 9))}"
    return f"{head}.{labstring._check(head)}"


DEEP = '{"v":"1","d":["mnist","x"],"s":{},"n":0,"k":' + "[" * 50_000 + "]" * 50_000 + "}"


def test_a_deep_lab_string_is_refused_in_one_line():
    with pytest.raises(labstring.LabStringError, match=r"unreadable payload.*deeper"):
        labstring.decode(forged(DEEP))


def test_a_deep_lab_string_on_the_command_line_exits_2(capsys):
    assert main(["train", "--lab", forged(DEEP)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lab string: unreadable payload" in err


@pytest.mark.timeout(300)
def test_a_deep_lab_string_inside_a_checkpoint_does_not_stop_export(ckpt, tmp_path):
    bad = crafted(ckpt, tmp_path / "deep.npz", lab_string=np.array(forged(DEEP)))
    assert main(["export", str(bad), str(tmp_path / "bundle")]) == 0
    # A resume keeps the split it can read, else one part (the string is only a record).
    from crafted import tiny_dataset

    from aetui.training.trainer import Trainer

    data = tiny_dataset()
    loaded = load_checkpoint(bad)
    trainer = Trainer(loaded.settings, data.train_x, data.test_x, checkpoint=loaded)
    assert trainer.split == 1


# ----- the lab's stored history (fault 6) --------------------------------------------------


def test_a_deep_history_index_is_a_value_error():
    arrays = {"history_index": np.array("[" * 100_000 + "]" * 100_000)}
    with pytest.raises(ValueError, match="deeper"):
        history.from_arrays(arrays)


def test_the_lab_adopts_a_run_with_a_deep_history_index_and_starts_it_empty():
    from types import SimpleNamespace

    from aetui.tui.history import HistoryController

    shown, marks = [], []
    controller = HistoryController(1e6, shown.append, marks.append)
    source = SimpleNamespace(loaded_extras={
        "history_index": np.array("[" * 100_000 + "]" * 100_000)})
    controller._adopt(source)
    assert len(controller.store) == 0
    assert source.checkpoint_extras == controller.checkpoint_arrays
