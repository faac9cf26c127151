"""`aetui tour --check --quick` at its smallest size, and its bad options."""

from __future__ import annotations

import json

import pytest

from aetui.cli import main
from aetui.tour.chapters import CHAPTERS

KEYS = {"chapter", "claim", "measured", "threshold", "holds", "seconds", "sense"}


def test_quick_check_prints_one_json_line_per_claim_then_a_table(capsys):
    code = main(["tour", "--check", "--quick", "--limit", "300", "--threads", "1"])
    out = capsys.readouterr().out
    assert code == 0  # whatever the verdicts
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    expected = [(c.number, claim.text) for c in CHAPTERS for claim in c.claims]
    assert [(r["chapter"], r["claim"]) for r in lines] == expected
    for record, claim in zip(lines, [k for c in CHAPTERS for k in c.claims], strict=True):
        assert set(record) == KEYS
        assert record["threshold"] == claim.threshold and record["seconds"] >= 0
        assert isinstance(record["measured"], float)
        assert record["holds"] == (record["measured"] >= claim.threshold
                                   if claim.sense == ">=" else
                                   record["measured"] <= claim.threshold)
    # The gradient check is exact whatever the training: it must hold.
    grad = next(r for r in lines if r["claim"].startswith("chain-rule"))
    assert grad["holds"] and grad["measured"] < 1e-6
    assert "tour check: digits, 300 training images, quick size" in out


@pytest.mark.parametrize("argv", [
    ["tour", "--check", "--chapter", "9.9"],
    ["tour", "--quick"],
    ["tour", "--check", "--epochs-typo"],
    ["tour", "--check", "--threads", "zero"],
])
def test_bad_options_exit_2_with_one_line(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("aetui: error:")
