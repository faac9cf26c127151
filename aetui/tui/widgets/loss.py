"""The Loss panel: train and held-out reconstruction loss (held-out on x̃ as in
training, and on clean x), and each penalty term as its own series, with a
vertical marker wherever a knob changed."""

from __future__ import annotations

from aetui.knob_table import format_value, symbol
from aetui.render.ticks import axis
from aetui.training.snapshots import KnobChange, LossPoint
from aetui.tui.widgets.plot_view import PlotView
from aetui.tui.widgets.redraw import RedrawTimer, panel_css
from aetui.tui.widgets.titles import fit, part, title_width

TRANSIENT = 0.1  # the first tenth of the run is left out of the y range by default
# "held-out recon" feeds clean x; "held-out x̃" feeds x̃ under the run's noise, as the
# training loss does: the like-for-like pair is train and held-out x̃ (README, "The
# held-out loss and the training loss"). Without noise the two held-out series agree.
COLOURS = {"train recon": "cyan", "held-out x̃": "red", "held-out recon": "orange",
           "λ‖W‖²": "green", "β·Ω": "magenta"}
SHORT = {"train recon": "train", "held-out x̃": "held-out x̃", "held-out recon": "clean",
         "λ‖W‖²": "λ‖W‖²", "β·Ω": "β·Ω"}



def y_range(steps: list[int], series: dict[str, list[tuple[int, float]]],
            transient: float = TRANSIENT) -> tuple[float, float] | None:
    """(low, high) of every series over the last (1 − transient) of the steps,
    padded by 5 %: the first steps' large losses would flatten the rest of
    the run into the bottom row (TensorBoard leaves outliers out the same way).
    None when there is nothing to scale."""
    if not steps:
        return None
    cutoff = steps[0] + transient * (steps[-1] - steps[0])
    values = [y for xy in series.values() for x, y in xy if x >= cutoff]
    if not values:
        return None
    lo, hi = min(values), max(values)
    pad = 0.05 * (hi - lo) or 0.05 * abs(hi) or 1.0
    return lo - pad, hi + pad


def _number(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}"


def series_forms(label: str, value: float) -> tuple[str, ...]:
    """A series' name in its plot colour with its current value: the legend, in the
    title (a legend inside the plot covers the curves). Shorter forms round the
    value; none cuts it."""
    name = f"[{COLOURS.get(label, 'white')}]{SHORT.get(label, label)}[/]"
    return (f"{name} {_number(value)}", f"{name} {_number(value, 3)}")


Y_AXIS_CELLS = 7  # plotext's y tick labels and axis line, about


def downsample(n: int, width: int) -> list[int]:
    """Indices keeping about two points per plot column (and the last point):
    plotext redraws everything each time, so more points only cost time."""
    if n == 0:
        return []
    stride = max(1, -(-n // max(2 * width, 2)))
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return idx


class LossPanel(RedrawTimer, PlotView):
    DEFAULT_CSS = panel_css("LossPanel")

    ALLOW_MAXIMIZE = True  # the lab's full-screen key; panels take no focus

    def __init__(self, *, interval: float = 0.5, id: str | None = None) -> None:
        super().__init__(id=id)
        self.interval = interval
        self.log_scale = False
        self.curve: tuple[LossPoint, ...] = ()
        self.knob_log: tuple[KnobChange, ...] = ()
        self.series: dict[str, list[float]] = {}  # what was last plotted (tests)
        self.markers: list[int] = []
        self.y_limits: tuple[float, float] | None = None  # linear y range plotted (tests)
        self.history_step: int | None = None  # the moment shown while scrubbing
        self.set_titles(title="loss per example")

    def set_curve(self, curve, knob_log) -> None:
        self.curve, self.knob_log = tuple(curve), tuple(knob_log)
        self.mark_dirty()

    def set_marker(self, step: int | None) -> None:
        """Mark the step of the moment the other panels show (None: live, no mark)."""
        if step != self.history_step:
            self.history_step = step
            self.mark_dirty(now=True)

    def toggle_log(self) -> bool:
        self.log_scale = not self.log_scale
        self.mark_dirty(now=True)
        return self.log_scale

    def redraw(self) -> None:
        self.draw(self._draw_curves)

    def _draw_curves(self, plt) -> None:
        width = max(self.size.width, 10)
        idx = downsample(len(self.curve), width)
        points = [self.curve[i] for i in idx]
        steps = [p.step for p in points]
        series = {
            "train recon": [p.train.recon for p in points],
            "held-out x̃": [p.val_corrupted if p.val and p.val_corrupted != p.val.recon
                           else None for p in points],
            "held-out recon": [p.val.recon if p.val else None for p in points],
            "λ‖W‖²": [p.train.l2 for p in points],
            "β·Ω": [p.train.sparsity for p in points],
        }
        colours = COLOURS
        self.series = {}
        drawn: dict[str, list[tuple[int, float]]] = {}
        for label, values in series.items():
            xy = [(x, y) for x, y in zip(steps, values, strict=True) if y is not None]
            if self.log_scale:
                xy = [(x, y) for x, y in xy if y > 0]
            penalty = label in ("λ‖W‖²", "β·Ω")
            if not xy or (penalty and not any(y for _, y in xy)):
                continue  # a penalty that is off is not drawn
            self.series[label] = [y for _, y in xy]
            drawn[label] = xy
            # The legend needs room; below 8 lines the title's numbers name the series.
            # No plot legend: it covers the curves; the title names them, in colour.
            plt.plot([x for x, _ in xy], [y for _, y in xy],
                     color=colours.get(label, "white"), marker="braille")
        self.markers = [c.step for c in self.knob_log
                        if steps and steps[0] <= c.step <= steps[-1]][-30:]
        for step in self.markers:
            plt.vline(step, "gray")
        self.y_limits = None
        if self.history_step is not None:
            plt.vline(self.history_step, "yellow")
        if self.log_scale and self.series:
            plt.yscale("log")  # log already compresses the transient: the whole run
        elif drawn:
            self.y_limits = y_range(steps, drawn)
            if self.y_limits is not None:
                plt.ylim(*self.y_limits)
        self._round_ticks(plt, steps)
        plt.xlabel("step")
        # The current values as numbers: a flat-looking curve still says how far it got.
        width = title_width(self)
        parts = [part("loss/example", "loss", "", keep=4)]
        parts += [part(*series_forms(label, values[-1]), keep=5)
                  for label, values in self.series.items()]
        parts.append(part("log scale", "log", keep=4) if self.log_scale
                     else part("y: last 90 %", "", keep=1))
        self.set_titles(title=fit(parts, width))
        last = self.knob_log[-1] if self.knob_log else None
        if self.history_step is not None:
            self.set_titles(subtitle=fit([
                part("yellow │ = shown moment", "[yellow]│[/] shown", keep=1),
                part(f"step {self.history_step:,}", keep=5)], width))
            return
        change = [] if last is None else [
            part(f"last: {symbol(last.name)} {format_value(last.old)}→"
                 f"{format_value(last.new)} @ {last.step:,}",
                 f"{symbol(last.name)} {format_value(last.old)}→{format_value(last.new)}",
                 "", keep=2)]
        self.set_titles(subtitle=fit([part("│ = knob change", "│ knob", keep=3), *change],
                                     width))

    def _round_ticks(self, plt, steps: list[int]) -> None:
        """Round numbers on both axes: whole steps with k/M, y by 1, 2 or 5 × 10ⁿ."""
        width, height = self.size
        if not steps:
            return
        xs, labels = axis(steps[0], steps[-1], max(width - Y_AXIS_CELLS, 1), per_tick=10,
                          integer=True)
        if xs:
            plt.xticks(xs, labels)
        if self.y_limits is not None:
            ys, labels = axis(*self.y_limits, max(height - 3, 1), per_tick=2)
            if ys:
                plt.yticks(ys, labels)
