"""Reading a checkpoint's `.npz` archive without trusting it: the boundary reader in
aetui.boundaries.archive (kept importable here)."""

from aetui.boundaries.archive import (  # noqa: F401
    MAX_ARRAY_BYTES,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    MAX_TOTAL_BYTES,
    read_archive,
)

MAX_CHECKPOINT_BYTES = MAX_FILE_BYTES
