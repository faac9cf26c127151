"""The noise comparison with the real trainer on real MNIST, small: the orderings.

Masking noise at q = 0, 0.25, 0.5, 10 epochs. What holds, measured with
seeds 0-3 when these tests were written:

- k = 64, 3,000 images: masking lowers the units' mean activation ρ̂
  (0.50 > 0.48 > 0.44) and raises the training loss (96 < 100 < 104) and the
  clean held-out loss (99 < 101 < 115). Filter smoothness does NOT separate
  at this size (all ≈ 0.71, differences ≤ 0.003 with the sign depending on
  seed and epochs: an undercomplete vanilla model already has smooth filters),
  nor does the probe reliably, so neither is asserted here.
- k = 256, 2,000 images: the lecture's effects are there, with margins:
  smoothness 0.36 < 0.39 < 0.40 and probe accuracy 85.6% < 86.4% < 87.4%
  (seed 0; the same order for seeds 1 and 2).
"""

from __future__ import annotations

import pytest

from aetui.config import Settings

pytest.importorskip("aetui.training.trainer")

pytestmark = pytest.mark.mnist

EPOCHS = 10
LEVELS = (0, 0.25, 0.5)


def run_comparison(mnist_dir, n_train: int, hidden: int, baselines: bool):
    from aetui.data import load_dataset
    from aetui.experiments.experiments import NoiseComparison

    data = load_dataset("mnist", data_dir=mnist_dir, limit=n_train, progress=False)
    settings = Settings(dataset="mnist", data_dir=str(mnist_dir), limit=n_train,
                        hidden=hidden, tied=True, loss="ce", noise="mask", lr=0.1, batch=20,
                        seed=0)
    dataset = (data.train_x, data.train_y, data.test_x[:2000], data.test_y[:2000])
    return NoiseComparison(settings, dataset, LEVELS, epochs=EPOCHS,
                           baselines=baselines).run()


@pytest.fixture(scope="module")
def k64(mnist_dir):
    return run_comparison(mnist_dir, 3000, 64, baselines=True)


@pytest.fixture(scope="module")
def k256(mnist_dir):
    return run_comparison(mnist_dir, 2000, 256, baselines=False)


def test_every_model_is_trained_and_measured(k64):
    assert [r.label for r in k64.runs] == ["vanilla", "q=0.25", "q=0.5"]
    for r in k64.runs:
        assert r.epochs == EPOCHS
        assert r.steps == EPOCHS * 3000 // 20
        assert r.filters.shape == (64, 784)
        assert r.settings["hidden"] == 64 and r.settings["seed"] == 0
        # A linear probe on 64 learned features of 3,000 digits: far above chance.
        assert r.probe > 0.75
    assert k64.baselines["raw"] > 0.8 and k64.baselines["pca"] > 0.8


def test_masking_noise_lowers_mean_activation(k64):
    rho = [r.rho_hat_mean for r in k64.runs]
    assert rho[0] > rho[1] > rho[2]
    assert rho[0] - rho[2] > 0.03


def test_corrupted_inputs_cost_reconstruction(k64):
    train = [r.train_loss for r in k64.runs]
    held_out = [r.val_loss for r in k64.runs]
    assert train[0] < train[1] < train[2]
    assert held_out[0] < held_out[1] < held_out[2]


def test_denoising_smooths_the_filters_when_overcomplete_enough(k256):
    smooth = [r.smoothness for r in k256.runs]
    assert smooth[0] + 0.01 < smooth[1] < smooth[2]


def test_denoising_improves_the_probe_when_overcomplete_enough(k256):
    probe = [r.probe for r in k256.runs]
    assert probe[0] < probe[2]
    assert probe[0] < probe[1]
