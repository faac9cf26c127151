"""Each dataset's defaults, with each optimiser and its default rate, do not diverge in
their first epoch (config.SAFE_LR), at a small size."""

import numpy as np
import pytest

from aetui.config import OPTIMIZERS, Settings, dataset_defaults
from aetui.data import image_layout, load_dataset_for
from aetui.training.snapshots import DIVERGED
from aetui.training.trainer import Trainer

SMALL = {"digits": {"limit": 3000}, "patches": {"patch_count": 5000}}


@pytest.fixture(scope="module")
def data():
    loaded = {}
    for name, size in SMALL.items():
        settings = Settings(**{**dataset_defaults(name), "dataset": name, **size})
        loaded[name] = (load_dataset_for(settings, progress=False), image_layout(settings)[0])
    return loaded


def _settings(dataset: str, optimizer: str, **given) -> Settings:
    given = {"optimizer": optimizer, **given}
    if optimizer == "lbfgs":
        given["noise"] = "none"  # L-BFGS trains on clean inputs (a ConfigError otherwise)
    merged = {"dataset": dataset, **SMALL[dataset], **given}
    return Settings.from_dict({**dataset_defaults(dataset, merged), **merged})


def _first_epoch(data, settings):
    dataset, shape = data[settings.dataset]
    train_x = dataset.train_x[: settings.limit] if settings.limit else dataset.train_x
    records = []
    trainer = Trainer(settings, train_x, dataset.test_x, on_epoch=records.append,
                      on_diverged=lambda _message: trainer.stop(), image_shape=shape)
    trainer._evaluate()
    before = trainer.last_val.recon
    trainer.run(max_epochs=1)
    return trainer, before, records


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dataset", list(SMALL))
def test_default_rates_do_not_diverge_in_the_first_epoch(data, dataset, optimizer):
    settings = _settings(dataset, optimizer)
    trainer, before, records = _first_epoch(data, settings)
    assert trainer.state != DIVERGED, (dataset, optimizer, settings.lr, trainer.message)
    assert records and np.isfinite(records[-1]["val_recon"])
    assert records[-1]["val_recon"] < before  # it learned, not merely survived


def test_the_old_sgd_rate_on_patches_diverges_so_the_test_can_fail(data):
    settings = _settings("patches", "sgd", lr=0.1)
    assert settings.lr == 0.1  # a rate that is given is kept
    trainer, _, _ = _first_epoch(data, settings)
    assert trainer.state == DIVERGED
