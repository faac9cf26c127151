"""The engine: the numba kernels and the only door to them (engine.py), the
objective, the model's parameters, BLAS thread control and the L-BFGS minimiser.
numpy and numba only -- never Textual."""

from aetui.paths import ensure_numba_cache_dir

# Before anything in the engine imports numba (kernels.py): numba reads its cache
# folder once, at import.
ensure_numba_cache_dir()
