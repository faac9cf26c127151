"""What the terminal can show, decided before the full-screen lab starts (no Textual
import here): a terminal without cursor control or a locale without UTF-8 gets a
one-line explanation instead of escape soup; NO_COLOR means no colour at all."""

from __future__ import annotations

import os
from collections.abc import Mapping


def no_color(env: Mapping[str, str] | None = None) -> bool:
    """NO_COLOR set to anything non-empty (https://no-color.org)."""
    return bool((os.environ if env is None else env).get("NO_COLOR"))


def locale_name(env: Mapping[str, str] | None = None) -> str:
    """The locale that decides the character set, as the user set it ('' when unset).

    Python itself may have "coerced" a C locale by setting LC_CTYPE=C.UTF-8 for this
    process (PEP 538); that says nothing about the terminal, so it is looked through.
    """
    env = os.environ if env is None else env
    lang = env.get("LANG", "")
    ctype = env.get("LC_CTYPE", "")
    if ctype == "C.UTF-8" and lang and not _says_utf8(lang):
        ctype = ""
    return env.get("LC_ALL") or ctype or lang


def unicode_ok(env: Mapping[str, str] | None = None) -> bool:
    """False only when the locale is set, and set to something without UTF-8."""
    name = locale_name(env)
    return not name or _says_utf8(name)


def _says_utf8(name: str) -> bool:
    return "utf-8" in name.lower() or "utf8" in name.lower()


def lab_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why this terminal cannot show the lab (one line), or None when it can."""
    env = os.environ if env is None else env
    term = env.get("TERM", "")
    if term in ("dumb", "unknown") or not term:
        return (f"the lab needs a terminal with cursor control and TERM={term or '(unset)'} "
                f"has none; use `aetui train` here, or set TERM (e.g. xterm-256color)")
    if not unicode_ok(env):
        return (f"the lab draws with Unicode characters but the locale "
                f"({locale_name(env)}) is not UTF-8; set LANG=C.UTF-8 (or another UTF-8 "
                f"locale), or use `aetui train` here")
    return None
