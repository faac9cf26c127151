"""How numba's OpenMP threads wait for each other: asleep, not spinning.

A split training step (engine.parts_for) waits for its slowest part three times a
step. libgomp's default is to spin about 300,000 times before sleeping (its own
estimate: 3 ms; longer on CPUs with a slow `pause`), which is longer than a step.
On free cores that wait is short, but when another program holds a core, the part
on that core is descheduled for a whole time slice while the waiting thread spins
on the other core, taking it from the work that could run there. On this 2-core
machine with another job busy, `aetui train --hidden 500` ran 7-10× slower on its
2 default threads than on one (README, "Threads", where the measurements are).

Passive waiting (threads sleep at once, a futex wakes them) hands the core back
to whatever can use it, so a busy neighbour costs its share of the machine, not
a collapse. libgomp reads its settings once, when numba first loads it (the first
parallel kernel), so this must run before that: engine.py calls it at import. A
user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.

One libgomp serves the whole process: PyTorch's copy has the same soname, so
whichever loads first is the one both use, with the policy it read. If torch
loaded first (without this policy), numba's parts would spin again: the bench
loads numba's runtime before importing torch (bench_defaults), so both wait
passively there, and the report says so.
"""

from __future__ import annotations

import os

WAIT_ENV = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def prefer_passive_waiting(environ=os.environ) -> bool:
    """Set OMP_WAIT_POLICY=passive unless the user set a wait policy or spin count;
    True if it was set here."""
    if any(name in environ for name in WAIT_ENV):
        return False
    environ["OMP_WAIT_POLICY"] = "passive"
    return True


def wait_policy(environ=os.environ) -> str:
    """The wait policy in force for this process's OpenMP threads, for reports."""
    if "GOMP_SPINCOUNT" in environ:
        return f"GOMP_SPINCOUNT={environ['GOMP_SPINCOUNT']}"
    return environ.get("OMP_WAIT_POLICY", "libgomp default (spins ~3 ms)").lower()
