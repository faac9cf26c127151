"""The Loss panel: train and held-out reconstruction loss, and each penalty
term as its own series, with a vertical marker wherever a knob changed."""

from __future__ import annotations

from aetui.core.snapshots import KnobChange, LossPoint
from aetui.tui.knobs import SYMBOLS, format_value
from aetui.tui.widgets.safe_plot import PlotView


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


class LossPanel(PlotView):
    DEFAULT_CSS = """
    LossPanel {
        border: round $primary 60%;
        border-title-color: $text;
    }
    """

    def __init__(self, *, interval: float = 0.5, id: str | None = None) -> None:
        super().__init__(id=id)
        self.interval = interval
        self.log_scale = False
        self.curve: tuple[LossPoint, ...] = ()
        self.knob_log: tuple[KnobChange, ...] = ()
        self.series: dict[str, list[float]] = {}  # what was last plotted (tests)
        self.markers: list[int] = []
        self.history_step: int | None = None  # the moment shown while scrubbing
        self._dirty = True
        self.set_titles(title="loss per example")

    def on_mount(self) -> None:
        self.set_interval(self.interval, self._tick)

    def set_curve(self, curve, knob_log) -> None:
        self.curve, self.knob_log = tuple(curve), tuple(knob_log)
        self._dirty = True

    def set_marker(self, step: int | None) -> None:
        """Mark the step of the moment the other panels show (None: live, no mark)."""
        if step != self.history_step:
            self.history_step = step
            self._dirty = True
            self._tick()

    def toggle_log(self) -> bool:
        self.log_scale = not self.log_scale
        self._dirty = True
        self._tick()
        return self.log_scale

    def _tick(self) -> None:
        if self._dirty:
            self._dirty = False
            self.replot()

    def replot(self) -> None:
        self.draw(self._draw_curves)

    def _draw_curves(self, plt) -> None:
        width = max(self.size.width, 10)
        idx = downsample(len(self.curve), width)
        points = [self.curve[i] for i in idx]
        steps = [p.step for p in points]
        series = {
            "train recon": [p.train.recon for p in points],
            "held-out recon": [p.val.recon if p.val else None for p in points],
            "λ‖W‖²": [p.train.l2 for p in points],
            "β·Ω": [p.train.sparsity for p in points],
        }
        colours = {"train recon": "cyan", "held-out recon": "orange", "λ‖W‖²": "green",
                   "β·Ω": "magenta"}
        self.series = {}
        for label, values in series.items():
            xy = [(x, y) for x, y in zip(steps, values, strict=True) if y is not None]
            if self.log_scale:
                xy = [(x, y) for x, y in xy if y > 0]
            penalty = label in ("λ‖W‖²", "β·Ω")
            if not xy or (penalty and not any(y for _, y in xy)):
                continue  # a penalty that is off is not drawn
            self.series[label] = [y for _, y in xy]
            # Legends need room; below 8 lines the border subtitle names the series.
            plt.plot([x for x, _ in xy], [y for _, y in xy], color=colours[label],
                     label=label if self.size.height >= 8 else None, marker="braille")
        self.markers = [c.step for c in self.knob_log
                        if steps and steps[0] <= c.step <= steps[-1]][-30:]
        for step in self.markers:
            plt.vline(step, "gray")
        if self.history_step is not None:
            plt.vline(self.history_step, "yellow")
        if self.log_scale and self.series:
            plt.yscale("log")
        plt.xlabel("step")
        self.set_titles(title="loss per example" + (" · log scale" if self.log_scale else ""))
        last = self.knob_log[-1] if self.knob_log else None
        if self.history_step is not None:
            self.set_titles(subtitle=f"yellow │ = shown moment, step {self.history_step:,}")
            return
        self.set_titles(subtitle=(
            f"│ = knob change · last: {SYMBOLS.get(last.name, last.name)} "
            f"{format_value(last.old)}→{format_value(last.new)} @ {last.step}"
            if last else "│ = knob change"))
