"""The lab's instrument (README "Inspect, draw, scrub"): the unit cursor, the
inspector and drawing screens (each given the run and a snapshot getter), and
scrubbing through the run's history. A mixin of the lab screen (lab.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel

if TYPE_CHECKING:
    from aetui.training.run import LabRun
    from aetui.tui.history import HistoryController
    from aetui.tui.options import LabOptions


class LabInstrument:
    """Cursor, inspector, drawing and history keys, for the lab screen mixed into."""

    run: LabRun
    options: LabOptions
    history: HistoryController

    def action_cursor(self, d_unit: int, d_row: int) -> None:
        panel = self.query_one(FiltersPanel)
        if panel.move_cursor(d_unit, d_row):
            self.sync_filter_units()

    def _model_ready(self, what: str) -> bool:
        snap = self.snapshot
        if snap is None or getattr(snap, "params", None) is None:
            self.app.notify(f"{what} needs the model: wait for the first snapshot", timeout=3)
            return False
        return True

    def action_inspect(self) -> None:
        panel = self.query_one(FiltersPanel)
        if panel.show_pca:
            self.app.notify("the cursor is on PCA components: press P for the filters first",
                            timeout=3)
            return
        if not self._model_ready("the inspector"):
            return
        from aetui.tui.screens.inspector import InspectorScreen

        row = panel._geo.cols if panel._geo is not None else 10
        self.app.push_screen(InspectorScreen(panel.cursor, self.run, self.live_snapshot,
                                             self.follow_unit, mode=panel.mode,
                                             levels=self.options.levels,
                                             interval=self.options.image_interval, row=row))

    def action_draw(self) -> None:
        if not self._model_ready("drawing"):
            return
        from aetui.tui.screens.draw import DrawScreen

        self.app.push_screen(DrawScreen(self.run, self.live_snapshot,
                                        mode=self.query_one(FiltersPanel).mode,
                                        levels=self.options.levels,
                                        interval=self.options.image_interval))

    def live_snapshot(self):
        """The live snapshot if it carries the model's weights, else None (what the
        inspector and drawing screens are given to follow training)."""
        snap = self.snapshot
        return snap if snap is not None and getattr(snap, "params", None) is not None else None

    def follow_unit(self, unit: int) -> None:
        """The filter cursor moves to `unit` (the inspector's): closing it lands there."""
        panel = self._panel(FiltersPanel)
        if panel is not None and panel.set_cursor(unit):
            self.sync_filter_units()

    def action_history(self, delta: int) -> None:
        if not self.history.step(delta):
            self.app.notify("no earlier moment stored" if delta < 0 else "already live",
                            timeout=2)
        self.refresh_status()

    def action_history_live(self) -> None:
        self.history.to_live()
        self.refresh_status()

    def _show_stored(self, snap) -> None:
        if self.trainer is None or not self.query(FiltersPanel):
            return  # starting or shutting down: no panels to draw on
        self._show_snapshot(snap)
        for panel in (*self.query(FiltersPanel), *self.query(DigitsPanel)):
            panel.mark_dirty(now=True)  # a key was pressed: show it now, not at the tick

    def _mark_history(self, step: int | None) -> None:
        for panel in self.query(LossPanel):  # none while the screen is torn down
            panel.set_marker(step)
