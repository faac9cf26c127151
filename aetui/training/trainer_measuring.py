"""The trainer's measurements: a mixin of Trainer (trainer.py), on its state and lock:
an epoch's end, the held-out evaluation, and the snapshots the lab draws."""

from __future__ import annotations

import time

import numpy as np

from aetui.data import as_float
from aetui.engine import engine, objective, reference
from aetui.engine.corrupted_loss import corrupted_held_out_loss
from aetui.engine.model import reconstruct
from aetui.experiments import unit_health
from aetui.training.snapshots import (
    LossPoint,
    LossTerms,
    Snapshot,
    frozen_copy,
)

MAX_CURVE_POINTS = 4000  # the loss curve is halved (every other point) beyond this


class MeasuringMixin:
    """Epoch ends, held-out measurements and snapshots."""

    def _clock(self, running: bool) -> None:
        """Start or stop the speed meters' clocks (they count training time only)."""
        for meter in (self.speed, self._epoch_speed):
            meter.resume() if running else meter.pause()

    @property
    def samples_per_s(self) -> float:
        """Recent training speed: samples ÷ wall seconds over the last ~2 s of training."""
        return self.speed.recent()

    def epoch_samples_per_s(self) -> float:
        """This epoch's samples so far ÷ its wall seconds of training."""
        return self._epoch_speed.overall()

    def _count(self, samples: int) -> None:
        for meter in (self.speed, self._epoch_speed):
            meter.add(samples)

    def _finish_epoch(self) -> None:
        self.epoch_index += 1
        self.order = self._order_rng.permutation(len(self.images))
        self.pos = 0
        self._evaluate()
        seconds = self._epoch_speed.seconds()
        n = max(self._epoch_sums[3], 1.0)
        recon, l2, sparsity = (float(v / n) for v in self._epoch_sums[:3])
        record = {
            "epoch": self.epoch_index,
            "step": self.step,
            "train_loss": recon + l2 + sparsity,
            "val_loss": self.last_val.total if self.last_val else None,
            "recon": recon,
            "l2": l2,
            "sparsity": sparsity,
            "val_recon": self.last_val.recon if self.last_val else None,
            "val_recon_corrupted": self.last_val_corrupted,
            "val_floor": self.val_floor if self._applied.loss == "ce" else None,
            "rho_hat_mean": float(self.rho_hat.mean()),
            "samples_per_s": self._epoch_speed.overall(),
            "seconds": seconds,
        }
        self.history.append(record)
        self._epoch_sums[:] = 0
        self._epoch_speed.reset()
        if self.on_epoch is not None:
            self.on_epoch(dict(record))

    def _evaluate(self) -> None:
        """Held-out loss terms and ρ̂ on the fixed subset; closes a loss-curve point."""
        started = time.perf_counter()
        s = self._applied
        p = self.params  # only this (the trainer) thread writes the weights
        if self._numpy_only():  # no numba call while the kernels compile
            recon, rho_hat = reference.held_out(p, self.val_x, s.loss, s.decoder)
        else:
            recon, rho_hat = engine.held_out(p, self.val_x, s.loss, s.decoder)
        terms = LossTerms(recon, objective.l2_term(p, s.l2),
                          objective.sparsity_term(rho_hat, s.rho, s.beta))
        if self._numpy_only():  # both run the kernels: measured from the switch on
            self.last_val_corrupted, self.h_range = None, None
        else:
            # Like for like with the training loss: the held-out images under the run's
            # noise; and each unit's activation range (dead/saturated units).
            self.last_val_corrupted = corrupted_held_out_loss(
                p, self.val_x, s.noise, s.q, s.sigma, s.seed, s.loss, s.decoder)
            self.h_range = unit_health.activation_range(p, self.val_x)
        self.rho_hat = rho_hat.astype(np.float32)
        self.last_val = terms
        if self._sums[3] > 0:
            n = self._sums[3]
            self.last_train = LossTerms(*(float(v / n) for v in self._sums[:3]))
            self._sums[:] = 0
        self.curve.append(LossPoint(self.step, self.epoch, self.last_train or terms, terms,
                                    float(rho_hat.mean()) if rho_hat.size else None,
                                    float(self.samples_per_s), self.last_val_corrupted))
        if len(self.curve) > MAX_CURVE_POINTS:
            self.curve = self.curve[::2]
        self._eval_cost = time.perf_counter() - started
        self._last_eval = time.perf_counter()

    def snapshot(self) -> Snapshot:
        """Copies of everything the front draws (any thread; holds the lock a few ms)."""
        s = self._applied
        with self._lock:
            W = self.params.W
            units = [u for u in self._filter_units if 0 <= u < W.shape[1]]
            cols = W[:, units].astype(np.float32)
            p = self.params.copy()
            curve = tuple(self.curve)
            knob_log = tuple(self.knob_log)
            step, epoch = self.step, self.epoch
        filters = objective.normalized_filters(cols)
        clean = as_float(self.display_x)
        corrupted = np.empty_like(clean)
        numpy_only = self._numpy_only()
        if len(clean) and numpy_only:
            corrupted[...] = reference.corrupt(s.seed, step, clean, s.noise, s.q, s.sigma)
        elif len(clean):
            engine.corrupt(np.random.default_rng([s.seed, 3, step]), clean, s.noise, s.q,
                           s.sigma, out=corrupted)
        rebuild = reference.reconstruct if numpy_only else reconstruct
        recon = rebuild(p, corrupted, s.decoder) if len(clean) else clean
        return Snapshot(
            step=step, epoch=epoch, state=self.state, samples_per_s=float(self.samples_per_s),
            settings=self.settings.to_dict(), train=self.last_train, val=self.last_val,
            rho_hat=frozen_copy(self.rho_hat), filter_units=tuple(units),
            filters=frozen_copy(filters), clean=frozen_copy(clean),
            corrupted=frozen_copy(corrupted), recon=frozen_copy(recon), curve=curve,
            knob_log=knob_log, message=self.message, n_in=self.n_in,
            image_shape=self.image_shape,
            params=p,  # copied above for the reconstructions; the inspector reuses it
            h_range=frozen_copy(self.h_range),
        )

    def _publish(self) -> None:
        if self.on_snapshot is not None:
            self.on_snapshot(self.snapshot())
