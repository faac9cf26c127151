"""Draw a digit (`d`): a 28×28 canvas and what the current model makes of it.

Draw with the mouse (press and drag; right button erases) or the keyboard
(arrows move the cursor, space inks, backspace erases, +/− pen size). Beside
the canvas: x̃ (the canvas under the current noise), x̂ (the model's
reconstruction of the canvas), the hidden code h(x) and the filters of the most
active units. The model is the latest snapshot's weights (`f` freezes them);
one image through the model costs well under a millisecond, so it runs here on
the UI thread, at most ten times a second, and training never waits on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Footer

from aetui.engine.objective import normalized_filters
from aetui.experiments.canvas import PEN_RADII, Canvas
from aetui.experiments.inspect import DigitResponse, respond
from aetui.knob_table import noise_label
from aetui.render import render_grid
from aetui.tui.widgets.line_cache import LineCacheWidget
from aetui.tui.widgets.marks import put
from aetui.tui.widgets.sections import FlowView, HeadLine, Section, section

if TYPE_CHECKING:
    from aetui.training.run import LabRun
    from aetui.training.snapshots import Snapshot

UPDATE_SECONDS = 0.1  # the response follows drawing at most this often
BIG_CANVAS = (120, 36)  # terminal size from which each pixel gets 2×1 cells


class CanvasView(LineCacheWidget):
    """The canvas, one pixel per cell column (two per row: half-blocks), or 2×1 cells per
    pixel on large terminals; the keyboard cursor as a mark."""

    DEFAULT_CSS = """
    CanvasView {
        width: 30;
        height: 16;
        border: round $accent;
        border-title-color: $text;
    }
    """

    def __init__(self, canvas: Canvas, *, mode: str, levels: int | None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.canvas, self.mode, self.levels = canvas, mode, levels
        self.scale = 1
        self._last: tuple[float, float] | None = None
        self._ink = True
        self.border_title = "canvas"

    def set_scale(self, scale: int) -> None:
        if scale != self.scale:
            self.scale = scale
            h, w = self.canvas.shape
            self.styles.width = w * scale + 2
            self.styles.height = h * scale // 2 + 2 if scale == 1 else h + 2

    def redraw(self) -> None:
        if not self.is_mounted or self.size.width <= 0:
            return
        h, w = self.canvas.shape
        lines = render_grid(self.canvas.pixels.reshape(1, -1), shape=(h, w), mode=self.mode,
                            normalise="none", diverging=False, size=w * self.scale,
                            levels=self.levels)
        r, c = self.canvas.cursor
        if self.scale == 1:
            put(lines, c, r // 2, "+")
        else:
            put(lines, 2 * c, r, "[]")
        self.publish(lines)

    def on_resize(self) -> None:
        self.redraw()

    def pixel_at(self, x: int, y: int) -> tuple[float, float]:
        """Canvas pixel (row, col) under content cell (x, y)."""
        if self.scale == 1:
            return 2 * y + 0.5, float(x)
        return float(y), x / 2 - 0.25

    # -- mouse: press and drag ----------------------------------------------------
    def on_mouse_down(self, event) -> None:
        self._ink = event.button != 3
        self.capture_mouse()
        self._last = self.pixel_at(*event.get_content_offset_capture(self))
        self.canvas.stroke(self._last, ink=self._ink)
        self.screen.canvas_changed()

    def on_mouse_move(self, event) -> None:
        if self._last is None:
            return
        point = self.pixel_at(*event.get_content_offset_capture(self))
        self.canvas.stroke(self._last, point, ink=self._ink)
        self._last = point
        self.screen.canvas_changed()

    def on_mouse_up(self, event) -> None:
        self._last = None
        self.release_mouse()


class ResponseView(FlowView):
    """x̃, x̂, the hidden code and the most active units' filters."""

    def __init__(self, *, mode: str, levels: int | None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode, self.levels = mode, levels
        self.response: DigitResponse | None = None
        self.filters: np.ndarray | None = None
        self.noise_label = ""

    def show(self, response: DigitResponse, filters: np.ndarray, noise_label: str) -> None:
        self.response, self.filters, self.noise_label = response, filters, noise_label
        self.changed()

    def sections(self, width: int) -> list[Section]:
        r = self.response
        if r is None:
            return [section("waiting for the model…", [])]
        size = 28 if width >= 2 * 28 + 3 else 21 if width >= 2 * 21 + 3 else 14

        def digit(image):
            return render_grid(np.clip(image, 0, 1)[None], mode=self.mode, normalise="none",
                               diverging=False, size=size, levels=self.levels)

        # Short titles: at 80 columns x̃ and x̂ sit side by side only if no wider than 21.
        out = [section(f"x̃ {self.noise_label}", digit(r.corrupted), width=size),
               section("x̂ model(canvas)", digit(r.recon), width=size)]
        k = len(r.code)
        cols = max(1, min(k, 40, width))
        rows = -(-k // cols)
        strip = np.zeros(rows * cols, np.float32)
        strip[:k] = r.code
        code = render_grid(strip[None], shape=(rows, cols), mode=self.mode, normalise="none",
                           diverging=False, size=cols, levels=self.levels)
        active = int((r.code > 0.5).sum())
        # Fixed widths: a title that grows by a digit must not re-flow the sections.
        out.append(section(f"code h(x): {active}/{k} above 0.5", code, width=max(cols, 28)))
        if self.filters is not None and len(self.filters):
            n = len(self.filters)
            label = " ".join(f"{u}:{r.code[u]:.2f}" for u in r.top_units)
            grid = render_grid(self.filters, mode=self.mode, cols=min(n, max(1, width // 15)),
                               size=14, levels=self.levels)
            out.append(section(f"most active {label}", grid,
                               width=Strip(grid[0]).cell_length))
        return out


class DrawScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,d", "close", "back", id="draw.close", tooltip="back to the lab"),
        Binding("space", "ink(True)", "ink", id="draw.ink", tooltip="ink at the cursor"),
        Binding("backspace", "ink(False)", "erase", id="draw.erase",
                tooltip="erase at the cursor"),
        Binding("plus,equals_sign", "pen(1)", "pen+", key_display="+", id="draw.pen_bigger",
                tooltip="a wider pen"),
        Binding("minus", "pen(-1)", "pen−", key_display="−", id="draw.pen_smaller",
                tooltip="a finer pen"),
        Binding("c", "clear", "clear", id="draw.clear", tooltip="clear the canvas"),
        Binding("n", "next_digit", "next", id="draw.next",
                tooltip="load the next held-out digit into the canvas"),
        Binding("a", "apply_noise", "x̃→canvas", id="draw.apply_noise",
                tooltip="apply the current corruption to the canvas (see it denoised)"),
        Binding("f", "freeze", "freeze", id="draw.freeze",
                tooltip="freeze the model used / follow training again"),
        Binding("left", "cursor(0, -1)", "cursor", show=False, id="draw.left"),
        Binding("right", "cursor(0, 1)", "cursor", show=False, id="draw.right"),
        Binding("up", "cursor(-1, 0)", "cursor", show=False, id="draw.up"),
        Binding("down", "cursor(1, 0)", "cursor", show=False, id="draw.down"),
        Binding("pagedown", "scroll(1)", "more", key_display="pgdn", id="draw.page_down",
                show=False, tooltip="scroll the model's side down"),
        Binding("pageup", "scroll(-1)", "back up", key_display="pgup", id="draw.page_up",
                show=False, tooltip="scroll the model's side up"),
        Binding("ctrl+q", "app.quit", "quit", show=False),
    ]
    DEFAULT_CSS = """
    DrawScreen #draw-main { height: 1fr; }
    DrawScreen VerticalScroll { width: 1fr; }
    """

    def __init__(self, run: LabRun, latest: Callable[[], Snapshot | None], *, mode: str,
                 levels: int | None = None, interval: float = 1.0) -> None:
        """`latest()`: the live snapshot with weights, or None (the lab's)."""
        super().__init__()
        self.run = run
        self._latest = latest
        self.canvas = Canvas()
        self.mode, self.levels, self.interval = mode, levels, interval
        self.frozen = None  # the Params in use while frozen
        self.response: DigitResponse | None = None
        self.model_step: int | None = None
        self.digit_index = -1
        self._dirty = True
        self._model_shown_at = 0.0
        self._shown_key: tuple = ()
        self.errors: tuple[float, float] | None = None  # (drawing, digits), MSE per pixel
        self._digit_error: tuple | None = None  # (model step, held-out digits' error)

    def compose(self) -> ComposeResult:
        yield HeadLine(id="draw-head")
        with Horizontal(id="draw-main"):
            yield CanvasView(self.canvas, mode=self.mode, levels=self.levels, id="canvas")
            # Not focusable: the arrows move the pen; pgup/pgdn and the wheel scroll.
            with VerticalScroll(can_focus=False):
                yield ResponseView(mode=self.mode, levels=self.levels, id="response")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.set_interval(UPDATE_SECONDS, self.update_response)
        self.update_response()

    def on_resize(self) -> None:
        self.app.check_size()
        w, h = self.app.size
        self.query_one(CanvasView).set_scale(2 if w >= BIG_CANVAS[0] and h >= BIG_CANVAS[1]
                                             else 1)

    # -- the model's view of the canvas ---------------------------------------------
    def _model(self):
        if self.frozen is not None:
            return self.frozen, self.model_step
        snap = self._latest()
        if snap is None:
            return None, None
        return snap.params, snap.step

    def canvas_changed(self) -> None:
        self._dirty = True
        self.query_one(CanvasView).redraw()

    def update_response(self) -> None:
        """Run the canvas through the model if it changed, or (at most once per image
        interval) when newer weights arrived or the noise settings changed."""
        params, step = self._model()
        if params is None:
            self._update_head()
            return
        s = self.run.session.settings
        noise = (s.noise, s.q, s.sigma, s.decoder)
        newer = (step, noise) != self._shown_key[1:] if self._shown_key else True
        due = time.monotonic() - self._model_shown_at >= self.interval
        if not (self._dirty or (newer and due)):
            return
        self._dirty = False
        self._model_shown_at = time.monotonic()
        self._shown_key = (self.canvas.edits, step, noise)
        self.model_step = step
        self.response = respond(params, self.canvas.flat, decoder=s.decoder, noise=s.noise,
                                q=s.q, sigma=s.sigma,
                                rng=np.random.default_rng(self.canvas.edits))
        top = self.response.top_units
        filters = normalized_filters(params.W, top)
        self.query_one(ResponseView).show(self.response, filters,
                                          noise_label(s.noise, s.q, s.sigma))
        self.errors = self._errors(params, step, s.decoder)
        self._update_head()

    def _errors(self, params, step, decoder: str) -> tuple[float, float] | None:
        """(the drawing's, the held-out digits') reconstruction error, MSE per pixel: the
        measure the tour's chapter 7.3.1 uses (aetui/experiments/novelty.py). None for patches."""
        from aetui.experiments.novelty import reconstruction_errors
        from aetui.tui.screens.inspector import held_out_images

        images = held_out_images(self.run)
        if images is None or images.shape[1] != self.canvas.flat.size:
            return None
        if self._digit_error is None or self._digit_error[0] != step:
            self._digit_error = (step, float(reconstruction_errors(params, images[:100],
                                                                   decoder).mean()))
        drawing = float(reconstruction_errors(params, self.canvas.flat[None], decoder)[0])
        return drawing, self._digit_error[1]

    def _update_head(self) -> None:
        model = (f"FROZEN at step {self.model_step:,} (f: follow)" if self.frozen is not None
                 else f"live model, step {self.model_step:,} (f: freeze)"
                 if self.model_step is not None else "waiting for the model…")
        r, c = self.canvas.cursor
        error = ("" if self.errors is None else
                 f"error {self.errors[0]:.4f} (digits {self.errors[1]:.4f}) · ")
        self.query_one(HeadLine).text = (
            f"draw a digit · {model} · {error}pen {PEN_RADII[self.canvas.pen]:g} px · cursor "
            f"{r},{c} · mouse: drag to ink, right button erases")

    # -- keys ---------------------------------------------------------------------
    def action_cursor(self, d_row: int, d_col: int) -> None:
        self.canvas.move_cursor(d_row, d_col)
        self.query_one(CanvasView).redraw()
        self._update_head()

    def action_ink(self, ink: bool) -> None:
        self.canvas.ink_at_cursor(ink)
        self.canvas_changed()

    def action_pen(self, delta: int) -> None:
        self.canvas.set_pen(delta)
        self._update_head()

    def action_clear(self) -> None:
        self.canvas.clear()
        self.canvas_changed()

    def action_next_digit(self) -> None:
        from aetui.tui.screens.inspector import held_out_images

        images = held_out_images(self.run)
        if images is None or not len(images):
            self.app.notify("no held-out digits yet", timeout=2)
            return
        self.digit_index = (self.digit_index + 1) % len(images)
        self.canvas.load(images[self.digit_index])
        self.canvas_changed()

    def action_apply_noise(self) -> None:
        if self.response is None:
            return
        self.update_response()  # x̃ of the canvas as it is now
        self.canvas.load(self.response.corrupted)
        self.canvas_changed()

    def action_freeze(self) -> None:
        if self.frozen is not None:
            self.frozen = None
        else:
            params, step = self._model()
            if params is None:
                return
            self.frozen, self.model_step = params, step
        self._dirty = True
        self.update_response()
        self._update_head()

    def action_scroll(self, pages: int) -> None:
        scroll = self.query_one(VerticalScroll)
        scroll.scroll_relative(y=pages * max(1, scroll.size.height - 2), animate=False)

    def action_close(self) -> None:
        self.dismiss()
