"""The export bundle's pictures, drawn with matplotlib on its headless Agg canvas.

Figures are built directly (no pyplot: no global state, safe off the main
thread) and written as PNG. Each function takes plain arrays and returns the
path written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 100
MAX_FILTERS = 100  # a 10×10 grid stays legible; the README says which units are shown


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def _tile_grid(images: np.ndarray, shape: tuple[int, int], cols: int, gap: int = 2):
    """Images (n × pixels) laid out in a grid, separated by NaN gaps (drawn as background)."""
    h, w = shape
    rows = math.ceil(len(images) / cols)
    grid = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = \
            image.reshape(h, w)
    return grid


def filters_png(path: Path, W: np.ndarray, shape: tuple[int, int]) -> Path:
    """The first MAX_FILTERS filters (columns of W), each scaled to its own max |w|,
    labelled with the unit's number."""
    k = W.shape[1]
    units = min(k, MAX_FILTERS)
    cols = math.ceil(math.sqrt(units))
    tiles = W[:, :units].T.astype(np.float64)
    tiles = tiles / np.maximum(np.abs(tiles).max(axis=1, keepdims=True), 1e-12)
    grid = _tile_grid(tiles, shape, cols)
    fig = Figure(figsize=(8, 8.4))
    ax = fig.add_subplot()
    ax.imshow(np.ma.masked_invalid(grid), cmap="RdBu_r", vmin=-1, vmax=1,
              interpolation="nearest")
    h, w = shape
    for unit in range(units):
        r, c = divmod(unit, cols)
        ax.text(c * (w + 2) + 0.5, r * (h + 2) + 0.5, str(unit), fontsize=6, va="top",
                ha="left", color="black")
    ax.set_axis_off()
    shown = f"units 0–{units - 1} of {k}" if units < k else f"all {k} units"
    ax.set_title(f"filters ({shown}); each scaled to its own max |w|, red > 0 > blue")
    fig.tight_layout()
    return _save(fig, path)


def digits_png(path: Path, clean: np.ndarray, corrupted: np.ndarray, recon: np.ndarray,
               shape: tuple[int, int], noise_label: str) -> Path:
    """Rows: x (clean), x̃ (corrupted, as trained), x̂ (reconstruction of x̃)."""
    rows = (("x", clean), (f"x̃ ({noise_label})", corrupted), ("x̂", recon))
    d = len(clean)
    fig = Figure(figsize=(1.1 * max(d, 1) + 1.2, 3.8))
    for r, (label, images) in enumerate(rows):
        for i in range(d):
            ax = fig.add_subplot(3, d, r * d + i + 1)
            ax.imshow(np.clip(images[i].reshape(shape), 0, 1), cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle("fixed held-out digits: x, x̃, x̂")
    fig.tight_layout()
    return _save(fig, path)


def rho_hat_png(path: Path, rho_hat: np.ndarray, rho: float, beta: float) -> Path:
    """Histogram of the units' mean activations ρ̂ on held-out data, ρ marked."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.hist(rho_hat, bins=40, range=(0.0, 1.0), color="tab:blue")
    ax.axvline(rho, color="tab:red", linestyle="--", label=f"target ρ = {rho:g}")
    ax.axvline(float(np.mean(rho_hat)), color="black", linestyle=":",
               label=f"mean ρ̂ = {float(np.mean(rho_hat)):.3f}")
    ax.set_xlabel("ρ̂ (mean activation of a unit on held-out images)")
    ax.set_ylabel("units")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"ρ̂ of {len(rho_hat)} units (β = {beta:g})")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def loss_png(path: Path, steps: Sequence[int], train: Sequence[float],
             val: Sequence[float | None], knobs: Sequence[tuple[int, str]]) -> Path:
    """Training and held-out loss per example against the step, knob changes marked."""
    fig = Figure(figsize=(9, 4.5))
    ax = fig.add_subplot()
    ax.plot(steps, train, label="train (running mean, noisy inputs)", color="tab:blue")
    val_points = [(s, v) for s, v in zip(steps, val, strict=True) if v is not None]
    if val_points:
        ax.plot(*zip(*val_points, strict=True), label="held-out (clean inputs)",
                color="tab:orange")
    values = [v for v in (*train, *(v for _, v in val_points)) if v is not None]
    if values and min(values) > 0:
        ax.set_yscale("log")
    for step, label in knobs:
        ax.axvline(step, color="grey", linestyle=":", linewidth=1)
        ax.annotate(label, (step, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                    fontsize=7, va="top", ha="right", color="dimgrey")
    ax.set_xlabel("step (minibatch updates)")
    ax.set_ylabel("loss per example")
    ax.set_title("loss (knob changes dotted)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return _save(fig, path)
