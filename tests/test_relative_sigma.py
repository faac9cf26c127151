"""σ relative to the data's spread (--sigma-std), on any data."""

import numpy as np
import pytest

from aetui.config import Settings, data_std, dataset_defaults, resolve_sigma
from aetui.errors import ConfigError
from aetui.training.trainer import Trainer


def test_data_std_is_the_std_of_all_values_in_the_trainers_units():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2500, 49), dtype=np.uint8)
    assert data_std(pixels, block=1000) == pytest.approx(np.std(pixels / 255.0), rel=1e-9)
    rows = (0.3 * rng.standard_normal((700, 36)) + 2.0).astype(np.float32)
    assert data_std(rows, block=64) == pytest.approx(np.std(rows.astype(np.float64)),
                                                     rel=1e-6)


def test_the_trainer_turns_a_relative_sigma_into_the_datas_units():
    rng = np.random.default_rng(1)
    images = (rng.random((400, 64)) * 255 * (rng.random((400, 64)) < 0.3)).astype(np.uint8)
    spread = np.std(images[:300] / 255.0)  # the training rows set the unit
    s = Settings(hidden=8, noise="gaussian", sigma=0.5, sigma_std=1.6)
    trainer = Trainer(s, images[:300], images[300:])
    assert trainer.settings.sigma == pytest.approx(1.6 * spread, rel=1e-6)
    assert trainer.settings.sigma_std is None  # resolved once: checkpoints keep σ itself
    snap = trainer.snapshot()
    drawn = np.asarray(snap.corrupted, np.float64) - np.asarray(snap.clean, np.float64)
    assert np.std(drawn) == pytest.approx(1.6 * spread, rel=0.1)  # the noise really is that


def test_without_a_relative_sigma_nothing_changes():
    s = Settings(noise="gaussian", sigma=0.25)
    assert resolve_sigma(s, np.zeros((3, 4), np.uint8)) is s


def test_a_given_sigma_beats_the_patches_relative_default():
    assert dataset_defaults("patches")["sigma_std"] == 1.6
    assert "sigma_std" not in dataset_defaults("patches", {"sigma": 0.1})
    assert dataset_defaults("patches", {"sigma": 0.1, "sigma_std": 2.0})["sigma_std"] == 1.6


def test_a_negative_relative_sigma_is_an_error():
    with pytest.raises(ConfigError, match="--sigma-std"):
        Settings(sigma_std=-1.0).validate()
