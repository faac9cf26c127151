"""The Sparsity panel: histogram of ρ̂ over the hidden units with the target ρ,
dead/saturated counts (by each unit's activation range on the held-out images:
experiments/unit_health.py), and the KL penalty curve Ω(ρ̂) for the current ρ."""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from aetui.engine.objective import kl_divergence
from aetui.experiments import unit_health
from aetui.render.ticks import axis
from aetui.tui.widgets.plot_view import PlotView
from aetui.tui.widgets.redraw import RedrawTimer, panel_css
from aetui.tui.widgets.titles import fit, part


def kl_curve(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """KL(ρ‖ρ̂) for one unit, elementwise over rho_hat (clipped as the trainer does)."""
    return kl_divergence(rho, rho_hat)


class SparsityPanel(RedrawTimer, Vertical):
    DEFAULT_CSS = panel_css("SparsityPanel") + """
    SparsityPanel #sparsity-caption { height: auto; max-height: 2; }
    SparsityPanel Horizontal { height: 1fr; }
    SparsityPanel PlotView { width: 1fr; height: 1fr; }
    """

    ALLOW_MAXIMIZE = True  # the lab's full-screen key; panels take no focus

    def __init__(self, *, interval: float = 0.5, id: str | None = None) -> None:
        super().__init__(id=id)
        self.interval = interval
        self.rho_hat: np.ndarray | None = None
        self.rho = 0.05
        self.val_count = 0
        self.dead: int | None = None  # None: the activation range was not measured
        self.saturated: int | None = None
        self.h_range: np.ndarray | None = None
        self._caption = ""
        self._plotted: dict[str, tuple] = {}  # what each plot last showed
        self.border_title = "sparsity ρ̂ (held-out)"

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first snapshot…", id="sparsity-caption")
        with Horizontal():
            yield PlotView(id="rho-hist")
            yield PlotView(id="kl-curve")

    def on_resize(self) -> None:
        # A tall, narrow panel (the large layout's plot column) stacks the two plots:
        # side by side they would be too narrow to read.
        width, height = self.size
        stacked = width < 60 and height >= 24
        self.query_one(Horizontal).styles.layout = "vertical" if stacked else "horizontal"

    def set_rho_hat(self, rho_hat: np.ndarray, rho: float, val_count: int,
                    h_range: np.ndarray | None = None) -> None:
        """ρ̂ per unit, the target, the held-out count, and (2, k) each unit's least and
        greatest held-out activation (the dead/saturated rule's input; None: unknown)."""
        self.rho_hat, self.rho, self.val_count = rho_hat, rho, val_count
        self.h_range = h_range
        self.mark_dirty()

    def set_target(self, rho: float) -> None:
        """The target changed: move the markers now, not at the next snapshot."""
        self.rho = rho
        self.mark_dirty(now=True)

    def caption(self, width: int = 200) -> str:
        """Two lines, each fitted to `width` by dropping words, never a figure: the
        numbers, then what ρ̂ is."""
        if self.rho_hat is None or len(self.rho_hat) == 0:
            return "waiting for the first snapshot…"
        k = len(self.rho_hat)
        dead = "–" if self.dead is None else self.dead
        saturated = "–" if self.saturated is None else self.saturated
        numbers = [part(f"target ρ {self.rho:.3g}", f"ρ {self.rho:.3g}", keep=5),
                   part(f"mean ρ̂ {float(np.mean(self.rho_hat)):.3g}",
                        f"ρ̂ {float(np.mean(self.rho_hat)):.3g}", keep=4),
                   part(f"dead {dead}", keep=6),
                   part(f"saturated {saturated} of {k}", f"sat. {saturated} of {k}",
                        keep=6)]
        meaning = [part(f"ρ̂ = mean activation on {self.val_count} held-out digits",
                        f"ρ̂: mean activation, {self.val_count} held-out digits",
                        f"ρ̂: mean on {self.val_count} held-out", keep=1),
                   part(unit_health.RULE, "", keep=0)]
        line = fit(numbers, width)
        if line.count(" · ") + 1 < len(numbers):  # a figure would be left off: two lines
            return fit(numbers[:2], width) + "\n" + fit(numbers[2:], width)
        return line + "\n" + fit(meaning, width)

    def _tick(self) -> None:
        # Hidden (a screen covers the lab): wait. The caption's update asks for a layout
        # pass, and a covered screen's layout repaints the whole screen on top.
        if self.region.area:
            super()._tick()

    def redraw(self) -> None:
        if self.rho_hat is not None and len(self.rho_hat):
            found = unit_health.counts(self.h_range)
            self.dead, self.saturated = found if found is not None else (None, None)
            self._plot_histogram()
            self._plot_kl()
        caption = self.caption(self.size.width or 200)
        if caption != self._caption:  # an update repaints the line: skip if unchanged
            self._caption = caption
            self.query_one("#sparsity-caption", Static).update(caption)

    def _plot_histogram(self) -> None:
        plot = self.query_one("#rho-hist", PlotView)
        rho_hat = np.asarray(self.rho_hat, float).tolist()
        bins = max(5, min(40, plot.size.width // 2))
        # plotext costs tens of ms a figure: skip it when the bars would not move.
        key = (tuple(np.histogram(rho_hat, bins=bins, range=(0, 1))[0]), self.rho, plot.size)
        if key == self._plotted.get("hist"):
            return
        self._plotted["hist"] = key

        counts = key[0]
        centres = ((np.arange(bins) + 0.5) / bins).tolist()
        width, height = plot.size

        def draw(plt) -> None:
            # The counts drawn are the counts on the axis: one binning, np.histogram's.
            plt.bar(centres, list(counts), width=1, color="cyan")
            plt.vline(self.rho, "red")
            plt.xlim(0, 1)
            plt.xticks(*axis(0, 1, width - 6, per_tick=8))
            plt.yticks(*axis(0, max(counts, default=1), height - 3, per_tick=2, integer=True))
            plt.title(fit([part("units per ρ̂", "units", keep=2),
                           part("red line = ρ", "", keep=1)], width))

        plot.draw(draw)

    def _plot_kl(self) -> None:
        plot = self.query_one("#kl-curve", PlotView)
        mean = float(np.mean(self.rho_hat))
        key = (round(mean, 3), self.rho, plot.size)
        if key == self._plotted.get("kl"):
            return
        self._plotted["kl"] = key
        top = max(1.0, 3.0 * self.rho, 2.0 * mean)
        xs = np.linspace(1e-3, min(0.999, top), 120)

        ys = kl_curve(self.rho, xs)
        width, height = plot.size

        def draw(plt) -> None:
            plt.plot(xs.tolist(), ys.tolist(), color="magenta", marker="braille")
            plt.xlim(0, 1)  # ticks at 0 and 1 fit; the curve stops just short of 1
            plt.xticks(*axis(0, 1, width - 6, per_tick=8))
            plt.yticks(*axis(0, float(ys.max()), height - 3, per_tick=2))
            plt.scatter([mean], [float(kl_curve(self.rho, np.array([mean]))[0])],
                        color="orange", marker="●")
            plt.vline(self.rho, "red")
            plt.title(fit([part("Ω(ρ̂) per unit", "Ω(ρ̂)", keep=2),
                           part("● = mean ρ̂", "", keep=1)], width))

        plot.draw(draw)
