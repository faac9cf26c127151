"""The knob table: every setting the lab shows or turns, in one place.

One row per knob: its name (the `Settings` field), the lecture's symbol, the
keys that lower/raise it, the values those keys step through, whether the
trainer takes it while it runs, and what else a change does. The footer and
help screen (lab key bindings), the status bar, the loss plot's markers, the
prompt's aliases and the checks of what may change while training are all
built from this table; nothing else lists knob names.

Ladders (rather than ×2 or +0.1) keep every value a key can reach round and
readable, and span the ranges the lecture talks about; the exact value of
anything can still be typed at the prompt (`q=0.37`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aetui.config import (
    INITS,
    LOSSES,
    NOISE_TYPES,
    OPTIMIZERS,
    Settings,
    coerce,
    field_names,
)
from aetui.errors import ConfigError

# What a change does besides setting the value (the trainer carries it out
# between chunks, where it owns the weights).
NEW_WEIGHTS = "new weights"  # a new model: fresh weights from the seed
RETIE = "retie"  # untie: V starts as a copy of Wᵀ; tie: keep W, drop V
FRESH_OPTIMIZER = "fresh optimizer state"  # one optimizer's moments mean nothing to another


@dataclass(frozen=True)
class Knob:
    """One row of the table. `steps` is a ladder of numbers or a cycle of choices
    (empty: a knob no key steps). `key` is the lowercase key of a lower/raise pair
    (`q` lowers, `Q` raises), or the one key of a toggle/cycle."""

    name: str
    symbol: str
    what: str
    steps: tuple = ()
    key: str = ""
    live: bool = True
    effect: str = ""
    aliases: tuple[str, ...] = ()
    in_status: bool = True  # on the status bar's knob line

    @property
    def pair(self) -> bool:
        """Lowered and raised by two keys (a numeric ladder), not cycled by one."""
        return bool(self.steps) and not isinstance(self.steps[0], str | bool)


# Order: the footer's order for keyed knobs, the status bar's for the rest.
KNOBS: tuple[Knob, ...] = (
    Knob("tied", "tied", "tied weights V = Wᵀ", (True, False), key="t", effect=RETIE,
         in_status=False),
    Knob("noise", "noise", "the corruption", NOISE_TYPES, key="n"),
    Knob("q", "q", "the corruption level q",
         tuple(round(0.05 * i, 2) for i in range(0, 20)), key="q"),  # 0 .. 0.95 (q < 1)
    Knob("sigma", "σ", "the Gaussian noise σ",
         (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0), key="s", aliases=("σ",)),
    Knob("rho", "ρ", "the sparsity target ρ",
         (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5), key="o",
         aliases=("ρ",)),
    Knob("beta", "β", "the sparsity weight β", (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
         key="b", aliases=("β",)),
    Knob("l2", "λ", "the weight decay λ",
         (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1), key="l",
         aliases=("λ", "lambda")),
    Knob("lr", "lr", "the learning rate",
         (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0), key="e",
         aliases=("eta", "η")),
    Knob("hidden", "k", "the number of hidden units k",
         (16, 32, 64, 100, 128, 200, 256, 400, 500, 784, 1000, 1500, 2000), key="k",
         live=False, effect=NEW_WEIGHTS, aliases=("k",), in_status=False),
    Knob("init", "init", "the initial weights' range", INITS, live=False, effect=NEW_WEIGHTS,
         in_status=False),
    Knob("optimizer", "opt", "the optimizer", OPTIMIZERS, effect=FRESH_OPTIMIZER),
    Knob("loss", "loss", "the reconstruction loss", LOSSES),
    # Shown, never changed in a running lab: a new batch size is a new run.
    Knob("batch", "batch", "the minibatch size", live=False),
)

BY_NAME: dict[str, Knob] = {k.name: k for k in KNOBS}
# What the trainer takes while it runs, as it is (no new model).
LIVE_KNOBS: tuple[str, ...] = tuple(k.name for k in KNOBS if k.live)
# What the lab can change: the live knobs, and those whose change makes a new model.
LAB_KNOBS: tuple[str, ...] = tuple(k.name for k in KNOBS if k.live or k.effect == NEW_WEIGHTS)
# Other names the prompt accepts for a knob (the lecture's symbols).
ALIASES: dict[str, str] = {alias: k.name for k in KNOBS for alias in k.aliases}


def symbol(name: str) -> str:
    """The lecture's symbol for a knob (its name for any other setting)."""
    knob = BY_NAME.get(name)
    return knob.symbol if knob else name


def next_value(name: str, value: Any, direction: int) -> Any:
    """The value a key moves knob `name` to from `value`.

    Ladders: the next rung above (direction > 0) or below; values between rungs
    go to the neighbouring rung; at either end the value stays put. Choices and
    booleans: the next one, wrapping (direction is ignored).
    """
    steps = BY_NAME[name].steps
    if not BY_NAME[name].pair:
        i = steps.index(value) if value in steps else -1
        return steps[(i + 1) % len(steps)]
    eps = 1e-12 + 1e-9 * abs(value)
    if direction > 0:
        bigger = [v for v in steps if v > value + eps]
        return bigger[0] if bigger else value
    smaller = [v for v in steps if v < value - eps]
    return smaller[-1] if smaller else value


def format_value(value: Any) -> str:
    """A knob value as the lab prints it: short, exact for ladder values."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.0e}"
    return str(value)


def noise_label(noise: str, q: float, sigma: float) -> str:
    """The corruption in a few words, as panel titles and figures name it."""
    if noise in ("mask", "saltpepper"):
        return f"{noise} q={format_value(q)}"
    if noise == "gaussian":
        return f"gaussian σ={format_value(sigma)}"
    return "no noise"


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse `q=0.37` (as typed in the lab) into a validated (field, value) pair.

    Accepts the option spellings too (`--q 0.37`, `data-dir=...`) and the
    Greek names shown in the lab (ρ, β, λ, σ: the knob table's aliases).
    """
    cleaned = text.strip().lstrip("-")
    if "=" in cleaned:
        name, _, raw = cleaned.partition("=")
    else:
        name, _, raw = cleaned.partition(" ")
    name = name.strip().replace("-", "_")
    name = ALIASES.get(name, name)
    if not name or not raw.strip():
        raise ConfigError("value", f"expected name=value (e.g. q=0.37), got {text!r}")
    if name not in field_names():
        raise ConfigError(name, f"unknown setting (known: {', '.join(field_names())})")
    value = coerce(name, raw.strip())
    Settings().replace(**{name: value})  # validates the single value in context
    return name, value
