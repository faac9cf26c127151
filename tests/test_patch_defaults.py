"""The patch defaults are the lecture's setting, and a short run of them leaves the noise
for local oriented edges while weight decay alone does not (README, "Natural image
patches")."""

import pytest

from aetui.config import PATCH_DEFAULTS, Settings, dataset_defaults
from aetui.data import image_layout, load_dataset_for
from aetui.engine import objective
from aetui.experiments import analysis
from aetui.training.trainer import Trainer

# Fewer patches than the defaults (20,000), so that it runs in a test: the units leave the
# noise by the number of updates, not of patches seen. Measured (seed 0): locality /
# orientation 0.11 / 0.10 at the start (white noise on 12 × 12: 0.13 / 0.09), 0.18 / 0.21
# after 60 epochs (12,000 updates), when the mean ρ̂ has fallen from 0.47 to 0.05; the full
# defaults reach 0.48 / 0.71 after 28 epochs of 100,000 (28,000 updates).
SHORT = {"patch_count": 20_000}
EPOCHS = 60


def test_the_defaults_are_the_lectures_setting():
    s = Settings(**{**dataset_defaults("patches"), "dataset": "patches"})
    assert (s.patch_size, s.whiten, s.hidden, s.tied, s.decoder, s.loss) == (
        12, "zca", 200, True, "linear", "mse")
    assert (s.optimizer, s.lr, s.batch, s.beta, s.l2) == ("adam", 0.005, 100, 0.0, 0.0)
    assert (s.noise, s.sigma_std) == ("gaussian", 1.6)


@pytest.fixture(scope="module")
def patches():
    s = Settings(**{**PATCH_DEFAULTS, "dataset": "patches", **SHORT})
    return s, load_dataset_for(s, progress=False), image_layout(s)


def _measures_after(settings, data, layout, epochs):
    shape, channels = layout
    trainer = Trainer(settings, data.train_x, data.test_x, image_shape=shape)
    trainer.run(max_epochs=epochs)
    filters = objective.normalized_filters(trainer.weights().W)
    return analysis.edge_measures(filters, shape, channels), float(trainer.rho_hat.mean())


def test_a_short_run_of_the_defaults_leaves_the_noise_and_weight_decay_does_not(patches):
    settings, data, layout = patches
    shape, channels = layout
    noise = analysis.no_structure_baseline(shape, channels)
    dae, rho_hat = _measures_after(settings, data, layout, EPOCHS)
    assert rho_hat < 0.1  # the units have become selective
    assert dae["locality"] >= noise["locality"] + 0.03, (dae, noise)
    assert dae["orientation"] >= 2 * noise["orientation"], (dae, noise)
    decay, _ = _measures_after(settings.replace(noise="none", l2=0.003), data, layout, 20)
    assert decay["locality"] <= 0.2 and decay["orientation"] <= 0.2, decay


def test_the_no_structure_baseline_falls_with_the_patch_size():
    small, large = (analysis.no_structure_baseline((n, n)) for n in (8, 16))
    assert small["locality"] == pytest.approx(0.25, abs=0.03)  # ~13 of 64 pixels
    assert large["locality"] < small["locality"] and large["locality"] < 0.1
