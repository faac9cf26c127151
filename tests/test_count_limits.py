"""One rule for count options' ceilings (aetui.boundaries.counts): derived from the
memory they would need, refused in one line wherever the value comes from (issue 26,
fault 9: --patch-count 1e12 was an ArrayMemoryError traceback)."""

from __future__ import annotations

import zlib

import pytest

from aetui.boundaries import counts
from aetui.cli import main
from aetui.config import Settings, load_toml
from aetui.errors import ConfigError
from aetui.training import labstring


def test_the_ceiling_is_the_budget_over_the_bytes_each_needs():
    assert counts.ceiling(1000, budget=10_000) == 10
    assert counts.ceiling(1000, budget=10_000, extra_items=3) == 7
    grey8, colour16 = counts.patch_bytes(8, True), counts.patch_bytes(16, False)
    assert colour16 == 12 * grey8  # 4× the pixels, 3 planes
    hi = counts.patch_count_ceiling(8, True)
    # The patches at the ceiling (held-out ones included) fit the budget; one more does not.
    assert (hi + counts.PATCH_TEST_COUNT) * grey8 <= counts.MEMORY_BUDGET
    assert (hi + 1 + counts.PATCH_TEST_COUNT) * grey8 > counts.MEMORY_BUDGET
    Settings(patch_count=hi).validate()
    with pytest.raises(ConfigError, match=r"--patch-count: at most 1,859,135 .*8×8 grey"):
        Settings(patch_count=hi + 1).validate()
    # The ceiling moves with the patch's size and colour planes.
    with pytest.raises(ConfigError, match="16×16 colour patch"):
        Settings(patch_count=counts.patch_count_ceiling(16, False) + 1, patch_size=16,
                 patch_gray=False).validate()


def test_defaults_stay_far_below_the_ceiling():
    s = Settings()
    assert s.patch_count < counts.patch_count_ceiling(16, False)


def test_a_huge_count_from_the_command_line_is_one_line(capsys):
    assert main(["train", "--dataset", "patches", "--patch-count", "1000000000000",
                 "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--patch-count: at most" in err


def test_a_huge_count_from_a_config_file_is_one_line(tmp_path, capsys):
    toml = tmp_path / "run.toml"
    toml.write_text("dataset = 'patches'\npatch_count = 1e12\n")
    with pytest.raises(ConfigError, match="--patch-count: at most"):
        Settings.from_dict(load_toml(toml))
    assert main(["train", "--config", str(toml), "--steps", "1"]) == 2
    assert "--patch-count: at most" in capsys.readouterr().err


def test_a_huge_count_in_a_lab_string_is_refused():
    payload = ('{"v":"1","d":["patches","x"],"s":{"dataset":"patches",'
               '"patch_count":1000000000000},"k":[],"n":0}')
    head = f"ae1.{labstring._b64(zlib.compress(payload.encode()))}"
    with pytest.raises(labstring.LabStringError, match="--patch-count: at most"):
        labstring.decode(f"{head}.{labstring._check(head)}")
