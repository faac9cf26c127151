"""The held-out loss on corrupted inputs (like for like with the training loss)."""

import numpy as np
import pytest

from aetui.config import Settings
from aetui.data import as_float
from aetui.engine.corrupted_loss import corrupt_held_out, corrupted_held_out_loss
from aetui.engine.model import init_params
from aetui.training.snapshots import point_from_row, point_to_row
from aetui.training.trainer import Trainer


def _digits(n=300, n_in=64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, n_in)) * 255 * (rng.random((n, n_in)) < 0.4)).astype(np.uint8)


def _direct_ce(params, noisy, clean):
    """Cross-entropy of the tied sigmoid AE, written out in float64."""
    W, b, c = (np.asarray(a, np.float64) for a in (params.W, params.b, params.c))
    h = 1.0 / (1.0 + np.exp(-(noisy @ W + b)))
    xhat = 1.0 / (1.0 + np.exp(-(h @ W.T + c)))
    per_pixel = -(clean * np.log(xhat) + (1.0 - clean) * np.log(1.0 - xhat))
    return float(per_pixel.sum(axis=1).mean())


def test_masked_held_out_loss_matches_a_direct_computation():
    x = _digits()
    clean = as_float(x).astype(np.float64)  # the trainer's own scaling of uint8 pixels
    params = init_params(64, 16, seed=1, tied=True)
    noisy = corrupt_held_out(x, "mask", 0.4, 0.0, seed=7).astype(np.float64)
    # Masking: every pixel is either kept exactly or zeroed, about 40 % of them zeroed.
    kept = noisy == clean
    assert np.all(kept | (noisy == 0.0))
    dropped = (noisy == 0.0) & (clean > 0)
    assert dropped.sum() / (clean > 0).sum() == pytest.approx(0.4, abs=0.03)
    got = corrupted_held_out_loss(params, x, "mask", 0.4, 0.0, seed=7, loss="ce")
    assert got == pytest.approx(_direct_ce(params, noisy, clean), rel=1e-5)
    # Not the clean loss: the corruption is really fed in.
    assert abs(got - _direct_ce(params, clean, clean)) > 1e-3


def test_gaussian_held_out_loss_matches_a_direct_computation_linear_decoder():
    rng = np.random.default_rng(3)
    x = (0.2 * rng.standard_normal((200, 36))).astype(np.float32)
    params = init_params(36, 10, seed=2, tied=True)
    noisy = corrupt_held_out(x, "gaussian", 0.0, 0.3, seed=5).astype(np.float64)
    assert np.std(noisy - x) == pytest.approx(0.3, rel=0.05)
    W, b, c = (np.asarray(a, np.float64) for a in (params.W, params.b, params.c))
    h = 1.0 / (1.0 + np.exp(-(noisy @ W + b)))
    direct = float((((h @ W.T + c) - x) ** 2).sum(axis=1).mean())
    got = corrupted_held_out_loss(params, x, "gaussian", 0.0, 0.3, seed=5, loss="mse",
                                  decoder="linear")
    assert got == pytest.approx(direct, rel=1e-5)


def test_the_same_seed_draws_the_same_held_out_corruption():
    x = _digits()
    a = corrupt_held_out(x, "mask", 0.3, 0.0, seed=4)
    assert np.array_equal(a, corrupt_held_out(x, "mask", 0.3, 0.0, seed=4))
    assert not np.array_equal(a, corrupt_held_out(x, "mask", 0.3, 0.0, seed=5))


def test_trainer_reports_both_held_out_losses_and_keeps_them_in_checkpoints():
    x = _digits(600)
    records = []
    s = Settings(hidden=16, noise="mask", q=0.5, batch=20, seed=3)
    trainer = Trainer(s, x[:500], x[500:], on_epoch=records.append)
    trainer.run(max_epochs=1)
    record = records[-1]
    direct = corrupted_held_out_loss(trainer.params, trainer.val_x, "mask", 0.5, 0.0, 3)
    assert record["val_recon_corrupted"] == pytest.approx(direct, rel=1e-9)
    assert record["val_recon_corrupted"] != pytest.approx(record["val_recon"], rel=1e-3)
    point = trainer.curve[-1]
    assert point.val_corrupted == record["val_recon_corrupted"]
    assert point_from_row(point_to_row(point)) == point
    # Old rows (no corrupted figure) still load.
    assert point_from_row(point_to_row(point)[:10]).val_corrupted is None


def test_without_noise_the_two_held_out_losses_agree():
    x = _digits(400)
    records = []
    trainer = Trainer(Settings(hidden=16, noise="none"), x[:300], x[300:],
                      on_epoch=records.append)
    trainer.run(max_epochs=1)
    assert records[-1]["val_recon_corrupted"] == pytest.approx(records[-1]["val_recon"],
                                                               rel=1e-4)


def test_a_saved_run_keeps_its_corrupted_held_out_curve(tmp_path):
    from aetui.training.checkpoint import load_checkpoint

    x = _digits(400)
    trainer = Trainer(Settings(hidden=8, noise="mask", q=0.4), x[:300], x[300:])
    trainer.run(max_steps=20)
    path = trainer.save(tmp_path / "run.npz")
    rows = load_checkpoint(path).state["curve"]
    assert rows[-1][10] == trainer.curve[-1].val_corrupted is not None
