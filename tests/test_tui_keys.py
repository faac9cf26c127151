"""Every key does what the footer says: the knob's new value, and what the panel shows."""

import sys
import threading
import types
from pathlib import Path

import pytest
from fake_trainer import fake_dataset, make_lab_app, wait_for
from textual.screen import Screen

from aetui.config import Settings
from aetui.knob_table import next_value
from aetui.tui.screens.help import HelpScreen
from aetui.tui.screens.lab_keys import LAB_BINDINGS
from aetui.tui.screens.prompt import PromptScreen
from aetui.tui.widgets.digits import DigitsPanel
from aetui.tui.widgets.filters import FiltersPanel
from aetui.tui.widgets.loss import LossPanel
from aetui.tui.widgets.status import StatusBar

SIZE = (120, 40)
TESTED_ACTIONS: set[str] = set()


def _mark_tested(*actions):
    TESTED_ACTIONS.update(actions)


async def started(pilot):
    app = pilot.app
    assert await wait_for(pilot, lambda: app.lab.run.trainer is not None
                          and app.lab.snapshot is not None)
    return app, app.lab.run.trainer


def status(app) -> str:
    return app.query_one(StatusBar).last_text


KNOB_KEYS = [("q", "q", "q"), ("s", "sigma", "σ"), ("o", "rho", "ρ"), ("b", "beta", "β"),
             ("l", "l2", "λ"), ("e", "lr", "lr")]


@pytest.mark.parametrize(("key", "name", "symbol"), KNOB_KEYS)
async def test_knob_keys_lower_and_raise(key, name, symbol):
    _mark_tested(f"knob('{name}', -1)", f"knob('{name}', 1)")
    settings = Settings(dataset="digits", hidden=64, beta=0.1, l2=1e-4)
    app = make_lab_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        app, trainer = await started(pilot)
        start = getattr(trainer.settings, name)
        await pilot.press(key.upper())
        up = next_value(name, start, 1)
        assert getattr(trainer.settings, name) == up != start
        assert f"{symbol} {app_format(up)}" in status(app)
        await pilot.press(key, key)
        down = next_value(name, up, -1)
        down2 = next_value(name, down, -1)
        assert getattr(trainer.settings, name) == down2
        assert f"{symbol} {app_format(down2)}" in status(app)
        # The change reaches the trainer's knob log and the loss plot's markers.
        assert await wait_for(pilot, lambda: any(c.name == name for c in
                                                 app.query_one(LossPanel).knob_log))


def app_format(value):
    from aetui.knob_table import format_value

    return format_value(value)


async def test_k_keys_change_hidden_units_and_reset():
    _mark_tested("knob('hidden', -1)", "knob('hidden', 1)")
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, trainer = await started(pilot)
        await pilot.press("K")
        assert trainer.settings.hidden == 100
        assert "784→100" in status(app)
        assert await wait_for(pilot, lambda: app.lab.snapshot.hidden == 100)
        assert "of 100" in app.query_one(FiltersPanel).border_title
        await pilot.press("k", "k")
        assert trainer.settings.hidden == 32
        assert trainer.resets >= 1


async def test_pause_step_reset_tied_noise():
    _mark_tested("toggle_pause", "step_once", "reset", "knob('tied', 1)",
           "knob('noise', 1)")
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, trainer = await started(pilot)
        await pilot.press("space")
        assert await wait_for(pilot, lambda: trainer.state == "paused")
        assert "paused" in status(app)
        step = trainer.step
        await pilot.pause(0.2)
        assert trainer.step == step  # paused means paused
        await pilot.press("full_stop")
        assert await wait_for(pilot, lambda: trainer.step == step + 1)
        await pilot.press("space")
        assert await wait_for(pilot, lambda: trainer.state == "training")
        assert "training" in status(app)

        await pilot.press("t")
        assert trainer.settings.tied is False and "784→64 untied" in status(app)
        await pilot.press("n")
        assert trainer.settings.noise == "gaussian" and "noise gaussian" in status(app)
        assert await wait_for(pilot, lambda: "gaussian σ=0.5"
                              in app.query_one(DigitsPanel).border_title, timeout=5)

        big = trainer.step
        await pilot.press("r")
        assert await wait_for(pilot, lambda: trainer.resets == 1)
        assert trainer.step < big


async def test_prompt_sets_exact_values_and_rejects_bad_ones():
    _mark_tested("prompt")
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, trainer = await started(pilot)
        await pilot.press("colon")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"q=0.37", "enter")
        assert not isinstance(app.screen, PromptScreen)
        assert trainer.settings.q == 0.37 and "q 0.37" in status(app)

        await pilot.press("equals_sign", *"q=1.5", "enter")
        assert isinstance(app.screen, PromptScreen)  # stays open, says why
        error = str(app.screen.query_one("#prompt-error").render())
        assert "--q" in error and "[0, 1)" in error
        await pilot.press("escape")
        assert trainer.settings.q == 0.37

        await pilot.press("colon", *"dataset=mnist", "enter")
        assert "can't change while the lab runs" in str(
            app.screen.query_one("#prompt-error").render())
        await pilot.press("escape")

        await pilot.press("colon", *"k=128", "enter")
        assert trainer.settings.hidden == 128


async def test_display_keys_colours_normalise_pages_zoom_log():
    _mark_tested("cycle_colours", "toggle_normalise", "page(-1)", "page(1)",
           "zoom", "toggle_log")
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, trainer = await started(pilot)
        filters = app.query_one(FiltersPanel)
        assert await wait_for(pilot, lambda: filters.capacity > 0)
        first_mode = filters.mode
        await pilot.press("c")
        assert filters.mode != first_mode and filters.mode in filters.border_subtitle
        assert app.query_one(DigitsPanel).mode == filters.mode
        while filters.mode != "ascii":
            await pilot.press("c")
        assert "▀" not in "".join(filters.text_lines())
        await pilot.press("c")
        assert filters.mode == "truecolor"
        assert "▀" in "".join(filters.text_lines())

        await pilot.press("g")
        assert filters.normalise == "shared" and "shared" in filters.border_subtitle

        cap = filters.capacity
        await pilot.press("right_square_bracket")
        assert filters.page == 1
        assert tuple(trainer.filter_units) == tuple(range(cap, min(64, 2 * cap)))
        assert f"units {cap}–" in filters.border_title
        assert await wait_for(pilot, lambda: app.lab.snapshot.filter_units[:1] == (cap,))
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert filters.page == 0 and trainer.filter_units[0] == 0

        await pilot.press("z")
        assert filters.zoom == 28
        assert filters.geometry_for(*filters.size).px_w == 28

        loss = app.query_one(LossPanel)
        await pilot.press("y")
        assert loss.log_scale and " · log" in loss.border_title  # "log scale", or "log" when narrow
        await pilot.press("y")
        assert not loss.log_scale and loss.y_limits is not None


async def test_pca_key_shows_components_in_the_filter_grid():
    _mark_tested("toggle_pca")
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, _ = await started(pilot)
        filters = app.query_one(FiltersPanel)
        await pilot.press("P")
        assert filters.show_pca
        assert await wait_for(pilot, lambda: filters.pca is not None, timeout=20)
        await pilot.pause(0.1)
        assert filters.border_title.startswith("PCA components 1–")
        assert "▀" in "".join(filters.text_lines())
        await pilot.press("P")
        assert not filters.show_pca and filters.border_title.startswith("filters")


async def test_probe_key_runs_in_background_and_shows_accuracies(monkeypatch):
    _mark_tested("probe")
    import aetui.experiments.analysis as analysis

    def fake_probe(params, train_x, train_y, test_x, test_y, progress=None):
        if progress:
            progress(0.5, "raw")
        assert params.W.shape == (784, 64)
        return {"raw": 0.9, "features": 0.95, "pca": 0.91}

    monkeypatch.setattr(analysis, "probe_accuracies", fake_probe)
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, _ = await started(pilot)
        await pilot.press("p")
        assert await wait_for(pilot, lambda: app.lab.probe_result is not None)
        assert "raw pixels 90.0% · AE features 95.0% · PCA 91.0%" in status(app)


async def test_compare_key_pushes_compare_screen_when_present(monkeypatch):
    _mark_tested("compare")
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, trainer = await started(pilot)
        monkeypatch.setitem(sys.modules, "aetui.tui.screens.compare", None)
        await pilot.press("C")  # absent: a notification, nothing breaks
        await pilot.pause(0.05)
        assert any("compare mode" in n.message for n in app._notifications)

        class CompareScreen(Screen):
            @classmethod
            def from_lab(cls, lab):
                screen = cls()
                screen.lab = lab
                return screen

        module = types.ModuleType("aetui.tui.screens.compare")
        module.CompareScreen = CompareScreen
        monkeypatch.setitem(sys.modules, "aetui.tui.screens.compare", module)
        await pilot.press("C")
        assert isinstance(app.screen, CompareScreen) and app.screen.lab is app.lab
        assert await wait_for(pilot, lambda: trainer.state == "paused")
        app.pop_screen()
        await pilot.pause(0.05)


async def test_save_export_help_and_load_prompt(tmp_path, monkeypatch):
    _mark_tested("save", "export_svg", "help", "load")
    monkeypatch.chdir(tmp_path)
    from aetui.tui.options import LabOptions

    target = tmp_path / "ckpt" / "run.npz"
    app = make_lab_app(options=LabOptions(save_path=target, save_on_quit=False))
    async with app.run_test(size=SIZE) as pilot:
        app, _trainer = await started(pilot)
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: target.exists())
        await pilot.press("ctrl+e")
        await pilot.pause(0.05)
        assert list(tmp_path.glob("aetui-*.svg"))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("Input").value = str(tmp_path / "missing.npz")
        await pilot.press("enter")
        assert "no such file" in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("escape")


async def test_quit_saves_checkpoint_and_returns_its_path(tmp_path):
    _mark_tested("app.quit")
    target = tmp_path / "quit.npz"
    from aetui.tui.options import LabOptions

    app = make_lab_app(options=LabOptions(save_path=target))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause(0.2)
    assert app.return_value == target and target.exists()


async def test_a_keymap_moves_a_lab_key_by_its_binding_id():
    """Every lab binding has an id, so a user's keymap can move it."""
    ids = [b.id for b in LAB_BINDINGS]
    assert all(ids) and len(set(ids)) == len(ids)
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, trainer = await started(pilot)
        app.set_keymap({"lab.toggle_pause": "x", "lab.knob.q.raise": "ctrl+u"})
        await pilot.press("x")
        assert await wait_for(pilot, lambda: trainer.state == "paused")
        await pilot.press("space")  # its old key does nothing now
        await pilot.pause(0.1)
        assert trainer.state == "paused"
        q = trainer.settings.q
        await pilot.press("ctrl+u")
        assert trainer.settings.q == next_value("q", q, 1) != q


async def test_share_keys_wait_for_a_trainer_that_can_describe_its_run():
    # The real trainer is driven through u and x in test_lab_share.py; before there is
    # a trainer (the data still loading) the keys give a notice instead of a crash.
    _mark_tested("lab_string", "export_bundle")
    loading = threading.Event()
    app = make_lab_app(load_data=lambda settings: loading.wait(10) and fake_dataset())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u", "x")
        await pilot.pause(0.1)
        notes = [n.message for n in app._notifications]
        loading.set()
        assert sum("no run to describe yet" in n for n in notes) == 2


async def test_map_key_switches_filters_to_the_pngs_grey_map():
    _mark_tested("toggle_cmap")
    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        filters = app.query_one(FiltersPanel)
        assert await wait_for(pilot, lambda: "▀" in "".join(filters.text_lines()))
        await pilot.press("m")
        assert filters.cmap == "grey" and "grey map" in filters.border_subtitle
        from aetui.tui.widgets.marks import CURSOR_STYLE

        colours = {seg.style.color for strip in filters._strips for seg in strip
                   if seg.text.strip("▀") == "" and seg.style and seg.style.color
                   and seg.style.color != CURSOR_STYLE.color}
        # every drawn colour is a grey now (the filters; the unit cursor is yellow)
        assert colours and all(len({c.get_truecolor()[:3][i] for i in range(3)}) == 1
                               for c in colours)
        await pilot.press("m")
        assert filters.cmap == "colour"


async def test_graphics_key_cycles_pixels_blocks_ascii():
    _mark_tested("cycle_graphics")
    from aetui.tui.options import LabOptions

    # "halfcell": textual-image's own block renderer stands in for a pixel
    # protocol here (no terminal answers in a test).
    app = make_lab_app(options=LabOptions(save_on_quit=False, graphics="pixels",
                                          pixel_protocol="halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        filters = app.query_one(FiltersPanel)
        digits = app.query_one(DigitsPanel)
        assert await wait_for(pilot, lambda: filters.pixels is not None
                              and digits.pixels is not None)
        assert "pixels (halfcell)" in status(app)
        # Full resolution: 28-px images with 2-px gaps, as many as the panel holds.
        h, w, _ = filters.pixels.shape
        assert (h + 2) % 30 == 0 and (w + 2) % 30 == 0
        assert filters.capacity >= 8 and "28 px" in filters.border_title
        assert len(filters.query("HalfcellImage")) == 1
        await pilot.press("G")
        assert filters.graphics == "blocks" and "blocks" in status(app)
        await pilot.pause(0.1)
        assert not filters.query("HalfcellImage")
        assert "▀" in "".join(filters.text_lines())
        await pilot.press("G")
        assert filters.graphics == "ascii"
        text = "".join(filters.text_lines())
        assert "▀" not in text and text.strip()
        await pilot.press("G")
        assert filters.graphics == "pixels"


async def test_full_screen_key_maximizes_and_cycles_panels_while_training_goes_on():
    _mark_tested("toggle_maximize", "next_panel")
    app = make_lab_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app, trainer = await started(pilot)
        filters = app.query_one(FiltersPanel)
        # (the first snapshot may carry one unit: wait for a page of several)
        assert await wait_for(pilot, lambda: filters.capacity > 2)
        small = filters.capacity
        await pilot.press("f")
        assert app.screen.maximized is filters
        await pilot.pause(0.3)
        # full screen: 28-px filters, as many as fit side by side (76 columns: 2)
        assert filters.size.width >= 70
        assert filters.geometry_for(*filters.size).px_w == 28
        assert await wait_for(pilot, lambda: filters.capacity == 2)
        assert "28 px" in filters.border_title and small > 2
        assert app.query_one(StatusBar).region.height == 3  # status stays in view
        await pilot.press("w")
        assert app.screen.maximized is app.query_one(DigitsPanel)
        await pilot.press("w", "w")
        loss = app.query_one(LossPanel)
        assert app.screen.maximized is not loss  # sparsity now
        step = trainer.step
        assert await wait_for(pilot, lambda: trainer.step > step)  # training goes on
        await pilot.press("w")  # back round to the filters
        await pilot.press("f")
        assert app.screen.maximized is None
        await pilot.pause(0.3)
        assert filters.size.width < 70 and filters.capacity > 0


async def test_instrument_keys_cursor_inspect_draw_and_history():
    """The keys of tests/test_tui_instrument.py, each pressed once for its first effect."""
    _mark_tested("cursor(-1, 0)", "cursor(1, 0)", "cursor(0, -1)", "cursor(0, 1)", "inspect",
                 "draw", "history(-1)", "history(1)", "history_live")
    from aetui.tui.screens.draw import DrawScreen
    from aetui.tui.screens.inspector import InspectorScreen

    app = make_lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, _trainer = await started(pilot)
        panel = app.query_one(FiltersPanel)
        assert await wait_for(pilot, lambda: panel.capacity > 1)
        await pilot.press("down", "right", "right", "left")
        assert panel.cursor == panel._geo.cols + 1
        await pilot.press("up")
        assert panel.cursor == 1
        await pilot.press("i")
        assert isinstance(app.screen, InspectorScreen) and app.screen.unit == 1
        await pilot.press("escape", "enter")
        assert isinstance(app.screen, InspectorScreen)
        await pilot.press("escape", "d")
        assert isinstance(app.screen, DrawScreen)
        await pilot.press("escape")
        lab = app.screen
        assert await wait_for(pilot, lambda: len(lab.history.store) >= 3)
        await pilot.press("less_than_sign", "less_than_sign")
        back2 = lab.history.shown
        await pilot.press("greater_than_sign")
        assert lab.history.shown.step > back2.step
        await pilot.press("end")
        assert lab.history.shown is None


async def test_tour_keys_open_turn_and_leave_the_tour(monkeypatch):
    # The tour's own walk is tests/test_tour_tui.py; this marks its keys as tested here.
    from aetui.tui.tour_panel import TourPanel

    _mark_tested("tour", "chapter(1)", "chapter(-1)", "tour_caption")
    monkeypatch.setattr(TourPanel, "background_jobs", False)
    app = make_lab_app(Settings(dataset="digits", hidden=64))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("T", "pagedown", "pagedown", "pageup")
        tour = app.lab.query_one(TourPanel)
        assert tour.index == 1
        folded = tour.folded
        await pilot.press("v")
        assert tour.folded != folded
        await pilot.press("T")
        assert await wait_for(pilot, lambda: not app.lab.query(TourPanel))


def test_every_footer_binding_has_a_test():
    """Runs last in this file: each lab binding's action was exercised above."""
    actions = {b.action for b in LAB_BINDINGS}
    assert actions <= TESTED_ACTIONS, actions - TESTED_ACTIONS
    assert Path(__file__).exists()

