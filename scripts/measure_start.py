"""Cold and warm start of the lab: seconds from launch until the status bar says
`training` (README, "Start-up").

Starts `python -m aetui --data-dir DIR --no-save-on-quit` in a detached tmux session
of 120×40, reads the screen every 50 ms (`tmux capture-pane -p`) until a line of it
holds `training` (the status bar's state), then quits the lab. Cold: numba's cache
is an empty temporary folder; warm: the same folder once filled (a headless
`aetui train` of a few steps compiles what the lab's kernels need: a quick start
quits before its background compile ends). Rounds alternate cold and warm; the
medians and every figure are printed (and --json).

    python scripts/measure_start.py --data-dir ../shared/mnist --rounds 3
    python scripts/measure_start.py --data-dir ../shared/mnist --warm-only -- --threads 1

Arguments after `--` are passed to the lab.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def start_seconds(data_dir: str, cache_dir: str, extra: list[str], *, timeout: float = 600.0,
                  width: int = 120, height: int = 40) -> float:
    """One launch: seconds until the screen shows `training` (inf on timeout)."""
    session = f"aetui-start-{uuid.uuid4().hex[:8]}"
    env = {"NUMBA_CACHE_DIR": cache_dir, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
    command = " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()),
                        shlex.quote(sys.executable), "-m", "aetui", "--data-dir",
                        shlex.quote(data_dir), "--no-save-on-quit",
                        *(shlex.quote(a) for a in extra)])
    started = time.monotonic()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y",
                    str(height), "-c", str(REPO), command], check=True)
    try:
        while time.monotonic() - started < timeout:
            screen = _tmux("capture-pane", "-p", "-t", session)
            if any("training" in line for line in screen.splitlines()):
                return time.monotonic() - started
            if session not in _tmux("list-sessions", "-F", "#S"):
                raise RuntimeError("the lab exited before training")
            time.sleep(0.05)
        return float("inf")
    finally:
        _tmux("send-keys", "-t", session, "C-q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and session in _tmux("list-sessions", "-F", "#S"):
            time.sleep(0.1)
        _tmux("kill-session", "-t", session)


def fill_cache(data_dir: str, cache_dir: str) -> None:
    """Compile the kernels into `cache_dir` as a run does (a few steps of `aetui train`)."""
    with tempfile.TemporaryDirectory(prefix="aetui-fill-") as out:
        subprocess.run([sys.executable, "-m", "aetui", "train", "--data-dir", data_dir,
                        "--limit", "200", "--steps", "3", "--out", str(Path(out) / "r.npz")],
                       cwd=REPO, env={**os.environ, "NUMBA_CACHE_DIR": cache_dir,
                                      "PYTHONPATH": str(REPO)},
                       check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "mnist"))
    parser.add_argument("--rounds", type=int, default=3, help="cold + warm pairs")
    parser.add_argument("--warm-only", action="store_true",
                        help="warm starts only, on $NUMBA_CACHE_DIR (filled first)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cold: list[float] = []
    warm: list[float] = []
    load = os.getloadavg()[0]
    if args.warm_only:
        cache = os.environ.get("NUMBA_CACHE_DIR") or tempfile.mkdtemp(prefix="aetui-warm-")
        fill_cache(args.data_dir, cache)
        for _ in range(args.rounds):
            warm.append(start_seconds(args.data_dir, cache, extra))
    else:
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="aetui-cold-") as cache:
                cold.append(start_seconds(args.data_dir, cache, extra))
                fill_cache(args.data_dir, cache)
                warm.append(start_seconds(args.data_dir, cache, extra))
    result = {"cold_s": cold, "warm_s": warm,
              "cold_median_s": statistics.median(cold) if cold else None,
              "warm_median_s": statistics.median(warm) if warm else None,
              "load_before": load, "load_after": os.getloadavg()[0], "lab_args": extra}
    if args.json:
        print(json.dumps(result))
    else:
        if cold:
            print(f"cold start: median {result['cold_median_s']:.1f} s "
                  f"({', '.join(f'{t:.1f}' for t in cold)})")
        print(f"warm start: median {result['warm_median_s']:.1f} s "
              f"({', '.join(f'{t:.1f}' for t in warm)})")
        print(f"load average: {load:.1f} before, {result['load_after']:.1f} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
