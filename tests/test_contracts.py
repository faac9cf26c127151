"""The real trainer and the tests' fake implement the same LabTrainer Protocol: a
method the lab calls cannot change on one side only."""

import inspect

import numpy as np
from fake_trainer import FakeTrainer

from aetui.config import Settings
from aetui.training.contracts import LabTrainer
from aetui.training.trainer import Trainer


def _params(fn) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _protocol_members() -> tuple[list[str], list[str]]:
    methods, attributes = [], []
    for name, value in vars(LabTrainer).items():
        if name.startswith("_"):
            continue
        (methods if inspect.isfunction(value) else attributes).append(name)
    attributes += [n for n in LabTrainer.__annotations__ if not n.startswith("_")]
    return methods, attributes


def test_methods_have_the_protocols_signatures_in_both_trainers():
    methods, _ = _protocol_members()
    assert {"run", "set_knob", "reset", "snapshot", "save", "weights"} <= set(methods)
    for name in methods:
        want = _params(getattr(LabTrainer, name))
        for cls in (Trainer, FakeTrainer):
            assert _params(getattr(cls, name)) == want, f"{cls.__name__}.{name}"


def test_fake_accepts_every_argument_the_real_constructor_takes():
    real = _params(Trainer.__init__)
    fake = {name: (kind, default) for name, kind, default in _params(FakeTrainer.__init__)}
    for name, kind, default in real:
        assert name in fake, f"FakeTrainer() lacks {name}"
        assert fake[name] == (kind, default), f"FakeTrainer({name}) differs"


def test_both_instances_have_the_protocols_attributes():
    images = (np.random.default_rng(0).random((40, 784)) * 255).astype(np.uint8)
    _, attributes = _protocol_members()
    assert {"knobs", "state", "step", "settings", "epoch", "filter_units"} <= set(attributes)
    for cls in (Trainer, FakeTrainer):
        trainer = cls(Settings(hidden=4, batch=10), images[:30], images[30:])
        for name in attributes:
            assert hasattr(trainer, name), f"{cls.__name__}.{name}"
        assert isinstance(trainer, LabTrainer)
