"""The README's reproduction commands, each run at a few hundred images."""

import importlib.util
import json
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[list[str]]:
    lines = (REPO / "README.md").read_text().splitlines()
    return [shlex.split(line)[2:] for line in lines
            if line.startswith("python scripts/reproduce.py ")]


def _reproduce_module():
    spec = importlib.util.spec_from_file_location("reproduce", REPO / "scripts" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_lists_every_reference_setup():
    setups = [argv[0] for argv in _readme_commands()]
    assert setups.count("dA") == 4 and "ufldl" in setups and "logreg" in setups


@pytest.mark.mnist
@pytest.mark.timeout(900)
def test_readme_reproduction_commands_run_at_reduced_size(mnist_dir, tmp_path, monkeypatch,
                                                           capsys):
    monkeypatch.chdir(tmp_path)
    reproduce = _reproduce_module()
    results = []
    for argv in _readme_commands():
        assert reproduce.main([*argv, "--limit", "300", "--epochs", "1", "--iterations", "2",
                               "--data-dir", str(mnist_dir)]) == 0
        results.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    for r in results:
        assert r["images"] == 300
        if r["setup"] == "dA":
            assert r["cost_epoch_1"] > r["train_floor"] and -1 <= r["smoothness"] <= 1
        elif r["setup"] == "ufldl":
            assert r["iterations"] == 2 and 0 < r["rho_hat_mean"] < 1
            assert (tmp_path / r["png"]).stat().st_size > 0
        else:
            assert 0.5 < r["test_accuracy"] <= 1
