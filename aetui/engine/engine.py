"""The engine's public door: every call into the jitted kernels goes through here.

The stumpy/UMAP pattern: these functions are plain Python. They turn names
("mask", "ce", "adam") into the kernels' integer codes, check shapes, dtypes
and contiguity once, then call the private kernels in kernels.py, which trust
their arguments. Nothing outside this module and kernels.py calls an
underscore kernel.

    hyper = Hyper.from_settings(settings)         # names → codes, once per change
    ws = Workspace.allocate(batch, n_in, hidden)  # the buffers a chunk writes
    done, pos, finite = train_chunk(images, order, pos, n_steps, rng, params, opt,
                                    adam_t, hyper, ws, sums)
    corrupt(rng, x, "mask", q=0.3)                 # X̃ for clean rows x
    encode(W, b, images_uint8)                     # h(x) on clean images
    loss_and_gradients(xt, x, params, hyper)       # (recon, l2, sparsity), Gradients
    full_batch_loss_and_gradient(images, params, hyper)  # the same over a whole set

Its threads (numba's per calling thread, BLAS's, the threading layer) are set in
threads.py; use_threads and the rest are reached through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from aetui.engine import kernels
from aetui.engine.objective import RHO_CLIP
from aetui.engine.threads import _one_at_a_time

# Re-exported: the engine stays the one door (callers write engine.use_threads …).
from aetui.engine.threads import available_threads as available_threads
from aetui.engine.threads import threading_layer as threading_layer
from aetui.engine.threads import use_blas_threads as use_blas_threads
from aetui.engine.threads import use_threads as use_threads

NOISE_CODES = {"none": kernels.NOISE_NONE, "mask": kernels.NOISE_MASK,
               "gaussian": kernels.NOISE_GAUSSIAN, "saltpepper": kernels.NOISE_SALTPEPPER}
LOSS_CODES = {"ce": kernels.LOSS_CE, "mse": kernels.LOSS_MSE}
DECODER_CODES = {"sigmoid": kernels.DECODER_SIGMOID, "linear": kernels.DECODER_LINEAR}
OPTIMIZER_CODES = {"sgd": kernels.OPT_SGD, "momentum": kernels.OPT_MOMENTUM,
                   "adam": kernels.OPT_ADAM,
                   "lbfgs": -1}  # full batch (lbfgs.py): no minibatch kernel takes it

# Where a training step's corruption comes from (train_chunk's `stream`; a lab string
# and a checkpoint record it): 1, one numpy Generator drawn serially (runs before
# the split corruption); 2, the counter stream keyed by (seed, step, row).
STREAM_SERIAL, STREAM_COUNTER = kernels.STREAM_SERIAL, kernels.STREAM_COUNTER
NOISE_STREAMS = (STREAM_SERIAL, STREAM_COUNTER)

# Corrupted batches with at most this share of non-zero entries take the sparse
# products (see kernels.SPARSE_DENSITY for the measurement behind it).
SPARSE_DENSITY = kernels.SPARSE_DENSITY


@dataclass(frozen=True)
class Hyper:
    """The settings a kernel reads, as the kernels take them (names turned into codes)."""

    tied: bool = True
    noise: int = kernels.NOISE_NONE
    q: float = 0.0
    sigma: float = 0.0
    loss: int = kernels.LOSS_CE
    decoder: int = kernels.DECODER_SIGMOID
    l2: float = 0.0
    beta: float = 0.0
    rho: float = 0.05
    optimizer: int = kernels.OPT_SGD
    lr: float = 0.1

    @classmethod
    def of(cls, *, tied: bool = True, noise: str = "none", q: float = 0.0, sigma: float = 0.0,
           loss: str = "ce", decoder: str = "sigmoid", l2: float = 0.0, beta: float = 0.0,
           rho: float = 0.05, optimizer: str = "sgd", lr: float = 0.1) -> Hyper:
        """From the settings' names ("mask", "ce", …); unknown names raise ValueError."""
        return cls(bool(tied), _code(NOISE_CODES, "noise", noise), float(q), float(sigma),
                   _code(LOSS_CODES, "loss", loss), _code(DECODER_CODES, "decoder", decoder),
                   float(l2), float(beta), float(rho),
                   _code(OPTIMIZER_CODES, "optimizer", optimizer), float(lr))

    @classmethod
    def from_settings(cls, s) -> Hyper:
        """From a config.Settings (its fields of the same names)."""
        return cls.of(tied=s.tied, noise=s.noise, q=s.q, sigma=s.sigma, loss=s.loss,
                      decoder=s.decoder, l2=s.l2, beta=s.beta, rho=s.rho,
                      optimizer=s.optimizer, lr=s.lr)


def _code(table: dict[str, int], what: str, name: str) -> int:
    if name not in table:
        raise ValueError(f"unknown {what} {name!r} (one of {', '.join(table)})")
    return table[name]


@dataclass
class Workspace:
    """The buffers one training chunk writes: batch rows of inputs (x clean, xt
    corrupted), hidden activations h, δ_out z, δ_h dh, the gradients g*, ρ̂."""

    x: np.ndarray
    xt: np.ndarray
    h: np.ndarray
    z: np.ndarray
    dh: np.ndarray
    gW: np.ndarray
    gb: np.ndarray
    gc: np.ndarray
    gV: np.ndarray
    rho_hat: np.ndarray

    @classmethod
    def allocate(cls, batch: int, n_in: int, hidden: int, dtype=np.float32) -> Workspace:
        n, k, f = n_in, hidden, dtype
        return cls(x=np.empty((batch, n), f), xt=np.empty((batch, n), f),
                   h=np.empty((batch, k), f), z=np.empty((batch, n), f),
                   dh=np.empty((batch, k), f), gW=np.empty((n, k), f), gb=np.empty(k, f),
                   gc=np.empty(n, f), gV=np.empty((k, n), f), rho_hat=np.empty(k, f))

    @property
    def batch(self) -> int:
        return int(self.x.shape[0])

    @property
    def hidden(self) -> int:
        return int(self.h.shape[1])


@dataclass
class Gradients:
    """∂/∂W (n×k), ∂/∂b (k), ∂/∂c (n) and ∂/∂V (k×n, None when tied) of the summed
    objective; rho_hat: each unit's mean activation on the batch (unclipped)."""

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray
    V: np.ndarray | None
    rho_hat: np.ndarray


# ----- checks ---------------------------------------------------------------------------


def _check(name: str, a, shape: tuple[int, ...], dtype) -> None:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype != dtype:
        raise TypeError(f"{name} must be {np.dtype(dtype)}, got {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")


def _check_images(images, n: int) -> None:
    """The kernels read images as stored pixels: uint8 digits (scaled by 1/255 inside)
    or float32 rows used as they are (prepared natural-image patches)."""
    if not isinstance(images, np.ndarray) or images.dtype not in (np.uint8, np.float32):
        raise TypeError("images must be a uint8 or float32 numpy array")
    if images.ndim != 2 or images.shape[1] != n:
        raise ValueError(f"images must be N×{n}, got shape {images.shape}")
    if not images.flags.c_contiguous:
        raise ValueError("images must be C-contiguous")


def _as_images(images, n: int) -> np.ndarray:
    """Clean images as the kernels read them: uint8 kept, other floats as float32
    (C-contiguous), then checked (_check_images)."""
    images = np.ascontiguousarray(images)
    if images.dtype.kind == "f" and images.dtype != np.float32:
        images = images.astype(np.float32)
    _check_images(images, n)
    return images


def _checked_params(params, hyper: Hyper):
    """(W, b, c, V, dtype) of `params` once checked against each other and `hyper`
    (V stands in for W's transpose when tied: the kernels take one array)."""
    W, b, c, V = params.W, params.b, params.c, params.V
    tied = V is None
    if tied != hyper.tied:
        raise ValueError("hyper.tied does not match the parameters (V given iff untied)")
    dtype, V = _check_params(W, b, c, V, tied)
    return W, b, c, V, dtype


def _check_params(W, b, c, V, tied: bool):
    """The weights' dtype (float32 or float64, all alike) after checking their shapes;
    returns (dtype, V as the kernels take it: a 1×1 placeholder when tied)."""
    if not isinstance(W, np.ndarray) or W.ndim != 2:
        raise ValueError("W must be an n_in × k array")
    n, k = W.shape
    dtype = W.dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"W must be float32 or float64, got {dtype}")
    _check("W", W, (n, k), dtype)
    _check("b", b, (k,), dtype)
    _check("c", c, (n,), dtype)
    if tied:
        V = np.zeros((1, 1), dtype)
    else:
        if V is None:
            raise ValueError("an untied model needs V")
        _check("V", V, (k, n), dtype)
    return dtype, V


# ----- the calls ------------------------------------------------------------------------


def train_chunk(images: np.ndarray, order: np.ndarray, pos: int, n_steps: int,
                rng: np.random.Generator, params, opt: dict[str, np.ndarray], adam_t: int,
                hyper: Hyper, ws: Workspace, sums: np.ndarray, *,
                sparse_density: float = SPARSE_DENSITY, parts: int = 1,
                stream: int = STREAM_SERIAL, seed: int = 0, step: int = 0
                ) -> tuple[int, int, bool]:
    """Up to `n_steps` minibatch updates (batch = ws.batch) over images[order[pos:]],
    each split into `parts` parts run in parallel (parts_for; the calling thread's
    numba threads run them: use_threads), in place on params (W, b, c, V) and opt
    (opt_W, opt_b, opt_c, opt_V: (2, *shape) optimizer state; opt_V (2, 1, 1) when
    tied). images: N×n uint8 (0..255, scaled by 1/255) or float32 rows (used as
    they are).

    stream: where the corruption comes from (NOISE_STREAMS): STREAM_SERIAL draws from
    `rng`, row after row, before each step (runs made before stream 2);
    STREAM_COUNTER has each part corrupt its own rows from the stream keyed by
    (seed, step + updates done in this chunk, row), `rng` untouched: the same X̃
    for any split and thread count (README, "Threads").

    sums[0..2] accumulate the recon, l2 and sparsity terms per batch (as in
    loss_and_gradients), sums[3] the number of updates. Stops early at the end
    of `order` or on a non-finite loss. Returns (updates done, new pos, finite?).
    """
    W, b, c, V, dtype = _checked_params(params, hyper)
    n, k = W.shape
    _check_images(images, n)
    _check("order", order, (order.shape[0],), order.dtype)
    if order.dtype.kind not in "iu":
        raise TypeError("order must hold integers")
    batch = ws.batch
    visited = order[int(pos):int(pos) + int(n_steps) * batch]  # what this chunk reads
    if len(visited) and (visited.min() < 0 or visited.max() >= len(images)):
        raise ValueError("order must index the images")
    if batch < 1:
        raise ValueError("the workspace needs at least one row")
    for name, shape in (("x", (batch, n)), ("xt", (batch, n)), ("h", (batch, k)),
                        ("z", (batch, n)), ("dh", (batch, k)), ("gW", (n, k)), ("gb", (k,)),
                        ("gc", (n,)), ("gV", (k, n)), ("rho_hat", (k,))):
        _check(f"workspace {name}", getattr(ws, name), shape, dtype)
    for name, p in (("opt_W", W), ("opt_b", b), ("opt_c", c), ("opt_V", V)):
        _check(name, opt[name], (2, *p.shape), dtype)
    _check("sums", sums, (4,), np.float64)
    if hyper.optimizer < 0:
        raise ValueError("a full-batch optimizer takes no minibatch steps (see lbfgs.py)")
    parts = _checked_parts(parts)
    if stream not in NOISE_STREAMS:
        raise ValueError(f"unknown noise stream {stream!r} (one of {NOISE_STREAMS})")
    with _one_at_a_time():
        done, new_pos, finite = kernels._train_chunk(
            images, order, int(pos), int(n_steps), batch, rng, int(stream), _key(seed),
            _key(step),
            W, b, c, V, opt["opt_W"], opt["opt_b"], opt["opt_c"], opt["opt_V"], int(adam_t),
            hyper.tied, hyper.noise, hyper.q, hyper.sigma, hyper.loss, hyper.decoder, hyper.l2,
            hyper.beta, hyper.rho, RHO_CLIP, hyper.optimizer, hyper.lr, float(sparse_density),
            parts, ws.x, ws.xt, ws.h, ws.z, ws.dh, ws.gW, ws.gb, ws.gc, ws.gV, ws.rho_hat, sums)
    return int(done), int(new_pos), bool(finite)


def corrupt(rng: np.random.Generator, x: np.ndarray, noise: str, q: float = 0.0,
            sigma: float = 0.0, out: np.ndarray | None = None) -> np.ndarray:
    """A fresh corruption X̃ of the rows of x (floats in [0, 1], float32 or float64),
    in x's dtype, into `out` if given: masking sets a fraction q to 0, gaussian
    adds N(0, σ²), saltpepper sets a fraction q to 0 or 1, none copies. Draws
    exactly what training draws from the same generator state."""
    code = _code(NOISE_CODES, "noise", noise)
    x = np.ascontiguousarray(x)
    if x.ndim != 2 or x.dtype not in (np.float32, np.float64):
        raise ValueError("x must be a 2-D float32 or float64 array")
    if out is None:
        out = np.empty_like(x)
    _check("out", out, x.shape, x.dtype)
    kernels._corrupt(rng, x, out, code, float(q), float(sigma))
    return out


def corrupt_counter(seed: int, step: int, x: np.ndarray, noise: str, q: float = 0.0,
                    sigma: float = 0.0, *, parts: int = 1,
                    sparse_density: float = 0.0) -> np.ndarray:
    """The corruption X̃ of the batch x (rows in batch order, floats in [0, 1], float32
    or float64) that update `step` (0-based) of a run seeded `seed` trains on under
    STREAM_COUNTER, computed in `parts` parts as training does (sparse_density:
    through the compressed form when at most that share is non-zero, as training
    decides). The same bits for any parts, thread count and sparse_density."""
    code = _code(NOISE_CODES, "noise", noise)
    x = np.ascontiguousarray(x)
    if x.ndim != 2 or x.dtype not in (np.float32, np.float64):
        raise ValueError("x must be a 2-D float32 or float64 array")
    m, n = x.shape
    out = np.empty_like(x)
    rowptr, cols = np.empty(m + 1, np.int32), np.empty(m * n, np.int32)
    vals = np.empty(m * n, x.dtype)
    parts = _checked_parts(parts)
    with _one_at_a_time():
        compressed = kernels._corrupt_parts(
            parts, x, out, code, float(q), float(sigma), np.uint64(_key(seed)),
            np.uint64(_key(step)), float(sparse_density), rowptr, cols, vals,
            np.zeros(parts, np.int64))
    if compressed:
        kernels._expand_rows(rowptr, cols, vals, out)
    return out


def _key(value: int) -> int:
    """A seed or step as the counter stream takes it (int64, read as uint64 inside)."""
    value = int(value)
    if not 0 <= value < 2**63:
        raise ValueError(f"seed and step must be in 0 … 2⁶³ − 1, got {value}")
    return value


def encode(W: np.ndarray, b: np.ndarray, images: np.ndarray) -> np.ndarray:
    """h(x) = sigmoid(x W + b) of clean images (N×n uint8 scaled by 1/255, or float32
    rows as they are): N×k float32."""
    W = np.ascontiguousarray(W, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    images = _as_images(images, W.shape[0])
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape ({W.shape[1]},)")
    out = np.empty((images.shape[0], W.shape[1]), np.float32)
    with _one_at_a_time():
        kernels._encode(images, W, b, out, numba.get_num_threads())
    return out


def reconstruct(params, x: np.ndarray, decoder: str = "sigmoid") -> np.ndarray:
    """x̂ for rows x (floats in [0, 1], possibly corrupted): float32. On the engine's
    BLAS (one thread), so that a trainer's snapshots wake no second thread pool."""
    decoder_code = _code(DECODER_CODES, "decoder", decoder)
    tied = params.V is None
    W, b, c = (np.ascontiguousarray(a, dtype=np.float32)
               for a in (params.W, params.b, params.c))
    V = np.zeros((1, 1), np.float32) if tied else np.ascontiguousarray(params.V, np.float32)
    _check_params(W, b, c, None if tied else V, tied)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != W.shape[0]:
        raise ValueError(f"x must be N×{W.shape[0]}, got shape {x.shape}")
    out = np.empty_like(x)
    if len(x):
        kernels._reconstruct(x, W, b, c, V, tied, decoder_code, out)
    return out


def held_out(params, images: np.ndarray, loss: str = "ce", decoder: str = "sigmoid"
             ) -> tuple[float, np.ndarray]:
    """The held-out measurement of clean images (N×n uint8 scaled by 1/255, or float32
    rows as they are): (reconstruction loss summed over pixels and averaged over
    the images, ρ̂: each unit's mean activation, float64). Runs on the calling
    thread's numba threads (use_threads), in blocks of rows whose sums are added
    in order: the same result on any number of threads."""
    loss_code = _code(LOSS_CODES, "loss", loss)
    decoder_code = _code(DECODER_CODES, "decoder", decoder)
    tied = params.V is None
    W, b, c = params.W, params.b, params.c
    _, V = _check_params(W, b, c, params.V, tied)
    images = _as_images(images, W.shape[0])
    rho_hat = np.zeros(W.shape[1])
    if len(images) == 0:
        return 0.0, rho_hat
    with _one_at_a_time():
        recon = kernels._held_out(images, W, b, c, V, tied, loss_code, decoder_code,
                                  numba.get_num_threads(), rho_hat)
    return float(recon), rho_hat


def loss_and_gradients(xt: np.ndarray, x: np.ndarray, params, hyper: Hyper, *,
                       sparse_density: float = 0.0, parts: int = 1
                       ) -> tuple[tuple[float, float, float], Gradients]:
    """The objective on one batch and its gradient, as one training step computes them.

    xt: corrupted inputs, x: clean targets (m×n, the weights' dtype). Returns
    ((recon, l2_term, sparsity_term), Gradients): recon summed over pixels and
    averaged over the m rows, the other two as they enter the objective, the
    gradients of their sum. sparse_density: the products with X̃ take its
    non-zero entries only when at most this share is non-zero (0 never, 1 always).
    parts: the step split as training splits it (train_chunk).
    """
    W, b, c, V, dtype = _checked_params(params, hyper)
    tied = hyper.tied
    n, k = W.shape
    if x.ndim != 2 or x.shape[1] != n:
        raise ValueError(f"x must be m×{n}, got shape {x.shape}")
    m = x.shape[0]
    _check("x", x, (m, n), dtype)
    _check("xt", xt, (m, n), dtype)
    h, z, dh = np.empty((m, k), dtype), np.empty((m, n), dtype), np.empty((m, k), dtype)
    grads = Gradients(np.empty((n, k), dtype), np.empty(k, dtype), np.empty(n, dtype),
                      np.empty((k, n), dtype), np.empty(k, dtype))
    with _one_at_a_time():
        terms = kernels._forward_backward(
            xt, x, W, b, c, V, tied, hyper.loss, hyper.decoder, hyper.l2, hyper.beta, hyper.rho,
            RHO_CLIP, float(sparse_density), _checked_parts(parts), h, z, dh, grads.W, grads.b,
            grads.c, grads.V, grads.rho_hat)
    if tied:
        grads.V = None
    return (float(terms[0]), float(terms[1]), float(terms[2])), grads


def full_batch_loss_and_gradient(images: np.ndarray, params, hyper: Hyper, *,
                                 chunk: int = 1000, grads: Gradients | None = None
                                 ) -> tuple[tuple[float, float, float], Gradients]:
    """The objective over every row of `images` (N×n uint8, clean: no corruption) and
    its gradient, for full-batch L-BFGS: ρ̂ over the whole set in the sparsity term
    (a first pass), then the gradient, `chunk` rows at a time (memory ∝ chunk).

    Returns ((recon, l2_term, sparsity_term), Gradients) with recon averaged over
    the N images, as loss_and_gradients'; `grads` (float arrays of the weights'
    dtype, C-contiguous) is written when given, e.g. views into one flat vector.
    """
    W, b, c, V, dtype = _checked_params(params, hyper)
    tied = hyper.tied
    n, k = W.shape
    if images.ndim != 2 or images.shape[1] != n or len(images) == 0:
        raise ValueError(f"images must be a non-empty N×{n} array")
    _check_images(images, n)
    if chunk < 1:
        raise ValueError("chunk must be ≥ 1")
    if grads is None:
        grads = Gradients(np.empty((n, k), dtype), np.empty(k, dtype), np.empty(n, dtype),
                          None if tied else np.empty((k, n), dtype), np.empty(k, dtype))
    for name, shape in (("W", (n, k)), ("b", (k,)), ("c", (n,)), ("rho_hat", (k,))):
        _check(f"gradient {name}", getattr(grads, name), shape, dtype)
    gV = np.zeros((1, 1), dtype) if tied else grads.V
    if not tied:
        _check("gradient V", gV, (k, n), dtype)
    terms = kernels._full_batch_loss_and_gradient(
        images, W, b, c, V, tied, hyper.loss, hyper.decoder, hyper.l2, hyper.beta, hyper.rho,
        RHO_CLIP, int(chunk), grads.W, grads.b, grads.c, gV, grads.rho_hat)
    return (float(terms[0]), float(terms[1]), float(terms[2])), grads


# ----- kernel pieces with their own tests ---------------------------------------------


def gemm(trans_a: bool, trans_b: bool, alpha: float, a: np.ndarray, b: np.ndarray,
         beta: float, c: np.ndarray) -> None:
    """C ← alpha·op(A)·op(B) + beta·C in place (op(X) = Xᵀ when trans_X), through the
    BLAS call the kernels make. All three C-contiguous, 2-D, one float dtype;
    incompatible shapes raise ValueError."""
    for name, arr in (("a", a), ("b", b), ("c", c)):
        _check(name, arr, arr.shape, c.dtype)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D")
    kernels._gemm(bool(trans_a), bool(trans_b), float(alpha), a, b, float(beta), c)


def exp_nonpositive(values: np.ndarray) -> np.ndarray:
    """exp of values ≤ 0 as the kernels compute it (float32: their vectorised expf;
    float64: np.exp). Returns a new 1-D array."""
    buf = np.array(values, copy=True).reshape(-1)
    if buf.dtype not in (np.float32, np.float64):
        raise TypeError("values must be float32 or float64")
    kernels._exp_nonpositive(buf, len(buf), np.empty(len(buf), np.int32))
    return buf


# ----- how a step is split ------------------------------------------------------------


# The least work (multiply-adds of one matrix product, batch × n_in × hidden) worth a
# part of its own: waking a thread and joining it costs a few µs, and a part this
# size takes ~0.1 ms on one core (README, "Threads").
PART_MACS = 1_000_000
UNIT_BLOCK = kernels.UNIT_BLOCK  # hidden units per block of a split step


def parts_for(threads: int, batch: int, n_in: int, hidden: int) -> int:
    """How many parts a step of this size is split into on `threads` threads: one per
    thread while each keeps at least PART_MACS multiply-adds and a block of units.
    A function of the settings only, so that a run stays deterministic for a
    given --threads."""
    blocks = -(-int(hidden) // UNIT_BLOCK)
    by_work = int(batch) * int(n_in) * int(hidden) // PART_MACS
    return max(1, min(int(threads), blocks, by_work))


def _checked_parts(parts) -> int:
    if int(parts) != parts or parts < 1:
        raise ValueError(f"parts must be a whole number ≥ 1, got {parts!r}")
    return int(parts)


def kernel_dispatchers() -> tuple:
    """The jitted entry points the trainer calls (for numba cache statistics)."""
    return (kernels._train_chunk, kernels._corrupt, kernels._encode, kernels._held_out)
