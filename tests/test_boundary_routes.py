"""Every read of untrusted bytes goes through aetui.boundaries (issue 26: defences per
boundary, not per call site): new code that parses JSON, opens an image or an archive
elsewhere fails here and is pointed at the reader to use."""

from __future__ import annotations

import re
from pathlib import Path

import aetui

# A raw reader call, and the boundary module to use instead.
RAW_READERS = {
    r"\bjson\.loads?\(": "aetui.boundaries.bounded_json.loads",
    r"\bImage\.open\(": "aetui.boundaries.images.read_image",
    r"\b(?:np|numpy)\.load\(": "aetui.boundaries.archive.read_archive",
    r"\bzipfile\.ZipFile\(|\bZipFile\(": "aetui.boundaries.archive.read_archive",
}


def test_untrusted_bytes_are_read_only_through_the_boundaries():
    root = Path(aetui.__file__).parent
    offences = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(root / "boundaries"):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern, reader in RAW_READERS.items():
            for match in re.finditer(pattern, text):
                line = text.count("\n", 0, match.start()) + 1
                offences.append(f"{path.relative_to(root)}:{line}: use {reader}")
    assert offences == []
