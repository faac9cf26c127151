"""Bytes per second the lab writes to its terminal while training (and, with
--speed, how fast the trainer runs with the lab open vs `aetui train`).

Runs `python -m aetui …` on a pseudo-terminal of 120×40 (TERM=xterm-256color,
COLORTERM=truecolor: the most expensive colour mode), skips the start-up
(data loading, numba compiling, first full paint), counts what the app writes
over a measuring window, then quits it with ctrl+q.

    python scripts/measure_bandwidth.py      # truecolor, 256 colours, pixels, --slow-link
    python scripts/measure_bandwidth.py --seconds 30 -- --dataset mnist

    python scripts/measure_bandwidth.py --speed --seconds 60   # lab vs train, interleaved
    python scripts/measure_bandwidth.py --keys i               # with the unit inspector open
    python scripts/measure_bandwidth.py --latency 20           # key → screen, ms

Arguments after `--` are passed to aetui (default: --dataset digits).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(extra: list[str], *, width: int, height: int, warmup: float, seconds: float,
            env_overrides: dict[str, str], save: Path | None = None, keys: str = "") -> dict:
    """Run the lab once; return bytes and bytes/s over the measuring window. `keys` are
    typed half-way through the warm-up (e.g. "i": measure with the unit inspector open)."""
    save_args = ["--save", str(save)] if save else ["--no-save-on-quit"]
    pid, fd = pty.fork()
    if pid == 0:  # child: the lab, on the pty
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor",
               **env_overrides}
        env.pop("NO_COLOR", None)
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "aetui", *save_args, *extra], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    start = time.monotonic()
    window_start = start + warmup
    window_end = window_start + seconds
    total = counted = 0
    quit_sent = False
    keys_sent = not keys
    deadline = window_end + 60
    while True:
        now = time.monotonic()
        if not keys_sent and now >= start + warmup / 2:
            os.write(fd, keys.encode())
            keys_sent = True
        if now >= window_end and not quit_sent:
            os.write(fd, b"\x11")  # ctrl+q
            quit_sent = True
        if now > deadline:
            os.kill(pid, 9)
            break
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # the child closed the pty: it exited
            break
        if not data:
            break
        total += len(data)
        if window_start <= now < window_end:
            counted += len(data)
    _, status = os.waitpid(pid, 0)
    return {"args": extra, "bytes": counted, "seconds": seconds,
            "bytes_per_s": counted / seconds, "total_bytes": total,
            "exit_status": os.waitstatus_to_exitcode(status)}


def checkpoint_step(path: Path) -> int:
    sys.path.insert(0, str(REPO))
    from aetui.training.checkpoint import load_checkpoint

    return int(load_checkpoint(path).step)


def train_steps(extra: list[str], seconds: float, out: Path) -> int:
    """`aetui train` for `seconds` of wall time (then Ctrl+C: it saves); its step count."""
    import signal
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "aetui", "train", "--steps", "1000000000",
                             "--json", "--out", str(out), *extra], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    return checkpoint_step(out)


def speed(extra: list[str], seconds: float, rounds: int, width: int, height: int,
          keys: str = "") -> None:
    """Steps reached in the same wall time, lab (on a pty) vs `aetui train`,
    interleaved so that a busy machine slows both alike. Both pay the same
    start-up (data, numba cache). `keys` (e.g. "i": the unit inspector) are typed
    8 s in, once the lab is up, and stay in effect to the end."""
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="aetui-speed-"))
    lab, train = [], []
    settle = 16.0 if keys else 0.0  # keys go in half-way through it
    for i in range(rounds):
        ckpt = tmp / f"lab{i}.npz"
        measure(extra, width=width, height=height, warmup=settle, seconds=seconds,
                env_overrides={}, save=ckpt, keys=keys)
        lab.append(checkpoint_step(ckpt))
        train.append(train_steps(extra, seconds + settle, tmp / f"train{i}.npz"))
        print(f"round {i + 1}: lab {lab[-1]:,} steps, train {train[-1]:,} steps "
              f"in {seconds:.0f} s", flush=True)
    ratio = sum(lab) / max(sum(train), 1)
    print(f"lab/train speed: {ratio:.0%} ({sum(lab):,} vs {sum(train):,} steps; "
          f"aetui {' '.join(extra)})")


def latency(extra: list[str], *, presses: int, warmup: float, width: int,
            height: int) -> list[float]:
    """Key → screen: seconds from writing `?` to the pty until the help screen's title
    reaches it, `presses` times (esc closes it in between), while the lab trains."""
    pid, fd = pty.fork()
    if pid == 0:
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
        env.pop("NO_COLOR", None)
        os.chdir(REPO)
        os.execve(sys.executable, [sys.executable, "-m", "aetui", "--no-save-on-quit",
                                   *extra], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def read_for(seconds: float, needle: bytes | None = None) -> float | None:
        started = time.monotonic()
        seen = b""
        while time.monotonic() - started < seconds:
            ready, _, _ = select.select([fd], [], [], 0.01)
            if not ready:
                continue
            try:
                seen = seen[-64:] + os.read(fd, 65536)
            except OSError:  # the lab closed the pty: it exited
                return None
            if needle is not None and needle in seen:
                return time.monotonic() - started
        return None

    read_for(warmup)
    times = []
    for _ in range(presses):
        os.write(fd, b"?")
        took = read_for(5.0, b"esc closes")
        if took is not None:
            times.append(took)
        os.write(fd, b"\x1b")
        read_for(1.5)
    os.write(fd, b"\x11")  # ctrl+q
    read_for(5.0)
    with contextlib.suppress(ChildProcessError):
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring window")
    parser.add_argument("--warmup", type=float, default=20.0,
                        help="seconds skipped at start (loading, compiling, first paint)")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--only", choices=("default", "256", "pixels", "slow-link"),
                        default=None)
    parser.add_argument("--speed", action="store_true",
                        help="instead: trainer speed with the lab open vs aetui train")
    parser.add_argument("--rounds", type=int, default=2, help="--speed: interleaved rounds")
    parser.add_argument("--keys", default="",
                        help="keys typed half-way through the warm-up: 'i' measures the unit "
                             "inspector, 'dn' the drawing screen with a digit on the canvas")
    parser.add_argument("--latency", type=int, default=0, metavar="N",
                        help="instead: key → screen latency, N presses of ? while training")
    parser.add_argument("aetui_args", nargs="*", help="after --: options for aetui")
    args = parser.parse_args()
    extra = args.aetui_args or ["--dataset", "digits"]
    if args.speed:
        speed(extra, args.seconds, args.rounds, args.width, args.height, keys=args.keys)
        return 0
    if args.latency:
        import statistics

        times = latency(extra, presses=args.latency, warmup=args.warmup, width=args.width,
                        height=args.height)
        ms = sorted(1000 * t for t in times)
        print(f"key → screen (? opens help, while training): {len(ms)}/{args.latency} seen; "
              f"median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms" if ms else
              "key → screen: the help screen never appeared")
        return 0
    # (name, flags, environment): truecolor blocks, 256-colour blocks (COLORTERM
    # unset, as in tmux), pixel graphics (sixel: the pty does not answer, so
    # asked for), and the slow link.
    runs = [("default", [], {}), ("256", [], {"COLORTERM": ""}),
            ("pixels", ["--graphics", "pixels"], {}), ("slow-link", ["--slow-link"], {})]
    for name, flags, env in runs:
        if args.only and name != args.only:
            continue
        r = measure([*extra, *flags], width=args.width, height=args.height,
                    warmup=args.warmup, seconds=args.seconds, env_overrides=env,
                    keys=args.keys)
        print(f"{name:10s} {r['bytes_per_s'] / 1000:8.1f} KB/s  ({r['bytes']:,} bytes in "
              f"{r['seconds']:.0f} s at {args.width}×{args.height}; exit {r['exit_status']}; "
              f"aetui {' '.join(r['args'])}{'; keys ' + args.keys if args.keys else ''})",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
