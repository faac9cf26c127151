"""One rule for the ceiling of every count option: the memory it would make aetui
allocate, against one budget (README "Limits and safety").

A count (patches, rows, units …) times the bytes each one needs must stay within
MEMORY_BUDGET; the ceiling is that budget divided by the bytes per item, so a limit
moves with the patch size or the colour planes, and the message says why.
"""

from __future__ import annotations

from aetui.errors import ConfigError

MEMORY_BUDGET = 4 << 30  # bytes one count option may make aetui allocate
# Preparing patches holds about four float64 copies of them at once (raw, per-patch
# steps, whitened, scaled) before the float32 result.
PATCH_BYTES_PER_VALUE = 4 * 8 + 4
PATCH_TEST_COUNT = 5_000  # held-out patches made beside the training ones


def ceiling(bytes_each: int, budget: int = MEMORY_BUDGET, extra_items: int = 0) -> int:
    """The largest count whose items (plus `extra_items` made beside them) fit `budget`."""
    return max(0, budget // max(1, int(bytes_each)) - extra_items)


def patch_bytes(size: int, gray: bool) -> int:
    """Bytes one size×size patch (three planes unless grey) needs while it is prepared."""
    return size * size * (1 if gray else 3) * PATCH_BYTES_PER_VALUE


def patch_count_ceiling(size: int, gray: bool) -> int:
    """The most training patches of this size and colour that fit the budget."""
    return ceiling(patch_bytes(size, gray), extra_items=PATCH_TEST_COUNT)


def check_count(option: str, value: int, bytes_each: int, *, lo: int = 1,
                extra_items: int = 0, what: str = "item") -> None:
    """ConfigError naming `option` unless lo ≤ value ≤ ceiling(bytes_each)."""
    hi = ceiling(bytes_each, extra_items=extra_items)
    if value < lo:
        raise ConfigError(option, f"must be at least {lo}, got {value}")
    if value > hi:
        raise ConfigError(option, f"at most {hi:,} (each {what} needs {bytes_each:,} bytes "
                                  f"and aetui keeps one option's data under "
                                  f"{MEMORY_BUDGET >> 30} GiB), got {value:,}")
