"""numba's OpenMP threads wait asleep (engine/waiting.py), unless the user said otherwise."""

import os
import subprocess
import sys

from aetui.engine.waiting import prefer_passive_waiting, wait_policy


def test_passive_unless_the_user_chose():
    env: dict[str, str] = {}
    assert prefer_passive_waiting(env) is True
    assert env == {"OMP_WAIT_POLICY": "passive"}
    assert wait_policy(env) == "passive"
    for name, value in (("OMP_WAIT_POLICY", "active"), ("GOMP_SPINCOUNT", "10000")):
        env = {name: value}
        assert prefer_passive_waiting(env) is False
        assert env == {name: value}
    assert wait_policy({"GOMP_SPINCOUNT": "10000"}) == "GOMP_SPINCOUNT=10000"


def test_the_engine_sets_it_before_libgomp_loads():
    # libgomp reads the variable once, when numba loads it: the engine's import must
    # come first, and the variable must reach the C environment (os.environ does).
    script = ("import os; from aetui.engine import engine; engine.threading_layer(); "
              "print(os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout.split()
    assert out[-1] == "passive"
