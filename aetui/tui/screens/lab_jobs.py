"""The lab's background jobs (PCA, linear probe, compare mode): LabJobs, a mixin of
the lab screen, starts them in thread workers; each job takes copies of what it
needs and returns the message the screen handles; none touches a widget.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from aetui.training.snapshots import PAUSED, TRAINING
from aetui.tui.messages import PcaComputed, ProbeFinished
from aetui.tui.widgets.filters import FiltersPanel

if TYPE_CHECKING:
    from aetui.training.run import LabRun


class _Cancelled(Exception):
    """Raised from a progress callback to abandon the probe on quit."""


def compute_pca(images: np.ndarray, k: int, seed: int) -> PcaComputed:
    """The data's first `k` principal components (k × n_in), or why they failed."""
    try:
        from aetui.experiments.analysis import pca_components

        return PcaComputed(pca_components(images, k, seed=seed))
    except Exception as exc:
        return PcaComputed(None, f"PCA failed: {exc}")


def run_probe(step: int, params, arrays: tuple, cancelled: threading.Event) -> ProbeFinished:
    """Linear-probe accuracies (raw pixels, features, PCA) of `params` at `step`;
    gives up, error "cancelled", once `cancelled` is set."""

    def progress(*_args, **_kwargs) -> None:
        if cancelled.is_set():
            raise _Cancelled

    try:
        from aetui.experiments.analysis import probe_accuracies

        return ProbeFinished(step, probe_accuracies(params, *arrays, progress=progress))
    except _Cancelled:
        return ProbeFinished(step, None, "cancelled")
    except Exception as exc:
        return ProbeFinished(step, None, f"{type(exc).__name__}: {exc}")


class LabJobs:
    """PCA, the linear probe and compare mode, for the lab screen this is mixed into."""

    run: LabRun
    jobs_cancelled: threading.Event

    def action_toggle_pca(self) -> None:
        panel = self.query_one(FiltersPanel)
        showing = panel.toggle_pca()
        if showing and self.pca_components is None and not self._pca_running:
            if self.run.dataset is None:
                panel.set_pca(None, "PCA: waiting for the data…")
                return
            self._pca_running = True
            panel.set_pca(None, "PCA: computing the principal components…")
            n_in = self.run.arrays[0].shape[1] if self.run.arrays else 784  # patches: 64
            k = min(n_in, max(64, self.session.settings.hidden))
            images, seed = self.run.arrays[0], self.session.settings.seed
            self.run_worker(lambda: self.post_message(compute_pca(images, k, seed)),
                            thread=True, name="pca", exit_on_error=False)

    def on_pca_computed(self, message: PcaComputed) -> None:
        self._pca_running = False
        if message.components is not None:
            self.pca_components = message.components
        panel = self._panel(FiltersPanel)
        if panel is not None:
            panel.set_pca(message.components, message.error or "")
        if message.error:
            self.app.notify(message.error, severity="error")

    def action_probe(self) -> None:
        if self.trainer is None or self.run.dataset is None:
            self.app.notify("the probe needs a trainer: wait for training to start", timeout=3)
            return
        if self._probe_running:
            self.app.notify("the probe is already running", timeout=2)
            return
        if not getattr(self.run.dataset, "labelled", True):
            self.app.notify("the linear probe needs labelled data (mnist or digits); natural-"
                            "image patches have no labels", severity="warning", timeout=5)
            return
        self._probe_running = True
        self.probe_result = None
        step, params, arrays = self.trainer.step, self.trainer.weights(), self.run.arrays
        self.app.notify("linear probe started (raw pixels, AE features, PCA)…", timeout=3)
        cancelled = self.jobs_cancelled
        self.run_worker(lambda: self.post_message(run_probe(step, params, arrays, cancelled)),
                        thread=True, name="probe", exit_on_error=False)
        self.refresh_status()

    def on_probe_finished(self, message: ProbeFinished) -> None:
        self._probe_running = False
        if message.accuracies:
            self.probe_result = (message.step, message.accuracies)
            acc = message.accuracies
            self.app.notify(f"raw {acc['raw']:.1%} · features {acc['features']:.1%} · "
                            f"PCA {acc['pca']:.1%}",
                            title=f"linear probe @ step {message.step:,}", timeout=10)
        elif message.error != "cancelled":
            self.app.notify(f"probe failed: {message.error}", severity="error")
        self.refresh_status()

    def action_compare(self) -> None:
        """Compare mode (aetui/tui/screens/compare.py): this lab's model pauses while the
        compared ones train, and resumes when the screen is dismissed."""
        try:
            from aetui.tui.screens.compare import CompareScreen
        except ImportError:
            self.app.notify("compare mode is not in this build; `aetui compare` runs it "
                            "headless", severity="warning")
            return
        t = self.trainer
        resume = t is not None and t.state == TRAINING
        if resume:
            t.pause()

        def done(_result=None) -> None:
            if resume and self.trainer is t and t.state == PAUSED:
                t.resume()
            self.refresh_status()

        self.app.push_screen(CompareScreen.from_lab(self), done)
