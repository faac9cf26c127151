"""The lab string: a round trip keeps everything; anything changed or cut is refused."""

import base64
import hashlib
import json
import zlib

import pytest

from aetui import __version__, cli
from aetui.config import Settings, field_names
from aetui.training import labstring
from aetui.training.labstring import KnobEvent, LabRecord, LabStringError, decode, encode

URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def _record(**overrides) -> LabRecord:
    settings = Settings(dataset="digits", data_dir="/home/someone/secret/fashion", limit=500,
                        hidden=37, tied=False, loss="mse", decoder="linear",
                        noise="gaussian", q=0.125, sigma=0.3, rho=0.02, beta=0.7,
                        l2=1e-4, optimizer="adam", lr=0.003, batch=11, seed=12345)
    values = dict(settings=settings,
                  changes=(KnobEvent(0, "q", 0.5), KnobEvent(7, "lr", 0.1 / 3),
                           KnobEvent(7, "tied", True), KnobEvent(40, "noise", "mask")),
                  step=93, data_name="fashion", data_hash="0123456789abcdef",
                  version=__version__, cpu=labstring.cpu_tag())
    values.update(overrides)
    return LabRecord(**values)


def _forge(payload: dict) -> str:
    """A string with a valid checksum around `payload` (what a hand-made string can do)."""
    body = base64.urlsafe_b64encode(zlib.compress(json.dumps(payload).encode())).decode()
    head = "ae1." + body.rstrip("=")
    check = base64.urlsafe_b64encode(hashlib.sha256(head.encode()).digest()[:6]).decode()
    return f"{head}.{check.rstrip('=')}"


def test_round_trip_keeps_every_setting_and_change_but_no_path():
    record = _record()
    text = encode(record)
    assert set(text) <= URL_SAFE and "\n" not in text
    assert len(text) < 600
    assert "secret" not in zlib.decompress(base64.urlsafe_b64decode(
        text.split(".")[1] + "==")).decode()
    back = decode(text)
    # Every non-path setting comes back exactly (floats bit for bit), the path does not.
    for name in field_names():
        want = None if name in labstring.path_fields() else getattr(record.settings, name)
        assert getattr(back.settings, name) == want, name
    assert back.changes == record.changes
    assert back.changes[1].value == 0.1 / 3  # not rounded
    assert (back.step, back.data_name, back.data_hash, back.version, back.cpu) == (
        record.step, record.data_name, record.data_hash, record.version, record.cpu)
    assert decode(encode(_record(split=6))).split == 6
    assert back.settings_at(7).tied is True and back.settings_at(6).tied is False


def test_every_single_flipped_character_is_refused():
    text = encode(_record())
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(text):
        flipped = alphabet[(alphabet.find(ch) + 1) % len(alphabet)] if ch != "." else "x"
        with pytest.raises(LabStringError):
            decode(text[:i] + flipped + text[i + 1:])


@pytest.mark.parametrize(("mangle", "words"), [
    (lambda t: t[:-5], "bad checksum"),
    (lambda t: t[: len(t) // 2], "truncated"),
    (lambda t: "ae2" + t[3:], "bad version 'ae2'"),
    (lambda t: t.replace(".", "", 1), "bad version"),
    (lambda t: "hello world", "not a lab string"),
    (lambda t: t + "!", "not a lab string"),
    (lambda t: "", "empty"),
])
def test_damaged_strings_name_the_problem(mangle, words):
    with pytest.raises(LabStringError, match=words):
        decode(mangle(encode(_record())))


def _payload(**changes):
    payload = {"v": __version__, "cpu": "x", "d": ["digits", "00"],
               "s": Settings(dataset="digits").to_dict(), "k": [], "n": 10}
    payload.update(changes)
    return payload


@pytest.mark.parametrize(("payload", "words"), [
    (_payload(s={"q": 1.5}), r"out-of-range .*--q"),
    (_payload(s={"hidden": 0}), r"out-of-range .*--hidden"),
    (_payload(s={"evil": "__import__('os')"}), "unknown setting"),
    (_payload(k=[[3, "lr", -1.0]]), r"knob change 1 at step 3: out-of-range value: --lr"),
    (_payload(k=[[3, "noise", "loud"]]), "knob change 1 at step 3"),
    (_payload(k=[[5, "q", 0.1], [2, "q", 0.2]]), "out of order"),
    (_payload(k=[[11, "q", 0.1]]), "out of order"),
    (_payload(k=[[1, "data_dir", "/etc"]]), "unknown setting 'data_dir'"),
    (_payload(k=[["1", "q", 0.1]]), "malformed"),
    (_payload(n=-1), "bad step count"),
    (_payload(t=0), "bad thread split"),
    (_payload(t=2.5), "bad thread split"),
    (_payload(d="digits"), "bad header"),
    ([1, 2, 3], "not an object"),
])
def test_tampered_but_checksummed_values_are_checked(payload, words):
    with pytest.raises(LabStringError, match=words):
        decode(_forge(payload))


def test_payload_is_json_never_evaluated():
    # A pickle inside a correctly checksummed string is just unreadable bytes.
    import pickle

    body = base64.urlsafe_b64encode(zlib.compress(pickle.dumps(print))).decode().rstrip("=")
    head = "ae1." + body
    check = base64.urlsafe_b64encode(hashlib.sha256(head.encode()).digest()[:6]).decode()
    with pytest.raises(LabStringError, match="unreadable payload"):
        decode(f"{head}.{check.rstrip('=')}")


def test_cli_rejects_a_bad_string_with_one_line_and_exit_2(capsys, tmp_path):
    text = encode(_record(settings=Settings(dataset="digits", limit=50, hidden=4)))
    bad = text[:10] + ("A" if text[10] != "A" else "B") + text[11:]
    for argv in (["train", "--lab", bad, "--out", str(tmp_path / "x.npz")],
                 ["--lab", bad]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("aetui: error: lab string: bad checksum")
        assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()


def test_lab_refuses_settings_it_would_silently_ignore(capsys):
    text = encode(_record(settings=Settings(dataset="digits", limit=50, hidden=4)))
    assert cli.main(["train", "--lab", text, "--q", "0.2"]) == 2
    assert "--q: can't be combined with --lab" in capsys.readouterr().err


def test_exactness_notes_name_what_differs():
    record = _record()
    assert labstring.exactness_notes(record, record.data_hash) == []
    other = _record(version="0.0.1", cpu="pdp11-x")
    notes = labstring.exactness_notes(other, "ffff")
    assert len(notes) == 3
    assert "data differ" in notes[0] and "0.0.1" in notes[1] and "pdp11-x" in notes[2]
