"""How fast the engine trains: samples/s of the jitted engine against a plain-numpy
implementation of the same workload, and against what this machine's sgemm allows.

The workload (README, "Speed"): n_in → k = 784 → 500, tied weights, masking
noise q = 0.3, cross-entropy with the sigmoid decoder, SGD with lr = 0.1,
float32, the loss computed every batch, over the whole training set in a
random order, at several batch sizes. Both implementations start from the same
weights and visit the images in the same order; each draws its own masks.

Per example the workload costs five matrix products of 2·n_in·k flops each
(encoder X̃W, decoder HWᵀ, δ_out W, and the two halves of the tied gradient
X̃ᵀδ_h and δ_outᵀH): 10·n_in·k ≈ 3.92 MFLOP at 784 × 500. The per-batch SGD
update and all elementwise work are not counted, so "% of sgemm" is the share
of the time a perfect implementation would spend in those products. The
engine takes the two products with X̃ over its non-zero entries only (about
13% of them on MNIST at q = 0.3), so its "%" — still of the dense flops —
can pass 100%.

Measurements are taken in turns (engine, numpy, then the other way round on
the next repeat) and summarised by their median, because the machine may be
busy with other work; the load average before and after is in the report.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HIDDEN = 500
Q = 0.3
LR = 0.1
DEFAULT_BATCHES = (20, 128)
DEFAULT_SECONDS = 3.0
DEFAULT_REPEATS = 3
SQUARE_SGEMM = 1024  # side of the large square sgemm quoted as the machine's peak


def flops_per_sample(n_in: int, hidden: int) -> int:
    """Matrix-product flops per training example: five products of 2·n_in·hidden each."""
    return 10 * n_in * hidden


def gemm_shapes(batch: int, n_in: int, hidden: int) -> list[tuple[int, int, int]]:
    """(rows, inner, cols) of the workload's five products for one minibatch."""
    m, n, k = batch, n_in, hidden
    return [(m, n, k),   # encoder  X̃ W
            (m, k, n),   # decoder  H Wᵀ
            (m, n, k),   # back into the hidden layer  δ_out W
            (n, m, k),   # ∂/∂W, encoder half  X̃ᵀ δ_h
            (n, m, k)]   # ∂/∂W, decoder half  δ_outᵀ H


# ----- the plain-numpy implementation ---------------------------------------------------


class NumpyReference:
    """The workload in plain numpy, written as a careful numpy programmer would.

    float32 throughout, every buffer allocated once, ufuncs with `out=`, the
    cross-entropy computed stably from the logits, the tied gradient computed
    directly in W's layout (no transposed copy) and the learning rate folded
    into the small δ arrays, so that the big n_in×k arrays are each touched
    once per product and once for the update.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, c: np.ndarray, batch: int, *,
                 q: float = Q, lr: float = LR, seed: int = 0) -> None:
        f32 = np.float32
        self.W = np.array(W, dtype=f32, order="C")
        self.b = np.array(b, dtype=f32)
        self.c = np.array(c, dtype=f32)
        n, k = self.W.shape
        self.batch = batch
        self.q = f32(q)
        self.lr = f32(lr)
        self.rng = np.random.default_rng(seed)
        m = batch
        self._u8 = np.empty((m, n), np.uint8)
        self._x = np.empty((m, n), f32)
        self._u = np.empty((m, n), f32)
        self._keep = np.empty((m, n), bool)
        self._xt = np.empty((m, n), f32)
        self._h = np.empty((m, k), f32)
        self._z = np.empty((m, n), f32)
        self._e = np.empty((m, n), f32)
        self._t = np.empty((m, n), f32)
        self._pos = np.empty((m, n), bool)
        self._dh = np.empty((m, k), f32)
        self._s = np.empty((m, k), f32)
        self._gb = np.empty(k, f32)
        self._gc = np.empty(n, f32)
        self._g1 = np.empty((n, k), f32)
        self._g2 = np.empty((n, k), f32)

    def step(self, images: np.ndarray, rows: np.ndarray) -> float:
        """One SGD update on images[rows] (uint8); returns the batch's reconstruction loss
        (cross-entropy summed over pixels, averaged over the examples) before the update."""
        m = len(rows)
        W, b, c = self.W, self.b, self.c
        u8, x, u, keep, xt = (a[:m] for a in (self._u8, self._x, self._u, self._keep, self._xt))
        h, z, e, t, pos, dh = (a[:m] for a in (self._h, self._z, self._e, self._t, self._pos,
                                                 self._dh))
        np.take(images, rows, axis=0, out=u8)
        np.multiply(u8, np.float32(1.0 / 255.0), out=x)
        # Masking: each pixel kept with probability 1 − q, drawn afresh.
        if self.q > 0:
            self.rng.random(out=u, dtype=np.float32)
            np.greater_equal(u, self.q, out=keep)
            np.multiply(x, keep, out=xt)
        else:
            np.copyto(xt, x)
        # Encoder: H = sigmoid(X̃ W + b).
        np.dot(xt, W, out=h)
        h += b
        np.negative(h, out=h)
        np.exp(h, out=h)  # overflow to inf gives h = 0 below, which is right
        h += 1.0
        np.reciprocal(h, out=h)
        # Decoder logits A = H Wᵀ + c; e = exp(−|A|) serves both the loss and x̂.
        np.dot(h, W.T, out=z)
        z += c
        np.abs(z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        # CE = Σ softplus(a) − x·a = Σ max(a, 0) + log1p(e) − x·a.
        loss = float(np.maximum(z, 0.0, out=t).sum(dtype=np.float64))
        loss += float(np.log1p(e, out=t).sum(dtype=np.float64))
        loss -= float(np.vdot(x, z))
        loss /= m
        # x̂ = 1/(1+e) where a ≥ 0, e/(1+e) elsewhere; δ_out = (x̂ − x)/m, scaled by −lr.
        np.greater_equal(z, 0.0, out=pos)
        np.add(e, 1.0, out=t)
        np.divide(e, t, out=e)  # e/(1+e)
        np.reciprocal(t, out=t)  # 1/(1+e)
        np.copyto(e, t, where=pos)  # e is now x̂
        d = np.subtract(e, x, out=e)
        d *= np.float32(1.0 / m)
        np.sum(d, axis=0, out=self._gc)
        # δ_h = (δ_out W) ⊙ H ⊙ (1 − H).
        s = self._s[:m]
        np.dot(d, W, out=dh)
        dh *= h
        np.subtract(1.0, h, out=s)
        dh *= s
        np.sum(dh, axis=0, out=self._gb)
        # Tied: ∂/∂W = X̃ᵀ δ_h + δ_outᵀ H, each product in W's layout, −lr folded into
        # the small factors.
        dh *= -self.lr
        h *= -self.lr
        np.dot(xt.T, dh, out=self._g1)
        np.dot(d.T, h, out=self._g2)
        W += self._g1
        W += self._g2
        self._gb *= self.lr
        b -= self._gb
        self._gc *= self.lr
        c -= self._gc
        return loss


# ----- measuring --------------------------------------------------------------------------


@dataclass
class Timing:
    """Samples/s of repeated runs (one per repeat) and their median."""

    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "runs": list(self.runs)}


class _Engine:
    """The engine as the trainer drives it: Trainer._train_chunk, in chunks of the
    trainer's own length (CHUNK_SECONDS), the weights copied before each chunk for
    divergence recovery, exactly as during a real run."""

    def __init__(self, settings, train_x: np.ndarray, test_x: np.ndarray) -> None:
        from aetui.training import trainer as trainer_module

        self.chunk_seconds = trainer_module.CHUNK_SECONDS
        self.trainer = trainer_module.Trainer(settings, train_x, test_x)
        self.trainer.warm_up()
        self.ws = self.trainer._workspace(settings.batch)
        self.batch = settings.batch
        self.steps = 1

    def run_for(self, seconds: float) -> tuple[int, float, float]:
        tr = self.trainer
        samples, elapsed, cpu = 0, 0.0, 0.0
        while elapsed < seconds:
            if tr.pos >= len(tr.images):
                tr.pos = 0  # next epoch, same order (not timed)
            started, cpu_started = time.perf_counter(), time.process_time()
            done = tr._train_chunk(self.steps, self.ws)
            took = time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            if done == 0:
                raise RuntimeError(f"the engine stopped: {tr.message or 'no progress'}")
            elapsed += took
            samples += done * self.batch  # the last batch of an epoch may be short: ignored
            self.steps = max(1, min(100_000, int(self.chunk_seconds * done / max(took, 1e-9))))
        return samples, elapsed, cpu


class _Numpy:
    def __init__(self, ref: NumpyReference, images: np.ndarray, order: np.ndarray) -> None:
        self.ref, self.images, self.order = ref, images, order
        self.pos = 0

    def run_for(self, seconds: float) -> tuple[int, float, float]:
        ref, images, order, batch = self.ref, self.images, self.order, self.ref.batch
        samples = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        elapsed = 0.0
        while elapsed < seconds:
            for _ in range(8):
                if self.pos >= len(order):
                    self.pos = 0
                rows = order[self.pos:self.pos + batch]
                loss = ref.step(images, rows)
                self.pos += len(rows)
                samples += len(rows)
            elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if not math.isfinite(loss):
            raise RuntimeError("the numpy reference diverged")
        return samples, elapsed, cpu


def measure_sgemm(shapes: Sequence[tuple[int, int, int]], seconds: float = 0.3,
                  clock: Callable[[], float] = time.perf_counter) -> float:
    """GFLOP/s of numpy float32 matmul over `shapes` (rows, inner, cols), each timed for
    about seconds/len(shapes): total flops over total time, best of three rounds.
    `clock`: time.perf_counter (wall) or time.process_time (this process's CPU time)."""
    rng = np.random.default_rng(0)
    per_shape = seconds / len(shapes) / 3
    total_flops, total_time = 0.0, 0.0
    for rows, inner, cols in shapes:
        a = rng.random((rows, inner), dtype=np.float32)
        bm = rng.random((inner, cols), dtype=np.float32)
        out = np.empty((rows, cols), np.float32)
        np.dot(a, bm, out=out)
        flops = 2.0 * rows * inner * cols
        reps = max(1, int(per_shape * 50e9 / flops))  # assume ~50 GFLOP/s for the count
        best = math.inf
        for _ in range(3):
            started = clock()
            for _ in range(reps):
                np.dot(a, bm, out=out)
            best = min(best, max(clock() - started, 1e-9) / reps)
        total_flops += flops
        total_time += best
    return total_flops / total_time / 1e9


def blas_info() -> list[dict[str, Any]]:
    """The BLAS libraries loaded in this process and the kernels they chose
    (numpy's, and scipy's, which numba's np.dot uses), from threadpoolctl."""
    from threadpoolctl import threadpool_info

    return [{k: v for k, v in entry.items()
             if k in ("internal_api", "filepath", "version", "architecture", "num_threads",
                      "threading_layer")}
            for entry in threadpool_info() if entry.get("user_api") == "blas"]


def _settings(batch: int, hidden: int, seed: int):
    from aetui.config import Settings

    return Settings(hidden=hidden, tied=True, loss="ce", decoder="sigmoid", noise="mask",
                    q=Q, beta=0.0, l2=0.0, optimizer="sgd", lr=LR, batch=batch,
                    seed=seed).validate()


def run_benchmark(train_x: np.ndarray, test_x: np.ndarray, *,
                  batches: Sequence[int] = DEFAULT_BATCHES, seconds: float = DEFAULT_SECONDS,
                  repeats: int = DEFAULT_REPEATS, hidden: int = HIDDEN, seed: int = 0,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure the engine and the numpy reference on `train_x` (N×n uint8).

    Each of `repeats` rounds runs, per batch size, both implementations for
    `seconds` each (alternating which goes first) and numpy's sgemm on the
    workload's shapes; a warm-up of a fraction of a second each comes first.
    Returns a JSON-ready dict; see `format_report` for what it holds.
    """
    say = progress or (lambda _msg: None)
    n_in = int(train_x.shape[1])
    images = np.ascontiguousarray(train_x, dtype=np.uint8)
    fps = flops_per_sample(n_in, hidden)
    load_before = _loadavg()
    say("compiling the engine (or loading it from numba's cache)…")
    runners: dict[int, dict[str, Any]] = {}
    for batch in batches:
        engine = _Engine(_settings(batch, hidden, seed), images, test_x)
        p = engine.trainer.params
        ref = NumpyReference(p.W, p.b, p.c, batch, seed=seed + 1)
        runners[batch] = {"engine": engine,
                          "numpy": _Numpy(ref, images, engine.trainer.order.copy())}
    say("warming up…")
    warm = min(0.5, seconds)
    for batch in batches:
        for runner in runners[batch].values():
            runner.run_for(warm)
    timings = {b: {"engine": Timing(), "numpy": Timing(), "sgemm": Timing(),
                   "engine_cpu": Timing(), "numpy_cpu": Timing(), "sgemm_cpu": Timing()}
               for b in batches}
    for rep in range(repeats):
        for batch in batches:
            names = ("engine", "numpy") if rep % 2 == 0 else ("numpy", "engine")
            for name in names:
                samples, elapsed, cpu = runners[batch][name].run_for(seconds)
                timings[batch][name].runs.append(samples / elapsed)
                timings[batch][f"{name}_cpu"].runs.append(samples / max(cpu, 1e-9))
            shapes = gemm_shapes(batch, n_in, hidden)
            timings[batch]["sgemm"].runs.append(measure_sgemm(shapes))
            timings[batch]["sgemm_cpu"].runs.append(
                measure_sgemm(shapes, clock=time.process_time))
            t = timings[batch]
            say(f"round {rep + 1}/{repeats}, batch {batch}: engine "
                f"{t['engine'].runs[-1]:,.0f}/s, numpy {t['numpy'].runs[-1]:,.0f}/s")
    square = measure_sgemm([(SQUARE_SGEMM,) * 3], seconds=0.5)
    rows = []
    for batch in batches:
        t = timings[batch]
        gflops = t["sgemm"].median
        ideal = gflops * 1e9 / fps
        rows.append({
            "batch": batch,
            "engine_samples_per_s": t["engine"].to_dict(),
            "numpy_samples_per_s": t["numpy"].to_dict(),
            "ratio": t["engine"].median / t["numpy"].median,
            "sgemm_gflops": t["sgemm"].to_dict(),
            "ideal_samples_per_s": ideal,
            "engine_pct_of_sgemm": 100.0 * t["engine"].median / ideal,
            "numpy_pct_of_sgemm": 100.0 * t["numpy"].median / ideal,
            # Per second of this process's CPU time: steadier than wall time on a shared
            # machine, and comparable when every BLAS pool runs one thread.
            "engine_samples_per_cpu_s": t["engine_cpu"].to_dict(),
            "numpy_samples_per_cpu_s": t["numpy_cpu"].to_dict(),
            "ratio_cpu": t["engine_cpu"].median / t["numpy_cpu"].median,
            "sgemm_gflops_cpu": t["sgemm_cpu"].to_dict(),
            "ideal_samples_per_cpu_s": t["sgemm_cpu"].median * 1e9 / fps,
            "engine_pct_of_sgemm_cpu": 100.0 * t["engine_cpu"].median
            / (t["sgemm_cpu"].median * 1e9 / fps),
            "numpy_pct_of_sgemm_cpu": 100.0 * t["numpy_cpu"].median
            / (t["sgemm_cpu"].median * 1e9 / fps),
        })
    return {
        "workload": {"n_in": n_in, "hidden": hidden, "tied": True, "noise": "mask", "q": Q,
                     "loss": "ce", "optimizer": "sgd", "lr": LR, "dtype": "float32",
                     "images": len(images), "flops_per_sample": fps,
                     # Expected share of non-zero entries in a corrupted batch.
                     "input_density": float(np.count_nonzero(images)) / images.size
                     * (1.0 - Q)},
        "seconds": seconds,
        "repeats": repeats,
        "results": rows,
        "square_sgemm": {"n": SQUARE_SGEMM, "gflops": square,
                         "ideal_samples_per_s": square * 1e9 / fps},
        "blas": blas_info(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table with a few lines of context."""
    w = report["workload"]
    lines = [
        f"workload: {w['n_in']} → {w['hidden']}, tied, masking q = {w['q']}, cross-entropy, "
        f"SGD lr {w['lr']}, float32, {w['images']:,} images; "
        f"{w['flops_per_sample'] / 1e6:.2f} MFLOP/sample in matrix products",
        f"median of {report['repeats']} runs of {report['seconds']:g} s each, engine and "
        f"numpy alternating",
        "",
        f"{'batch':>5}  {'engine/s':>9}  {'numpy/s':>9}  {'ratio':>5}  {'sgemm GFLOP/s':>13}  "
        f"{'100% /s':>8}  {'engine %':>8}  {'numpy %':>7}",
    ]
    for r in report["results"]:
        lines.append(
            f"{r['batch']:>5}  {r['engine_samples_per_s']['median']:>9,.0f}  "
            f"{r['numpy_samples_per_s']['median']:>9,.0f}  {r['ratio']:>5.2f}  "
            f"{r['sgemm_gflops']['median']:>13.1f}  {r['ideal_samples_per_s']:>8,.0f}  "
            f"{r['engine_pct_of_sgemm']:>7.1f}%  {r['numpy_pct_of_sgemm']:>6.1f}%")
    lines.append("per second of process CPU time (steadier on a shared machine; comparable "
                 "when BLAS runs one thread):")
    for r in report["results"]:
        lines.append(f"{r['batch']:>5}  {r['engine_samples_per_cpu_s']['median']:>9,.0f}  "
                     f"{r['numpy_samples_per_cpu_s']['median']:>9,.0f}  {r['ratio_cpu']:>5.2f}  "
                     f"{r['sgemm_gflops_cpu']['median']:>13.1f}  "
                     f"{r['ideal_samples_per_cpu_s']:>8,.0f}  "
                     f"{r['engine_pct_of_sgemm_cpu']:>7.1f}%  {r['numpy_pct_of_sgemm_cpu']:>6.1f}%")
    sq = report["square_sgemm"]
    lines += [
        "",
        "sgemm GFLOP/s: numpy float32 matmul of the batch's five product shapes; "
        "100% /s: the samples/s that rate would give.",
        f"engine %: of the dense flops; the engine skips X̃'s zero entries "
        f"({100 * (1 - w['input_density']):.0f}% of them here) in X̃W and X̃ᵀδ_h, "
        "so it can pass 100%.",
        f"large sgemm ({sq['n']}³): {sq['gflops']:.1f} GFLOP/s "
        f"(= {sq['ideal_samples_per_s']:,.0f} samples/s at 100%)",
    ]
    for entry in report["blas"]:
        name = entry.get("corename") or entry.get("architecture") or "?"
        version = entry.get("config") or entry.get("version") or ""
        lines.append(f"BLAS: {os.path.basename(entry.get('filepath', '?'))}: kernel {name}, "
                     f"{entry.get('num_threads', '?')} threads ({version})")
    lines.append(f"cpus: {report['cpus']}, load average before {report['loadavg_before']}, "
                 f"after {report['loadavg_after']}")
    return "\n".join(lines)
