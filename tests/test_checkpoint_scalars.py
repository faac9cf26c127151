"""Checkpoint step/epoch as plain scalars; the encoder's batch option (contract extras)."""

import numpy as np

from aetui.config import Settings
from aetui.engine.model import hidden_activations, init_params
from aetui.training.checkpoint import load_checkpoint
from aetui.training.trainer import Trainer


def test_step_and_epoch_are_plain_scalars_in_the_file(tmp_path):
    rng = np.random.default_rng(0)
    images = (rng.random((120, 784)) < 0.15).astype(np.uint8) * 255
    trainer = Trainer(Settings(hidden=8, batch=20), images[:100], images[100:])
    trainer.run(max_steps=7)  # one epoch (5 steps) and 2 of the next
    path = trainer.save(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as raw:
        assert int(raw["step"]) == 7
        assert float(raw["epoch"]) == trainer.epoch == 1.4
    ckpt = load_checkpoint(path)
    assert (ckpt.step, ckpt.epoch) == (7, 1.4)


def test_hidden_activations_of_pixels_and_of_floats_match_one_product():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (300, 784), dtype=np.uint8)  # two blocks of rows
    params = init_params(784, 5, seed=2, tied=True)
    floats = images.astype(np.float32) / np.float32(255)
    whole = 1 / (1 + np.exp(-(floats.astype(np.float64) @ params.W + params.b)))
    np.testing.assert_allclose(hidden_activations(params, floats), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hidden_activations(params, images), whole, rtol=1e-5, atol=1e-6)
