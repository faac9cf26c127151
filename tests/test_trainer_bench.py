"""`aetui bench` options and the BLAS thread holder it measures under (fast: no training)."""

import numpy as np
import pytest

from aetui.commands.bench import _openblas_controls, blas_threads, parse_batches
from aetui.errors import ConfigError


def test_batches_parse_and_bad_values_name_the_option():
    assert parse_batches("20,128") == [20, 128]
    assert parse_batches(" 7 ") == [7]
    for bad in ("", "0", "20,x", "-3"):
        with pytest.raises(ConfigError, match="--batch"):
            parse_batches(bad)


def test_blas_threads_are_held_inside_the_block_and_restored_after():
    with blas_threads(0) as pinned:
        assert pinned is None
    import scipy.linalg.cython_blas  # noqa: F401 -- maps scipy's OpenBLAS too

    controls = _openblas_controls()
    if not controls:
        pytest.skip("no controllable OpenBLAS in this process")
    before = [get() for get, _ in controls]
    with blas_threads(1) as pinned:
        assert pinned == 1
        assert [get() for get, _ in controls] == [1] * len(controls)
        a = np.ones((64, 64), np.float32)
        assert float((a @ a)[0, 0]) == 64.0  # BLAS still works while held
    assert [get() for get, _ in controls] == before
