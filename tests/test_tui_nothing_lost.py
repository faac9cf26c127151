"""Issue 17, the lab: nothing lost (quit, load, export, hang-up with a dialog open) and
terminals that cannot show it (TERM=dumb, a non-UTF-8 locale, NO_COLOR)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from crafted import crafted, json_field, valid_checkpoint
from fake_trainer import make_lab_app, wait_for

from aetui.tui.app import LabApp
from aetui.tui.options import LabOptions
from aetui.tui.screens.prompt import PromptScreen

REPO = Path(__file__).resolve().parents[1]
SIZE = (120, 40)


async def started(pilot):
    app = pilot.app
    assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                          and app.lab.run.trainer.step > 3)
    return app.lab.run.trainer


# ----- 5: quit saves somewhere, or refuses -------------------------------------------------


async def test_quit_with_an_unwritable_save_path_saves_to_a_fresh_name(tmp_path):
    app = make_lab_app(options=LabOptions(save_path=Path("/proc/aetui-x.npz")))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause(0.3)
    from aetui.paths import checkpoint_dir

    assert app.return_value is not None and app.return_value.exists()
    assert app.return_value.parent == checkpoint_dir()


async def test_quit_refuses_when_nothing_can_be_saved(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", "/proc/aetui-nowhere")
    app = make_lab_app(options=LabOptions(save_path=Path("/proc/aetui-x.npz")))
    async with app.run_test(size=SIZE) as pilot:
        trainer = await started(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause(0.3)
        assert app.is_running and trainer.state != "stopped"
        assert any("not quitting" in n.message for n in app._notifications)
        app.options.save_on_quit = False
        await pilot.press("ctrl+q")


# ----- 6: Ctrl+O saves the current run first, and never replaces it with a bad file -----------


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return valid_checkpoint(tmp_path_factory.mktemp("lab") / "good.npz")


async def _load_via_prompt(pilot, path):
    await pilot.press("ctrl+o")
    assert isinstance(pilot.app.screen, PromptScreen)
    pilot.app.screen.query_one("Input").value = str(path)
    await pilot.press("enter")
    await pilot.pause(0.2)


async def test_loading_saves_the_current_run_first(tmp_path, good):
    target = tmp_path / "current.npz"
    app = make_lab_app(options=LabOptions(save_path=target))
    async with app.run_test(size=SIZE) as pilot:
        first = await started(pilot)
        await _load_via_prompt(pilot, good)
        assert await wait_for(pilot, lambda: len(app.fake_trainers) == 2)
        assert first.saved == [target] and target.exists()
        app.options.save_on_quit = False


async def test_a_checkpoint_that_fails_to_load_never_replaces_the_run(tmp_path, good):
    bad = crafted(good, tmp_path / "bad.npz", state=[1, 2])
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        first = await started(pilot)
        await _load_via_prompt(pilot, bad)
        assert isinstance(app.screen, PromptScreen)
        assert "not a checkpoint" in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert (app.lab.run.trainer is first and len(app.fake_trainers) == 1
                and app.lab.run.failure is None)
    assert json_field(good, "state")  # the good file is untouched


# ----- 7: odd folders do not crash the lab ---------------------------------------------------


async def test_a_dangling_link_in_the_checkpoint_folder_does_not_crash_ctrl_o(tmp_path):
    from aetui.paths import checkpoint_dir

    folder = checkpoint_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gone.npz").symlink_to(tmp_path / "nowhere.npz")
    try:
        app = make_lab_app()
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            await pilot.press("ctrl+o")
            await pilot.pause(0.1)
            assert isinstance(app.screen, PromptScreen)
            await pilot.press("escape")
    finally:
        (folder / "gone.npz").unlink()


async def test_ctrl_e_in_a_read_only_folder_saves_elsewhere(tmp_path, monkeypatch):
    readonly = tmp_path / "ro"
    readonly.mkdir()
    monkeypatch.chdir(readonly)
    real = LabApp.save_screenshot

    def save_screenshot(self, filename=None, path=None, time_format=None):
        if Path(path) == readonly:  # as a read-only folder would (chmod is moot for root)
            raise PermissionError(13, "Permission denied", str(path))
        return real(self, filename=filename, path=path)

    monkeypatch.setattr(LabApp, "save_screenshot", save_screenshot)
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("ctrl+e")
        await pilot.pause(0.2)
        assert app.is_running
    from aetui.paths import data_home

    assert list((data_home() / "screens").glob("aetui-*.svg"))


# ----- 15: terminals ----------------------------------------------------------------------


def test_readme_and_code_agree_on_the_minimum_size():
    from aetui.tui.screens.too_small import MIN_HEIGHT, MIN_WIDTH

    text = (REPO / "README.md").read_text()
    assert re.findall(r"needs at least (\d+)×(\d+)", text) == [(str(MIN_WIDTH),
                                                                  str(MIN_HEIGHT))]


@pytest.mark.parametrize("env, needle", [
    ({"TERM": "dumb"}, "TERM=dumb"),
    ({"LANG": "C", "LC_ALL": "C"}, "not UTF-8"),
    ({"LANG": "en_US.ISO-8859-1", "LC_ALL": ""}, "not UTF-8"),
])
def test_a_terminal_that_cannot_show_the_lab_gets_one_line(env, needle):
    full = dict(os.environ, AETUI_FORCE_TUI="1", PYTHONPATH=str(REPO), **env)
    full.setdefault("TERM", "xterm-256color")
    result = subprocess.run([sys.executable, "-m", "aetui", "--dataset", "digits"], env=full,
                            cwd=REPO, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    err = result.stderr.strip()
    assert result.returncode == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("aetui: error: ") and needle in err
    assert "\x1b" not in result.stdout


def test_images_are_ascii_in_a_locale_without_utf8(monkeypatch):
    from aetui.render import default_mode

    monkeypatch.setenv("LC_ALL", "C")
    assert default_mode() == "ascii"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert default_mode() != "ascii"


# ----- the real lab on a pseudo-terminal -----------------------------------------------------


class LabOnPty:
    """`aetui` on a pseudo-terminal, as in tmux or over SSH."""

    def __init__(self, tmp_path: Path, save: Path, **env) -> None:
        full = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm-256color", LANG="C.UTF-8",
                    LC_ALL="", COLORTERM="truecolor", **env)
        full.pop("NO_COLOR", None) if "NO_COLOR" not in env else None
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aetui", "--dataset", "digits", "--hidden", "16",
             "--save", str(save)], stdin=slave, stdout=slave, stderr=slave, env=full,
            cwd=tmp_path, start_new_session=True)
        os.close(slave)
        self.output = b""

    def read_until(self, pattern: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output):
                return True
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.output += os.read(self.master, 1 << 16)
                except OSError:
                    return False
        return bool(re.search(pattern, self.output))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


# The status bar counts steps once the kernels run (compiling takes a while in CI).
TRAINING = rb"step [1-9]"


@pytest.mark.timeout(400)
def test_hangup_with_a_dialog_open_saves_and_exits(tmp_path):
    """Before: saved, then blocked for ever writing to a terminal nobody reads (tmux gone)."""
    save = tmp_path / "hup.npz"
    lab = LabOnPty(tmp_path, save)
    try:
        assert lab.read_until(TRAINING, 300), lab.output[-500:]
        os.write(lab.master, b":")  # the value prompt: a dialog is open
        assert lab.read_until(rb"set a value", 20)
        # The terminal stops being read (the session is gone), then the hang-up arrives.
        os.killpg(lab.proc.pid, signal.SIGHUP)
        code = lab.proc.wait(timeout=60)
    finally:
        lab.close()
    assert code in (0, 128 + signal.SIGHUP)
    from aetui.training.checkpoint import load_checkpoint

    assert load_checkpoint(save).step > 0


@pytest.mark.timeout(400)
def test_no_color_sends_no_colour(tmp_path):
    lab = LabOnPty(tmp_path, tmp_path / "nc.npz", NO_COLOR="1")
    try:
        assert lab.read_until(TRAINING, 300), lab.output[-500:]
        lab.read_until(rb"(?!)", 2.0)  # a few more frames
        lab.proc.send_signal(signal.SIGTERM)
        lab.read_until(rb"(?!)", 3.0)
        lab.proc.wait(timeout=60)
    finally:
        lab.close()
    colours = re.findall(rb"\x1b\[[0-9;]*?(?:38|48);[25];[0-9;]*m", lab.output)
    assert not colours, colours[:5]


@pytest.mark.parametrize("cancel, expected", [(False, 129), (True, 0)])
def test_the_exit_watchdog_ends_a_stuck_process_unless_cancelled(cancel, expected):
    script = ("import time\nfrom aetui.tui.hangup import exit_after\n"
              "w = exit_after(129, 0.3)\n"
              f"{'w.cancel()' if cancel else ''}\n"
              "time.sleep(1.0)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == expected
