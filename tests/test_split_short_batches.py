"""A split step on a short last minibatch, with more parts than numba has threads
(issue 26, fault 1), and the one ceiling on thread counts (fault 8).

A step's parts are fixed by the run's split, not by the threads that run them, so
a split may hold more parts than numba's pool; CI has 2 cores, so a larger machine
is simulated in a subprocess (NUMBA_NUM_THREADS is read once, at numba's import).
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from crafted import refused_train
from test_threads import _train

from aetui.cli import main
from aetui.commands import common
from aetui.config import MAX_THREADS
from aetui.engine import engine
from aetui.training import labstring

ROOT = Path(__file__).resolve().parents[1]
ROWS, BATCH = 50, 16  # steps of 16, 16, 16 and a short last one of 2 rows


def _images():
    return (np.random.default_rng(0).random((ROWS, 300)) < 0.2).astype(np.uint8) * 255


def _fingerprint(run) -> str:
    weights, sums = run
    digest = hashlib.sha256()
    for a in (*weights, sums):
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


@pytest.fixture
def one_thread_after():
    yield
    engine.use_threads(1)


@pytest.mark.parametrize("tied", [True, False])
def test_a_short_last_batch_in_more_parts_than_threads_trains_the_same_bits(one_thread_after,
                                                                          tied):
    images = _images()
    steps = -(-ROWS // BATCH)
    whole = _train(images, 1, 1, tied=tied, steps=steps, batch=BATCH)
    for parts in (2, 3, 5):  # 5: more parts than blocks of units (40 units, 3 blocks)
        runs = [_train(images, threads, parts, tied=tied, steps=steps, batch=BATCH)
                for threads in (1, 2)]
        # The same bits whichever thread runs which part, on 1 or 2 threads …
        assert _fingerprint(runs[0]) == _fingerprint(runs[1])
        # … and the short step really computed: a lost part's share of HV (what the
        # crash left behind when it hit a worker thread) moves the loss by percents.
        np.testing.assert_allclose(runs[0][1], whole[1], rtol=1e-5)
        for a, b in zip(runs[0][0], whole[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


_CHILD = """
import hashlib, json, sys
import numba, numpy as np
sys.path.insert(0, {tests!r})
from crafted import refused_train
from test_threads import _train
images = (np.random.default_rng(0).random(({rows}, 300)) < 0.2).astype(np.uint8) * 255
out = {{"pool": numba.config.NUMBA_NUM_THREADS}}
for threads, parts in {cases!r}:
    weights, sums = _train(images, threads, parts, tied=True, steps={steps}, batch={batch})
    digest = hashlib.sha256()
    for a in (*weights, sums):
        digest.update(np.ascontiguousarray(a).tobytes())
    out[f"{{threads}},{{parts}}"] = digest.hexdigest()
print(json.dumps(out))
"""


@pytest.mark.parametrize(("pool", "cases"), [
    (6, [(6, 3), (6, 5), (4, 5)]),  # a larger machine: parts within and beyond the threads
    (1, [(3, 3), (1, 5)]),          # a user's NUMBA_NUM_THREADS=1 under --threads 3
])
def test_a_simulated_machine_trains_the_same_bits_as_this_one(one_thread_after, pool, cases):
    steps = -(-ROWS // BATCH)
    code = _CHILD.format(tests=str(ROOT / "tests"), rows=ROWS, cases=cases, steps=steps,
                         batch=BATCH)
    env = {**os.environ, "NUMBA_NUM_THREADS": str(pool),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child.pop("pool") == pool
    images = _images()
    for key, digest in child.items():
        parts = int(key.split(",")[1])
        here = _train(images, 1, parts, tied=True, steps=steps, batch=BATCH)
        assert digest == _fingerprint(here), key


def test_train_with_more_threads_than_the_pool_finishes_and_saves(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.delenv(common.THREADS_ENV, raising=False)
    out = tmp_path / "run.npz"
    # 49 digits in steps of 20: a short last step of 9 rows, split in 3 parts (4000
    # units × 20 × 64 pixels is work for 5), on numba's pool of ≤ 3 threads.
    code = main(["train", "--dataset", "digits", "--limit", "49", "--batch", "20",
                 "--hidden", "4000", "--epochs", "1", "--threads", "3", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.exists()
    assert engine.parts_for(3, 20, 64, 4000) == 3


@pytest.mark.parametrize(("argv", "env", "named"), [
    (["--threads", str(MAX_THREADS + 1)], None, "--threads"),
    (["--threads", "1000000"], None, "--threads"),
    ([], "1000000", "AETUI_THREADS"),
])
def test_thread_counts_beyond_the_one_ceiling_are_refused_in_one_line(
        monkeypatch, capsys, tmp_path, argv, env, named):
    code, err = refused_train(monkeypatch, capsys, tmp_path, argv, env)
    assert code == 2
    assert err.startswith("aetui: error:") and named in err and str(MAX_THREADS) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "run.npz").exists()


def test_the_highest_thread_count_accepted_is_a_split_a_lab_string_reads_back():
    assert common.resolve_threads(str(MAX_THREADS)) == MAX_THREADS
    record = labstring.LabRecord(labstring.Settings(), (), 0, "digits", "0" * 16, "0", "?",
                                 split=MAX_THREADS)
    assert labstring.decode(labstring.encode(record)).split == MAX_THREADS
    too_many = labstring.LabRecord(labstring.Settings(), (), 0, "digits", "0" * 16, "0", "?",
                                   split=MAX_THREADS + 1)
    with pytest.raises(labstring.LabStringError):
        labstring.decode(labstring.encode(too_many))
