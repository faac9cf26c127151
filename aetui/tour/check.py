"""`aetui tour --check`: every chapter's experiment, headless, and each claim's verdict.

Each chapter's settings are applied to a fresh model (the lab's defaults
otherwise), trained for a fixed number of epochs, and its claims measured with
aetui/tour/measures.py, exactly as the tour panel measures them live. Models
with the same settings are trained once and shared (7.4.1 and 7.4.2; 7.5.1 and
7.5.2). Multi-model chapters use the compare machinery (experiments/experiments.py).

A claim that does not hold is a finding, not an error: the runner reports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from aetui.config import PATCH_EPOCHS, Settings
from aetui.tour import chapters as ch
from aetui.tour import measures


@dataclass(frozen=True)
class Size:
    """How big the check's experiments are. quick: ≤ 3 minutes on 2 cores (digits)."""

    limit: int | None  # training images (None: all)
    epochs: int  # epochs of every digit model
    hidden: int  # k of the non-overcomplete digit models (the chapters say 500)
    overcomplete: int  # k of the overcomplete chapters (they say 1000)
    patch_count: int
    patch_hidden: int
    patch_epochs: int
    probe_images: int | None  # training images of the step-5 probe (None: all)


QUICK = Size(limit=3000, epochs=1, hidden=100, overcomplete=1000, patch_count=5000,
             patch_hidden=50, patch_epochs=2, probe_images=3000)
# Full: the chapters' own sizes (k = 500 and 1000, the paper's 200 patch units) on the
# first 20,000 MNIST images for 2 epochs; the patch models as `aetui train --dataset
# patches` trains them (100,000 patches, PATCH_EPOCHS passes: the ~28,000 updates a DAE
# needs to become edges; ten passes over 50,000 left both models near noise).
FULL = Size(limit=20_000, epochs=2, hidden=500, overcomplete=1000, patch_count=100_000,
            patch_hidden=200, patch_epochs=PATCH_EPOCHS, probe_images=None)


@dataclass(frozen=True)
class ClaimResult:
    """One claim as measured: the JSON line `aetui tour --check` prints."""

    chapter: str
    claim: str
    measured: float
    threshold: float
    holds: bool
    seconds: float
    sense: str = ">="

    def to_json(self) -> dict:
        out = asdict(self)
        out["measured"] = (float(f"{self.measured:.4g}") if np.isfinite(self.measured)
                           else None)
        out["seconds"] = round(self.seconds, 1)
        return out


class TourCheck:
    """Run the chapters' experiments on `data` (train_x, train_y, test_x, test_y) and
    report each claim through `on_claim(ClaimResult)` as soon as it is measured."""

    def __init__(self, base: Settings, data: Sequence[np.ndarray], size: Size, *,
                 threads: int = 1, on_claim: Callable[[ClaimResult], None] | None = None,
                 on_progress: Callable[[str], None] | None = None) -> None:
        self.base = base
        self.train_x, self.train_y, self.test_x, self.test_y = data
        self.size = size
        self.threads = max(1, threads)
        self.on_claim = on_claim
        self.on_progress = on_progress
        self._models: dict[tuple, object] = {}

    def run(self, numbers: Sequence[str] | None = None) -> list[ClaimResult]:
        results: list[ClaimResult] = []
        for chapter in ch.CHAPTERS:
            if numbers and chapter.number not in numbers:
                continue
            started = time.perf_counter()
            self._say(f"{chapter.number} {chapter.title}")
            try:
                values = self.measure(chapter)
            except Exception as exc:  # one chapter's failure must not cost the others
                self._say(f"{chapter.number} failed: {type(exc).__name__}: {exc}")
                values = {}
            seconds = time.perf_counter() - started
            for claim in chapter.claims:
                value = float(values.get(claim.measure, float("nan")))
                result = ClaimResult(
                    chapter.number, claim.text, value, claim.threshold,
                    measures.verdict(value, claim.threshold, claim.sense, True)
                    == measures.HOLDS, seconds, claim.sense)
                results.append(result)
                if self.on_claim is not None:
                    self.on_claim(result)
        return results

    # -- one chapter ------------------------------------------------------------------
    def chapter_settings(self, chapter: ch.Chapter) -> Settings:
        """The base settings with the chapter's knobs, sized for this check."""
        knobs = dict(chapter.settings)
        if "hidden" in knobs:
            knobs["hidden"] = (self.size.overcomplete if knobs["hidden"] > 784
                               else self.size.hidden)
        return self.base.replace(**knobs)

    def measure(self, chapter: ch.Chapter) -> dict[str, float]:
        """{measure name: value} for the chapter's claims."""
        if chapter.background == ch.COMPARE_Q:
            return self._compare_q(chapter)
        if chapter.background == ch.PATCHES:
            return self._patches()
        settings = self.chapter_settings(chapter)
        params = self._model(settings)
        names = {c.measure for c in chapter.claims}
        test = self.test_x[:500]
        out: dict[str, float] = {}
        if "copy_ratio" in names:
            out["copy_ratio"] = measures.copy_check(params, test, settings.decoder).ratio
        if names & {"fill_in", "noise_removed"}:
            out.update(corruption_measures(params, test, settings))
        if "probe_gain" in names:
            out["probe_gain"] = self._probe_gain(params)
        if names & {"activity_ratio", "omega_per_unit", "gradient_error"}:
            out.update(sparsity_measures(params, test, settings.rho))
        return out

    def _model(self, settings: Settings):
        key = tuple(sorted(settings.to_dict().items()))
        if key not in self._models:
            from aetui.training.trainer import Trainer

            trainer = Trainer(settings, self.train_x, self.test_x, threads=self.threads,
                              snapshot_interval=3600.0)
            trainer.run(max_epochs=self.size.epochs)
            self._models[key] = trainer.weights()
        return self._models[key]

    def _probe_gain(self, params) -> float:
        from aetui.experiments import analysis

        n = self.size.probe_images or len(self.train_x)
        acc = analysis.probe_accuracies(params, self.train_x[:n], self.train_y[:n],
                                        self.test_x, self.test_y, which=("raw", "features"),
                                        workers=min(2, self.threads))
        return acc["features"] - acc["raw"]

    def _compare_q(self, chapter: ch.Chapter) -> dict[str, float]:
        from aetui.experiments.experiments import NoiseComparison

        settings = self.chapter_settings(chapter)
        workers = min(3, self.threads)
        comparison = NoiseComparison(
            settings, (self.train_x, self.train_y, self.test_x, self.test_y),
            (0.0, 0.25, 0.5), epochs=self.size.epochs, probe=False,
            filter_count=settings.hidden, workers=workers,
            model_threads=max(1, self.threads // workers))
        runs = comparison.run().runs
        if len(runs) < 3:
            return {}
        return {"smoothness_rise": measures.smoothness_rise([r.filters for r in runs])}

    def _patches(self) -> dict[str, float]:
        return patch_experiment(self.base.seed, self.size, self.threads, self._say)

    def _say(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(text)


def corruption_measures(params, clean_x: np.ndarray, settings: Settings,
                        seed: int = 0) -> dict[str, float]:
    """fill_in (masking: the dropped pixels restored) and noise_removed (Gaussian: the
    noise's error removed) of the model on `clean_x` under the chapter's noise."""
    from aetui.data import as_float
    from aetui.engine.model import reconstruct
    from aetui.experiments.inspect import corrupt

    clean = as_float(np.asarray(clean_x)) if clean_x.dtype == np.uint8 else clean_x
    rng = np.random.default_rng(seed)
    corrupted = corrupt(clean, settings.noise, settings.q, settings.sigma, rng)
    recon = reconstruct(params, corrupted, settings.decoder)
    if settings.noise == "gaussian":
        return {"noise_removed": measures.denoise_gain(clean, corrupted, recon, False)}
    return {"fill_in": measures.denoise_gain(clean, corrupted, recon, True)}


def sparsity_measures(params, x: np.ndarray, rho: float) -> dict[str, float]:
    """activity_ratio, omega_per_unit and gradient_error of the model on images `x`."""
    from aetui.data import as_float
    from aetui.experiments import analysis

    rho_hat = analysis.encode(params, x).mean(axis=0)
    images = as_float(np.asarray(x[:200])) if x.dtype == np.uint8 else x[:200]
    return {"activity_ratio": measures.activity_ratio(rho_hat, rho),
            "omega_per_unit": measures.omega_per_unit(rho_hat, rho),
            "gradient_error": measures.gradient_check(params.W, params.b, images, rho)}


def patch_settings(size: Size, seed: int = 0) -> Settings:
    """The step-9 settings (chapters.PATCH_SETTINGS) at this size, σ not yet set."""
    return Settings(**ch.PATCH_SETTINGS).replace(
        hidden=size.patch_hidden, patch_count=size.patch_count, seed=seed)


def patch_experiment(seed: int, size: Size, threads: int,
                     say: Callable[[str], None] = lambda _t: None,
                     stop=None, on_snapshot: Callable | None = None,
                     register: Callable[[Callable], None] | None = None
                     ) -> dict[str, float]:
    """The step-9 experiment: a Gaussian denoising AE (σ = 1.6 × the patches' std) and a
    weight-decay AE (no noise) on natural-image patches, against PCA; their locality
    gaps. `stop` (a threading.Event) ends it early (then {}); `register(stop_fn)` is
    given each model's stop function as it starts. Also returns the three
    models' mean locality and orientation, for the tour panel."""
    from aetui.data import image_layout, load_dataset_for
    from aetui.experiments import analysis
    from aetui.experiments.experiments import NoiseComparison

    settings = patch_settings(size, seed)
    say("natural-image patches: loading")
    data = load_dataset_for(settings, progress=False)
    shape, channels = image_layout(settings)
    sigma = round(ch.PATCH_SIGMA_OVER_STD * float(np.std(data.train_x)), 3)
    dataset = (data.train_x, None, data.test_x, None)
    out: dict[str, float] = {"sigma": sigma}
    filters = {}
    for name, run_settings, level in (
            ("dae", settings.replace(sigma=sigma), sigma),
            ("decay", settings.replace(l2=ch.PATCH_WEIGHT_DECAY), 0.0)):
        if stop is not None and stop.is_set():
            return {}
        say(f"natural-image patches: training the {name} model")
        comparison = NoiseComparison(
            run_settings, dataset, (level,), epochs=size.patch_epochs, probe=False,
            filter_count=run_settings.hidden, image_shape=shape, channels=channels,
            on_snapshot=(lambda _i, snap, n=name: on_snapshot(n, snap)) if on_snapshot
            else None)
        if register is not None:
            register(comparison.stop)
        if stop is not None and stop.is_set():
            return {}
        runs = comparison.run().runs
        if not runs:
            return {}
        filters[name] = runs[0].filters
    # As many components as units, at most one per pixel (200 units on 144 pixels).
    pca = analysis.pca_components(data.train_x, min(settings.hidden, data.train_x.shape[1]))
    for name, f in (*filters.items(), ("pca", pca)):
        for key, value in analysis.edge_measures(f, shape, channels).items():
            out[f"{key}_{name}"] = value
    out["locality_vs_pca"] = measures.locality_gap(filters["dae"], pca, shape, channels)
    out["locality_vs_decay"] = measures.locality_gap(filters["dae"], filters["decay"],
                                                     shape, channels)
    return out
