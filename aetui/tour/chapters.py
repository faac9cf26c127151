"""The tour's chapters: the lecture's twelve steps (modules 7.3–7.5) as data.

A chapter is numbered by the lecture's module and a sub-number per step
(7.4.3); adjacent steps may share one. It names the knob values it sets (they
go through the lab's knob session, so the status bar shows them and the lab
string records them), the panel it is about, its claims, and the background
experiment some need (several models side by side, or a probe). The words are
the project's; the README's Tour section cites the published sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# What a background experiment trains (aetui/tour/check.py and the tour panel):
COMPARE_Q = "compare-q"  # vanilla vs q = 0.25 vs q = 0.5, all else equal (NoiseComparison)
PATCHES = "patches"  # DAE vs weight-decay AE vs PCA on natural-image patches
PROBE = "probe"  # linear probe on raw pixels vs on the hidden code

# The step-9 experiment, as the source paper ran it (README, "Tour"): 12×12 ZCA-whitened
# patches, 200 tied sigmoid units, a linear decoder with squared error, Adam, no
# sparsity and no weight decay for the denoising AE; Gaussian σ ≈ 1.6 × the patches'
# standard deviation (σ = 0.5 on patches of std ≈ 0.3 there; ours have std 0.2).
PATCH_SETTINGS: dict[str, Any] = {
    "dataset": "patches", "patch_size": 12, "whiten": "zca", "hidden": 200, "tied": True,
    "decoder": "linear", "loss": "mse", "optimizer": "adam", "lr": 0.005, "batch": 100,
    "beta": 0.0, "l2": 0.0, "noise": "gaussian",
}
PATCH_SIGMA_OVER_STD = 1.6
PATCH_WEIGHT_DECAY = 3e-3  # λ of the weight-decay AE (no noise)


@dataclass(frozen=True)
class Claim:
    """One claim: what is measured (`measure`: a key of the tour's measures), the
    threshold and on which side of it the claim holds (sense ">=" or "<=")."""

    text: str
    measure: str
    threshold: float
    sense: str = ">="
    unit: str = ""


@dataclass(frozen=True)
class Chapter:
    number: str
    steps: tuple[int, ...]
    title: str
    caption: str
    panel: str  # the lab panel it is about: filters, digits, loss or sparsity
    settings: dict[str, Any] = field(default_factory=dict)
    claims: tuple[Claim, ...] = ()
    background: str | None = None
    # Epochs of the lab's model before a claim that does not hold yet is called
    # "does not hold" (until then: "not yet").
    settle_epochs: float = 2.0

    @property
    def caption_line(self) -> str:
        """The caption's first sentence (the folded caption on a small terminal)."""
        first = self.caption.split(". ")[0]
        return first if first.endswith(".") else first + "."


OVERCOMPLETE = {"hidden": 1000, "tied": False, "noise": "none", "l2": 0.0, "beta": 0.0}

CHAPTERS: tuple[Chapter, ...] = (
    Chapter(
        "7.3.1", (1,), "An overcomplete autoencoder can copy",
        "With more hidden units than pixels (k = 1000 for 784), untied weights and no "
        "noise, decay or sparsity, nothing stops x → h → x̂ from becoming a copy. Watch "
        "the filters: a copying model's look like noise. The check feeds the model "
        "scribbles and random images: a copier reconstructs them about as well as "
        "digits.",
        "filters", dict(OVERCOMPLETE),
        (Claim("non-digits come back almost as well as digits (error ratio digits / "
               "non-digits)", "copy_ratio", 0.5, ">="),)),
    Chapter(
        "7.3.2", (2,), "L2 weight decay",
        "The same overcomplete model with λ‖W‖² added to the loss (biases are not "
        "decayed): every step pulls each weight toward 0 in proportion to its size. "
        "The weights shrink and the filters get smoother. A model that can no longer "
        "afford to copy reconstructs scribbles clearly worse than digits.",
        "filters", dict(OVERCOMPLETE, l2=1e-3),
        (Claim("scribbles and random images come back worse than digits (error ratio "
               "digits / non-digits)", "copy_ratio", 0.5, "<="),)),
    Chapter(
        "7.3.3", (3,), "Tied weights",
        "Tie the decoder to the encoder, W* = Wᵀ: half the parameters, and itself a "
        "regularizer, since a unit must both detect and draw the same pattern. Press t "
        "to untie and tie again and compare the held-out loss and the filters.",
        "loss", dict(OVERCOMPLETE, tied=True),
        (Claim("tied, the model no longer copies non-digits (error ratio digits / "
               "non-digits)", "copy_ratio", 0.5, "<="),)),
    Chapter(
        "7.4.1", (4,), "Masking noise",
        "Each input pixel is set to 0 with probability q = 0.25; the loss still "
        "compares x̂ with the clean x, so copying the corrupted input no longer pays. "
        "In the digits panel, the middle row shows the dropped pixels and the bottom "
        "row the model filling them in from their neighbours.",
        "digits", {"hidden": 500, "tied": True, "noise": "mask", "q": 0.25, "l2": 0.0,
                   "beta": 0.0},
        (Claim("share of the dropped pixels' error the model restores",
               "fill_in", 0.5, ">="),)),
    Chapter(
        "7.4.2", (5,), "The application: digit recognition",
        "Two pipelines with the same linear classifier and the same split: one on the "
        "raw pixels, one on the hidden code h of the autoencoder on screen, trained "
        "without labels. The probe runs in the background on the current weights. If "
        "the code is worth anything it classifies at least as well as the pixels.",
        "filters", {"hidden": 500, "tied": True, "noise": "mask", "q": 0.25},
        (Claim("probe accuracy on h minus on raw pixels", "probe_gain", 0.0, ">="),),
        background=PROBE),
    Chapter(
        "7.4.3", (6, 7), "Seeing units: vanilla, 25 % and 50 % denoising",
        "Unit l fires most, among unit-norm inputs, for Wₗ/‖Wₗ‖: each filter tile is "
        "that image. Three models train alike in the background with q = 0, 0.25 and "
        "0.5. The vanilla AE learns few clear patterns; the denoising ones learn pen "
        "strokes, wider as q rises, because a unit needs more neighbours to be sure of "
        "a stroke.",
        "filters", {"hidden": 500, "tied": True, "noise": "mask", "q": 0.5},
        (Claim("filter smoothness at q = 0.5 minus at q = 0", "smoothness_rise", 0.02,
               ">="),),
        background=COMPARE_Q),
    Chapter(
        "7.4.4", (8,), "Gaussian noise",
        "Another corruption: x̃ = x + N(0, σ²) on every pixel. The lecture writes σ = 1; "
        "on pixels in [0, 1] that buries the digit, so the tour uses σ = 0.5. The digits "
        "panel shows the noisy inputs and the model's clean guesses.",
        "digits", {"hidden": 500, "tied": True, "noise": "gaussian", "sigma": 0.5},
        (Claim("share of the noise's squared error the model removes", "noise_removed",
               0.5, ">="),)),
    Chapter(
        "7.4.5", (9,), "Natural images: edges",
        "A denoising AE with Gaussian noise on 12×12 whitened patches of photographs, "
        "against an AE regularized only by weight decay, and PCA on the same patches, "
        "all in the background (the paper's settings, see the README). Denoising "
        "should give local, oriented edge detectors; weight decay and PCA give global "
        "patterns.",
        "filters", {},
        (Claim("locality of the denoising AE's filters minus PCA's", "locality_vs_pca",
               0.1, ">="),
         Claim("locality of the denoising AE's filters minus the weight-decay AE's",
               "locality_vs_decay", 0.05, ">=")),
        background=PATCHES),
    Chapter(
        "7.5.1", (10,), "Sparse means mostly off",
        "A sigmoid unit is active near 1; ρ̂ₗ is its mean activation over the data. "
        "With β = 3 the KL penalty pulls every ρ̂ₗ toward the target ρ = 0.05, so each "
        "unit fires for few inputs. The sparsity panel shows the ρ̂ histogram "
        "gathering at ρ.",
        "sparsity", {"hidden": 500, "tied": True, "noise": "none", "beta": 3.0,
                     "rho": 0.05},
        (Claim("mean ρ̂ over the units divided by ρ", "activity_ratio", 1.5, "<="),)),
    Chapter(
        "7.5.2", (11, 12), "The penalty, its shape and its gradient",
        "Ω = Σₗ KL(ρ‖ρ̂ₗ) is 0 exactly at ρ̂ₗ = ρ and rises steeply toward 0 and 1, as "
        "the curve in the sparsity panel shows with each unit on it. Its gradient "
        "−ρ/ρ̂ + (1−ρ)/(1−ρ̂), through ρ̂'s mean of g′·x, is checked here against finite "
        "differences on the live weights.",
        "sparsity", {"hidden": 500, "tied": True, "noise": "none", "beta": 3.0,
                     "rho": 0.05},
        (Claim("Ω/k: mean KL(ρ‖ρ̂ₗ) per unit, nats", "omega_per_unit", 0.05, "<="),
         Claim("chain-rule ∂Ω/∂W vs finite differences, relative error",
               "gradient_error", 1e-4, "<="))),
)

BY_NUMBER = {c.number: c for c in CHAPTERS}


def covered_steps() -> set[int]:
    """The lecture's steps the chapters cover (all twelve)."""
    return {s for c in CHAPTERS for s in c.steps}
