"""The export bundle: every file is there and loads, and the numbers agree with the run."""

import numpy as np
import pytest
from bundle_checks import check_bundle

from aetui import cli
from aetui.data import load_dataset
from aetui.engine.engine import held_out
from aetui.training.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A short headless run with two knob overrides on resume (so knobs.csv has rows)."""
    folder = tmp_path_factory.mktemp("run")
    first, second = folder / "a.npz", folder / "b.npz"
    base = ["--dataset", "digits", "--limit", "200", "--hidden", "9", "--batch", "10"]
    assert cli.main(["train", *base, "--steps", "25", "--out", str(first), "--json"]) == 0
    assert cli.main(["train", "--load", str(first), "--q", "0.5", "--beta", "0.1",
                     "--steps", "15", "--out", str(second), "--json"]) == 0
    return second


def test_headless_export_writes_a_whole_bundle(trained, tmp_path, capsys):
    out = tmp_path / "bundle"
    capsys.readouterr()
    assert cli.main(["export", str(trained), str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    rows, knobs, record, W = check_bundle(out, with_svg=False)
    ckpt = load_checkpoint(trained)
    assert np.array_equal(W, ckpt.params.W)
    assert record.step == ckpt.step == 40
    # The CSV's last loss is the checkpoint's: measured again from its weights.
    last = rows[-1]
    assert int(last["step"]) == ckpt.step
    _, _, test_x, _ = load_dataset("digits", seed=ckpt.settings.seed, limit=200)
    recon, rho_hat = held_out(ckpt.params, test_x[:1000], ckpt.settings.loss,
                                            ckpt.settings.decoder)
    assert float(last["val_recon"]) == pytest.approx(recon, rel=1e-9)
    assert float(last["rho_hat_mean"]) == pytest.approx(float(rho_hat.mean()), rel=1e-6)
    assert float(last["val_total"]) == pytest.approx(
        float(last["val_recon"]) + float(last["val_l2"]) + float(last["val_sparsity"]))
    assert [(int(k["step"]), k["name"], k["new"]) for k in knobs] == [
        (25, "q", "0.5"), (25, "beta", "0.1")]
    assert int(rows[0]["step"]) == 0 and [int(r["step"]) for r in rows] == sorted(
        int(r["step"]) for r in rows)


def test_export_refuses_a_folder_in_use_without_touching_it(trained, tmp_path, capsys):
    used = tmp_path / "used"
    used.mkdir()
    (used / "mine.txt").write_text("keep me")
    assert cli.main(["export", str(trained), str(used)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aetui: error:") and "not an empty folder" in err
    assert [p.name for p in used.iterdir()] == ["mine.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers
