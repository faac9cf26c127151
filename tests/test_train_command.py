"""`aetui train` end to end, and numba's on-disk cache across processes."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from aetui.cli import main


def test_steps_zero_saves_the_initial_weights(tmp_path, capsys):
    out = tmp_path / "init.npz"
    code = main(["train", "--dataset", "digits", "--hidden", "12", "--seed", "3", "--steps",
                 "0", "--out", str(out)])
    assert code == 0
    from aetui.engine.model import init_params

    with np.load(out) as raw:
        np.testing.assert_array_equal(raw["W"], init_params(784, 12, 3, True).W)


def test_json_lines_per_epoch_then_resume_from_checkpoint(tmp_path, mnist_dir, capsys):
    out = tmp_path / "run.npz"
    base = ["train", "--data-dir", str(mnist_dir), "--limit", "400", "--hidden", "16",
            "--batch", "50", "--json", "--out", str(out)]
    assert main([*base, "--epochs", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert lines[1]["step"] == 16
    for key in ("epoch", "step", "train_loss", "val_loss", "recon", "l2", "sparsity",
                "rho_hat_mean", "samples_per_s", "seconds"):
        assert key in lines[0]
    assert main([*base, "--load", str(out), "--steps", "3", "--q", "0.5"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert record["step"] == 19
    with np.load(out) as raw:
        log = json.loads(str(raw["knob_log"]))
    assert log == [{"step": 16, "name": "q", "old": 0.3, "new": 0.5}]


def test_missing_data_dir_is_one_line_exit_2(tmp_path, capsys):
    code = main(["train", "--data-dir", str(tmp_path / "nope"), "--steps", "1"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err


def test_corrupt_checkpoint_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["train", "--load", str(bad), "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.npz" in err


@pytest.mark.timeout(600)
def test_second_process_compiles_nothing():
    """Kernels compiled once are loaded from numba's cache by the next process. The first
    process is this one: its kernels are in the test run's cache (conftest), compiled
    here or by an earlier test, so the suite compiles them once (issue 24)."""
    from aetui.config import Settings
    from aetui.engine import engine
    from aetui.training.trainer import Trainer

    images = (np.random.default_rng(0).random((50, 784)) < 0.2).astype(np.uint8) * 255
    Trainer(Settings(hidden=8), images, images).run(max_steps=3)
    trained = {k: len(k.signatures) for k in engine.kernel_dispatchers() if k.signatures}
    assert len(trained) >= 2  # training and the held-out measurement: compiled, so on disk
    script = textwrap.dedent("""
        import json
        import numpy as np
        from aetui.config import Settings
        from aetui.engine import engine
        from aetui.training.trainer import Trainer
        images = (np.random.default_rng(0).random((50, 784)) < 0.2).astype(np.uint8) * 255
        Trainer(Settings(hidden=8), images, images).run(max_steps=3)
        kernels_used = engine.kernel_dispatchers()
        print(json.dumps({"misses": sum(sum(k.stats.cache_misses.values()) for k in kernels_used),
                          "hits": sum(sum(k.stats.cache_hits.values()) for k in kernels_used)}))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=os.environ["NUMBA_CACHE_DIR"])
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=500)
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout.strip().splitlines()[-1])
    assert second["misses"] == 0
    assert second["hits"] >= len(trained)  # every kernel it used, from the cache
