"""The tour panel: one chapter of the lecture at a time, above the lab's panels.

The chapters are data (aetui/tour/chapters.py). Opening a chapter sets its
knobs through the lab's knob session (so the status bar shows them, the lab
string records them and a replay reproduces them), selects and picks out the
panel it is about (the `-tour-focus` class), and starts its background
experiment if it has one. Every couple of seconds the panel measures the
chapter's claims on the weights on screen, in a thread worker, and shows each
number, its threshold and the verdict. Leaving the tour removes the panel and
the highlight and leaves every setting as it is.

The panel is an ordinary child of the lab screen mounted under the status bar:
the lab's panels shrink to make room, so the caption never covers the panel it
talks about. On a small terminal (under 30 rows) the caption is folded to its
first sentence; `v` unfolds it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from aetui.errors import ConfigError
from aetui.knob_table import format_value, symbol
from aetui.tour import chapters as ch
from aetui.tour import measures
from aetui.tour.check import Size, corruption_measures, patch_experiment, sparsity_measures

FOCUS = "-tour-focus"
MEASURE_SECONDS = 2.0  # how often the live claim is measured
SMALL_ROWS = 30  # below this the caption starts folded
LIVE_IMAGES = 300  # held-out images a live measure uses
# The background experiments in the lab: small enough to finish in a few minutes beside
# the lab's own model on a loaded machine.
LIVE_COMPARE = {"hidden": 200, "epochs": 1, "images": 10_000}
LIVE_PROBE_IMAGES = 10_000
PROBE_PAUSE_SECONDS = 10.0  # between two probes of the live weights
LIVE_PATCHES = Size(limit=None, epochs=1, hidden=200, overcomplete=1000, patch_count=20_000,
                    patch_hidden=200, patch_epochs=3, probe_images=None)
VERDICT_STYLES = {measures.HOLDS: "bold green", measures.NOT_YET: "bold yellow",
                  measures.FAILS: "bold red"}


class TourPanel(Static):
    """The chapter's title, caption, claims with their live verdicts, and progress."""

    # Tests turn the background experiments off, or give them a fake trainer.
    background_jobs = True
    trainer_factory = None
    SCOPED_CSS = False  # the highlight rule below styles the lab's panels too
    DEFAULT_CSS = """
    TourPanel {
        height: auto;
        max-height: 12;
        padding: 0 1;
        background: $boost;
        border-left: thick $warning;
    }
    TourPanel.-folded { text-wrap: nowrap; text-overflow: ellipsis; }
    #main .-tour-focus {
        border: double $warning;
        border-subtitle-color: $warning;
    }
    """

    def __init__(self, lab: Screen, index: int = 0) -> None:
        super().__init__(id="tour")
        self.lab = lab
        self.index = index
        self.folded = False
        self.values: dict[str, float] = {}  # measure name -> latest live value
        self.progress = ""
        self._opened_epoch = 0.0
        self._measured_step: int | None = None
        self._measuring = False
        self._job_stop = threading.Event()
        self._stoppers: list = []  # stop() of the models a background job trains
        self._paused_lab = False  # the tour paused the lab's trainer for a background job
        self._generation = 0  # results of a chapter's job that was left are dropped

    @property
    def chapter(self) -> ch.Chapter:
        return ch.CHAPTERS[self.index]

    def on_mount(self) -> None:
        self.folded = self.app.size.height < SMALL_ROWS
        self.set_interval(MEASURE_SECONDS, self.measure_live)
        self.open_chapter(self.index)

    def on_unmount(self) -> None:
        # Left, or the app quits: the background models stop within one trainer chunk
        # (a thread worker cannot be cancelled; quitting must not wait for them).
        self._end_job()

    # -- chapters -------------------------------------------------------------------
    def open_chapter(self, index: int) -> None:
        """Show chapter `index`: its settings, its panel picked out, its experiment."""
        self._end_job()
        self.index = index % len(ch.CHAPTERS)
        chapter = self.chapter
        self.values, self.progress = {}, ""
        self._measured_step = None
        self._generation += 1
        trainer = self.lab.trainer
        self._opened_epoch = float(trainer.epoch) if trainer is not None else 0.0
        for name, value in chapter.settings.items():
            try:
                if self.lab.session.set(name, value):
                    self.lab._changed(name, value)
            except ConfigError as exc:
                self.app.notify(f"tour {chapter.number}: {exc}", severity="warning")
        self.pick_out(chapter.panel)
        self._start_job()
        self.render_chapter()
        self.measure_live()

    def turn(self, delta: int) -> None:
        self.open_chapter(self.index + delta)

    def pick_out(self, panel: str | None) -> None:
        """Select `panel` (so a layout that shows one panel shows this one) and give it
        the tour's highlight; None: no highlight anywhere."""
        from aetui.tui.layouts import PANEL_ORDER

        for name in PANEL_ORDER:
            for widget in self.lab.query(f"#{name}"):
                on = name == panel
                widget.set_class(on, FOCUS)
                if on:
                    widget.border_subtitle = f"◆ tour {self.chapter.number}"
                elif widget.border_subtitle and widget.border_subtitle.startswith("◆ tour"):
                    widget.border_subtitle = ""
        if panel is not None and panel in PANEL_ORDER:
            self.lab.selected = panel
            self.lab._mark_selected()

    def leave(self) -> None:
        """Remove the highlight and stop the chapter's job; the settings stay."""
        self._end_job()
        self.pick_out(None)

    def toggle_caption(self) -> None:
        self.folded = not self.folded
        self.render_chapter()

    # -- drawing ------------------------------------------------------------------------
    def verdicts(self) -> list[tuple[ch.Claim, float | None, str]]:
        settled = self._settled()
        out = []
        for claim in self.chapter.claims:
            value = self.values.get(claim.measure)
            out.append((claim, value,
                        measures.verdict(value, claim.threshold, claim.sense, settled)))
        return out

    def render_chapter(self) -> None:
        chapter = self.chapter
        # Folded (small terminals): one row per line, cut at the end, so the panel it
        # talks about keeps its rows; each claim's verdict and figures come first.
        self.set_class(self.folded, "-folded")
        text = Text(overflow="fold")
        text.append(f"tour {chapter.number}", "bold reverse")
        text.append(f" {chapter.title}", "bold")
        text.append(f"  ({self.index + 1}/{len(ch.CHAPTERS)} · steps "
                    f"{', '.join(map(str, chapter.steps))} · PgDn/PgUp chapters · "
                    f"v caption · T leave)", "dim")
        text.append("\n")
        if self.folded:
            text.append(chapter.caption_line + " ", "italic")
            text.append("[v: more]", "dim")
        else:
            text.append(chapter.caption, "italic")
        settings = ", ".join(f"{symbol(k)}={format_value(v)}"
                             for k, v in chapter.settings.items())
        if settings and not self.folded:
            text.append(f"\nsettings: {settings}", "dim")
        for claim, value, verdict in self.verdicts():
            shown = "…" if value is None or not np.isfinite(value) else f"{value:.4g}"
            text.append("\n✓ " if verdict == measures.HOLDS else "\n· ")
            if self.folded:
                text.append(verdict, VERDICT_STYLES[verdict])
                text.append(" ")
                text.append(shown, "bold")
                text.append(f" (threshold {claim.sense} {claim.threshold:g}): {claim.text}")
                continue
            text.append(f"{claim.text}: ")
            text.append(shown, "bold")
            text.append(f" (threshold {claim.sense} {claim.threshold:g}) ")
            text.append(verdict, VERDICT_STYLES[verdict])
        if self.progress:
            text.append(f"\n{self.progress}", "cyan")
        self.update(text)

    def _settled(self) -> bool:
        if self.chapter.background is not None:
            return "done" in self.progress
        trainer = self.lab.trainer
        if trainer is None:
            return False
        epoch = float(trainer.epoch)
        # A new k starts a new model at epoch 0: count from there.
        elapsed = epoch - self._opened_epoch if epoch >= self._opened_epoch else epoch
        return elapsed >= self.chapter.settle_epochs

    # -- live measures (thread worker; never on the UI thread) -----------------------------
    def measure_live(self) -> None:
        """Measure the chapter's single-model claims on the lab's latest weights."""
        chapter = self.chapter
        if chapter.background in (ch.COMPARE_Q, ch.PATCHES):
            self.render_chapter()
            return
        snap = self.lab.snapshot
        arrays = self.lab.run.arrays
        settings = self.lab.session.settings
        if (self._measuring or snap is None or getattr(snap, "params", None) is None
                or not arrays):
            self.render_chapter()
            return
        if snap.params.W.shape[1] != settings.hidden:
            self.progress = f"waiting for the new model (k = {settings.hidden})…"
            self.render_chapter()
            return
        if snap.step == self._measured_step:
            self.render_chapter()
            return
        self._measuring = True
        self._measured_step = snap.step
        generation = self._generation
        test_x = arrays[2][:LIVE_IMAGES]
        names = {c.measure for c in chapter.claims}

        def work() -> None:
            try:
                values = live_values(names, snap.params, snap.rho_hat, test_x, settings)
            except Exception as exc:  # a measure must never take the lab down
                values, error = {}, f"measure failed: {type(exc).__name__}: {exc}"
            else:
                error = ""
            self.app.call_from_thread(self._measured, generation, values, error)

        self.run_worker(work, thread=True, name="tour-measure", exit_on_error=False)

    def _measured(self, generation: int, values: dict[str, float], error: str) -> None:
        self._measuring = False
        if generation != self._generation:
            return
        self.values.update(values)
        if self.chapter.background is None:
            self.progress = error
        self.render_chapter()

    # -- background experiments ---------------------------------------------------------
    def _start_job(self) -> None:
        chapter = self.chapter
        if not self.background_jobs:
            return
        if chapter.background is None or not self.lab.run.arrays:
            if chapter.background is not None:
                self.progress = "waiting for the data…"
            return
        self._job_stop = threading.Event()
        stop, generation = self._job_stop, self._generation
        job = {ch.PROBE: self._probe_job, ch.COMPARE_Q: self._compare_job,
               ch.PATCHES: self._patch_job}[chapter.background]
        if chapter.background != ch.PROBE:
            self._pause_lab()

        def post(**kw: Any) -> None:
            if not stop.is_set():
                self.app.call_from_thread(self._job_news, generation, kw)

        def work() -> None:
            try:
                job(stop, post)
            except Exception as exc:
                post(progress=f"background experiment failed: {type(exc).__name__}: {exc}")

        self.progress = "background experiment starting…"
        self.run_worker(work, thread=True, name="tour-job", exit_on_error=False)

    def _job_news(self, generation: int, news: dict) -> None:
        if generation != self._generation:
            return
        self.values.update(news.get("values", {}))
        if "progress" in news:
            self.progress = news["progress"]
        if news.get("done"):
            self._resume_lab()
            if self.chapter.background == ch.PROBE and not self._job_stop.is_set():
                self._start_job()  # again, on the newer weights
                return
        self.render_chapter()

    def _probe_job(self, stop: threading.Event, post) -> None:
        from aetui.experiments.analysis import probe_accuracies

        if "probe_gain" in self.values and stop.wait(PROBE_PAUSE_SECONDS):
            return  # again, but leave the lab's model the cores for a while first
        snap = self.lab.snapshot
        for _ in range(600):  # the lab's first weights
            if stop.is_set():
                return
            snap = self.lab.snapshot
            if snap is not None and snap.params is not None:
                break
            time.sleep(0.1)
        else:
            return
        train_x, train_y, test_x, test_y = self.lab.run.arrays
        n = min(len(train_x), LIVE_PROBE_IMAGES)

        def progress(name: str, fraction: float) -> None:
            if stop.is_set():
                raise _Stopped
            post(progress=f"linear probe on step {snap.step:,}: {name} {fraction:.0%}")

        try:
            acc = probe_accuracies(snap.params, train_x[:n], train_y[:n], test_x, test_y,
                                   progress, which=("raw", "features"))
        except _Stopped:
            return
        post(values={"probe_gain": acc["features"] - acc["raw"]},
             progress=f"probe done on step {snap.step:,}: raw pixels {acc['raw']:.1%} · "
                      f"hidden code {acc['features']:.1%} (again on newer weights…)",
             done=True)

    def _compare_job(self, stop: threading.Event, post) -> None:
        from aetui.experiments.analysis import filter_smoothness
        from aetui.experiments.experiments import NoiseComparison

        settings = self.lab.session.settings.replace(
            **{**self.chapter.settings, "hidden": LIVE_COMPARE["hidden"]})
        train_x, train_y, test_x, test_y = self.lab.run.arrays
        n = LIVE_COMPARE["images"]
        smooth: dict[int, float] = {}
        levels = (0.0, 0.25, 0.5)
        labels = ("vanilla", "q=0.25", "q=0.5")
        per_epoch = -(-min(n, len(train_x)) // settings.batch)

        def on_snapshot(index: int, snap) -> None:
            smooth[index] = filter_smoothness(snap.filters, tuple(snap.image_shape))
            values = {}
            if 0 in smooth and 2 in smooth:
                values["smoothness_rise"] = smooth[2] - smooth[0]
            shown = " · ".join(f"{labels[i]} {smooth[i]:.3f}" for i in sorted(smooth))
            post(values=values, progress=f"training q = 0, 0.25, 0.5 in the background: "
                 f"{labels[index]} {min(snap.step / per_epoch, 1):.0%} · smoothness {shown}")

        comparison = NoiseComparison(
            settings, (train_x[:n], train_y[:n], test_x, test_y), levels,
            epochs=LIVE_COMPARE["epochs"], probe=False, filter_count=settings.hidden,
            on_snapshot=on_snapshot, snapshot_interval=1.0, workers=1,
            trainer_factory=self.trainer_factory)
        self._stoppers.append(comparison.stop)
        if stop.is_set():
            return
        runs = comparison.run().runs
        if len(runs) == 3:
            rise = measures.smoothness_rise([r.filters for r in runs])
            shown = " · ".join(f"{r.label} {r.smoothness:.3f}" for r in runs)
            post(values={"smoothness_rise": rise}, done=True,
                 progress=f"done: filter smoothness {shown} (C opens compare mode to see "
                          "the grids)")

    def _patch_job(self, stop: threading.Event, post) -> None:
        def say(text: str) -> None:
            post(progress=text)

        def on_snapshot(name: str, snap) -> None:
            post(progress=f"natural-image patches: {name} model, step {snap.step:,}")

        seed = self.lab.session.settings.seed
        out = patch_experiment(seed, LIVE_PATCHES, 1, say, stop, on_snapshot,
                               register=self._stoppers.append)
        if out:
            post(values=out, done=True, progress=(
                f"done (σ = {out['sigma']:g}): locality DAE {out['locality_dae']:.3f} · "
                f"weight decay {out['locality_decay']:.3f} · PCA {out['locality_pca']:.3f}; "
                f"orientation {out['orientation_dae']:.3f} · "
                f"{out['orientation_decay']:.3f} · {out['orientation_pca']:.3f}"))

    def _end_job(self) -> None:
        self._job_stop.set()
        for stop in self._stoppers:  # the job's models end within one trainer chunk
            stop()
        self._stoppers = []
        self._resume_lab()

    def _pause_lab(self) -> None:
        from aetui.training.snapshots import TRAINING

        trainer = self.lab.trainer
        if trainer is not None and trainer.state == TRAINING:
            trainer.pause()
            self._paused_lab = True

    def _resume_lab(self) -> None:
        from aetui.training.snapshots import PAUSED

        trainer = self.lab.trainer
        if self._paused_lab and trainer is not None and trainer.state == PAUSED:
            trainer.resume()
        self._paused_lab = False


class _Stopped(Exception):
    """Raised from a progress callback when the chapter was left."""


def live_values(names: set[str], params, rho_hat: np.ndarray, test_x: np.ndarray,
                settings) -> dict[str, float]:
    """The single-model measures `names` of `params` (the lab's latest weights)."""
    out: dict[str, float] = {}
    if "copy_ratio" in names:
        out["copy_ratio"] = measures.copy_check(params, test_x, settings.decoder).ratio
    if names & {"fill_in", "noise_removed"} and settings.noise != "none":
        out.update(corruption_measures(params, test_x, settings))
    if names & {"activity_ratio", "omega_per_unit", "gradient_error"}:
        out.update(sparsity_measures(params, test_x, settings.rho))
        # The trainer's own ρ̂ (its held-out subset), as the sparsity panel draws it.
        out["activity_ratio"] = measures.activity_ratio(rho_hat, settings.rho)
        out["omega_per_unit"] = measures.omega_per_unit(rho_hat, settings.rho)
    return out


def toggle_tour(lab: Screen, index: int = 0) -> TourPanel | None:
    """Open the tour on chapter `index` under the status bar, or leave it."""
    found = lab.query(TourPanel)
    if found:
        panel = found.first()
        panel.leave()
        panel.remove()
        lab.app.notify("left the tour: the lab keeps its settings", timeout=3)
        return None
    panel = TourPanel(lab, index)
    lab.mount(panel, after=lab.query_one("#status"))
    return panel


def tour_panel(lab: Screen) -> TourPanel | None:
    found = lab.query(TourPanel)
    return found.first() if found else None
