"""The lab's compare mode: vanilla vs denoising autoencoders, trained in turn, live.

One column per noise level: the model's filter grid on top (live while it
trains, frozen when done, with its probe accuracy and smoothness), and below
them the same held-out digits with each model's reconstruction -- the
lecture's figure, drawn as it forms. Training runs in a thread worker
(`aetui.experiments.experiments.NoiseComparison`); the worker only posts messages.

The lab binds a key that pushes `CompareScreen(settings, dataset)`; escape
stops the worker and returns to the lab.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, Static

from aetui.config import Settings
from aetui.render import default_mode, grid_geometry, render_grid
from aetui.tui.widgets.image_view import PIXEL_SIZES


class GridView(Widget):
    """Images as a half-block grid, sized to fit (Line API, strips cached per picture)."""

    DEFAULT_CSS = """
    GridView { height: 1fr; border: round $primary 60%; padding: 0 1; }
    """

    def __init__(self, title: str, *, diverging: bool, mode: str, id: str | None = None,
                 min_count: int = 1) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.diverging = diverging
        self.mode = mode
        self.min_count = min_count
        self.images: np.ndarray | None = None
        self.placeholder = "waiting…"
        self.shape: tuple[int, int] = (28, 28)  # how an image row is drawn (patches: 8×8)
        self._strips: list[Strip] = []

    def set_images(self, images: np.ndarray | None, placeholder: str | None = None) -> None:
        """New images (n × 784), or None with a placeholder text."""
        self.images = None if images is None else np.asarray(images, dtype=np.float32)
        if placeholder is not None:
            self.placeholder = placeholder
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        width, height = self.content_size
        self._strips = [Strip(line).adjust_cell_length(width)
                        for line in self.build_lines(width, height)[:height]]
        self.refresh()

    def build_lines(self, width: int, height: int) -> list[list[Segment]]:
        if width <= 0 or height <= 0:
            return []
        if self.images is None or len(self.images) == 0:
            return [[Segment(self.placeholder[:width])]]
        images, size, cols, row_gap = self.arrange(width, height)
        if len(images) == 0:
            return [[Segment("too small"[:width])]]
        return render_grid(images, self.shape, mode=self.mode, width=width, cols=cols,
                           diverging=self.diverging, size=size, row_gap=row_gap,
                           normalise="each" if self.diverging else "none")

    def arrange(self, width: int, height: int) -> tuple[np.ndarray, int, int | None, int]:
        """(images to draw, pixel size, columns or None for as many as fit, row gap)."""
        size, count = fit_grid(len(self.images), width, height, self.min_count, self.shape)
        return self.images[:count], size, None, 1

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width)


def fit_grid(n: int, width: int, height: int, min_count: int = 1,
             shape: tuple[int, int] = (28, 28)) -> tuple[int, int]:
    """(pixel size, images shown): the largest size showing min(n, min_count)
    images; at that size, as many as fit. (PIXEL_SIZES[-1], 0) when none fits."""
    want = min(n, max(min_count, 1))
    for size in PIXEL_SIZES:
        geo = grid_geometry(n, shape, size=size, width=width, height=height)
        if geo.width <= width and geo.height <= height and geo.capacity >= want:
            return size, min(n, geo.capacity)
    return PIXEL_SIZES[-1], 0


class DigitRows(GridView):
    """Rows of digits (`images` is rows × d × 784), the same digits in every row
    (clean x, then a reconstruction x̂): as many digits as fit, largest size first,
    with a blank line between rows when there is room for one."""

    def arrange(self, width: int, height: int) -> tuple[np.ndarray, int, int | None, int]:
        rows, d = self.images.shape[:2]
        want = min(d, 3)
        for size in PIXEL_SIZES:
            for row_gap in (1, 0):
                geo = grid_geometry(d, self.shape, size=size, width=width, row_gap=row_gap)
                shown = min(d, geo.cols)
                fits = rows * geo.cell_h + (rows - 1) * row_gap <= height
                if fits and shown >= want:
                    picked = self.images[:, :shown].reshape(rows * shown, -1)
                    return picked, size, shown, row_gap
        return self.images[:, :0].reshape(0, self.images.shape[2]), PIXEL_SIZES[-1], 1, 0


class CompareSnapshot(Message):
    """A snapshot of model `index` while it trains."""

    def __init__(self, index: int, snapshot) -> None:
        super().__init__()
        self.index = index
        self.snapshot = snapshot


class CompareRunFinished(Message):
    def __init__(self, index: int, result) -> None:
        super().__init__()
        self.index = index
        self.result = result


class CompareProgressed(Message):
    def __init__(self, stage: str, fraction: float) -> None:
        super().__init__()
        self.stage = stage
        self.fraction = fraction


class CompareFinished(Message):
    def __init__(self, result=None, error: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error


class CompareScreen(Screen):
    """Train one model per noise level in turn; show their filters and reconstructions."""

    BINDINGS: ClassVar = [
        Binding("escape", "close", "back to the lab"),
        Binding("x", "stop", "stop training"),
    ]

    DEFAULT_CSS = """
    CompareScreen #compare-status { height: 1; padding: 0 1; background: $boost; }
    CompareScreen #compare-columns { height: 1fr; }
    CompareScreen .compare-column { width: 1fr; }
    CompareScreen .compare-column GridView { height: 3fr; }
    CompareScreen .compare-column DigitRows { height: 2fr; min-height: 10; }
    """

    def __init__(self, settings: Settings, dataset: Sequence[np.ndarray] | None,
                 levels: Sequence[float] = (0, 0.25, 0.5), *, epochs: int = 1,
                 probe: bool = True, mode: str | None = None, filter_count: int = 100,
                 display_count: int = 8, trainer_factory=None,
                 image_shape: tuple[int, int] = (28, 28), channels: int = 1,
                 edge_measures: bool = False, variants=None) -> None:
        super().__init__()
        from aetui.experiments.experiments import level_field, level_label

        noise = "mask" if settings.noise == "none" else settings.noise
        self.field = level_field(noise)
        self.settings = settings.replace(noise=noise)
        self.dataset = None if dataset is None else tuple(dataset)
        self.levels = tuple(float(v) for v in levels)
        self.labels = [level_label(noise, v) for v in self.levels]
        # Named models instead of a sweep (patches: experiments.patch_variants).
        self.variants = variants
        if variants:
            self.labels = [label for label, _ in variants]
            self.levels = tuple(float(v.sigma) for _, v in variants)
        self.epochs = epochs
        self.probe = probe
        self.mode = mode or default_mode()
        self.filter_count = filter_count
        self.display_count = display_count
        self.results: dict[int, object] = {}
        self.current: int | None = None
        self.clean: np.ndarray | None = None
        self.recons: dict[int, np.ndarray] = {}
        self.finished = False
        self.error: str | None = None
        self.trainer_factory = trainer_factory
        # Natural-image patches: drawn at their shape, with a PCA column and the
        # edges-vs-gratings measures of every set (README, "Natural image patches").
        self.image_shape = tuple(image_shape)
        self.channels = channels
        self.edge_measures = edge_measures
        self._comparison = None

    @classmethod
    def from_lab(cls, lab) -> CompareScreen:
        """The screen for the lab's current settings, data, image mode and trainer factory.

        The lab's own model is left alone (the lab pauses it); the compared
        models are new, one per level, with the lab's other settings.
        """
        from aetui.config import is_patches
        from aetui.data import image_layout

        settings = lab.session.settings
        factory = lab.run.trainer_factory
        if is_patches(settings.dataset):
            from aetui.config import default_epochs
            from aetui.experiments.experiments import patch_variants

            shape, channels = image_layout(settings)
            # The lecture's figure: the DAE beside the weight-decay AE (and PCA), trained
            # as long as `aetui compare` trains them.
            variants = patch_variants(settings) if settings.noise == "gaussian" else None
            return cls(settings, lab.run.dataset, levels=(0, 0.1, 0.2), probe=False,
                       mode=lab.options.image_mode(), image_shape=shape, channels=channels,
                       edge_measures=True, trainer_factory=factory, variants=variants,
                       epochs=default_epochs(settings.dataset) if variants else 1)
        return cls(settings, lab.run.dataset, mode=lab.options.image_mode(),
                   trainer_factory=factory)

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static("starting…", id="compare-status")
        with Horizontal(id="compare-columns"):
            if self.edge_measures:
                with Vertical(classes="compare-column"):
                    yield self._shaped(GridView("PCA: after the models", diverging=True,
                                                mode=self.mode, id="filters-pca",
                                                min_count=9))
            for i, label in enumerate(self.labels):
                with Vertical(classes="compare-column"):
                    yield self._shaped(GridView(f"{label}: waiting", diverging=True,
                                                mode=self.mode, id=f"filters-{i}",
                                                min_count=9))
                    yield self._shaped(DigitRows("x (top) and x̂ (below)",
                                                 diverging=self.edge_measures,
                                                 mode=self.mode, id=f"digits-{i}"))
        yield Footer()

    def _shaped(self, view: GridView) -> GridView:
        view.shape = self.image_shape
        return view

    def on_mount(self) -> None:
        from aetui.experiments.experiments import NoiseComparison

        if self.dataset is None:
            self.finished = True
            self._status("the lab's digits are still loading: escape, then try again")
            return
        self._comparison = NoiseComparison(
            self.settings, self.dataset, self.levels, epochs=self.epochs, probe=self.probe,
            baselines=False, filter_count=self.filter_count, snapshot_interval=0.5,
            filter_units=range(min(self.filter_count, self.settings.hidden)),
            on_snapshot=lambda i, snap: self.post_message(CompareSnapshot(i, snap)),
            on_run_finished=lambda i, r: self.post_message(CompareRunFinished(i, r)),
            on_progress=lambda s, f: self.post_message(CompareProgressed(s, f)),
            trainer_factory=self.trainer_factory, image_shape=self.image_shape,
            channels=self.channels, edge_measures=self.edge_measures,
            variants=self.variants)
        self.run_worker(self._work, thread=True, exclusive=True, group="compare",
                        name="compare")

    def _work(self) -> None:
        """Thread worker: the whole comparison; reports only through messages."""
        try:
            result = self._comparison.run()
        except Exception as exc:  # shown in the status line, never a traceback
            self.post_message(CompareFinished(error=f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(CompareFinished(result=result))

    # ------------------------------------------------------------ messages

    def on_compare_snapshot(self, message: CompareSnapshot) -> None:
        snap = message.snapshot
        i = message.index
        self.current = i
        if self.clean is None and len(snap.clean):
            self.clean = np.asarray(snap.clean[: self.display_count])
        if len(snap.recon):
            self.recons[i] = np.asarray(snap.recon[: self.display_count])
        if len(snap.filters):
            self.query_one(f"#filters-{i}", GridView).set_images(snap.filters)
        view = self.query_one(f"#filters-{i}", GridView)
        view.border_title = f"{self.labels[i]}: training, epoch {snap.epoch:.2f}"
        self._status(f"training {self.labels[i]} ({i + 1}/{len(self.levels)}): epoch "
                     f"{snap.epoch:.2f} of {self.epochs}, {snap.samples_per_s:,.0f} samples/s"
                     f" — state {snap.state}")
        self._show_digits(i)

    def on_compare_progressed(self, message: CompareProgressed) -> None:
        self._status(f"{message.stage} {100 * message.fraction:.0f}%")

    def on_compare_run_finished(self, message: CompareRunFinished) -> None:
        r = message.result
        self.results[message.index] = r
        view = self.query_one(f"#filters-{message.index}", GridView)
        view.set_images(r.filters)
        probe = "" if r.probe is None else f"probe {100 * r.probe:.1f}% · "
        edges = "" if r.locality is None else (
            f"local {r.locality:.2f} · orient {r.orientation:.2f} · ")
        view.border_title = f"{r.label}: {probe}{edges}smooth {r.smoothness:.2f}"
        view.border_subtitle = (f"loss {r.train_loss:.1f} / held-out {r.val_loss:.1f} · "
                                f"ρ̂ {r.rho_hat_mean:.3f}")

    def on_compare_finished(self, message: CompareFinished) -> None:
        self.finished = True
        self.error = message.error
        result = message.result
        if result is not None and result.pca_filters is not None:
            view = self.query_one("#filters-pca", GridView)
            view.set_images(result.pca_filters)
            m = result.pca_measures
            view.border_title = (f"PCA: local {m['locality']:.2f} · orient "
                                 f"{m['orientation']:.2f}")
        if message.error:
            self._status(f"comparison failed: {message.error}")
        elif message.result is not None and message.result.stopped:
            self._status(f"stopped after {len(message.result.runs)} of "
                         f"{len(self.levels)} models — escape: back to the lab")
        else:
            self._status(f"done: {len(self.levels)} models, {self.epochs} epoch(s) each "
                         "— escape: back to the lab")

    # ------------------------------------------------------------ actions

    def action_stop(self) -> None:
        if self._comparison is not None:
            self._comparison.stop()
        self._status("stopping…")

    def action_close(self) -> None:
        self.action_stop()
        self.app.pop_screen()

    def on_unmount(self) -> None:
        # A thread worker cannot be killed: make sure its loop sees the stop.
        if self._comparison is not None:
            self._comparison.stop()

    # ------------------------------------------------------------ helpers

    def _status(self, text: str) -> None:
        self.query_one("#compare-status", Static).update(text)

    def _show_digits(self, index: int) -> None:
        """Model `index`'s column: the shared clean digits above its reconstructions."""
        if self.clean is None or index not in self.recons:
            return
        view = self.query_one(f"#digits-{index}", DigitRows)
        view.border_title = f"x (top) and {self.labels[index]}'s x̂ (below)"
        view.set_images(np.stack([self.clean, self.recons[index]]))
