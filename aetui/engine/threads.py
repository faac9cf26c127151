"""The engine's threads: numba's threading layer and thread count (per calling
thread), and BLAS held to one thread while a step's parts run (README, "Threads").
The kernels take turns here when the layer cannot run two launches at once.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numba

from aetui.engine.blas import hold_engine_threads
from aetui.engine.waiting import prefer_passive_waiting

# numba's default threading layer (workqueue) aborts the process when two threads
# enter parallel kernels at once (the lab's trainer and a probe, compare's models).
# "threadsafe" takes TBB when its library loads, else OpenMP (libgomp); a user's
# NUMBA_THREADING_LAYER wins. README, "Threads".
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "threadsafe"
# Parts that wait for each other sleep rather than spin, before libgomp loads: a
# busy neighbour on a core then costs its share, not a collapse (engine/waiting.py).
prefer_passive_waiting()


def available_threads() -> int:
    """The CPUs this process may run on (its affinity mask, else os.cpu_count())."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def use_threads(count: int) -> int:
    """Run the calling thread's parallel kernels on `count` threads (numba's count is
    per calling thread; clamped to 1 … numba's pool size) and hold the engine's
    BLAS (scipy's OpenBLAS, one pool per process) to one thread: a step's parts
    each call BLAS on their own thread, and a second pool would fight them for
    the cores (README, "Threads"). Returns the count."""
    count = _set_numba_threads(max(1, int(count)))
    hold_engine_threads(1)
    return count


def use_blas_threads(count: int) -> int:
    """Hold the engine's BLAS (process-wide) to `count` threads, for the full-batch
    products of L-BFGS (full_batch_loss_and_gradient). Returns the count."""
    count = max(1, int(count))
    hold_engine_threads(count)
    return count


def _set_numba_threads(count: int) -> int:
    count = max(1, min(count, numba.config.NUMBA_NUM_THREADS))
    try:
        numba.set_num_threads(count)  # loads the threading layer on first use
    except ValueError:
        # No thread-safe layer loads here (no TBB, no libgomp): numba's own
        # workqueue, which is safe only while one thread at a time runs parallel
        # kernels (README, "Threads").
        numba.config.THREADING_LAYER = "workqueue"
        numba.set_num_threads(count)
    return count


# numba's workqueue layer (what loads without TBB or libgomp, e.g. a plain macOS)
# aborts the process when two threads launch parallel kernels at once: there, they
# take turns (README, "Threads"). Set once the layer is known.
_TURNS = threading.Lock()
_layer: str | None = None


def _one_at_a_time():
    """The lock parallel kernel launches take on the workqueue layer; else nothing."""
    global _layer
    if _layer is None:
        _layer = threading_layer()
    return _TURNS if _layer == "workqueue" else contextlib.nullcontext()


def threading_layer() -> str:
    """The numba threading layer this process loaded ("omp", "tbb", "workqueue"), loading
    it if no parallel kernel has run yet."""
    _set_numba_threads(numba.get_num_threads())
    return numba.threading_layer()
