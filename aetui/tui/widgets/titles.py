"""Panel titles that fit their border without cutting a figure.

Textual cuts a border title that is too long with "…", wherever that falls --
through a loss value or a pixel size. Here a title is a list of parts, each with
its forms from longest to shortest (the last may be "", the part dropped); when
the title is too long, the least important part that can still shrink takes its
next form, until the title fits. Figures are only ever in whole forms, so they
are shown whole or not at all (README, "Layouts").
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

SEP = " · "
BORDER_RESERVED = 6  # a border title leaves two corners, two rules and two blanks


@dataclass(frozen=True)
class Part:
    """One piece of a title: `forms` longest first (console markup allowed);
    `keep`: higher parts shrink later (and drop later still)."""

    forms: tuple[str, ...]
    keep: int = 0


def part(*forms: str, keep: int = 0) -> Part:
    return Part(tuple(forms), keep)


def cells(markup: str) -> int:
    """Width in terminal cells of a markup string as drawn."""
    return Text.from_markup(markup).cell_len


def join(chosen: list[str], sep: str = SEP) -> str:
    return sep.join(s for s in chosen if s)


DROP_COST = 3  # dropping a part costs as much as shrinking one 3 `keep` levels higher


def _cost(p: Part, form: int) -> int:
    """How much taking form `form` of `p` loses: its `keep`, more if it drops it."""
    return p.keep + (DROP_COST if p.forms[form] == "" else 0)


def fit(parts: list[Part], width: int, sep: str = SEP) -> str:
    """The longest title from `parts` that is at most `width` cells: parts shrink
    (and drop, if their last form is "") least important first, the rightmost first
    among equals; a drop counts as DROP_COST more important than a shrink. If even
    the shortest forms are too long, whole parts are left off from the right: never
    a cut inside one."""
    index = [0] * len(parts)

    def text() -> str:
        return join([p.forms[i] for p, i in zip(parts, index, strict=True)], sep)

    while cells(text()) > width:
        shrinkable = [j for j, p in enumerate(parts) if index[j] < len(p.forms) - 1]
        if not shrinkable:
            break
        j = min(shrinkable, key=lambda j: (_cost(parts[j], index[j] + 1), -j))
        index[j] += 1
    chosen = [p.forms[i] for p, i in zip(parts, index, strict=True)]
    while cells(join(chosen, sep)) > width and len([c for c in chosen if c]) > 1:
        last = max(j for j, c in enumerate(chosen) if c)
        chosen[last] = ""
    return join(chosen, sep)


def title_width(widget) -> int:
    """Cells a border title may use on `widget` (its outer width less the corners)."""
    # outer_size (not region): it is already the new size when Resize arrives.
    return max(0, widget.outer_size.width - BORDER_RESERVED)
