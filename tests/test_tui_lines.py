"""Only changed cells are repainted: the bandwidth budget depends on it."""

from fake_trainer import make_lab_app, wait_for
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.line_cache import changed_span


def test_changed_span():
    red, blue = Style(color="red"), Style(color="blue")
    a = Strip([Segment("▀▀▀▀", red)])
    b = Strip([Segment("▀", red), Segment("▀▀", blue), Segment("▀", red)])
    assert changed_span(a, a) is None
    assert changed_span(a, b) == (1, 2)


async def test_redraw_of_unchanged_images_sends_nothing():
    app = make_lab_app()
    async with app.run_test(size=(120, 40)) as pilot:
        filters = app.lab.query_one(FiltersPanel)
        # The first snapshots may predate the layout (one unit asked for): wait for a
        # page of several filters, the one the trainer was asked for, or shared and
        # per-filter scales draw the same picture.
        assert await wait_for(pilot, lambda: len(filters.units) > 1 and filters.units
                              == tuple(app.lab.run.trainer.filter_units))
        await pilot.press("space")  # paused: the filters stop changing
        await pilot.pause(0.3)
        filters.mark_dirty(now=True)
        sent = filters.cells_sent
        filters.mark_dirty(now=True)
        assert filters.cells_sent == sent  # identical picture: no cells
        await pilot.press("g")  # shared normalisation changes most cells
        assert filters.cells_sent > sent
