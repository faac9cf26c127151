"""Thread counts of the OpenBLAS libraries loaded in this process.

numpy and scipy each bundle an OpenBLAS with its own thread pool; numba's
np.dot (and the engine's gemm) call scipy's. At the engine's sizes (a batch of
20-128 rows times 784×k) a second thread gains little, while a pool whose
threads wait for each other at every product costs a great deal when the
cores are busy: on a loaded 2-core machine a 20×784 by 784×500 product took
36 ms with scipy's default 2 threads and 0.6 ms with one. It also takes the
core the lab's UI needs. So the trainer holds the engine's BLAS to one thread and
splits its steps over numba's threads instead (engine.use_threads), each part
calling BLAS on its own thread; only full-batch L-BFGS, whose products are
large, gives BLAS several threads (engine.use_blas_threads).

The linear probe's L-BFGS-B does the same: its bookkeeping runs in scipy's
pool, whose idle threads spin and take the cores from numpy's threads doing
the probe's big products, which then run twice as slow (45 ms instead of
24 ms for 60,000 × 717 @ 717 × 10 on 2 cores). The hold is never undone:
restoring it could undo it for a trainer that started meanwhile.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from threadpoolctl import ThreadpoolController

Control = tuple[str, Callable[[], int], Callable[[int], None]]


def openblas_controls() -> list[Control]:
    """(path, get, set) thread-count functions of each OpenBLAS loaded in this process,
    as threadpoolctl finds them."""
    return [(lib.filepath, lib.get_num_threads, lib.set_num_threads)
            for lib in ThreadpoolController().lib_controllers
            if lib.internal_api == "openblas"]


def engine_blas_controls() -> list[Control]:
    """The controls of the OpenBLAS the engine's products run on: scipy's (numba calls
    scipy.linalg.cython_blas), i.e. every OpenBLAS that is not numpy's 64-bit one."""
    import scipy.linalg.cython_blas  # noqa: F401 -- maps scipy's OpenBLAS

    return [c for c in openblas_controls() if "openblas64" not in c[0]]


def hold_engine_threads(count: int | None) -> list[int]:
    """Set the engine's BLAS to `count` threads (None: leave it); returns the previous
    counts (empty when nothing was changed). Process-wide: OpenBLAS has one pool."""
    if count is None:
        return []
    controls = engine_blas_controls()
    before = [get() for _, get, _ in controls]
    for _, _, put in controls:
        put(count)
    return before


@contextlib.contextmanager
def all_blas_threads(count: int) -> Iterator[int | None]:
    """Hold every OpenBLAS loaded in this process (numpy's, scipy's) to `count` threads
    inside the block, then restore each; yields `count`, or None when `count` is 0 or
    no OpenBLAS could be controlled (then nothing is changed)."""
    if count == 0:
        yield None
        return
    import numpy  # noqa: F401 -- loads numpy's OpenBLAS
    import scipy.linalg.cython_blas  # noqa: F401 -- loads scipy's, which numba calls

    controls = openblas_controls()
    before = [get() for _, get, _ in controls]
    for _, _, put in controls:
        put(count)
    try:
        yield count if controls else None
    finally:
        for (_, _, put), n in zip(controls, before, strict=True):
            put(n)
