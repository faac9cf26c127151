"""Layout: 80×24 and 160×50 with no overlap and nothing that matters cut;
a terminal below the minimum shows a message instead; resizing back works."""

import pytest
from fake_trainer import make_lab_app, wait_for
from textual.geometry import Region
from textual.widgets import Footer

from aetui.tui.screens.lab import LabScreen
from aetui.tui.screens.too_small import TooSmallScreen
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.sparsity import SparsityPanel
from aetui.tui.widgets.status import StatusBar

PANELS = (StatusBar, FiltersPanel, DigitsPanel, LossPanel, SparsityPanel, Footer)


def assert_layout(app, width, height, *, min_filters, min_digits):
    screen_region = Region(0, 0, width, height)
    regions = {cls.__name__: app.lab.query_one(cls).region for cls in PANELS}
    for name, region in regions.items():
        assert region.area > 0, f"{name} is not visible"
        assert screen_region.contains_region(region), f"{name} {region} is off screen"
    names = list(regions)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not regions[a].overlaps(regions[b]), f"{a} overlaps {b}"
    # What matters is there: enough filters, some digits, plots of usable size,
    # and the status bar's knob line whole.
    filters = app.lab.query_one(FiltersPanel)
    assert filters.capacity >= min_filters
    assert sum("▀" in line for line in filters.text_lines()) >= 3
    assert app.lab.query_one(DigitsPanel).layout_used[2] >= min_digits
    loss = app.lab.query_one(LossPanel)
    assert loss.size.width >= 25 and loss.size.height >= 5
    for plot in app.lab.query_one(SparsityPanel).query("PlotView"):
        assert plot.size.width >= 12 and plot.size.height >= 4
    status = app.lab.query_one(StatusBar)
    knob_line = status.last_text.splitlines()[1]
    assert len(knob_line) <= status.content_region.width, "knob line is cut"
    assert app.lab.query_one(Footer).region.y == height - 1


@pytest.mark.parametrize(("size", "min_filters", "min_digits"),
                         [((80, 24), 6, 1), ((120, 40), 16, 2), ((160, 50), 24, 1)])
async def test_layout_sizes(size, min_filters, min_digits):
    app = make_lab_app()
    async with app.run_test(size=size) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        filters = app.lab.query_one(FiltersPanel)
        assert await wait_for(pilot, lambda: filters.capacity > 0 and filters.units)
        await pilot.pause(1.2)  # one image tick after the first snapshot
        assert isinstance(app.screen, LabScreen)
        assert_layout(app, *size, min_filters=min_filters, min_digits=min_digits)


async def test_too_small_shows_message_and_resizing_back_restores():
    app = make_lab_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.resize_terminal(60, 18)
        assert await wait_for(pilot, lambda: isinstance(app.screen, TooSmallScreen))
        message = str(app.screen.query_one("#too-small-message").render())
        assert "too small" in message and "60×18" in message
        step = app.lab.run.trainer.step
        assert await wait_for(pilot, lambda: app.lab.run.trainer.step > step)  # still training
        await pilot.resize_terminal(80, 24)
        assert await wait_for(pilot, lambda: isinstance(app.screen, LabScreen))
        await pilot.pause(1.2)
        assert_layout(app, 80, 24, min_filters=6, min_digits=1)


async def test_starts_too_small():
    app = make_lab_app()
    async with app.run_test(size=(50, 12)) as pilot:
        assert await wait_for(pilot, lambda: isinstance(app.screen, TooSmallScreen))
        await pilot.resize_terminal(100, 30)
        assert await wait_for(pilot, lambda: isinstance(app.screen, LabScreen))


async def test_quit_is_the_first_key_in_the_footer_at_80_columns():
    """The footer is cut on the right on small terminals: how to quit must survive."""
    from fake_trainer import make_lab_app
    from textual.widgets import Footer

    app = make_lab_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        keys = [(k.key, k.description) for k in app.screen.query_one(Footer).query("FooterKey")]
    assert keys[0] == ("ctrl+q", "quit")
    assert [k for k, _ in keys].count("ctrl+q") == 1
