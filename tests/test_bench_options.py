"""`aetui bench` options and the BLAS thread holder it measures under (fast: no training)."""

import numpy as np
import pytest

from aetui.commands.bench import parse_batches
from aetui.engine.blas import all_blas_threads as blas_threads
from aetui.engine.blas import openblas_controls
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

    controls = openblas_controls()
    if not controls:
        pytest.skip("no controllable OpenBLAS in this process")
    before = [get() for _, get, _ in controls]
    with blas_threads(1) as pinned:
        assert pinned == 1
        assert [get() for _, get, _ in controls] == [1] * len(controls)
        a = np.ones((64, 64), np.float32)
        assert float((a @ a)[0, 0]) == 64.0  # BLAS still works while held
    assert [get() for _, get, _ in controls] == before


def test_trainer_holds_the_engines_blas_to_one_thread():
    from aetui.config import Settings
    from aetui.engine.blas import engine_blas_controls
    from aetui.training.trainer import Trainer

    controls = engine_blas_controls()
    if not controls:
        pytest.skip("no controllable OpenBLAS in this process")
    before = [get() for _, get, _ in controls]
    images = np.zeros((8, 784), np.uint8)
    try:
        trainer = Trainer(Settings(hidden=4, batch=4), images, images[:2])
        trainer.warm_up()
        assert [get() for _, get, _ in controls] == [1] * len(controls)
    finally:
        for (_, _, put), n in zip(controls, before, strict=True):
            put(n)
