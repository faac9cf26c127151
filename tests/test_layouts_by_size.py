"""The lab's layouts by terminal size (README, "Layouts"): at 80×24, 120×40 and
160×48 the titles report the sizes actually drawn, no title is cut, the pictures
reach the sizes the README promises, and the layout changes live on resize."""

import re

import pytest
from fake_trainer import make_lab_app, wait_for
from rich.cells import cell_len

from aetui.render.ticks import axis, nice_ticks
from aetui.tui.layouts import choose_layout
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.sparsity import SparsityPanel
from aetui.tui.widgets.titles import fit, part

PANELS = (FiltersPanel, DigitsPanel, LossPanel, SparsityPanel)


def plain(markup: str | None) -> str:
    from rich.text import Text

    return Text.from_markup(markup or "").plain


def px_in(title: str) -> int:
    found = re.findall(r"(\d+) px", title)
    assert len(found) == 1, f"no single pixel size in {title!r}"
    return int(found[0])


def screen_rows(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def settle(pilot, app):
    assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
    filters = app.lab.query_one(FiltersPanel)
    assert await wait_for(pilot, lambda: filters.capacity > 0 and filters.units)
    await pilot.pause(1.5)  # an image tick and a plot tick after the resize
    # The trainer sends the units of a page that grew at its next snapshot.
    assert await wait_for(pilot, lambda: len(filters._slots) == min(
        filters.capacity, filters.total - filters.first))


def check_titles(app) -> None:
    """Every title fits its border whole: Textual would cut a longer one with "…"."""
    for cls in PANELS:
        panel = app.lab.query_one(cls)
        room = panel.outer_size.width - 6  # "╭─ " … " ─╮"
        for title in (panel.border_title, panel.border_subtitle):
            text = plain(title)
            assert not text.endswith("…"), f"{cls.__name__}: {text!r}"
            assert cell_len(text) <= room, f"{cls.__name__}: {text!r} is cut at {room}"
        # As drawn: the border rows carry no ellipsis at all.
        rows = screen_rows(app)
        region = panel.region
        for y in (region.y, region.bottom - 1):
            assert "…" not in rows[y][region.x:region.right], rows[y]


def check_sizes_reported(app) -> tuple[int, int, int, int]:
    """(filters shown, filter px, digits shown, digit px), each as the title says."""
    filters = app.lab.query_one(FiltersPanel)
    digits = app.lab.query_one(DigitsPanel)
    f_title, d_title = plain(filters.border_title), plain(digits.border_title)
    assert px_in(f_title) == filters.size_shown == filters._geo.px_w
    _, d_px, d_shown = digits.layout_used
    assert px_in(d_title) == d_px
    # An area mean is said so; full resolution is not called one.
    for title, px in ((f_title, filters.size_shown), (d_title, d_px)):
        assert ("mean" in title) == (px != 28), title
    # The filter grid fills the panel: no empty band taller than a row of filters.
    geo = filters._geo
    shown = len(filters._slots)
    assert shown == min(geo.capacity, filters.total - filters.first)
    assert filters.size.height - geo.height <= geo.cell_h + geo.row_gap
    return shown, filters.size_shown, d_shown, d_px


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 48)])
async def test_titles_report_what_is_drawn_and_are_never_cut(size):
    app = make_lab_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        assert app.lab.has_class(f"-layout-{choose_layout(*size).name}")
        check_titles(app)
        n_filters, f_px, n_digits, d_px = check_sizes_reported(app)
        assert n_filters >= 8 and f_px >= 7 and n_digits >= 1 and d_px >= 10


async def test_default_and_large_layouts_live_on_resize():
    app = make_lab_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        assert app.lab.has_class("-layout-default")
        n_filters, f_px, n_digits, d_px = check_sizes_reported(app)
        assert n_filters >= 16 and f_px >= 10, (n_filters, f_px)
        assert n_digits >= 2 and d_px >= 14, (n_digits, d_px)
        digits = app.lab.query_one(DigitsPanel)
        assert digits.layout_used[0] == "cols"  # each digit's x, x̃, x̂, |x − x̂| in a row

        await pilot.resize_terminal(160, 48)
        await settle(pilot, app)
        assert app.lab.has_class("-layout-large")
        check_titles(app)
        large = check_sizes_reported(app)
        assert large[3] == 28 and large[2] >= 1
        assert large[0] > n_filters

        await pilot.resize_terminal(80, 24)
        await settle(pilot, app)
        assert app.lab.has_class("-layout-small")
        check_titles(app)
        check_sizes_reported(app)
        # Full screen at the small size: filters at full resolution, digits larger.
        small_digit_px = digits.layout_used[1]
        await pilot.press("f")
        await pilot.pause(0.5)
        filters = app.lab.query_one(FiltersPanel)
        assert app.lab.maximized is filters and filters.size_shown == 28
        check_titles(app)
        await pilot.press("w")
        await pilot.pause(0.5)
        assert app.lab.maximized is digits
        assert digits.layout_used[1] > small_digit_px


def test_layout_rule():
    assert choose_layout(80, 24).name == "small"
    assert choose_layout(119, 60).name == "small"
    assert choose_layout(120, 40).name == "default"
    assert choose_layout(200, 47).name == "default"
    assert choose_layout(160, 48).name == "large"
    assert choose_layout(240, 70).name == "large"


def test_fit_keeps_figures_whole():
    parts = [part("loss/example", "loss", "", keep=4),
             part("train 70.84", "train 70.8", keep=5),
             part("held-out 72.13", "held-out 72.1", keep=5),
             part("y: last 90 %", "", keep=1)]
    for width in range(8, 60):
        text = fit(parts, width)
        assert not text.endswith("…")
        for number in re.findall(r"\d+(?:\.\d+)?", text):
            assert number in {"70.84", "70.8", "72.13", "72.1", "90"}, (width, text)
        if width >= len("train 70.8 · held-out 72.1"):
            assert "train" in text and "held-out" in text and cell_len(text) <= width


def test_ticks_are_round():
    ticks, labels = axis(2300, 48926.8, 60, integer=True)
    assert labels == ["10k", "20k", "30k", "40k"]
    assert all(t == int(t) for t in ticks)
    assert axis(0, 2.5e6, 60, integer=True)[1][-1] == "2.5M"
    assert nice_ticks(69.5, 89.2, 4) == [70, 75, 80, 85]
    assert axis(0, 1, 24)[1] == ["0", "0.5", "1.0"]
