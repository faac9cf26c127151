"""The core: trains and measures. numpy and numba only -- never Textual."""

from aetui.paths import ensure_numba_cache_dir

# Before anything in the core imports numba (kernels.py): numba reads its cache
# folder once, at import.
ensure_numba_cache_dir()
