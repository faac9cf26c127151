"""Issue 17: the command line and `aetui train` -- limits, destinations, signals, names,
temporary files, messages. Every error is one line and exit 2."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import aetui.data
from aetui.cli import main
from aetui.config import Settings
from aetui.training.checkpoint import load_checkpoint
from aetui.training.trainer import Trainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.path.join(REPO, "tests")]))


def one_line_error(capsys, code, *needles) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("aetui: error: "), err
    for needle in needles:
        assert needle in err, err
    return err


def run_main(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse errors
        return int(exc.code)


# ----- 3: SIGTERM and SIGHUP save, exit 128 + n ------------------------------------------

TRAIN_FOREVER = """
import sys, aetui.data
from crafted import tiny_dataset
data = tiny_dataset()
aetui.data.load_dataset = lambda *a, **k: data
from aetui.cli import main
sys.exit(main(['train', '--epochs', '100000', '--hidden', '8', '--json', '--out', sys.argv[1]]))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_train_saves_on_sigterm_and_sighup(tmp_path, signum):
    out = tmp_path / "run.npz"
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_FOREVER, str(out)], env=ENV, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # one JSON line per epoch: training is under way
        assert json.loads(first)["epoch"] == 1
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert "saved to" in err
    ckpt = load_checkpoint(out)  # complete and valid
    assert ckpt.step > 0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_signals_after_the_first_are_held_so_the_save_cannot_be_torn():
    from aetui.commands.common import EndingSignals, Terminated

    before = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGHUP)}
    with EndingSignals() as signals:
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler raises here
        os.kill(os.getpid(), signal.SIGHUP)  # mid-save: remembered, not raised
        time.sleep(0.05)
    assert signals.exit_code() == 128 + signal.SIGTERM
    with EndingSignals() as signals:
        signals.hold()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
    assert signals.exit_code() == 143
    # Left in place after a TERM (the process is on its way out); restore for the suite.
    for signum, handler in before.items():
        signal.signal(signum, handler)


# ----- 4: default names never collide ---------------------------------------------------


def test_runs_started_in_the_same_second_get_different_files(tiny_data, capsys):
    from aetui.paths import checkpoint_dir

    before = set(checkpoint_dir().glob("train-*.npz")) if checkpoint_dir().exists() else set()
    for _ in range(2):
        assert main(["train", "--hidden", "4", "--steps", "0"]) == 0
    made = set(checkpoint_dir().glob("train-*.npz")) - before
    assert len(made) == 2


# ----- 5: destinations are checked before training ----------------------------------------


@pytest.mark.parametrize("out", ["/proc/x.npz", "/dev/null"])
def test_an_unwritable_out_is_refused_before_any_training(monkeypatch, capsys, out):
    def no_data(*_a, **_k):
        raise AssertionError("the data was loaded: training would have started")

    monkeypatch.setattr(aetui.data, "load_dataset", no_data)
    code = run_main(["train", "--steps", "5", "--out", out])
    one_line_error(capsys, code, "--out")


def test_an_out_folder_gets_a_fresh_file_inside_it(tmp_path, tiny_data, capsys):
    assert main(["train", "--hidden", "4", "--steps", "0", "--out", str(tmp_path)]) == 0
    made = list(tmp_path.glob("train-*.npz"))
    assert len(made) == 1 and not (tmp_path.parent / (tmp_path.name + ".npz")).exists()


def test_the_lab_refuses_an_unwritable_save_before_opening(capsys):
    code = run_main(["--save", "/proc/x.npz"])
    one_line_error(capsys, code, "--save")


# ----- 11: stated limits --------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["train", "--batch", "1000000000", "--steps", "1"],
    ["train", "--batch", "100000000000000000000000", "--steps", "1"],
    ["--batch", "1000000000"],
    ["bench", "--batch", "1000000000"],
    ["bench", "--seconds", "inf"],
    ["bench", "--seconds", "nan"],
    ["bench", "--threads", "64"],
])
def test_sizes_beyond_the_stated_limits_are_refused(argv, monkeypatch, capsys):
    monkeypatch.setattr(aetui.data, "load_dataset", lambda *a, **k: pytest.fail("loaded"))
    code = run_main(argv)
    one_line_error(capsys, code)


@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_a_config_that_is_not_a_regular_file_is_refused_at_once(tmp_path, kind):
    """Before: --config /dev/zero or a FIFO blocked for ever."""
    if kind == "fifo":
        path = tmp_path / "config.toml"
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    result = subprocess.run([sys.executable, "-m", "aetui", "train", "--config", str(path)],
                            env=ENV, cwd=REPO, capture_output=True, text=True, timeout=60)
    err = result.stderr.strip()
    assert result.returncode == 2 and len(err.splitlines()) == 1, err
    assert "not a regular file" in err


def test_a_config_that_is_not_utf8_is_one_line(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes('data_dir = "caf\xe9"\n'.encode("latin-1"))
    code = run_main(["train", "--config", str(path), "--steps", "1"])
    one_line_error(capsys, code, "not UTF-8")


def test_a_config_with_a_table_for_a_text_setting_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[data_dir]\nx = 1\n")
    code = run_main(["train", "--config", str(path), "--steps", "1"])
    one_line_error(capsys, code, "--data-dir")


# ----- 12: one class ------------------------------------------------------------------


def test_probe_with_one_class_is_one_line(tmp_path, tiny_data, capsys):
    ckpt = Trainer(Settings(hidden=4, batch=5), tiny_data.train_x, tiny_data.test_x).save(
        tmp_path / "c.npz")
    code = run_main(["probe", str(ckpt), "--limit", "1"])
    one_line_error(capsys, code, "two classes")


def test_compare_with_one_class_is_refused_before_training(tiny_data, capsys, monkeypatch):
    import aetui.experiments.experiments as experiments

    monkeypatch.setattr(experiments.NoiseComparison, "run",
                        lambda self: pytest.fail("trained before refusing"))
    code = run_main(["compare", "--limit", "1", "--hidden", "4"])
    one_line_error(capsys, code, "two classes")


# ----- 13: temporary files, fsync, odd paths -----------------------------------------------


def test_a_killed_saves_temporary_is_removed_by_the_next_save(tmp_path, tiny_data):
    trainer = Trainer(Settings(hidden=4, batch=5), tiny_data.train_x, tiny_data.test_x)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".run.npz.{dead}.0123abcd.tmp"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".run.npz.{os.getppid()}.4567cdef.tmp"  # a save in progress elsewhere
    live.write_bytes(b"y")
    trainer.save(tmp_path / "run.npz")
    assert not stale.exists()
    assert live.exists()


def test_saves_fsync_the_file_and_its_folder(tmp_path, tiny_data, monkeypatch):
    synced = []
    real = os.fsync

    def record(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real(fd)

    monkeypatch.setattr(os, "fsync", record)
    Trainer(Settings(hidden=4, batch=5), tiny_data.train_x, tiny_data.test_x).save(
        tmp_path / "run.npz")
    assert synced == [False, True]


# ----- 14: messages ----------------------------------------------------------------------


def test_every_error_has_the_same_prefix(capsys):
    code = run_main(["train", "--epochs", "x"])
    err = one_line_error(capsys, code)
    assert err.startswith("aetui: error: --epochs: invalid int value")
    code = run_main(["train", "--epochs", "0"])
    assert one_line_error(capsys, code).startswith("aetui: error: --epochs: ")


def test_divergence_names_the_knob_changed_last(tiny_data):
    trainer = Trainer(Settings(hidden=8, batch=10), tiny_data.train_x, tiny_data.test_x)
    trainer.on_diverged = lambda _message: trainer.stop()
    trainer.run(max_steps=3)
    trainer.set_knob("l2", 1e3)
    trainer.run(max_steps=200)
    assert trainer.state == "diverged"
    assert "l2 0.0→1000.0" in trainer.message
    assert "step 3" in trainer.message


def test_divergence_without_knob_changes_points_at_the_learning_rate(tiny_data):
    trainer = Trainer(Settings(hidden=8, batch=10, lr=1e6, loss="mse", decoder="linear"),
                      tiny_data.train_x, tiny_data.test_x)
    trainer.on_diverged = lambda _message: trainer.stop()
    trainer.run(max_steps=50)
    assert trainer.state == "diverged"
    assert "No knob changed" in trainer.message and "lr=1e+06" in trainer.message


def test_float64_weights_beyond_float32_give_no_warning_line(tmp_path, tiny_data, capsys):
    from crafted import crafted, valid_checkpoint

    good = valid_checkpoint(tmp_path / "good.npz")
    bad = crafted(good, tmp_path / "big.npz", W=np.full((784, 8), 1e300))
    code = run_main(["train", "--load", str(bad), "--steps", "1"])
    one_line_error(capsys, code, "too large for float32")
