#!/usr/bin/env python
"""A busy neighbour costs its share, never a collapse: aetui's default threads against
--threads 1 while another CPU-bound process runs.

Starts the neighbour itself (a Python busy loop, one process, placed by the OS),
then in interleaved rounds (1 then default, default then 1, …) runs

  train    `aetui train --limit 20000 --hidden 500 --epochs 1 --json`: its samples/s
  compare  `aetui compare --q 0,0.3 --hidden 500 --limit 20000 --epochs 1 --no-probe`:
           1 / wall seconds
  lab      the lab on a 120×40 pseudo-terminal for a fixed time: steps reached

and prints medians, the ratio default / --threads 1 (target ≥ 0.9) and the load
average around each run (other jobs on the machine load it too). The neighbour is
stopped at the end, also on Ctrl+C.

    python scripts/busy_neighbour.py                         # all three, 3 rounds
    python scripts/busy_neighbour.py --what train --rounds 5
    python scripts/busy_neighbour.py --quiet                 # no neighbour: the speed-ups
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure_bandwidth import checkpoint_step, measure  # noqa: E402

SHARED_MNIST = next((p for p in (REPO.parent / "shared" / "mnist",
                                  REPO.parents[1] / "shared" / "mnist") if p.exists()), None)
BUSY_LOOP = "while True:\n    pass\n"


def start_neighbour() -> subprocess.Popen:
    """One CPU-bound process of 'another user' (a busy loop)."""
    return subprocess.Popen([sys.executable, "-c", BUSY_LOOP])


def stop_neighbour(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "aetui", *argv], cwd=REPO,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"aetui {' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return done


def _threads(threads: str | None) -> list[str]:
    return [] if threads is None else ["--threads", threads]


def run_train(data: list[str], threads: str | None, out: Path) -> dict:
    started = time.perf_counter()
    done = _run(["train", *data, "--limit", "20000", "--hidden", "500", "--epochs", "1",
                 "--json", "--out", str(out), *_threads(threads)])
    wall = time.perf_counter() - started
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return {"speed": record["samples_per_s"], "wall": wall,
            "note": f"{record['samples_per_s']:,.0f} samples/s, {wall:.1f} s wall"}


def run_compare(data: list[str], threads: str | None, out: Path) -> dict:
    started = time.perf_counter()
    _run(["compare", *data, "--q", "0,0.3", "--hidden", "500", "--limit", "20000",
          "--epochs", "1", "--no-probe", "--json", *_threads(threads)])
    wall = time.perf_counter() - started
    return {"speed": 1.0 / wall, "wall": wall, "note": f"{wall:.1f} s wall"}


def run_lab(data: list[str], threads: str | None, out: Path, seconds: float) -> dict:
    measure([*data, "--hidden", "500", *_threads(threads)], width=120, height=40,
            warmup=0.0, seconds=seconds, env_overrides={}, save=out)
    steps = checkpoint_step(out)
    return {"speed": steps / seconds, "wall": seconds,
            "note": f"{steps:,} steps in {seconds:.0f} s"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", default="train,compare,lab",
                        help="comma-separated: train, compare, lab (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lab-seconds", type=float, default=20.0,
                        help="seconds the lab runs per measurement (start-up included)")
    parser.add_argument("--quiet", action="store_true", help="no busy neighbour")
    parser.add_argument("--data-dir", default=str(SHARED_MNIST) if SHARED_MNIST else None)
    args = parser.parse_args()
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    runners = {"train": run_train, "compare": run_compare,
               "lab": lambda d, t, o: run_lab(d, t, o, args.lab_seconds)}
    what = [w.strip() for w in args.what.split(",") if w.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="aetui-busy-"))
    # SIGTERM as Ctrl+C, so that the neighbour is stopped (finally) either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    neighbour = None if args.quiet else start_neighbour()
    print(f"neighbour: {'none' if neighbour is None else f'busy loop, pid {neighbour.pid}'}; "
          f"{os.cpu_count()} CPUs; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '')!r}",
          flush=True)
    speeds: dict[tuple[str, str], list[float]] = {}
    loads: list[float] = []
    try:
        time.sleep(1.0 if neighbour else 0.0)
        for r in range(args.rounds):
            order = (None, "1") if r % 2 else ("1", None)
            for name in what:
                for threads in order:
                    label = "default" if threads is None else "--threads 1"
                    before = os.getloadavg()[0]
                    result = runners[name](data, threads, tmp / f"{name}{r}{label[-1]}.npz")
                    loads.append(before)
                    loads.append(os.getloadavg()[0])
                    speeds.setdefault((name, label), []).append(result["speed"])
                    print(f"round {r + 1} {name:8s} {label:12s} {result['note']} "
                          f"(load {before:.1f} → {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        stop_neighbour(neighbour)
    print(f"\nmedians of {args.rounds} interleaved rounds, "
          f"{'quiet' if neighbour is None else 'one busy neighbour'}, load average "
          f"{min(loads):.1f}–{max(loads):.1f} (1 min, other jobs included):")
    for name in what:
        one = statistics.median(speeds[(name, "--threads 1")])
        default = statistics.median(speeds[(name, "default")])
        print(f"  {name:8s} default / --threads 1 = {default / one:.2f}"
              f"{'' if neighbour is None else '  (target ≥ 0.9)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
