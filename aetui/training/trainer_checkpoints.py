"""The trainer's checkpoints: a mixin of Trainer (trainer.py), on its state and lock:
the whole run state out (checkpoint(), save()) and back in (a run resumed exactly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aetui.config import Settings
from aetui.errors import ConfigError
from aetui.knob_table import LIVE_KNOBS
from aetui.training import loss_rows
from aetui.training.checkpoint import Checkpoint, fit_to_data, save_checkpoint
from aetui.training.snapshots import (
    KnobChange,
)

# Where the data come from: a resumed run that changes these is a run on other data.
_DATA_FIELDS = ("dataset", "data_dir", "limit")


class CheckpointMixin:
    """The run's state to a Checkpoint and back."""

    def checkpoint(self) -> Checkpoint:
        """A consistent copy of the whole run state."""
        _ = self.data_hash  # hashed outside the lock: the trainer waits for nothing
        extras = (self.checkpoint_extras() if self.checkpoint_extras is not None
                  else self.loaded_extras)
        with self._lock:
            return Checkpoint(
                params=self.params.copy(),
                settings=self._applied,
                opt_state={k: v.copy() for k, v in self.opt.items()},
                history=[dict(h) for h in self.history],
                knob_log=[_change_dict(change) for change in self.knob_log],
                state={"step": self.step, "epoch_index": self.epoch_index, "pos": self.pos,
                       "adam_t": self.adam_t,
                       "order_rng": self._order_rng.bit_generator.state,
                       "noise_rng": self._noise_rng.bit_generator.state,
                       "curve": [loss_rows.encode(point) for point in self.curve]},
                order=self.order.copy(),
                lab_string=self._lab_string_if_possible(),
                extra_arrays=dict(extras),
            )

    def _start_from_checkpoint(self, ckpt: Checkpoint, settings: Settings) -> None:
        # The checkpoint was checked field by field when read; this checks it against
        # the data (the image order indexes it inside the kernel).
        order, pos = fit_to_data(ckpt, len(self.images), self.n_in)
        self._start_fresh(ckpt.settings)
        with self._lock:
            self.params = ckpt.params.copy()
            self._zero_optimizer()
            for name, array in ckpt.opt_state.items():
                if name in self.opt and self.opt[name].shape == array.shape:
                    self.opt[name][...] = array
            state = ckpt.state
            self.adam_t = int(state.get("adam_t", 0))
            self.step = int(state.get("step", 0))
            self.epoch_index = int(state.get("epoch_index", 0))
            if order is not None:
                self.order, self.pos = order, pos
            if "order_rng" in state:
                self._order_rng.bit_generator.state = state["order_rng"]
            if "noise_rng" in state:
                self._noise_rng.bit_generator.state = state["noise_rng"]
            self.history = list(ckpt.history)
            self.knob_log = [KnobChange(**entry) for entry in ckpt.knob_log]
            self.curve = [loss_rows.decode(row) for row in state.get("curve", [])]
            self.loaded_extras = dict(ckpt.extra_arrays)
        # Settings given on the command line override the checkpoint's: the live
        # ones stay pending in the session (taken as logged knob changes at the
        # first chunk); what needs a new model is refused.
        if settings.hidden != ckpt.settings.hidden:
            raise ConfigError("--hidden", f"the checkpoint has {ckpt.settings.hidden} "
                              f"hidden units; use a new run (no --load) to change it")
        changes = {k: v for k, v in settings.to_dict().items()
                   if v != getattr(ckpt.settings, k)}
        self._applied = ckpt.settings.replace(
            **{k: v for k, v in changes.items() if k not in LIVE_KNOBS})
        # Logged too (a lab string replays them), except where the data come from.
        for name, value in changes.items():
            if name not in LIVE_KNOBS and name not in _DATA_FIELDS:
                self.knob_log.append(KnobChange(self.step, name, getattr(ckpt.settings, name),
                                                value))
        self.knobs.adopt(self._applied)

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (any thread); returns the path written."""
        return save_checkpoint(path, self.checkpoint())


def _change_dict(change: KnobChange) -> dict[str, Any]:
    return {"step": change.step, "name": change.name, "old": change.old, "new": change.new}
