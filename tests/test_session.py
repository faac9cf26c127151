"""The knob session without a UI: one validation path, the ladders, the side effects,
and the hand-over to a trainer."""

import threading

import numpy as np
import pytest

from aetui.config import Settings
from aetui.errors import ConfigError
from aetui.knob_table import BY_NAME, KNOBS, LAB_KNOBS, LIVE_KNOBS, next_value
from aetui.training.session import KnobSession
from aetui.training.trainer import Trainer


def test_set_validates_once_and_reports_whether_it_changed():
    session = KnobSession(Settings(q=0.3))
    assert session.set("q", "0.5") is True  # text from the prompt is coerced
    assert session.settings.q == 0.5
    assert session.set("q", 0.5) is False
    with pytest.raises(ConfigError, match=r"--q: must be in \[0, 1\)"):
        session.set("q", 1.5)
    with pytest.raises(ConfigError, match="can't change while the lab runs"):
        session.set("dataset", "digits")
    with pytest.raises(ConfigError, match="--batch"):
        session.set("batch", 10)
    assert session.settings.q == 0.5  # refused values change nothing


def test_values_are_checked_in_context():
    session = KnobSession(Settings(loss="mse", decoder="linear"))
    with pytest.raises(ConfigError, match="--loss"):
        session.set("loss", "ce")  # cross-entropy needs the sigmoid decoder
    assert session.settings.loss == "mse"


def test_hidden_units_change_in_the_lab_but_not_through_the_live_path():
    session = KnobSession(Settings(hidden=64))
    assert session.set("hidden", 128)
    with pytest.raises(ConfigError, match="--hidden"):
        session.set("hidden", 32, live_only=True)
    assert "hidden" in LAB_KNOBS and "hidden" not in LIVE_KNOBS


def test_step_walks_the_ladder_and_stops_at_its_ends():
    session = KnobSession(Settings(lr=0.1))
    assert session.step("lr", 1) == 0.2
    assert session.step("lr", -1) == 0.1
    session.set("lr", 5.0)
    assert session.step("lr", 1) is None and session.settings.lr == 5.0
    assert session.step("noise", 1) == "gaussian"  # mask → gaussian: choices cycle
    assert session.step("tied", 1) is False and session.step("tied", 1) is True
    assert session.step("hidden", 1) == 256 and isinstance(session.settings.hidden, int)


def test_between_rungs_goes_to_the_neighbouring_rung():
    assert next_value("q", 0.37, 1) == 0.4 and next_value("q", 0.37, -1) == 0.35
    assert next_value("rho", 0.001, -1) == 0.001


def test_take_hands_over_changes_once_and_restart_clears_them():
    session = KnobSession(Settings(q=0.3, hidden=64))
    session.set("q", 0.5)
    session.set("hidden", 100)
    assert session.take() == {"q": 0.5, "hidden": 100}
    assert session.take() == {}
    session.set("beta", 3.0)
    fresh = session.restart(hidden=32)
    assert fresh.hidden == 32 and fresh.beta == 3.0
    assert session.take() == {} and session.settings == fresh


def test_on_change_wakes_whoever_listens():
    session = KnobSession(Settings())
    woken = threading.Event()
    session.on_change = woken.set
    session.set("q", 0.3)  # unchanged: nobody woken
    assert not woken.is_set()
    session.set("q", 0.4)
    assert woken.is_set()


def test_every_knob_row_is_consistent():
    for knob in KNOBS:
        assert knob.name in Settings.__dataclass_fields__
        default = getattr(Settings(), knob.name)
        if knob.pair:  # every rung is a valid value
            for value in knob.steps:
                Settings().replace(**{knob.name: value})
        elif knob.steps:
            assert default in knob.steps
    keys = [k.key for k in KNOBS if k.key]
    assert len(keys) == len(set(keys))
    assert BY_NAME["hidden"].effect and BY_NAME["tied"].effect and BY_NAME["optimizer"].effect


def _images():
    return (np.random.default_rng(0).random((60, 784)) < 0.2).astype(np.uint8) * 255


def test_a_trainer_takes_the_sessions_changes_and_carries_out_their_effects():
    images = _images()
    start = Settings(hidden=8, batch=10, optimizer="momentum")
    session = KnobSession(start)
    session.set("q", 0.5)  # before the trainer exists: pending, handed over at once
    trainer = Trainer(start, images[:50], images[50:], knobs=session)
    assert trainer.settings.q == 0.5
    trainer.run(max_steps=2)
    assert trainer._applied.q == 0.5
    assert [(c.step, c.name, c.old, c.new) for c in trainer.knob_log] == [(0, "q", 0.3, 0.5)]
    trainer.opt["opt_W"][...] = 1.0
    session.set("optimizer", "adam")
    session.set("tied", False)
    session.set("hidden", 12)
    trainer.run(max_steps=1)
    assert trainer._applied.optimizer == "adam" and trainer.params.V is not None
    assert trainer.params.hidden == 12 and trainer.step == 1  # new weights, counted afresh
    assert trainer.settings == session.settings and session.take() == {}


def test_lab_keys_and_prompt_aliases_are_built_from_the_table():
    from aetui.knob_table import parse_assignment
    from aetui.tui.screens.lab_keys import LAB_BINDINGS

    actions = {b.action: b for b in LAB_BINDINGS}
    for knob in KNOBS:
        if knob.pair:
            assert actions[f"knob('{knob.name}', -1)"].key == knob.key
            assert actions[f"knob('{knob.name}', 1)"].key == knob.key.upper()
        elif knob.key:
            assert actions[f"knob('{knob.name}', 1)"].key == knob.key
        for alias in knob.aliases:
            value = knob.steps[1] if knob.steps else getattr(Settings(), knob.name)
            assert parse_assignment(f"{alias}={value}") == (knob.name, value)


def test_new_k_asked_for_while_a_checkpoint_loads_gives_new_weights(tmp_path):
    from aetui.training.checkpoint import load_checkpoint

    images = _images()
    first = Trainer(Settings(hidden=8, batch=10), images[:50], images[50:])
    first.run(max_steps=3)
    path = first.save(tmp_path / "run.npz")
    session = KnobSession(first.settings)
    session.set("hidden", 16)  # a key pressed while the lab loads the checkpoint
    trainer = Trainer(first.settings, images[:50], images[50:], knobs=session,
                      checkpoint=load_checkpoint(path))
    assert trainer.step == 3 and trainer.params.hidden == 8
    trainer.run(max_steps=1)
    assert trainer.params.hidden == 16 and trainer.step == 1
