"""Round axis ticks for the terminal plots: steps of 1, 2 or 5 × 10ⁿ, labels with
k/M suffixes, so an axis reads "0 10k 20k", never "29368.5" (README, "Layouts")."""

from __future__ import annotations

import math


def nice_step(span: float, count: int) -> float:
    """The round step (1, 2 or 5 × 10ⁿ) giving about `count` intervals over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def nice_ticks(lo: float, hi: float, count: int = 4, *, integer: bool = False) -> list[float]:
    """Round values between `lo` and `hi` (inclusive), about `count` intervals apart;
    `integer`: whole numbers only (steps, counts)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return []
    step = nice_step(hi - lo, count)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(lo / step - 1e-9) * step
    ticks, k = [], 0
    while first + k * step <= hi + 1e-9 * max(1.0, abs(hi)):
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def tick_labels(ticks: list[float], step: float) -> list[str]:
    """The ticks' texts, one suffix for the whole axis (k from 10 000, M from
    1 000 000) and only as many decimals as the step needs (0.25 → 2, 5 → 0)."""
    top = max((abs(t) for t in ticks), default=0.0)
    div, suffix = (1e6, "M") if top >= 1e6 else (1e3, "k") if top >= 1e4 else (1.0, "")
    return [_plain(t / div, step / div) + (suffix if t else "") for t in ticks]


def _plain(value: float, step: float) -> str:
    decimals = 0 if step >= 1 else min(6, max(0, -math.floor(math.log10(step) + 1e-9)))
    while decimals < 6 and abs(round(step, decimals) - step) > 1e-9 * max(step, 1e-12):
        decimals += 1
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def axis(lo: float, hi: float, cells: int, *, per_tick: int = 8,
         integer: bool = False) -> tuple[list[float], list[str]]:
    """(ticks, labels) for an axis `cells` long: one tick per `per_tick` cells at most."""
    count = max(1, min(6, cells // per_tick))
    ticks = nice_ticks(lo, hi, count, integer=integer)
    while len(ticks) < 2 and count < 6 and hi > lo:  # a short axis still gets two ticks
        count += 1
        ticks = nice_ticks(lo, hi, count, integer=integer)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else nice_step(hi - lo, count)
    return ticks, tick_labels(ticks, step)
