"""What a user gets: `aetui train`'s steady-state samples/s against numpy and PyTorch
at their library defaults (every core), on bench.py's workload.

The engine is measured as `aetui train` runs it: Trainer.run over whole epochs
(its held-out evaluation and snapshots included) on `threads` threads, after one
warm-up epoch. numpy (NumpyReference) and PyTorch (TorchReference, when torch is
installed) keep their own thread pools at their defaults (except that PyTorch's
OpenMP threads share numba's libgomp, and so its passive waiting: core/waiting.py);
they compute the loss every batch but no held-out evaluation, which, if anything,
favours them.
Rounds alternate the order; medians are reported (README, "Speed").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from aetui.engine.model import init_params
from aetui.experiments.bench import (
    LR,
    NumpyReference,
    Q,
    Timing,
    _settings,
    flops_per_sample,
    gemm_shapes,
    measure_sgemm,
)

SETTLE_SECONDS = 0.3


class TorchReference:
    """The workload in PyTorch (float32, gradients written out as NumpyReference's, no
    autograd graph), at torch's default thread count."""

    def __init__(self, W: np.ndarray, b: np.ndarray, c: np.ndarray, batch: int, *,
                 q: float = Q, lr: float = LR, seed: int = 0) -> None:
        torch = _import_torch()

        self.torch = torch
        self.W = torch.tensor(np.asarray(W, np.float32))
        self.b = torch.tensor(np.asarray(b, np.float32))
        self.c = torch.tensor(np.asarray(c, np.float32))
        self.batch, self.q, self.lr = batch, q, lr
        self.gen = torch.Generator().manual_seed(seed)
        self.images = None

    def step(self, images: np.ndarray, rows: np.ndarray) -> float:
        torch = self.torch
        if self.images is None or self.images.shape[0] != images.shape[0]:
            self.images = torch.from_numpy(images)
        W, b, c, lr = self.W, self.b, self.c, self.lr
        with torch.no_grad():
            x = self.images[torch.from_numpy(rows)].float().mul_(1.0 / 255.0)
            m = x.shape[0]
            keep = torch.rand(x.shape, generator=self.gen) >= self.q
            xt = x * keep
            h = torch.sigmoid(torch.addmm(b, xt, W))
            a = torch.addmm(c, h, W.T)
            loss = float(torch.nn.functional.binary_cross_entropy_with_logits(
                a, x, reduction="sum")) / m
            d = (torch.sigmoid(a) - x).mul_(1.0 / m)
            dh = (d @ W).mul_(h).mul_(1.0 - h)
            W.addmm_(xt.T, dh, alpha=-lr)
            W.addmm_(d.T, h, alpha=-lr)
            b.sub_(dh.sum(0), alpha=lr)
            c.sub_(d.sum(0), alpha=lr)
        return loss


def _import_torch():
    """torch, after numba's OpenMP runtime: one libgomp serves the process, and if torch
    loaded it first numba's parts would take its spinning wait (engine/waiting.py)."""
    from aetui.engine import engine

    engine.threading_layer()
    import torch

    return torch


def torch_info() -> dict[str, Any] | None:
    """torch's version and thread count, or None when it is not installed."""
    try:
        torch = _import_torch()
    except ImportError:
        return None
    return {"version": torch.__version__, "threads": torch.get_num_threads()}


class _Reference:
    def __init__(self, ref, images: np.ndarray, order: np.ndarray) -> None:
        self.ref, self.images, self.order, self.pos = ref, images, order, 0

    def run_for(self, seconds: float) -> float:
        samples, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for _ in range(8):
                if self.pos >= len(self.order):
                    self.pos = 0
                rows = self.order[self.pos:self.pos + self.ref.batch]
                self.ref.step(self.images, rows)
                self.pos += len(rows)
                samples += len(rows)
        return samples / (time.perf_counter() - started)


class _TrainEpochs:
    """`aetui train`'s trainer on `threads` threads, one whole epoch per measurement."""

    def __init__(self, settings, train_x: np.ndarray, test_x: np.ndarray, threads: int) -> None:
        from aetui.training.trainer import Trainer

        self.trainer = Trainer(settings, train_x, test_x, threads=threads)
        self.trainer.warm_up()

    def epoch(self) -> float:
        started = time.perf_counter()
        self.trainer.run(max_epochs=1)
        if self.trainer.message and "diverg" in self.trainer.message.lower():
            raise RuntimeError(f"the engine stopped: {self.trainer.message}")
        return len(self.trainer.images) / (time.perf_counter() - started)


def machine_sgemm(shapes) -> float:
    """GFLOP/s of numpy's sgemm on `shapes`: the better of its default threads and one
    thread (on a busy machine a BLAS pool's threads wait for each other and its default
    can fall far below one thread's rate)."""
    from aetui.engine.blas import all_blas_threads

    rates = [measure_sgemm(shapes)]
    with all_blas_threads(1):
        rates.append(measure_sgemm(shapes))
    return max(rates)


def sparse_flops_per_sample(n_in: int, hidden: int, density: float) -> float:
    """Matrix-product flops per example when the two products with X̃ (X̃W, X̃ᵀδ_h) take
    only its non-zero entries (a share `density` of them) and the other three are dense."""
    return 2.0 * n_in * hidden * (3.0 + 2.0 * density)


def limits(sgemm_gflops: float, n_in: int, hidden: int, density: float) -> dict[str, float]:
    """The machine's limits in samples/s: its measured sgemm rate over the step's dense
    flops (five products) and over its sparse flops (sparse_flops_per_sample)."""
    rate = sgemm_gflops * 1e9
    return {"dense": rate / flops_per_sample(n_in, hidden),
            "sparse": rate / sparse_flops_per_sample(n_in, hidden, density)}


def run_defaults_benchmark(train_x: np.ndarray, test_x: np.ndarray, *,
                           batches: Sequence[int], thread_counts: Sequence[int],
                           seconds: float, repeats: int, seed: int = 0,
                           progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Per batch size: `aetui train` samples/s at each of `thread_counts`, numpy's and
    (when installed) PyTorch's at their defaults; medians of `repeats` rounds.
    Returns a JSON-ready dict (format_defaults prints it)."""
    say = progress or (lambda _msg: None)
    images = np.ascontiguousarray(train_x, dtype=np.uint8)
    has_torch = torch_info() is not None
    n_in = images.shape[1]
    # The expected share of non-zero entries in a corrupted batch.
    density = float(np.count_nonzero(images)) / images.size * (1.0 - Q)
    rows = []
    for batch in batches:
        settings = _settings(batch, 500, seed)
        runners: dict[str, Callable[[], float]] = {}
        for n in thread_counts:
            runners[f"aetui_{n}"] = _TrainEpochs(settings, images, test_x, n).epoch
        # The weights a trainer would start from (Trainer._start_fresh), without one.
        p = init_params(images.shape[1], settings.hidden, settings.seed, settings.tied,
                        init=settings.init)
        order = np.random.default_rng(seed).permutation(len(images))
        numpy_ref = _Reference(NumpyReference(p.W, p.b, p.c, batch, seed=seed + 1), images,
                               order)
        runners["numpy"] = lambda r=numpy_ref: r.run_for(seconds)
        if has_torch:
            torch_ref = _Reference(TorchReference(p.W, p.b, p.c, batch, seed=seed + 2),
                                   images, order)
            runners["torch"] = lambda r=torch_ref: r.run_for(seconds)
        for run in runners.values():
            run()  # warm-up: one epoch of each trainer, `seconds` of each reference
        timings = {name: Timing() for name in runners}
        names = list(runners)
        sgemm = Timing()  # the machine's sgemm rate on the step's shapes (machine_sgemm)
        for rep in range(repeats):
            for name in (names if rep % 2 == 0 else names[::-1]):
                # Idle thread pools spin for a while after their last task (OpenBLAS
                # for ~0.1 s, OpenMP less): let the previous runner's go to sleep
                # so that they do not take the cores from this one.
                time.sleep(SETTLE_SECONDS)
                timings[name].runs.append(runners[name]())
            time.sleep(SETTLE_SECONDS)
            sgemm.runs.append(machine_sgemm(gemm_shapes(batch, n_in, settings.hidden)))
            say(f"round {rep + 1}/{repeats}, batch {batch}: " + ", ".join(
                f"{name} {t.runs[-1]:,.0f}/s" for name, t in timings.items()))
        row = {"batch": batch, **{name: t.to_dict() for name, t in timings.items()}}
        row["sgemm_gflops"] = sgemm.to_dict()
        row["limits"] = limits(sgemm.median, n_in, settings.hidden, density)
        row["share_of_limits"] = {
            name: {kind: t.median / limit for kind, limit in row["limits"].items()}
            for name, t in timings.items()}
        default = f"aetui_{thread_counts[0]}"
        row["vs_numpy"] = timings[default].median / timings["numpy"].median
        if has_torch:
            row["vs_torch"] = timings[default].median / timings["torch"].median
        rows.append(row)
    return {"thread_counts": list(thread_counts), "seconds": seconds, "repeats": repeats,
            "results": rows, "torch": torch_info(), "input_density": density,
            "openmp_wait": wait_policy(),
            "flops_per_sample": {"dense": flops_per_sample(n_in, 500),
                                 "sparse": sparse_flops_per_sample(n_in, 500, density)}}


def wait_policy() -> str:
    """The OpenMP wait policy of this process (numba's parts, and PyTorch's threads)."""
    from aetui.engine.waiting import wait_policy as policy

    return policy()


def _label(name: str) -> str:
    return f"train --threads {name[6:]}" if name.startswith("aetui_") else name


def format_defaults(report: dict[str, Any]) -> str:
    """The defaults section as a plain-text table."""
    counts = report["thread_counts"]
    has_torch = report["torch"] is not None
    head = "  ".join(f"{f'train --threads {n}':>18}" for n in counts)
    lines = [
        "what a user gets: `aetui train` (whole epochs, held-out evaluation included) "
        f"against numpy{' and PyTorch' if has_torch else ''} at their library defaults; "
        f"median of {report['repeats']} rounds",
        f"{'batch':>5}  {head}  {'numpy/s':>9}" + (f"  {'torch/s':>9}" if has_torch else "")
        + f"  {'×numpy':>6}" + (f"  {'×torch':>6}" if has_torch else ""),
    ]
    for r in report["results"]:
        cells = "  ".join(f"{r[f'aetui_{n}']['median']:>18,.0f}" for n in counts)
        line = f"{r['batch']:>5}  {cells}  {r['numpy']['median']:>9,.0f}"
        if has_torch:
            line += f"  {r['torch']['median']:>9,.0f}"
        line += f"  {r['vs_numpy']:>6.2f}"
        if has_torch:
            line += f"  {r['vs_torch']:>6.2f}"
        lines.append(line)
    lines.append(f"(×: `aetui train --threads {counts[0]}` over the reference; "
                 + (f"PyTorch {report['torch']['version']} on {report['torch']['threads']} "
                    "threads" if has_torch else "PyTorch not installed") + ")")
    lines.append(f"OpenMP wait policy: {report['openmp_wait']} (numba's parts"
                 + (" and PyTorch's threads: one libgomp per process)" if has_torch else ")"))
    flops = report["flops_per_sample"]
    lines.append(
        f"share of the machine's limits, dense / sparse: its sgemm rate (numpy, the better of "
        f"its default threads and one, the step's shapes) over "
        f"{flops['dense'] / 1e6:.2f} MFLOP/sample (five dense products) / "
        f"{flops['sparse'] / 1e6:.2f} (X̃'s non-zero "
        f"{100 * report['input_density']:.0f}% only)")
    for r in report["results"]:
        lim = r["limits"]
        shares = ", ".join(
            f"{_label(name)} {100 * s['dense']:.0f}% / {100 * s['sparse']:.0f}%"
            for name, s in r["share_of_limits"].items())
        lines.append(f"{r['batch']:>5}  sgemm {r['sgemm_gflops']['median']:.1f} GFLOP/s = "
                     f"{lim['dense']:,.0f} / {lim['sparse']:,.0f} samples/s: {shares}")
    return "\n".join(lines)
