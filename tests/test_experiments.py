"""The noise comparison runner: one model per level, all else equal (fake trainer)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from fake_trainer import FakeTrainer

from aetui.config import Settings
from aetui.errors import ConfigError
from aetui.experiments import experiments

TINY_SIZES = (400, 100)  # the conftest's tiny_dataset: training and test images


class RecordingFactory:
    """Builds FakeTrainers and remembers the settings each was given."""

    def __init__(self) -> None:
        self.settings: list[Settings] = []
        self.trainers: list[FakeTrainer] = []

    def __call__(self, settings, train_x, test_x, **kw):
        self.settings.append(settings)
        trainer = FakeTrainer(settings, train_x, test_x, **kw)
        self.trainers.append(trainer)
        return trainer


def test_one_model_per_level_with_everything_else_equal(tiny_dataset):
    factory = RecordingFactory()
    finished: list[int] = []
    base = Settings(hidden=16, batch=20, seed=7, lr=0.05, q=0.3)
    comparison = experiments.NoiseComparison(
        base, tiny_dataset, [0, 0.25, 0.5], epochs=2, probe=True, baselines=True,
        filter_count=5, trainer_factory=factory,
        on_run_finished=lambda i, r: finished.append(i))
    result = comparison.run()
    assert [r.label for r in result.runs] == ["vanilla", "q=0.25", "q=0.5"]
    assert [s.q for s in factory.settings] == [0.0, 0.25, 0.5]
    # Only q differs between the runs: same seed, data, model and optimiser.
    others = [{k: v for k, v in s.to_dict().items() if k != "q"} for s in factory.settings]
    assert others[0] == others[1] == others[2] == {
        k: v for k, v in base.to_dict().items() if k != "q"}
    assert all(t.train_x is tiny_dataset[0] for t in factory.trainers)
    assert finished == [0, 1, 2]
    for run in result.runs:
        assert run.epochs == 2 and run.filters.shape == (5, 784)
        assert 0.0 <= run.probe <= 1.0 and np.isfinite(run.smoothness)
        assert 0.0 < run.rho_hat_mean < 1.0
        assert set(run.row()) >= {"train_loss", "val_loss", "probe", "rho_hat_mean",
                                  "smoothness"}
    assert set(result.baselines) == {"raw", "pca"}
    assert not result.stopped
    assert result.to_json()["runs"][2]["level"] == 0.5


def test_gaussian_noise_compares_sigma(tiny_dataset):
    factory = RecordingFactory()
    base = Settings(hidden=8, noise="gaussian", sigma=0.3, q=0.1)
    result = experiments.NoiseComparison(base, tiny_dataset, [0, 0.5], probe=False,
                                         trainer_factory=factory).run()
    assert [s.sigma for s in factory.settings] == [0.0, 0.5]
    assert all(s.q == 0.1 for s in factory.settings)
    assert [r.label for r in result.runs] == ["vanilla", "σ=0.5"]
    assert result.runs[0].probe is None and result.baselines == {}


def test_bad_levels_fail_before_any_training(tiny_dataset):
    factory = RecordingFactory()
    with pytest.raises(ConfigError, match="--q"):
        experiments.NoiseComparison(Settings(), tiny_dataset, [0, 1.0], trainer_factory=factory)
    assert factory.settings == []
    with pytest.raises(ConfigError, match="--epochs"):
        experiments.NoiseComparison(Settings(), tiny_dataset, [0], epochs=0)


def test_stop_from_another_thread_ends_the_comparison(tiny_dataset):
    factory = RecordingFactory()
    comparison = experiments.NoiseComparison(
        Settings(hidden=8, batch=1), tiny_dataset, [0, 0.25, 0.5], epochs=1000,
        probe=False, trainer_factory=factory,
        on_run_started=lambda i, label, t: threading.Timer(0.2, comparison.stop).start())
    result = comparison.run()
    assert result.stopped and result.runs == ()
    assert len(factory.trainers) == 1  # the later models were never built


@pytest.mark.parametrize(("text", "levels"), [("0,0.25,0.5", (0.0, 0.25, 0.5)),
                                              (" 0.1 ,0.2,", (0.1, 0.2))])
def test_parse_levels(text, levels):
    assert experiments.parse_levels(text) == levels


@pytest.mark.parametrize("text", ["", "a,b", "0,0", ","])
def test_parse_levels_rejects(text):
    with pytest.raises(ConfigError, match="--q"):
        experiments.parse_levels(text)


def test_level_field_and_label():
    assert experiments.level_field("mask") == "q"
    assert experiments.level_field("saltpepper") == "q"
    assert experiments.level_field("gaussian") == "sigma"
    with pytest.raises(ConfigError, match="--noise"):
        experiments.level_field("none")
    assert experiments.level_label("mask", 0) == "vanilla"
    assert experiments.level_label("gaussian", 1.0) == "σ=1"
