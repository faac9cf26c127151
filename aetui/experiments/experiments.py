"""The lecture's noise comparison: one model per corruption level, all else equal.

Every model gets the same settings, seed, data and number of epochs; only the
compared level (q for masking / salt-and-pepper, σ for Gaussian noise)
changes. Each is measured the same way: final train and held-out
reconstruction loss, a linear probe on its hidden features, mean ρ̂, and the
smoothness of its filters. Raw pixels and PCA (as many components as hidden
units) are probed once, as the baselines.

Blocking and thread-agnostic: the command line calls `run()` on a worker
thread (so Ctrl+C stays responsive), the lab's compare screen on a Textual
thread worker. `stop()` from any other thread ends the current model within
one trainer chunk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aetui.config import Settings
from aetui.engine import objective
from aetui.errors import ConfigError
from aetui.experiments import analysis

# Which Settings field a noise type's level lives in.
LEVEL_FIELDS = {"mask": "q", "saltpepper": "q", "gaussian": "sigma"}


def level_field(noise: str) -> str:
    """The Settings field compared for this noise type: "q" or "sigma"."""
    if noise not in LEVEL_FIELDS:
        raise ConfigError("--noise", f"compare needs mask, saltpepper or gaussian noise, "
                                     f"got {noise!r}")
    return LEVEL_FIELDS[noise]


def level_label(noise: str, level: float) -> str:
    """How a run is named in tables and figures: "vanilla", "q=0.25", "σ=0.5"."""
    if level == 0:
        return "vanilla"
    return f"{'σ' if level_field(noise) == 'sigma' else 'q'}={level:g}"


# The lecture's natural-image figure: the denoising AE against an AE regularised by weight
# decay alone (no noise); λ as in the README's table (0.003).
WEIGHT_DECAY = 0.003


def patch_variants(settings: Settings, train_x: np.ndarray | None = None
                   ) -> list[tuple[str, Settings]]:
    """The models `aetui compare --dataset patches` puts beside PCA: the DAE as `settings`
    say, and the same AE with no noise and weight decay λ = WEIGHT_DECAY instead. With
    `train_x`, a relative σ is resolved for those data (so results report σ itself)."""
    from aetui.config import resolve_sigma

    sigma = (f"σ={settings.sigma_std:g}×std" if settings.sigma_std is not None
             else f"σ={settings.sigma:g}")
    if train_x is not None:
        settings = resolve_sigma(settings, train_x)
    return [(f"DAE {sigma}", settings),
            (f"weight decay λ={WEIGHT_DECAY:g}", settings.replace(noise="none",
                                                                  l2=WEIGHT_DECAY))]


def parse_levels(text: str, option: str = "--q") -> tuple[float, ...]:
    """Parse a comma-separated list of levels ("0,0.25,0.5"); ConfigError if bad."""
    try:
        levels = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(option, f"expected comma-separated numbers, got {text!r}") from None
    if not levels:
        raise ConfigError(option, "needs at least one level")
    if len(set(levels)) != len(levels):
        raise ConfigError(option, f"levels must differ, got {text!r}")
    return levels


@dataclass(frozen=True)
class RunResult:
    """One trained model of the comparison, measured.

    train_loss: the trainer's running mean of the reconstruction term over
    the last epoch (on corrupted inputs, as trained); val_loss: reconstruction
    loss of all the clean test images from their clean inputs (comparable
    across noise levels). Both per example, summed over pixels.
    probe: linear-probe test accuracy on h(x), in [0, 1] (None if skipped).
    rho_hat_mean: mean over units of the mean activation on the test images.
    smoothness: `analysis.filter_smoothness` of all the model's filters.
    filters: normalised filters of the first `filter_count` units (float32).
    """

    label: str
    level: float
    settings: dict[str, Any]
    epochs: int
    steps: int
    seconds: float
    train_loss: float
    val_loss: float
    probe: float | None
    rho_hat_mean: float
    smoothness: float
    filters: np.ndarray = field(repr=False)
    history: tuple[dict, ...] = field(default=(), repr=False)
    # Edges vs gratings (analysis.edge_measures over all filters); None when not asked.
    locality: float | None = None
    orientation: float | None = None
    # Held-out loss on the test images corrupted as in training (like for like with
    # train_loss; README, "The held-out loss and the training loss").
    val_loss_corrupted: float | None = None

    def row(self) -> dict[str, Any]:
        """The JSON-friendly summary (no arrays)."""
        return {
            "label": self.label, "level": self.level, "epochs": self.epochs,
            "steps": self.steps, "seconds": round(self.seconds, 2),
            "train_loss": self.train_loss, "val_loss": self.val_loss, "probe": self.probe,
            "rho_hat_mean": self.rho_hat_mean, "smoothness": self.smoothness,
            "locality": self.locality, "orientation": self.orientation,
            "val_loss_corrupted": self.val_loss_corrupted,
        }


@dataclass(frozen=True)
class ComparisonResult:
    """All runs, plus the raw-pixel and PCA probe baselines (None if skipped)."""

    noise: str
    level_field: str
    runs: tuple[RunResult, ...]
    baselines: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    # With edge measures: the data's first PCA components and their measures.
    pca_filters: np.ndarray | None = field(default=None, repr=False)
    pca_measures: dict[str, float] | None = None
    # With edge measures: what white-noise filters score (analysis.no_structure_baseline).
    noise_measures: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "noise": self.noise, "level_field": self.level_field,
            "baselines": self.baselines, "runs": [r.row() for r in self.runs],
            "stopped": self.stopped, "pca_measures": self.pca_measures,
            "noise_measures": self.noise_measures,
        }


class NoiseComparison:
    """Train and measure one model per level, in turn.

    settings: the shared settings (its noise type decides the compared field;
    "none" means masking). dataset: (train_x, train_y, test_x, test_y), uint8.
    Callbacks run on the thread that calls `run()` (or the trainer's thread):
    on_run_started(index, label, trainer), on_epoch(index, record),
    on_run_finished(index, RunResult), on_progress(stage, fraction),
    on_snapshot(index, Snapshot) every `snapshot_interval` seconds.
    trainer_factory(settings, train_x, test_x, **kw) builds each model's
    trainer (default: aetui.training.trainer.Trainer; tests pass a fake).
    """

    def __init__(self, settings: Settings, dataset: Sequence[np.ndarray],
                 levels: Sequence[float], *, epochs: int = 1, probe: bool = True,
                 baselines: bool = True, filter_count: int = 100,
                 snapshot_interval: float = 0.25, filter_units: range | None = None,
                 on_run_started: Callable | None = None, on_epoch: Callable | None = None,
                 on_run_finished: Callable | None = None,
                 on_progress: Callable[[str, float], None] | None = None,
                 on_snapshot: Callable | None = None,
                 trainer_factory: Callable | None = None,
                 image_shape: tuple[int, int] = (28, 28), channels: int = 1,
                 edge_measures: bool = False, workers: int = 1, model_threads: int = 1,
                 variants: Sequence[tuple[str, Settings]] | None = None) -> None:
        if epochs < 1:
            raise ConfigError("--epochs", f"must be at least 1, got {epochs}")
        noise = "mask" if settings.noise == "none" else settings.noise
        self.field = level_field(noise)
        self.levels = tuple(float(v) for v in levels)
        # Validate every level up front: a typo must not cost the first runs.
        # A compared σ is absolute: a relative one (--sigma-std) would replace it.
        relative = {"sigma_std": None} if self.field == "sigma" else {}
        self.run_settings = [settings.replace(noise=noise, **{self.field: v}, **relative)
                             for v in self.levels]
        self.labels = [level_label(noise, v) for v in self.levels]
        if variants:  # named models in place of a sweep (patches: DAE vs weight decay)
            self.labels = [label for label, _ in variants]
            self.run_settings = [v.validate() for _, v in variants]
            self.levels = tuple(float(getattr(v, self.field)) if v.noise == noise else 0.0
                                for _, v in variants)
        self.noise = noise
        self.train_x, self.train_y, self.test_x, self.test_y = dataset
        self.epochs = epochs
        self.probe = probe
        self.baselines = baselines
        self.filter_count = filter_count
        self.snapshot_interval = snapshot_interval
        self.filter_units = filter_units
        self.on_run_started = on_run_started
        self.on_epoch = on_epoch
        self.on_run_finished = on_run_finished
        self.on_progress = on_progress
        self.on_snapshot = on_snapshot
        self.trainer_factory = trainer_factory
        # How a row is drawn (patches: size × size, colour planes side by side), and
        # whether to measure edges vs gratings (natural-image patches).
        self.image_shape = tuple(image_shape)
        self.channels = channels
        self.edge_measures = edge_measures
        # Models trained at once, each on its own thread with its steps split over
        # model_threads (README, "Threads"); 1: in turn, on the caller's thread.
        self.workers = max(1, int(workers))
        self.model_threads = max(1, int(model_threads))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._trainers: set = set()
        self._any_run = False

    def stop(self) -> None:
        """Stop at the next trainer chunk (any thread); run() returns what is done."""
        self._stop.set()
        with self._lock:
            for trainer in self._trainers:
                trainer.stop()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> ComparisonResult:
        """Train and measure every level (blocking): in turn, or `workers` at a time;
        the raw-pixel and PCA probes alongside. Runs come back in level order, up to
        the first one that did not finish."""
        if self.workers == 1:
            return self._finish(self._in_turn(), self._baselines())
        from concurrent.futures import ThreadPoolExecutor

        from aetui.engine.blas import all_blas_threads

        # Every BLAS pool on one thread: the models and probes are the parallelism,
        # and pools of several threads called from several threads fight for cores.
        with all_blas_threads(1), ThreadPoolExecutor(
                self.workers, thread_name_prefix="aetui-model") as pool:
            futures = [pool.submit(self._train_and_report, index, run_settings)
                       for index, run_settings in enumerate(self.run_settings)]
            baselines = pool.submit(self._baselines, True)
            results = [f.result() for f in futures]
            base = baselines.result()
        runs: list[RunResult] = []
        for result in results:
            if result is None:
                break
            runs.append(result)
        if not runs:
            base = {}
        return self._finish(runs, base)

    def _in_turn(self) -> list[RunResult]:
        runs: list[RunResult] = []
        for index, run_settings in enumerate(self.run_settings):
            if self._stop.is_set():
                break
            result = self._train_and_report(index, run_settings)
            if result is None:
                break
            runs.append(result)
        self._any_run = bool(runs)
        return runs

    def _train_and_report(self, index: int, run_settings: Settings) -> RunResult | None:
        if self._stop.is_set():
            return None
        result = self._train_one(index, run_settings)
        if result is not None and self.on_run_finished is not None:
            self.on_run_finished(index, result)
        return result

    def _baselines(self, alongside: bool = False) -> dict[str, float]:
        """Raw-pixel and PCA probe accuracies (when probing); after the runs when in
        turn (none if no run finished), else alongside them."""
        if not (self.probe and self.baselines) or self._stop.is_set():
            return {}
        if not alongside and not self._any_run:
            return {}
        k = self.run_settings[0].hidden
        return analysis.probe_accuracies(
            None, self.train_x, self.train_y, self.test_x, self.test_y,
            progress=self._progress_for("baseline"), which=("raw", "pca"), pca_k=k)

    def _finish(self, runs: list[RunResult], base: dict[str, float]) -> ComparisonResult:
        pca_filters = pca_measures = noise_measures = None
        if self.edge_measures and runs and not self._stop.is_set():
            noise_measures = analysis.no_structure_baseline(self.image_shape, self.channels)
            k = min(self.run_settings[0].hidden, self.train_x.shape[1])
            pca_filters = analysis.pca_components(self.train_x, k)
            pca_measures = analysis.edge_measures(pca_filters, self.image_shape, self.channels)
            pca_filters = pca_filters[: self.filter_count]
        return ComparisonResult(noise=self.noise, level_field=self.field, runs=tuple(runs),
                                baselines=base, stopped=self._stop.is_set(),
                                pca_filters=pca_filters, pca_measures=pca_measures,
                                noise_measures=noise_measures)

    def _train_one(self, index: int, settings: Settings) -> RunResult | None:
        factory = self.trainer_factory
        if factory is None:
            from aetui.training.trainer import Trainer as factory

        label = self.labels[index]
        history: list[dict] = []

        def on_epoch(record: dict) -> None:
            history.append(dict(record))
            if self.on_epoch is not None:
                self.on_epoch(index, record)

        on_snapshot = None
        if self.on_snapshot is not None:
            def on_snapshot(snap) -> None:
                self.on_snapshot(index, snap)

        shape = {} if self.image_shape == (28, 28) else {"image_shape": self.image_shape}
        if self.workers > 1:
            shape["threads"] = self.model_threads  # the models share the cores
        trainer = factory(settings, self.train_x, self.test_x, on_epoch=on_epoch,
                          on_snapshot=on_snapshot, snapshot_interval=self.snapshot_interval,
                          **shape)
        if self.filter_units is not None:
            trainer.filter_units = self.filter_units
        with self._lock:
            if self._stop.is_set():
                return None
            self._trainers.add(trainer)
        if self.on_run_started is not None:
            self.on_run_started(index, label, trainer)
        started = time.perf_counter()
        trainer.run(max_epochs=self.epochs)
        seconds = time.perf_counter() - started
        with self._lock:
            self._trainers.discard(trainer)
        if self._stop.is_set() or trainer.state == "diverged" or not history:
            return None
        return self.measure(index, label, settings, trainer.weights(), history, seconds,
                            trainer.step)

    def measure(self, index: int, label: str, settings: Settings, params,
                history: list[dict], seconds: float, steps: int) -> RunResult:
        """Probe, ρ̂ and smoothness of one trained model."""
        progress = self._progress_for(label)
        train_h = analysis.encode(params, self.train_x)
        test_h = analysis.encode(params, self.test_x)
        accuracy = None
        if self.probe:
            fitted = analysis.fit_linear_probe(
                train_h, self.train_y, progress=lambda f: progress("probe", f))
            accuracy = fitted.accuracy(test_h, self.test_y)
        all_filters = objective.normalized_filters(params.W)
        last = history[-1]
        edges = (analysis.edge_measures(all_filters, self.image_shape, self.channels)
                 if self.edge_measures else {})
        return RunResult(
            label=label, level=self.levels[index],
            settings=settings.to_dict(), epochs=len(history), steps=int(steps),
            seconds=seconds, train_loss=float(last.get("recon", last["train_loss"])),
            val_loss=analysis.reconstruction_loss(params, self.test_x, settings.loss,
                                                  settings.decoder),
            probe=accuracy,
            rho_hat_mean=float(test_h.mean()),
            smoothness=analysis.filter_smoothness(all_filters, self.image_shape),
            filters=all_filters[: self.filter_count].copy(), history=tuple(history),
            locality=edges.get("locality"), orientation=edges.get("orientation"),
            val_loss_corrupted=self._corrupted_loss(settings, params),
        )

    def _corrupted_loss(self, settings: Settings, params) -> float:
        from aetui.config import resolve_sigma
        from aetui.engine.corrupted_loss import corrupted_held_out_loss

        s = resolve_sigma(settings, self.train_x)  # σ as the trainer used it
        return corrupted_held_out_loss(params, self.test_x, s.noise, s.q, s.sigma, s.seed,
                                       s.loss, s.decoder)

    def _progress_for(self, label: str) -> Callable[[str, float], None]:
        def report(stage: str, fraction: float) -> None:
            if self.on_progress is not None:
                self.on_progress(f"{label}: {stage}", fraction)
        return report
