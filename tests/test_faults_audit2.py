"""Issue 26's remaining faults, each reproduced: a hidden-units knob event in a lab
string (7), export in the lab after its working folder was deleted (12), a checkpoint at
the largest step (14), and the judgement calls decided in README "Limits and safety"."""

from __future__ import annotations

import numpy as np
import pytest
from crafted import crafted, json_field, tiny_dataset, valid_checkpoint

from aetui.config import Settings
from aetui.training import labstring
from aetui.training.checkpoint import MAX_COUNTER, load_checkpoint
from aetui.training.trainer import Trainer


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return valid_checkpoint(tmp_path_factory.mktemp("f") / "valid.npz", dataset="digits")


def record(changes=(), **settings) -> labstring.LabRecord:
    return labstring.LabRecord(Settings(dataset="digits", hidden=20, **settings),
                               tuple(changes), 10, "digits", "0" * 16, "x", "cpu")


# ----- fault 7: a knob event a replay cannot carry out -------------------------------------


@pytest.mark.parametrize("name, value", [("hidden", 7), ("limit", 50)])
def test_a_string_changing_k_or_the_data_mid_run_is_refused(name, value):
    text = labstring.encode(record([labstring.KnobEvent(5, name, value)]))
    with pytest.raises(labstring.LabStringError, match=f"{name} cannot change during a run"):
        labstring.decode(text)


def test_knob_events_a_run_can_log_still_replay():
    text = labstring.encode(record([labstring.KnobEvent(3, "q", 0.5),
                                    labstring.KnobEvent(4, "batch", 10)]))
    assert [c.name for c in labstring.decode(text).changes] == ["q", "batch"]


# ----- judgement call: strings hold no paths ------------------------------------------------


def test_a_string_naming_a_folder_is_refused():
    for settings in ({"data_dir": "/home/someone"}, {"dataset": "patches:/etc"}):
        payload = labstring.encode(record())
        # Forge the settings back in (encode leaves paths out on purpose).
        import json
        import zlib

        body = json.loads(zlib.decompress(labstring._unb64(payload.split(".")[1])))
        body["s"].update(settings)
        head = f"ae1.{labstring._b64(zlib.compress(json.dumps(body).encode()))}"
        with pytest.raises(labstring.LabStringError, match="holds a path"):
            labstring.decode(f"{head}.{labstring._check(head)}")


# ----- fault 14: the largest step ---------------------------------------------------------


def test_a_checkpoint_at_the_largest_step_resumes_into_a_file_it_reads(ckpt, tmp_path):
    state = json_field(ckpt, "state")
    state["step"] = MAX_COUNTER
    state["curve"] = [[MAX_COUNTER, *row[1:]] for row in state.get("curve", [])]
    top = crafted(ckpt, tmp_path / "top.npz", state=state,
                  step=np.array(MAX_COUNTER, np.int64))
    loaded = load_checkpoint(top)
    data = tiny_dataset()
    trainer = Trainer(loaded.settings, data.train_x, data.test_x, checkpoint=loaded)
    trainer.run(max_steps=5)
    assert trainer.step == MAX_COUNTER
    assert "limit" in trainer.message
    again = load_checkpoint(trainer.save(tmp_path / "again.npz"))
    assert again.step == MAX_COUNTER
    # Two below the limit: it trains the two, then stops there.
    state["step"] = MAX_COUNTER - 2
    near = load_checkpoint(crafted(ckpt, tmp_path / "near.npz", state=state))
    trainer = Trainer(near.settings, data.train_x, data.test_x, checkpoint=near)
    trainer.run(max_steps=5)
    assert trainer.step == MAX_COUNTER
    load_checkpoint(trainer.save(tmp_path / "near2.npz"))


# ----- fault 12: export in the lab after its working folder was deleted ---------------------


async def test_lab_export_after_the_working_folder_was_deleted(tmp_path, monkeypatch):
    import os

    from fake_trainer import wait_for

    from aetui.commands.lab import build_lab_app
    from aetui.paths import data_home
    from aetui.tui.options import LabOptions
    from aetui.tui.screens.lab import LabScreen

    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    save = tmp_path / "run.npz"
    settings = Settings(dataset="digits", limit=200, hidden=8, batch=10, seed=4)
    app = build_lab_app(settings, options=LabOptions(save_on_quit=True, save_path=save))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                              and app.lab.run.trainer.step > 0, timeout=120.0)
        os.rmdir(gone)  # as `rm -r` from another shell would
        screen = next(s for s in app.screen_stack if isinstance(s, LabScreen))
        await pilot.press("x")
        assert await wait_for(pilot, lambda: screen.last_export is not None, timeout=120.0)
        assert screen.last_export.parent == data_home() / "exports"
        assert (screen.last_export / "checkpoint.npz").is_file()
        await pilot.press("ctrl+e")  # the screen too: into the data folder
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert load_checkpoint(save).step > 0  # the run is saved on the way out


def test_export_refuses_a_symlinked_or_dangling_folder_before_the_work(ckpt, tmp_path,
                                                                        monkeypatch, capsys):
    import aetui.data as data_module
    from aetui.cli import main

    loads = []
    monkeypatch.setattr(data_module, "load_dataset_for",
                        lambda *a, **k: loads.append(a) or pytest.fail("data loaded"))
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for name in ("link", "dangling"):
        assert main(["export", str(ckpt), str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "symbolic link" in err
    assert loads == [] and not (tmp_path / "nowhere").exists()


# ----- judgement calls: the end of a run ------------------------------------------------------


def test_train_saves_elsewhere_when_the_disk_is_full_at_the_end(tmp_path, monkeypatch, capsys):
    import errno

    from aetui.cli import main
    from aetui.paths import checkpoint_dir
    from aetui.training import checkpoint as checkpoint_module

    full = tmp_path / "full"
    full.mkdir()
    real = checkpoint_module.write_atomically

    def write(path, fill):
        if path.parent == full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, fill)

    monkeypatch.setattr(checkpoint_module, "write_atomically", write)
    assert main(["train", "--dataset", "digits", "--limit", "100", "--hidden", "8",
                 "--batch", "10", "--steps", "7", "--out", str(full / "run.npz")]) == 0
    err = capsys.readouterr().err
    assert "No space left on device" in err and "saved to" in err
    saved = sorted(checkpoint_dir().glob("train-*.npz"))
    assert saved and load_checkpoint(saved[-1]).step == 7


def test_the_progress_bar_counts_this_runs_steps():
    from types import SimpleNamespace

    from aetui.commands.train import _Reporter

    report = _Reporter(json_lines=False, total_steps=3)
    report.start_step = 6
    report.snapshot(SimpleNamespace(state="training", samples_per_s=1.0, train=None,
                                    epoch=0.5, step=9))
    task = report._progress.tasks[0]
    assert (task.completed, task.total) == (3, 3)
    report.close()


async def test_the_lab_exits_129_after_a_hangup_and_saves(tmp_path, monkeypatch):
    import signal

    from fake_trainer import wait_for

    from aetui.commands.lab import build_lab_app
    from aetui.tui.options import LabOptions

    monkeypatch.chdir(tmp_path)
    save = tmp_path / "hup.npz"
    settings = Settings(dataset="digits", limit=200, hidden=8, batch=10, seed=4)
    app = build_lab_app(settings, options=LabOptions(save_on_quit=True, save_path=save))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                              and app.lab.run.trainer.step > 0, timeout=120.0)
        app._quit_from_signal(signal.SIGHUP)
        await wait_for(pilot, lambda: not app.is_running, timeout=60.0)
    assert app.return_code == 129
    assert load_checkpoint(save).step > 0


# ----- judgement calls: long strings, many events, number parsing ------------------------------


def test_a_long_lab_string_comes_from_a_file_or_stdin(tmp_path, monkeypatch):
    import io

    text = labstring.encode(record([labstring.KnobEvent(i, "q", 0.3 + (i % 2) / 10)
                                    for i in range(1, 10)]))
    (tmp_path / "s.txt").write_text(text + "\n")
    assert labstring.read_argument(f"@{tmp_path / 's.txt'}").strip() == text
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert labstring.decode(labstring.read_argument("-")).step == 10
    assert labstring.read_argument(text) == text
    for bad in (f"@{tmp_path / 'none.txt'}", f"@{tmp_path}"):
        with pytest.raises(labstring.LabStringError, match="not a regular file"):
            labstring.read_argument(bad)


def test_train_takes_lab_at_file(tmp_path, capsys):
    from aetui.cli import main

    first = tmp_path / "a.npz"
    assert main(["train", "--dataset", "digits", "--limit", "100", "--hidden", "8",
                 "--batch", "10", "--steps", "4", "--out", str(first)]) == 0
    (tmp_path / "s.txt").write_text(load_checkpoint(first).lab_string)
    out = tmp_path / "b.npz"
    assert main(["train", "--lab", f"@{tmp_path / 's.txt'}", "--out", str(out)]) == 0
    assert np.array_equal(load_checkpoint(out).params.W, load_checkpoint(first).params.W)


def test_too_many_knob_events_are_refused(monkeypatch):
    monkeypatch.setattr(labstring, "MAX_EVENTS", 5)
    events = [labstring.KnobEvent(i, "q", 0.3 + (i % 2) / 10) for i in range(6)]
    with pytest.raises(labstring.LabStringError, match="6 knob changes, more than the 5"):
        labstring.decode(labstring.encode(record(events)))


@pytest.mark.parametrize("option, text", [("--lr", "1e-320"), ("--lr", "1e-400"),
                                          ("--hidden", " 5"), ("--hidden", "1_0"),
                                          ("--hidden", "٣"), ("--q", "0x1p-2")])
def test_numbers_are_parsed_strictly(option, text, capsys):
    from aetui.cli import main

    assert main(["train", option, text, "--steps", "0"]) == 2
    assert f"{option}: expected" in capsys.readouterr().err


def test_plain_numbers_still_parse():
    from aetui.config import coerce

    assert [coerce("lr", t) for t in (".5", "5.", "1e-3", "+2", "3E2")] == [
        0.5, 5.0, 1e-3, 2.0, 300.0]
    assert [coerce("hidden", t) for t in ("7", "+7", "007")] == [7, 7, 7]
