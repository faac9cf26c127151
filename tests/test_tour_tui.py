"""The guided tour in the lab, driven with Pilot: every chapter at 120×40 and 80×24."""

from __future__ import annotations

import pytest
from fake_trainer import FakeTrainer, make_lab_app, wait_for

from aetui.config import Settings
from aetui.knob_table import format_value, symbol
from aetui.tour.chapters import CHAPTERS
from aetui.tui.tour_panel import FOCUS, TourPanel
from aetui.tui.widgets.status import StatusBar


def panel_text(app) -> str:
    return str(app.lab.query_one(TourPanel).render())


@pytest.fixture
def no_jobs(monkeypatch):
    monkeypatch.setattr(TourPanel, "background_jobs", False)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_walk_every_chapter(no_jobs, size):
    app = make_lab_app(Settings(dataset="digits", hidden=64))
    async with app.run_test(size=size) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.press("T")
        assert await wait_for(pilot, lambda: bool(app.lab.query(TourPanel)))
        for i, chapter in enumerate(CHAPTERS):
            if i:
                await pilot.press("pagedown")
            await pilot.pause(0.05)
            tour = app.lab.query_one(TourPanel)
            assert tour.chapter is chapter
            text = panel_text(app)
            assert f"tour {chapter.number}" in text and chapter.title in text
            for claim in chapter.claims:
                assert claim.text in text and f"{claim.threshold:g}" in text
            if size[1] < 30:  # folded to one sentence; v unfolds it
                assert chapter.caption_line in text and chapter.caption not in text
                await pilot.press("v")
                assert chapter.caption in panel_text(app)
                await pilot.pause(0.05)
                focus = app.lab.query_one(f"#{chapter.panel}")
                assert focus.region.height >= 3  # unfolded, the panel is still in view
                assert not focus.region.overlaps(tour.region)
                await pilot.press("v")
            else:
                assert chapter.caption in text
            # The chapter's settings went through the knob session, and show.
            for name, value in chapter.settings.items():
                assert getattr(app.lab.session.settings, name) == value, (chapter.number, name)
            line = app.lab.query_one(StatusBar).last_text
            for name in ("q", "sigma", "beta", "l2", "rho"):
                if name in chapter.settings:
                    assert f"{symbol(name)} {format_value(chapter.settings[name])}" in line
            # The panel it is about is picked out, selected and in view (not covered).
            focus = app.lab.query_one(f"#{chapter.panel}")
            assert focus.has_class(FOCUS) and app.lab.selected == chapter.panel
            assert focus.region.height >= 3 and focus.region.width >= 10
            assert not focus.region.overlaps(tour.region)
            others = [w for w in app.lab.query(f".{FOCUS}")]
            assert others == [focus]
        await pilot.press("pagedown")  # wraps round to the first chapter
        assert app.lab.query_one(TourPanel).chapter is CHAPTERS[0]
        await pilot.press("pageup")
        last = CHAPTERS[-1]
        assert app.lab.query_one(TourPanel).chapter is last
        before = app.lab.session.settings
        await pilot.press("T")  # leave: the lab keeps its settings
        assert await wait_for(pilot, lambda: not app.lab.query(TourPanel))
        assert app.lab.session.settings == before
        assert not app.lab.query(f".{FOCUS}")


async def test_settings_reach_the_trainer_and_its_knob_log(no_jobs):
    app = make_lab_app(Settings(dataset="digits", hidden=64, noise="none"))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.press("T")
        for _ in range(3):  # to 7.4.1: masking noise q = 0.25, k = 500 (a new model)
            await pilot.press("pagedown")
        trainer = app.lab.run.trainer
        assert await wait_for(pilot, lambda: trainer.settings.noise == "mask"
                              and trainer.settings.q == 0.25 and trainer.settings.hidden == 500)
        for _ in range(3):  # to 7.4.4: Gaussian noise, same model
            await pilot.press("pagedown")
            await pilot.pause(0.3)
        assert await wait_for(pilot, lambda: trainer.settings.noise == "gaussian")
        # The trainer logged the changes as they took effect (the lab string's log).
        assert await wait_for(pilot, lambda: {"noise", "q"} <= {
            c.name for c in app.lab.snapshot.knob_log})


async def test_live_claim_measured_on_the_models_on_screen(no_jobs):
    """7.4.1's claim gets a number from the lab's weights and a verdict."""
    app = make_lab_app(Settings(dataset="digits", hidden=64))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.press("T")
        for _ in range(3):
            await pilot.press("pagedown")
        tour = app.lab.query_one(TourPanel)
        assert await wait_for(pilot, lambda: "fill_in" in tour.values, timeout=30)
        text = panel_text(app)
        assert any(v in text for v in ("holds", "not yet", "does not hold"))
        assert f"{tour.values['fill_in']:.4g}" in text


async def test_compare_chapter_trains_three_models_in_the_background(monkeypatch):
    monkeypatch.setattr(TourPanel, "trainer_factory", FakeTrainer)
    app = make_lab_app(Settings(dataset="digits", hidden=64))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.lab.snapshot is not None)
        await pilot.press("T")
        for _ in range(5):  # to 7.4.3
            await pilot.press("pagedown")
        tour = app.lab.query_one(TourPanel)
        assert tour.chapter.number == "7.4.3"
        assert await wait_for(pilot, lambda: "done" in tour.progress, timeout=60)
        assert "smoothness_rise" in tour.values
        assert "vanilla" in panel_text(app)


async def test_aetui_tour_opens_the_lab_on_the_first_chapter(no_jobs):
    """`aetui tour` sets tour_at_start (commands/lab.py): the lab opens on 7.3.1."""
    app = make_lab_app(Settings(dataset="digits", hidden=64))
    app.lab.tour_at_start = True
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: bool(app.lab.query(TourPanel)))
        assert app.lab.query_one(TourPanel).chapter is CHAPTERS[0]
        assert app.lab.session.settings.hidden == 1000 and not app.lab.session.settings.tied
