"""The trainer on real MNIST and under control from another thread."""

import threading
import time

import numpy as np
import pytest

from aetui.config import Settings
from aetui.errors import ConfigError
from aetui.training.snapshots import DIVERGED, PAUSED, STOPPED
from aetui.training.trainer import Trainer


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    from aetui.data import load_dataset

    train_x, _, test_x, _ = load_dataset("mnist", data_dir=mnist_dir, limit=10_000)
    return train_x, test_x


@pytest.fixture(scope="module")
def small(mnist):
    train_x, test_x = mnist
    return train_x[:2000], test_x[:500]


def _run_in_thread(trainer, **limits):
    thread = threading.Thread(target=trainer.run, kwargs=limits, daemon=True)
    thread.start()
    return thread


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_held_out_loss_falls_within_one_epoch(mnist):
    train_x, test_x = mnist
    epochs = []
    trainer = Trainer(Settings(hidden=128), train_x, test_x, on_epoch=epochs.append)
    trainer.warm_up()
    trainer._evaluate()
    before = trainer.last_val.recon
    trainer.run(max_epochs=1)
    assert len(epochs) == 1
    assert epochs[0]["val_recon"] < 0.8 * before
    assert epochs[0]["step"] == 10_000 // 20
    assert set(epochs[0]) >= {"epoch", "step", "train_loss", "val_loss", "recon", "l2",
                              "sparsity", "rho_hat_mean", "samples_per_s", "seconds"}


def test_sparsity_penalty_pulls_mean_rho_hat_to_target(mnist):
    # Squared error with a linear decoder: with cross-entropy summed over 784
    # pixels the reconstruction gradient outweighs β = 3 and ρ̂ settles near 0.12.
    train_x, test_x = mnist
    settings = Settings(hidden=128, beta=3.0, rho=0.05, noise="none", loss="mse",
                        decoder="linear", lr=0.01)
    trainer = Trainer(settings, train_x, test_x)
    trainer.run(max_epochs=2)
    assert abs(float(trainer.rho_hat.mean()) - 0.05) < 0.02


def test_knob_from_another_thread_lands_at_next_chunk_and_is_logged(small):
    train_x, test_x = small
    trainer = Trainer(Settings(hidden=64, q=0.3), train_x, test_x)
    thread = _run_in_thread(trainer)
    assert _wait_for(lambda: trainer.step > 50)
    trainer.set_knob("q", 0.5)
    asked_at = trainer.step
    assert _wait_for(lambda: trainer._applied.q == 0.5, timeout=5)
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive()
    change = [c for c in trainer.knob_log if c.name == "q"]
    assert len(change) == 1
    assert (change[0].old, change[0].new) == (0.3, 0.5)
    assert change[0].step >= asked_at


def test_bad_knob_value_is_refused_with_the_option_name(small):
    trainer = Trainer(Settings(hidden=8), *small)
    with pytest.raises(ConfigError, match="--rho"):
        trainer.set_knob("rho", 1.5)
    with pytest.raises(ConfigError, match="--hidden"):
        trainer.set_knob("hidden", 10)


def test_pause_step_resume_stop_from_another_thread(small):
    train_x, test_x = small
    trainer = Trainer(Settings(hidden=32), train_x, test_x, snapshot_interval=0.02)
    trainer.pause()
    thread = _run_in_thread(trainer)
    assert _wait_for(lambda: trainer.state == PAUSED)
    time.sleep(0.1)
    assert trainer.step == 0
    trainer.step_once()
    assert _wait_for(lambda: trainer.step == 1)
    time.sleep(0.1)
    assert trainer.step == 1
    trainer.resume()
    assert _wait_for(lambda: trainer.step > 20)
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive() and trainer.state == STOPPED


def test_reset_gives_fresh_weights_with_new_hidden_size(small):
    train_x, test_x = small
    trainer = Trainer(Settings(hidden=32), train_x, test_x)
    initial = trainer.weights().W.copy()
    thread = _run_in_thread(trainer)
    assert _wait_for(lambda: trainer.step > 20)
    trainer.reset(hidden=48)
    assert _wait_for(lambda: trainer.params.hidden == 48)
    trainer.stop()
    thread.join(10)
    assert trainer.snapshot().rho_hat.shape == (48,)
    trainer.reset()  # same k: back to the seed's weights, step 0
    trainer.run(max_steps=0)
    assert trainer.step == 0 and trainer.weights().W.shape == (784, 48)
    assert initial.shape == (784, 32)


def test_divergence_pauses_restores_finite_weights_and_reset_recovers(small):
    train_x, test_x = small
    messages = []
    snapshots = []
    trainer = Trainer(Settings(hidden=32, lr=1e6, optimizer="sgd", loss="mse",
                               decoder="linear"), train_x, test_x,
                      on_diverged=messages.append, on_snapshot=snapshots.append,
                      snapshot_interval=0.01)
    thread = _run_in_thread(trainer)
    assert _wait_for(lambda: trainer.state == DIVERGED)
    assert messages and "step" in messages[0]
    assert trainer.weights().all_finite()
    for snap in snapshots:
        for array in (snap.filters, snap.recon, snap.rho_hat):
            assert np.isfinite(array).all()
    trainer.set_knob("lr", 0.01)
    trainer.reset()
    assert _wait_for(lambda: trainer.state not in (DIVERGED,) and trainer.step > 5)
    trainer.stop()
    thread.join(10)
    assert trainer.weights().all_finite()


def test_same_seed_and_knob_log_give_identical_weights(small):
    train_x, test_x = small

    def train():
        trainer = Trainer(Settings(hidden=24, noise="saltpepper", q=0.2, seed=7), train_x,
                          test_x)
        trainer.run(max_steps=40)
        trainer.set_knob("noise", "gaussian")
        trainer.set_knob("tied", False)
        trainer.set_knob("optimizer", "adam")
        trainer.set_knob("lr", 0.001)
        trainer.run(max_steps=150)
        return trainer

    a, b = train(), train()
    assert a.step == b.step == 190
    np.testing.assert_array_equal(a.params.W, b.params.W)
    np.testing.assert_array_equal(a.params.V, b.params.V)
    assert [c.step for c in a.knob_log] == [40] * 4


def test_untie_starts_v_as_w_transposed_and_tie_keeps_w(small):
    trainer = Trainer(Settings(hidden=16), *small)
    trainer.run(max_steps=10)
    W = trainer.params.W.copy()
    trainer.set_knob("tied", False)
    trainer.run(max_steps=0)
    np.testing.assert_array_equal(trainer.params.V, W.T)
    trainer.run(max_steps=10)
    W2 = trainer.params.W.copy()
    trainer.set_knob("tied", True)
    trainer.run(max_steps=0)
    assert trainer.params.V is None
    np.testing.assert_array_equal(trainer.params.W, W2)


def test_snapshot_holds_copies_not_live_arrays(small):
    trainer = Trainer(Settings(hidden=16), *small)
    trainer.filter_units = range(4)
    snap = trainer.snapshot()
    trainer.run(max_steps=20)
    assert snap.filters.shape == (4, 784)
    assert not snap.filters.flags.writeable
    np.testing.assert_allclose(np.linalg.norm(snap.filters, axis=1), 1, rtol=1e-5)
    assert not np.allclose(snap.filters, trainer.snapshot().filters)
    assert snap.clean.shape == snap.corrupted.shape == snap.recon.shape == (8, 784)
