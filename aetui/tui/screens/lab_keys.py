"""The lab's keys: every binding of the lab screen, in footer order.

Each binding calls an action of the lab screen (aetui/tui/screens/lab.py) and
has an `id`, so a keymap can move it (`App.set_keymap({"lab.pause": "x"})`).
The knob keys come from the knob table (aetui/knob_table.py): lowercase
lowers a knob, uppercase raises it, one key cycles a choice.
"""

from __future__ import annotations

from textual.binding import Binding

from aetui.knob_table import KNOBS, NEW_WEIGHTS, Knob

QUIT = Binding("ctrl+q", "app.quit", "quit", id="quit", tooltip=(
    "stop training, save the checkpoint (unless --no-save-on-quit), print its path"))


def _knob_bindings(knob: Knob) -> list[Binding]:
    if not knob.pair:
        verb = "toggle" if len(knob.steps) == 2 else "cycle"
        return [Binding(knob.key, f"knob('{knob.name}', 1)", knob.symbol,
                        id=f"lab.knob.{knob.name}", tooltip=f"{verb} {knob.what}: "
                        + ", ".join(map(_choice, knob.steps)))]
    group = Binding.Group(f"{knob.symbol}∓", compact=True)
    reset = " (resets the weights)" if knob.effect == NEW_WEIGHTS else ""
    return [
        Binding(knob.key, f"knob('{knob.name}', -1)", f"{knob.symbol}−", group=group,
                id=f"lab.knob.{knob.name}.lower", tooltip=f"lower {knob.what}{reset}"),
        Binding(knob.key.upper(), f"knob('{knob.name}', 1)", f"{knob.symbol}+", group=group,
                id=f"lab.knob.{knob.name}.raise", tooltip=f"raise {knob.what}{reset}"),
    ]


def _choice(value) -> str:
    return {True: "tied", False: "untied"}.get(value, value) if isinstance(value, bool) \
        else str(value)


def _key(key: str, action: str, description: str, tooltip: str, **kw) -> Binding:
    return Binding(key, action, description, id=f"lab.{action.split('(')[0]}",
                   tooltip=tooltip, **kw)


_PAGE = Binding.Group("page", compact=True)
_HISTORY = Binding.Group("history", compact=True)

# Order = footer order: what a newcomer needs first (the footer is cut on the right).
LAB_BINDINGS: list[Binding] = [
    # ctrl+q is also the App's priority binding (it works on every screen, same id);
    # this entry puts it first in the footer. No knob sits on it ('q' is the noise level).
    QUIT,
    _key("question_mark,f1", "help", "help", "this help", key_display="?"),
    _key("colon,equals_sign", "prompt", "set", "type an exact value, e.g. q=0.37 (also '=')",
         key_display=":"),
    _key("space", "toggle_pause", "pause", "pause / resume training"),
    _key("full_stop", "step_once", "step", "one update while paused", key_display="."),
    _key("r", "reset", "reset", "fresh weights from the seed (recovers from divergence)"),
    *(b for knob in KNOBS if knob.key for b in _knob_bindings(knob)),
    _key("c", "cycle_colours", "colours", "filter/digit colours: truecolor, 256, grey, ascii"),
    _key("g", "toggle_normalise", "norm", "filter normalisation: each filter / shared scale"),
    Binding("left_square_bracket", "page(-1)", "page−", key_display="[", group=_PAGE,
            id="lab.page.previous", tooltip="previous page of filters"),
    Binding("right_square_bracket", "page(1)", "page+", key_display="]", group=_PAGE,
            id="lab.page.next", tooltip="next page of filters"),
    _key("z", "zoom", "zoom", "filter size: auto, 28 px, 14 px"),
    _key("P", "toggle_pca", "PCA", "show the data's PCA components in the filter grid "
                                   "(again: back to filters)"),
    _key("y", "toggle_log", "log", "loss plot: log / linear y axis"),
    _key("p", "probe", "probe", "linear probe in the background: raw pixels vs features vs "
                                "PCA"),
    _key("C", "compare", "compare", "compare mode (noise levels side by side)"),
    _key("m", "toggle_cmap", "map", "filter colour map: colour (blue − / orange +) or grey "
                                    "(dark − / light +, as the PNG export); zero is mid-grey"),
    _key("G", "cycle_graphics", "gfx", "pictures as pixels (kitty/sixel, where the terminal "
                                       "has them), half-blocks or ASCII"),
    _key("f", "toggle_maximize", "full", "the selected panel full screen (again, or escape: "
                                         "back); training and the other panels go on"),
    _key("w", "next_panel", "panel", "select the next panel (full screen: show the next "
                                     "panel)"),
    # The instrument keys (README "Inspect, draw, scrub").
    _key("i,enter", "inspect", "inspect", "open the unit under the filter cursor large "
                                          "(arrows move the cursor)"),
    _key("d", "draw", "draw", "draw a digit and see what the current model makes of it"),
    Binding("less_than_sign", "history(-1)", "back", key_display="<", id="lab.history_back",
            tooltip="back through the run's history (training goes on)", group=_HISTORY),
    Binding("greater_than_sign", "history(1)", "fwd", key_display=">",
            id="lab.history_forward", tooltip="forward through the run's history",
            group=_HISTORY),
    _key("end", "history_live", "live", "back to the live run"),
    Binding("left", "cursor(-1, 0)", "cursor", show=False, id="lab.cursor_left",
            tooltip="filter cursor: previous unit"),
    Binding("right", "cursor(1, 0)", "cursor", show=False, id="lab.cursor_right",
            tooltip="filter cursor: next unit"),
    Binding("up", "cursor(0, -1)", "cursor", show=False, id="lab.cursor_up",
            tooltip="filter cursor: the unit above"),
    Binding("down", "cursor(0, 1)", "cursor", show=False, id="lab.cursor_down",
            tooltip="filter cursor: the unit below"),
    # The guided tour (README "Tour").
    _key("T", "tour", "tour", "the guided tour of the lecture: open / leave"),
    Binding("pagedown", "chapter(1)", "next", key_display="pgdn", show=False,
            id="lab.tour.next", tooltip="tour: next chapter"),
    Binding("pageup", "chapter(-1)", "prev", key_display="pgup", show=False,
            id="lab.tour.previous", tooltip="tour: previous chapter"),
    _key("v", "tour_caption", "caption", "tour: unfold / fold the chapter's caption",
         show=False),
    _key("ctrl+s", "save", "save", "save a checkpoint now"),
    _key("ctrl+o", "load", "load", "load a checkpoint (type its path)"),
    _key("ctrl+e", "export_svg", "svg", "export the screen as SVG"),
    Binding("u", "lab_string", "string", id="lab.string",
            tooltip="show the lab string (the whole run in one line) and copy it (OSC 52)"),
    Binding("x", "export_bundle", "export", id="lab.export",
            tooltip="export a bundle: checkpoint, CSVs, plots, screen SVG, lab string"),
]
