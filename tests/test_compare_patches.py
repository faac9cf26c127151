"""`aetui compare --dataset patches`: the lecture's figure, DAE vs weight decay vs PCA."""

import json

import pytest

from aetui.cli import main
from aetui.commands.compare import _titled


def test_compare_on_patches_puts_the_dae_beside_weight_decay_and_pca(tmp_path, capsys):
    png = tmp_path / "f.png"
    assert main(["compare", "--dataset", "patches", "--patch-count", "1000", "--hidden", "8",
                 "--epochs", "1", "--json", "--png", str(png)]) == 0
    record = json.loads(capsys.readouterr().out)
    dae, decay = record["runs"]
    assert dae["label"] == "DAE σ=1.6×std" and decay["label"] == "weight decay λ=0.003"
    assert dae["level"] == pytest.approx(1.6 * 0.2, rel=1e-3)  # σ itself, in data units
    assert decay["level"] == 0.0
    # Like for like: without noise the corrupted held-out loss is the clean one.
    assert decay["val_loss_corrupted"] == pytest.approx(decay["val_loss"], rel=1e-4)
    assert dae["val_loss_corrupted"] > dae["val_loss"]  # σ = 0.32 noise costs something
    for run in record["runs"]:
        assert 0 <= run["locality"] <= 1 and 0 <= run["orientation"] <= 1
    assert set(record["pca_measures"]) == {"locality", "orientation"}
    assert record["noise_measures"]["locality"] == pytest.approx(0.127, abs=0.01)  # 12 × 12
    assert png.stat().st_size > 1000


def test_a_sweep_asked_for_is_still_a_sweep(capsys):
    assert main(["compare", "--dataset", "patches", "--patch-count", "500", "--hidden", "4",
                 "--epochs", "1", "--sigma", "0,0.2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [r["level"] for r in record["runs"]] == [0.0, 0.2]


def test_titles_carry_the_measures():
    assert _titled("PCA", 0.15, 0.45) == "PCA · local 0.15 · orient 0.45"
    assert _titled("q=0.25", None, None) == "q=0.25"
