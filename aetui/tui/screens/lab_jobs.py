"""The lab's background jobs (PCA, linear probe), run in thread workers that the lab
screen starts. Each takes copies of what it needs and returns the message the
screen handles; none touches a widget.
"""

from __future__ import annotations

import threading

import numpy as np

from aetui.tui.messages import PcaComputed, ProbeFinished


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
