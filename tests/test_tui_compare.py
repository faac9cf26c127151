"""The lab's compare mode (CompareScreen), driven with Pilot and a fake trainer."""

from __future__ import annotations

import threading

import pytest
from fake_trainer import FakeTrainer
from textual.app import App

from aetui.config import Settings
from aetui.tui.screens.compare import CompareScreen, DigitRows, GridView, fit_grid

TINY_SIZES = (600, 200)  # the conftest's tiny_dataset: training and test images


class Host(App):
    """A bare app that opens compare mode, as the lab's key does."""

    def __init__(self, screen: CompareScreen) -> None:
        super().__init__()
        self.compare = screen

    def on_mount(self) -> None:
        self.push_screen(self.compare)


async def wait_until(pilot, condition, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_compare_screen_trains_each_level_and_shows_filters_and_digits(tiny_dataset,
                                                                             size):
    screen = CompareScreen(Settings(hidden=16, batch=20), tiny_dataset, epochs=1,
                           mode="ascii", trainer_factory=FakeTrainer)
    app = Host(screen)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: screen.finished)
        await pilot.pause(0.1)
        assert screen.error is None and sorted(screen.results) == [0, 1, 2]
        for i, label in enumerate(("vanilla", "q=0.25", "q=0.5")):
            filters = screen.query_one(f"#filters-{i}", GridView)
            assert filters.border_title.startswith(f"{label}: probe")
            assert "smooth" in filters.border_title
            assert any(line.strip() for line in (s.text for s in filters._strips))
            digits = screen.query_one(f"#digits-{i}", DigitRows)
            assert label in digits.border_title
            assert any(line.strip() for line in (s.text for s in digits._strips))
            # Panels side by side: each column starts right of the previous one.
            if i:
                left = screen.query_one(f"#filters-{i - 1}").region
                assert filters.region.x >= left.right
        status = str(screen.query_one("#compare-status").render())
        assert "done" in status
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is not screen


async def test_compare_screen_stop_key_ends_the_worker(tiny_dataset):
    screen = CompareScreen(Settings(hidden=8, batch=1), tiny_dataset, epochs=1000,
                           mode="ascii", probe=False, trainer_factory=FakeTrainer)
    app = Host(screen)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: screen.current is not None)
        await pilot.press("x")
        await wait_until(pilot, lambda: screen.finished)
        assert "stopped" in str(screen.query_one("#compare-status").render())
    assert not [t for t in threading.enumerate() if t.name.startswith("compare")]


async def test_compare_screen_without_data_says_so():
    screen = CompareScreen(Settings(), None, mode="ascii")
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert screen.finished
        assert "loading" in str(screen.query_one("#compare-status").render())


def test_fit_grid_prefers_large_images_but_shows_enough():
    assert fit_grid(100, 200, 100, 4) == (28, 36)  # 6 × 6 native-size images fit
    size, count = fit_grid(100, 36, 20, 9)
    assert count >= 9 and size < 28
    assert fit_grid(100, 3, 1, 1)[1] == 0
