"""Issue 16: the initialisations of the references, and full-batch L-BFGS (UFLDL's
sparse autoencoder) with ρ̂ over the whole training set."""

import itertools

import naive
import numpy as np
import pytest

from aetui.config import Settings
from aetui.engine import engine
from aetui.engine.model import Params, init_params, init_range
from aetui.errors import ConfigError
from aetui.training.checkpoint import load_checkpoint
from aetui.training.trainer import Trainer

RANGES = {"glorot-sigmoid": 4 * np.sqrt(6 / (784 + 100)), "glorot": np.sqrt(6 / (784 + 100)),
          "ufldl": np.sqrt(6 / (784 + 100 + 1))}


@pytest.mark.parametrize("init", sorted(RANGES))
def test_initialisations_have_their_stated_ranges_and_repeat_per_seed(init):
    r = RANGES[init]
    assert init_range(init, 784, 100) == pytest.approx(r, rel=1e-12)
    p = init_params(784, 100, seed=3, tied=False, init=init)
    for a in (p.W, p.V):
        assert np.abs(a).max() <= r and np.abs(a).max() > 0.99 * r  # fills U(±r)
        assert abs(a.mean()) < 0.01 * r
    again = init_params(784, 100, seed=3, tied=False, init=init)
    np.testing.assert_array_equal(p.W, again.W)
    np.testing.assert_array_equal(p.V, again.V)
    assert not np.array_equal(p.W, init_params(784, 100, seed=4, tied=False, init=init).W)
    # UFLDL draws its decoder weights separately; the others start untied as Wᵀ.
    assert np.array_equal(p.V, p.W.T) == (init != "ufldl")
    assert not p.b.any() and not p.c.any()


def test_init_is_recorded_in_checkpoints_and_changes_only_at_a_reset(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (40, 784), dtype=np.uint8)
    trainer = Trainer(Settings(hidden=100, init="glorot", noise="none"), images, images)
    assert np.abs(trainer.params.W).max() <= RANGES["glorot"]
    path = trainer.save(tmp_path / "run.npz")
    assert load_checkpoint(path).settings.init == "glorot"
    with pytest.raises(ConfigError, match="--init"):
        trainer.set_knob("init", "ufldl")  # not live: only through a reset
    trainer.reset(init="glorot-sigmoid")
    trainer.run(max_steps=0)
    assert trainer.settings.init == "glorot-sigmoid"
    assert np.abs(trainer.params.W).max() > 1.5 * RANGES["glorot"]


def full_batch_objective(images, tied, loss, decoder, l2, beta, chunk):
    """The full-batch objective as check_gradient takes it (float64 weights)."""
    hyper = engine.Hyper.of(tied=tied, loss=loss, decoder=decoder, l2=l2, beta=beta, rho=0.1)

    def value_and_gradient(p):
        terms, g = engine.full_batch_loss_and_gradient(
            images, Params(p["W"], p["b"], p["c"], p.get("V")), hyper, chunk=chunk)
        return sum(terms), {"W": g.W, "b": g.b, "c": g.c, **({} if tied else {"V": g.V})}
    return value_and_gradient


@pytest.mark.parametrize(("tied", "variant"), list(itertools.product(
    (True, False), (("ce", "sigmoid"), ("mse", "sigmoid"), ("mse", "linear")))))
def test_full_batch_gradient_matches_finite_differences(tied, variant):
    """Chunks of 3 rows over 7 images: ρ̂ must still be the whole set's."""
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (7, 12), dtype=np.uint8)
    p = {"W": rng.normal(0, 0.5, (12, 5)), "b": rng.normal(0, 0.1, 5),
         "c": rng.normal(0, 0.1, 12)}
    if not tied:
        p["V"] = rng.normal(0, 0.5, (5, 12))
    naive.check_gradient(full_batch_objective(images, tied, *variant, 0.01, 3.0, 3), p)
    # Its value is the naive objective over all 7 images at once.
    x = images / 255.0
    terms, _ = engine.full_batch_loss_and_gradient(
        images, Params(p["W"], p["b"], p["c"], p.get("V")),
        engine.Hyper.of(tied=tied, loss=variant[0], decoder=variant[1], l2=0.01, beta=3.0,
                        rho=0.1), chunk=3)
    np.testing.assert_allclose(terms, naive.objective_terms(x, x, p, tied, *variant, 0.01, 3.0),
                               rtol=1e-10)


def test_lbfgs_needs_clean_inputs():
    with pytest.raises(ConfigError, match="--optimizer"):
        Settings(optimizer="lbfgs", noise="mask").validate()


def _ufldl_settings(**changes) -> Settings:
    """UFLDL's MNIST sparse autoencoder in this project's conventions: squared error
    without ½ doubles its β = 3 to 6; λ stays 3e-3 (README, "Conventions")."""
    return Settings(hidden=196, tied=False, init="ufldl", loss="mse", decoder="sigmoid",
                    noise="none", rho=0.1, beta=6.0, l2=3e-3, optimizer="lbfgs").replace(**changes)


def test_lbfgs_iterations_are_updates_and_a_knob_change_restarts_its_memory():
    rng = np.random.default_rng(0)
    images = (rng.random((60, 784)) < 0.2).astype(np.uint8) * 255
    trainer = Trainer(_ufldl_settings(hidden=8), images, images)
    changed = []

    def on_epoch(record):
        if record["step"] == 2 and not changed:
            changed.append(trainer.set_knob("beta", 3.0))
    trainer.on_epoch = on_epoch
    trainer.run(max_steps=4)
    assert trainer.step == 4 and len(trainer.history) == 4  # one iteration per update
    assert [(c.step, c.name, c.new) for c in trainer.knob_log] == [(2, "beta", 3.0)]
    assert "L-BFGS memory restarted" in trainer.message
    assert [h["train_loss"] for h in trainer.history][:2] == sorted(
        [h["train_loss"] for h in trainer.history][:2], reverse=True)


@pytest.mark.mnist
def test_short_lbfgs_sparse_run_on_mnist_reaches_the_target_rho(mnist_dir):
    """UFLDL's exercise at a fifth of its 10,000 images: ρ̂ (over the training images,
    as the penalty sees it) within 0.02 of ρ = 0.1 after 25 iterations."""
    from aetui.data import load_dataset

    data = load_dataset("mnist", data_dir=mnist_dir, limit=2000, progress=False)
    trainer = Trainer(_ufldl_settings(), data.train_x, data.test_x[:200])
    _, rho_hat = engine.held_out(trainer.weights(), data.train_x, "mse")
    assert abs(rho_hat.mean() - 0.1) > 0.1  # far from the target at the start
    trainer.run(max_steps=25)
    assert trainer.step == 25
    _, rho_hat = engine.held_out(trainer.weights(), data.train_x, "mse")
    assert abs(rho_hat.mean() - 0.1) <= 0.02
    assert trainer.history[-1]["train_loss"] < 0.5 * trainer.history[0]["train_loss"]


def test_lbfgs_pauses_and_single_steps_inside_one_memory():
    """Pause and step in the lab's way (another thread): one iteration per step, and the
    L-BFGS session (its memory) carries on through them."""
    import threading
    import time

    rng = np.random.default_rng(1)
    images = (rng.random((60, 784)) < 0.2).astype(np.uint8) * 255
    trainer = Trainer(_ufldl_settings(hidden=8), images, images, snapshot_interval=0.02)
    sessions = []
    real_session = trainer._lbfgs_session
    trainer._lbfgs_session = lambda limit: sessions.append(limit) or real_session(limit)
    trainer.pause()
    worker = threading.Thread(target=trainer.run, kwargs={"max_steps": 50})
    worker.start()
    trainer.step_once()
    deadline = time.monotonic() + 120
    while trainer.step < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    trainer.resume()
    while trainer.step < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    trainer.pause()
    time.sleep(0.2)
    paused_at = trainer.step
    trainer.step_once()
    while trainer.step < paused_at + 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    assert trainer.step == paused_at + 1  # exactly one iteration for the step
    trainer.stop()
    worker.join(60)
    assert not worker.is_alive()
    # The first single step ran as its own one-iteration session; from the resume
    # on, pausing and stepping stayed inside one session.
    assert sessions == [1, 49]
    assert "restarted" not in trainer.message
