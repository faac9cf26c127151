"""The command line: version, help, and one-line errors for bad values."""

import subprocess
import sys

import pytest

from aetui.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aetui", *args], capture_output=True,
                          text=True, timeout=120)


def test_version_prints_version():
    from aetui import __version__

    result = run_cli("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


@pytest.mark.parametrize("command", [[], ["train"], ["probe"], ["compare"], ["filters"],
                                     ["bench"]])
def test_every_command_has_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--q", "1.0"], "--q"),
        (["--q", "-0.1"], "--q"),
        (["--rho", "0"], "--rho"),
        (["--rho", "1"], "--rho"),
        (["--l2", "-1"], "--l2"),
        (["--beta", "-0.5"], "--beta"),
        (["--sigma", "-1"], "--sigma"),
        (["--batch", "0"], "--batch"),
        (["--hidden", "0"], "--hidden"),
        (["--hidden", "5000"], "--hidden"),
        (["--lr", "0"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--q", "abc"], "--q"),
        (["--noise", "pink"], "--noise"),
        (["--optimizer", "lbfgs"], "--optimizer"),
        (["--loss", "ce", "--decoder", "linear"], "--loss"),
        (["--load", "/nonexistent/ckpt.npz"], "--load"),
        (["--config", "/nonexistent/run.toml"], "--config"),
    ],
)
def test_bad_value_is_one_line_exit_2(args, option, capsys):
    with pytest.raises(SystemExit) as exc_info:
        code = main(["train", "--steps", "1", *args])
        raise SystemExit(code)
    assert exc_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert option in err
    assert "Traceback" not in err


def test_unknown_config_key_is_rejected(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text("q = 0.2\nbogus = 3\n")
    assert main(["train", "--steps", "1", "--config", str(config)]) == 2
    assert "bogus" in capsys.readouterr().err


def test_config_file_and_command_line_precedence(tmp_path):
    from aetui.commands.common import settings_from_args

    config = tmp_path / "run.toml"
    config.write_text("q = 0.2\nhidden = 64\nnoise = 'gaussian'\n")
    parser = __import__("aetui.cli", fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(["train", "--config", str(config), "--hidden", "32"])
    settings, load = settings_from_args(args)
    assert (settings.q, settings.hidden, settings.noise, load) == (0.2, 32, "gaussian", None)


@pytest.mark.parametrize("value", ["0", "-5", "abc", "inf"])
def test_bad_history_cap_is_one_line_exit_2(value, capsys):
    assert main(["--history-mb", value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--history-mb" in err and "Traceback" not in err
