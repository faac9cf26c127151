"""The noise comparison with the real trainer on real MNIST, small: the orderings.

3,000 training images, k = 64, 15 epochs, seed 0. At this size the lecture's
big effects (probe accuracy rising with q) are within noise, but these hold
with a margin across seeds (checked with seeds 0-3 when the test was written):
masking noise lowers the units' mean activation ρ̂ and smooths the filters,
and a model trained on corrupted inputs has a higher training loss.
"""

from __future__ import annotations

import pytest

from aetui.config import Settings

pytest.importorskip("aetui.core.trainer")

pytestmark = pytest.mark.mnist

N_TRAIN = 3000
EPOCHS = 15


@pytest.fixture(scope="module")
def comparison(mnist_dir):
    from aetui.core.experiments import NoiseComparison
    from aetui.data import load_dataset

    data = load_dataset("mnist", data_dir=mnist_dir, limit=N_TRAIN, progress=False)
    test = (data.test_x[:2000], data.test_y[:2000])
    settings = Settings(dataset="mnist", data_dir=str(mnist_dir), limit=N_TRAIN, hidden=64,
                        tied=True, loss="ce", noise="mask", lr=0.1, batch=20, seed=0)
    return NoiseComparison(settings, (data.train_x, data.train_y, *test), (0, 0.25, 0.5),
                           epochs=EPOCHS, baselines=True).run()


def test_every_model_is_trained_and_measured(comparison):
    assert [r.label for r in comparison.runs] == ["vanilla", "q=0.25", "q=0.5"]
    for r in comparison.runs:
        assert r.epochs == EPOCHS
        assert r.steps == EPOCHS * N_TRAIN // 20
        assert r.filters.shape == (64, 784)
        # A linear probe on 64 learned features of 3,000 digits: far above chance.
        assert r.probe > 0.75
    assert comparison.baselines["raw"] > 0.8 and comparison.baselines["pca"] > 0.8


def test_masking_noise_lowers_mean_activation(comparison):
    rho = [r.rho_hat_mean for r in comparison.runs]
    assert rho[0] > rho[1] > rho[2]
    assert rho[0] - rho[2] > 0.03


def test_masking_noise_smooths_the_filters(comparison):
    smooth = [r.smoothness for r in comparison.runs]
    assert smooth[0] < smooth[2]


def test_corrupted_inputs_are_harder_to_reconstruct(comparison):
    train = [r.train_loss for r in comparison.runs]
    assert train[0] < train[1] < train[2]
