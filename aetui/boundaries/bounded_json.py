"""The one JSON reader for untrusted text: checkpoints' fields, lab strings, the history.

Before `json.loads` sees the text, its length and nesting depth are checked, in time
linear in the text (a possessive regular expression removes the strings, numpy counts
the brackets): the parser recurses once per level and Python's recursion limit turns a
deep input into a RecursionError, not a message. NaN and Infinity are refused (they are
not JSON). Every problem is a JsonLimitError, one line, which callers word for their file.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from aetui.errors import AetuiError

MAX_CHARS = 16 << 20  # characters of one JSON text
MAX_DEPTH = 16  # nested arrays and objects

# A JSON string; an unterminated one runs to the end of the text. Possessive (`*+`,
# `++`): a failed match never backtracks, and since every quote that opens a string
# either closes it or reaches the end, no position is scanned twice.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.S)
_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))


class JsonLimitError(AetuiError, ValueError):
    """JSON text that is not valid, too long or nested too deep (one line)."""


def depth(text: str) -> int:
    """How deep brackets nest in `text`, strings aside; linear in len(text)."""
    bare = _STRING.sub("", text).encode("utf-8", "replace")
    codes = np.frombuffer(bare, dtype=np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int8) - np.isin(codes, _CLOSE).astype(np.int8)
    if not len(steps):
        return 0
    return max(0, int(np.cumsum(steps, dtype=np.int32).max()))


def loads(text: str | bytes, *, max_chars: int = MAX_CHARS, max_depth: int = MAX_DEPTH
          ) -> Any:
    """The value of the JSON `text`, after checking its size (characters) and depth.

    Raises JsonLimitError naming the problem; never RecursionError, never a traceback.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonLimitError(f"not UTF-8 text (byte {exc.start})") from None
    if not isinstance(text, str):
        raise JsonLimitError(f"expected JSON text, got {type(text).__name__}")
    if len(text) > max_chars:
        raise JsonLimitError(f"{len(text):,} characters, more than the {max_chars:,} limit")
    if depth(text) > max_depth:
        raise JsonLimitError(f"nests deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:  # belt and braces: the depth check runs first
        raise JsonLimitError(f"nests deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, NaN, over-long integers
        raise JsonLimitError(f"not valid JSON ({_first_line(exc)})") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "…"
