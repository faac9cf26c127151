"""One hidden unit under the microscope: what it responds to and what it is worth.

Numbers for the lab's unit inspector (README "Inspect a unit"), computed with
numpy only (no numba, no Textual) from a copy of the weights and a fixed set of
held-out images -- the same held-out subset the trainer measures ρ̂ on, so the
inspector's ρ̂ is the sparsity panel's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aetui.engine.model import hidden_activations, reconstruct
from aetui.engine.objective import reconstruction_loss_sum

N_EXTREMES = 9  # top and bottom digits shown
HIST_BINS = 20


@dataclass(frozen=True)
class UnitReport:
    """What the inspector shows for hidden unit `unit` of the model as of update `step`.

    encoder: Wₗ/‖Wₗ‖ (n_in,), the unit-norm input that excites the unit most.
    decoder: Vₗ/‖Vₗ‖ (n_in,) when untied, else None (tied: it is the encoder).
    rho_hat: the unit's mean activation over the held-out images; rho the target.
    hist_counts / hist_edges: histogram of its activation (HIST_BINS bins on [0, 1]).
    top / bottom: indices (into the held-out images) of the N_EXTREMES images that
        activate it most / least, most extreme first; top_values / bottom_values
        their activations.
    base_loss / silenced_loss: held-out reconstruction loss per example (summed over
        pixels, clean inputs) with the unit as trained and with its activation
        forced to 0.
    """

    unit: int
    step: int
    encoder: np.ndarray
    decoder: np.ndarray | None
    rho_hat: float
    rho: float
    hist_counts: np.ndarray
    hist_edges: np.ndarray
    top: np.ndarray
    top_values: np.ndarray
    bottom: np.ndarray
    bottom_values: np.ndarray
    base_loss: float
    silenced_loss: float

    @property
    def decoder_minus_encoder(self) -> np.ndarray | None:
        """Vₗ/‖Vₗ‖ − Wₗ/‖Wₗ‖: how far untied decoding has moved from the encoder."""
        return None if self.decoder is None else self.decoder - self.encoder

    @property
    def silencing_rise(self) -> float:
        """How much the held-out loss per example rises when the unit is silenced."""
        return self.silenced_loss - self.base_loss

    @property
    def silencing_share(self) -> float:
        """The rise as a fraction of the loss itself (0.02 = the loss grows by 2 %)."""
        return self.silencing_rise / self.base_loss if self.base_loss > 0 else 0.0


class UnitInspector:
    """Per-unit statistics of one model (`params`, a copy) over held-out `images`.

    Encodes the images once (N×k activations); each `report(unit)` then costs one
    decoding of the N images with that unit silenced. `images` are N×n_in uint8 or
    floats in [0, 1]; `loss` and `decoder` are the model's settings ("ce"/"mse",
    "sigmoid"/"linear").
    """

    def __init__(self, params, images: np.ndarray, *, loss: str = "ce",
                 decoder: str = "sigmoid", step: int = 0) -> None:
        x = np.asarray(images)
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / np.float32(255.0)
        self.params = params
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.loss, self.decoder, self.step = loss, decoder, step
        # Float input keeps this on numpy (no jitted kernel on a UI worker thread).
        self.h = hidden_activations(params, self.x)
        n = max(len(self.x), 1)
        self.base_loss = reconstruction_loss_sum(params, self.h, self.x, loss, decoder) / n

    @property
    def hidden(self) -> int:
        return int(self.h.shape[1])

    def silenced_loss(self, unit: int) -> float:
        """Held-out reconstruction loss per example with unit `unit`'s activation set to 0."""
        h = self.h.copy()
        h[:, unit] = 0.0
        n = max(len(self.x), 1)
        return reconstruction_loss_sum(self.params, h, self.x, self.loss, self.decoder) / n

    def report(self, unit: int, rho: float) -> UnitReport:
        if not 0 <= unit < self.hidden:
            raise IndexError(f"unit {unit} is not in 0..{self.hidden - 1}")
        a = self.h[:, unit]
        order = np.argsort(-a, kind="stable")
        n = min(N_EXTREMES, len(a))
        top = order[:n]
        bottom = np.argsort(a, kind="stable")[:n]
        counts, edges = np.histogram(a, bins=HIST_BINS, range=(0.0, 1.0))
        p = self.params
        decoder = None if p.V is None else _unit_norm(p.V[unit])
        return UnitReport(
            unit=unit, step=self.step, encoder=_unit_norm(p.W[:, unit]), decoder=decoder,
            rho_hat=float(a.mean()) if len(a) else 0.0, rho=float(rho),
            hist_counts=counts, hist_edges=edges, top=top, top_values=a[top],
            bottom=bottom, bottom_values=a[bottom], base_loss=self.base_loss,
            silenced_loss=self.silenced_loss(unit))


@dataclass(frozen=True)
class DigitResponse:
    """What the model does to one input (the drawing canvas).

    corrupted: x̃, one draw of the current noise (n_in,); recon: x̂ = the model's output
    on `x` (n_in,); code: h(x), the k activations; top_units: units by activation,
    most active first (at most `n_top`).
    """

    corrupted: np.ndarray
    recon: np.ndarray
    code: np.ndarray
    top_units: np.ndarray


def respond(params, x: np.ndarray, *, decoder: str = "sigmoid", noise: str = "none",
            q: float = 0.0, sigma: float = 0.0, rng: np.random.Generator | None = None,
            n_top: int = 6) -> DigitResponse:
    """The model's view of one image `x` (n_in floats in [0, 1]): see DigitResponse."""
    x = np.asarray(x, dtype=np.float32).reshape(1, -1)
    code = hidden_activations(params, x)[0]
    recon = reconstruct(params, x, decoder)[0]
    corrupted = corrupt(x, noise, q, sigma, rng or np.random.default_rng())[0]
    top = np.argsort(-code, kind="stable")[:n_top]
    return DigitResponse(corrupted=corrupted, recon=np.asarray(recon, np.float32),
                         code=code, top_units=top)


def corrupt(x: np.ndarray, noise: str, q: float, sigma: float,
            rng: np.random.Generator) -> np.ndarray:
    """A fresh draw of the training corruption of rows `x` (README "What is computed"),
    through the engine: exactly what training draws from the same generator state."""
    from aetui.engine import engine

    x = np.ascontiguousarray(np.atleast_2d(np.asarray(x, dtype=np.float32)))
    return engine.corrupt(rng, x, noise, q, sigma)


def _unit_norm(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v.copy()
