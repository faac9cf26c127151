"""The loss panel draws the held-out loss on x̃ (like for like) beside the clean one."""

from textual.app import App, ComposeResult

from aetui.training.snapshots import LossPoint, LossTerms
from aetui.tui.widgets.loss import LossPanel


class _One(App):
    def compose(self) -> ComposeResult:
        yield LossPanel(id="loss")


def _curve(corrupted_offset: float):
    return [LossPoint(step, step / 100, LossTerms(60.0 - step / 10, 0.0, 0.0),
                      LossTerms(55.0 + step / 20, 0.0, 0.0), 0.3, 1000.0,
                      55.0 + step / 20 + corrupted_offset)
            for step in range(0, 200, 10)]


async def test_both_held_out_series_are_drawn_and_labelled():
    app = _One()
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.query_one(LossPanel)
        panel.set_curve(_curve(8.0), ())
        await pilot.pause(0.8)
        panel.redraw()
        clean = panel.series["held-out recon"]
        noisy = panel.series["held-out x̃"]
        assert noisy[-1] - clean[-1] == 8.0
        assert "held-out x̃" in str(panel.border_title) and "clean" in str(panel.border_title)


async def test_without_noise_only_the_clean_series_is_drawn():
    app = _One()
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.query_one(LossPanel)
        panel.set_curve(_curve(0.0), ())
        await pilot.pause(0.8)
        panel.redraw()
        assert "held-out x̃" not in panel.series and panel.series["held-out recon"]
