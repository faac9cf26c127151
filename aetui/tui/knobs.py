"""How the raise/lower keys move each knob: fixed ladders of sensible values.

Ladders (rather than ×2 or +0.1) keep every value a key can reach round and
readable in the status bar, and span the ranges the lecture talks about.
The exact value of anything can still be typed at the prompt (`q=0.37`).
"""

from __future__ import annotations

LADDERS: dict[str, tuple[float, ...]] = {
    "q": tuple(round(0.05 * i, 2) for i in range(0, 20)),  # 0 .. 0.95 (q < 1)
    "sigma": (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0),
    "rho": (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
    "beta": (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    "l2": (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1),
    "lr": (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
    "hidden": (16, 32, 64, 100, 128, 200, 256, 400, 500, 784, 1000, 1500, 2000),
}

NOISE_CYCLE = ("none", "mask", "gaussian", "saltpepper")

# What the status bar calls each knob (the lecture's symbols).
SYMBOLS = {"q": "q", "sigma": "σ", "rho": "ρ", "beta": "β", "l2": "λ", "lr": "lr",
           "hidden": "k", "noise": "noise", "tied": "tied", "loss": "loss",
           "optimizer": "opt"}


def next_value(name: str, value: float, direction: int) -> float:
    """The next ladder value above (direction > 0) or below the current one.

    Values between rungs go to the neighbouring rung; at either end the value
    stays put. Integers stay integers (k).
    """
    ladder = LADDERS[name]
    eps = 1e-12 + 1e-9 * abs(value)
    if direction > 0:
        bigger = [v for v in ladder if v > value + eps]
        return bigger[0] if bigger else value
    smaller = [v for v in ladder if v < value - eps]
    return smaller[-1] if smaller else value


def cycle(options: tuple[str, ...], current: str) -> str:
    """The option after `current` (wrapping)."""
    i = options.index(current) if current in options else -1
    return options[(i + 1) % len(options)]


def format_value(value) -> str:
    """A knob value as the status bar prints it: short, exact for ladder values."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.0e}"
    return str(value)
