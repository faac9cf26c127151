"""Dead and saturated units: by each unit's activation range on held-out images."""

import numpy as np
from textual.app import App, ComposeResult

from aetui.engine.model import Params
from aetui.experiments import unit_health
from aetui.tui.widgets.sparsity import SparsityPanel


def _units():
    """Four units on 1,000 images of 10 pixels: always off, a rare edge detector
    (ρ̂ ≈ 0.004, on only where pixel 0 is lit), always on, and a middling one."""
    x = np.zeros((1000, 10), np.float32)
    x[:4, 0] = 1.0  # 4 of 1,000 images hold the "edge"
    x[:, 1] = np.linspace(0, 1, 1000)
    W = np.zeros((10, 4), np.float32)
    b = np.array([-6.0, -8.0, 6.0, -1.0], np.float32)
    W[0, 1] = 16.0  # the edge unit: sigmoid(8) ≈ 1 on its 4 images, ≈ 0 elsewhere
    W[1, 3] = 2.0  # the middling unit: from sigmoid(−1) to sigmoid(1)
    return Params(W=W, b=b, c=np.zeros(10, np.float32), V=None), x


def test_activation_range_is_each_units_min_and_max():
    params, x = _units()
    h = 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ params.W + params.b)))
    got = unit_health.activation_range(params, x, block=300)  # blocks must not matter
    assert got.shape == (2, 4)
    np.testing.assert_allclose(got[0], h.min(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got[1], h.max(axis=0), rtol=1e-5, atol=1e-7)


def test_a_rare_edge_unit_is_not_dead_but_a_silent_one_is():
    params, x = _units()
    h = 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ params.W + params.b)))
    rho_hat = h.mean(axis=0)
    assert rho_hat[1] < 0.01  # the old rule (ρ̂ < 0.01) called it dead
    h_range = unit_health.activation_range(params, x)
    assert unit_health.dead_units(h_range).tolist() == [True, False, False, False]
    assert unit_health.saturated_units(h_range).tolist() == [False, False, True, False]
    assert unit_health.counts(h_range) == (1, 1)
    assert unit_health.counts(None) is None


def test_the_thresholds_are_strict_at_the_boundary():
    just = np.array([[0.0, 0.0, unit_health.SATURATED_ABOVE + 1e-3],
                     [unit_health.DEAD_BELOW - 1e-3, unit_health.DEAD_BELOW, 1.0]])
    assert unit_health.dead_units(just).tolist() == [True, False, False]
    assert unit_health.saturated_units(just).tolist() == [False, False, True]


class _One(App):
    def compose(self) -> ComposeResult:
        yield SparsityPanel(id="sparsity")


async def test_the_panel_counts_by_the_rule_and_says_it():
    params, x = _units()
    h_range = unit_health.activation_range(params, x)
    rho_hat = np.array([0.002, 0.004, 0.998, 0.4])
    app = _One()
    async with app.run_test(size=(120, 20)) as pilot:
        panel = app.query_one(SparsityPanel)
        panel.set_rho_hat(rho_hat, 0.05, 1000, h_range)
        await pilot.pause(0.8)
        panel.redraw()
        caption = panel.caption()
        assert "dead 1 · saturated 1 of 4" in caption
        assert unit_health.RULE in caption
        panel.set_rho_hat(rho_hat, 0.05, 1000, None)  # not measured: not guessed
        panel.redraw()
        assert "dead – · saturated – of 4" in panel.caption()
