"""The jitted kernels: one forward/backward pass in named steps, a chunk of training
steps, corruption and the encoder.

Private by design: aetui/engine/engine.py is their one caller; it owns the
name → code maps, checks shapes, dtypes and contiguity, and passes the
constants of the objective (objective.RHO_CLIP) as arguments. Everything
here is self-contained (no jitted code imported from elsewhere, no module
globals but integer codes and optimizer constants) because numba's on-disk
cache watches this file only. All jitted code lives in this file.

Conventions (README, "What is computed"): reconstruction loss summed
over pixels and averaged over the batch; L2 term λ‖W‖² (+ λ‖V‖² untied),
gradient 2λW; sparsity term β·Σₗ KL(ρ‖ρ̂ₗ) with ρ̂ from the minibatch, clipped
to [rho_clip, 1 − rho_clip], no gradient through a clipped value. Arrays: W
(n×k), b (k), c (n), V (k×n); tied means V = Wᵀ and the V argument is ignored.

No fastmath that assumes no NaN: NaN detection is how a diverging run is caught.
"""

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

# Integer codes; engine.py maps names to them (plain ints: cached kernels freeze globals).
NOISE_NONE, NOISE_MASK, NOISE_GAUSSIAN, NOISE_SALTPEPPER = 0, 1, 2, 3
LOSS_CE, LOSS_MSE = 0, 1
DECODER_SIGMOID, DECODER_LINEAR = 0, 1
OPT_SGD, OPT_MOMENTUM, OPT_ADAM = 0, 1, 2

MOMENTUM = 0.9
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8

_JIT = {"nogil": True, "cache": True, "error_model": "numpy"}
# The sparse products may fuse a·b + c into one FMA (fewer roundings, not more
# assumptions): 'contract' alone lets NaN and Inf through as they are.
_JIT_FMA = {**_JIT, "fastmath": {"contract"}}
# Sums that may be regrouped (partial sums in vector lanes), which is what lets
# a loop with a running total vectorise; NaN and Inf still propagate.
_JIT_SUMS = {**_JIT, "fastmath": {"contract", "reassoc"}}
# The few functions that split work into parts (_step, _optimizer_step, _encode,
# _held_out) run them as numba parallel loops, one part per iteration: each part's work is
# fixed by (part, parts), so the result does not depend on which thread runs it.
# engine.py pins a thread-safe threading layer (README, "Threads").
_JIT_PAR = {**_JIT, "parallel": True}

# Corrupted batches with at most this fraction of non-zero entries take the
# sparse products (see _compress_rows). MNIST is about 19% ink; masking at
# q = 0.3 leaves about 13%. Above it, BLAS's dense gemm is faster at batch
# 128 (at batch 20 the sparse step stays ahead up to about 0.4): measured by
# scripts/bench_sparse.py.
SPARSE_DENSITY = 0.22

# Hidden units per block of a split step (engine.parts_for): a part's columns start on
# a cache line, so no two parts write the same one.
UNIT_BLOCK = 16

_I8 = ir.IntType(8)
_VOIDP = _I8.as_pointer()


@intrinsic
def _xgemm(typingctx, trans_a, trans_b, alpha, a, b, beta, c):
    """C ← alpha·op(A)·op(B) + beta·C for C-contiguous 2-D float arrays (op(X) = Xᵀ
    when trans_X). Shapes are _gemm's to check.

    np.dot cannot accumulate (beta) or scale (alpha); this calls the same BLAS
    entry point numba's np.dot uses (numba_xxgemm in numba's helper library,
    which finds scipy's cython_blas sgemm/dgemm at run time), so nothing
    process-specific is frozen into the on-disk cache.
    """
    arrays = (a, b, c)
    # C-contiguous arrays or row-major views with unit column stride (a block of
    # columns, W[:, lo:hi]): the row stride becomes BLAS's leading dimension.
    if not all(isinstance(x, types.Array) and x.ndim == 2 and x.layout in ("C", "A")
               for x in arrays):
        return None
    dtype = c.dtype
    if dtype not in (types.float32, types.float64) or a.dtype != dtype or b.dtype != dtype:
        return None
    sig = types.void(trans_a, trans_b, alpha, a, b, beta, c)

    def codegen(context, builder, sig, args):
        from numba.np.linalg import ensure_blas

        ensure_blas()
        ta, tb, al, av, bv, be, cv = args
        arr = [context.make_array(t)(context, builder, v)
               for t, v in ((sig.args[3], av), (sig.args[4], bv), (sig.args[6], cv))]
        sa, sb, sc = (cgutils.unpack_tuple(builder, x.shape, 2) for x in arr)
        itemsize = ir.Constant(cgutils.intp_t, context.get_abi_sizeof(
            context.get_data_type(dtype)))
        one_ = ir.Constant(cgutils.intp_t, 1)

        def leading(x, shape):
            # The row stride in elements; a single row's stride means nothing (numpy
            # gives x[None] a stride of 0), and BLAS wants at least the row length.
            ld = builder.sdiv(cgutils.unpack_tuple(builder, x.strides, 2)[0], itemsize)
            floor = builder.select(builder.icmp_signed(">", shape[1], one_), shape[1], one_)
            return builder.select(builder.icmp_signed(">", ld, floor), ld, floor)

        lda, ldb, ldc = (leading(x, shape) for x, shape in zip(arr, (sa, sb, sc), strict=True))
        al_slot = cgutils.alloca_once_value(builder, context.cast(builder, al, sig.args[2], dtype))
        be_slot = cgutils.alloca_once_value(builder, context.cast(builder, be, sig.args[5], dtype))
        ta_b = context.cast(builder, ta, sig.args[0], types.boolean)
        tb_b = context.cast(builder, tb, sig.args[1], types.boolean)
        t_char, n_char = ir.Constant(_I8, ord("t")), ir.Constant(_I8, ord("n"))
        rows, cols = sc
        inner = builder.select(ta_b, sa[0], sa[1])
        fnty = ir.FunctionType(ir.IntType(32), [
            _I8, _I8, _I8, cgutils.intp_t, cgutils.intp_t, cgutils.intp_t,
            _VOIDP, _VOIDP, cgutils.intp_t, _VOIDP, cgutils.intp_t, _VOIDP,
            _VOIDP, cgutils.intp_t])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        kind = ir.Constant(_I8, ord("s" if dtype == types.float32 else "d"))
        # BLAS is column-major: row-major C = op(A)op(B) is Cᵀ = op(B)ᵀop(A)ᵀ, so B goes first.
        builder.call(fn, (
            kind, builder.select(tb_b, t_char, n_char), builder.select(ta_b, t_char, n_char),
            cols, rows, inner, builder.bitcast(al_slot, _VOIDP),
            builder.bitcast(arr[1].data, _VOIDP), ldb,
            builder.bitcast(arr[0].data, _VOIDP), lda,
            builder.bitcast(be_slot, _VOIDP), builder.bitcast(arr[2].data, _VOIDP), ldc))
        return context.get_dummy_value()

    return sig, codegen


def _pixel_scale(images):
    """What one stored pixel is multiplied by to give the model's input: 1/255 for
    uint8 digits, 1 for float rows (natural-image patches, prepared beforehand)."""
    return 1.0 / 255.0 if images.dtype == np.uint8 else 1.0


@overload(_pixel_scale, jit_options={"cache": True})
def _pixel_scale_typed(images):
    # Chosen when the kernel is compiled for the array's dtype: no branch at run time.
    if isinstance(images.dtype, types.Integer):
        return lambda images: 1.0 / 255.0
    return lambda images: 1.0


@numba.njit(**_JIT)
def _scaled_rows(images, start, rows, scale, out):
    """out[:rows] ← images[start:start + rows] · scale: stored pixels as model inputs
    (scale from _pixel_scale; its type decides the multiply's precision)."""
    n = images.shape[1]
    for i in range(rows):
        for j in range(n):
            out[i, j] = images[start + i, j] * scale


@numba.njit(**_JIT)
def _gemm(trans_a, trans_b, alpha, a, b, beta, c):
    """C ← alpha·op(A)·op(B) + beta·C (row-major: C-contiguous, or views whose columns
    are adjacent, such as W[:, lo:hi]); beta = 0 ignores C."""
    if ((a.shape[1] > 1 and a.strides[1] != a.itemsize)
            or (b.shape[1] > 1 and b.strides[1] != b.itemsize)
            or (c.shape[1] > 1 and c.strides[1] != c.itemsize)):
        raise ValueError("gemm: the columns of each array must be adjacent")
    m = a.shape[1] if trans_a else a.shape[0]
    ka = a.shape[0] if trans_a else a.shape[1]
    kb = b.shape[1] if trans_b else b.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    if ka != kb or c.shape[0] != m or c.shape[1] != n:
        raise ValueError("gemm: incompatible shapes")
    if m == 0 or n == 0:
        return
    if ka == 0:
        for i in range(m):
            for j in range(n):
                c[i, j] = beta * c[i, j] if beta != 0.0 else 0.0
        return
    _xgemm(trans_a, trans_b, alpha, a, b, beta, c)


@numba.njit(**_JIT)
def _corrupt(rng, x, out, noise, q, sigma):
    """Write a fresh corruption of the rows of `x` into `out` (same shape).

    Masking goes through the compressed form (_mask_compressed), so that it
    draws exactly what training's sparse path draws from the same generator.
    """
    m, n = x.shape
    if noise == NOISE_MASK:
        rowptr = np.empty(m + 1, np.int32)
        cols = np.empty(m * n, np.int32)
        vals = np.empty(m * n, x.dtype)
        _compress_rows(x, m * n, rowptr, cols, vals)
        _mask_compressed(rng, q, m, rowptr, cols, vals)
        _expand_rows(rowptr, cols, vals, out)
    elif noise == NOISE_GAUSSIAN:
        for i in range(m):
            for j in range(n):
                out[i, j] = x[i, j] + sigma * rng.standard_normal()
    elif noise == NOISE_SALTPEPPER:
        for i in range(m):
            for j in range(n):
                v = x[i, j]
                if rng.random() < q:
                    v = 1.0 if rng.random() < 0.5 else 0.0
                out[i, j] = v
    else:
        for i in range(m):
            for j in range(n):
                out[i, j] = x[i, j]


@numba.njit(**_JIT)
def _exp_nonpositive(buf, count, bits):
    """buf[:count] = exp(buf[:count]) for values ≤ 0, in place; bits: int32 scratch (≥ count).

    float32 arrays take a branch-free Cephes-style expf (range reduction by
    ln 2, degree-6 polynomial, 2ⁿ built in the exponent bits; about 1 ulp),
    which the compiler vectorises, unlike a call to the C library's expf —
    numba has no vector math library here, and these exps are most of the
    elementwise cost of a step. Values below −87 give exp(−87) ≈ 1.6e-38
    instead of smaller subnormals; NaN stays NaN. float64 arrays (the
    gradient checks) use np.exp.
    """
    if buf.itemsize != 4:
        for j in range(count):
            buf[j] = np.exp(buf[j])
        return
    lo = np.float32(-87.0)
    log2e = np.float32(1.44269504088896341)
    half = np.float32(0.5)
    c1 = np.float32(0.693359375)
    c2 = np.float32(-2.12194440e-4)
    p0 = np.float32(1.9875691500e-4)
    p1 = np.float32(1.3981999507e-3)
    p2 = np.float32(8.3334519073e-3)
    p3 = np.float32(4.1665795894e-2)
    p4 = np.float32(1.6666665459e-1)
    p5 = np.float32(5.0000001201e-1)
    one = np.float32(1.0)
    for j in range(count):
        v = buf[j]
        v = lo if v < lo else v  # NaN compares false and stays NaN
        fn = np.floor(v * log2e + half)
        r = v - fn * c1 - fn * c2
        poly = (((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5) * r * r + r + one
        bits[j] = (np.int32(fn) + np.int32(127)) << np.int32(23)
        buf[j] = poly
    scale = bits[:count].view(np.float32)
    for j in range(count):
        buf[j] *= scale[j]


LANES = 32  # partial products of Σ log1p(e) in _cross_entropy_row


@numba.njit(**_JIT_SUMS)
def _cross_entropy_row(z, t, c, one, inv_m, ebuf, bits, lanes):
    """One example's cross-entropy with the sigmoid decoder: returns Σ_j of
    −[t log x̂ + (1−t) log(1−x̂)] = softplus(a) − t·a = max(a, 0) − t·a + log1p(e),
    e = exp(−|a|), for the logits a = z + c; z becomes δ_out = (x̂ − t)/m. one,
    inv_m: 1 and 1/m typed like the weights (see _step); ebuf, bits: scratch
    (≥ n); lanes: float64 scratch (LANES).

    Σ log1p(e) is the log of the product of the (1 + e) ∈ (1, 2], in float64:
    exact to rounding, and ≤ 2¹⁰⁰⁰ as long as a log is taken every 1000
    factors (rows of over 32,000 pixels take one log per pixel). The product
    runs in LANES independent lanes (element j in lane j mod LANES), a loop
    without a carried dependency, so it vectorises like the rest; one log
    call per row instead of one per pixel.
    """
    n = z.shape[0]
    zero = one - one
    for j in range(n):
        a = z[j] + c[j]
        z[j] = a
        ebuf[j] = -abs(a)
    _exp_nonpositive(ebuf, n, bits)
    total = 0.0
    for j in range(n):
        a = z[j]
        tj = t[j]
        e = ebuf[j]
        r = one / (one + e)
        xhat = r if a >= zero else e * r
        positive = a if a > zero else zero
        total += positive - tj * a
        z[j] = (xhat - tj) * inv_m
        ebuf[j] = one + e
    if n > 999 * LANES:  # a lane could pass 2¹⁰⁰⁰: one log per pixel instead
        for j in range(n):
            total += np.log(ebuf[j])
        return total
    for g in range(LANES):
        lanes[g] = 1.0
    rows = n // LANES
    for r in range(rows):
        base = r * LANES
        for g in range(LANES):
            lanes[g] *= ebuf[base + g]
    for j in range(rows * LANES, n):
        lanes[j - rows * LANES] *= ebuf[j]
    # Each lane holds ≤ rows + 1 factors: multiply lanes together while the
    # count stays ≤ 1000, then take the log.
    per_log = max(1, 1000 // (rows + 1))
    prod = 1.0
    for g in range(LANES):
        prod *= lanes[g]
        if (g + 1) % per_log == 0:
            total += np.log(prod)
            prod = 1.0
    return total + np.log(prod)


@numba.njit(**_JIT)
def _stack_workspace(W, tied, rows):
    """Buffers for the tied gradient's stacked product [X̃; δ_out]ᵀ[δ_h; H]: (2·rows)×n
    and (2·rows)×k in W's dtype; 1×1 placeholders when untied (nothing to stack)."""
    if tied:
        n, k = W.shape
        return np.empty((2 * rows, n), W.dtype), np.empty((2 * rows, k), W.dtype)
    return np.empty((1, 1), W.dtype), np.empty((1, 1), W.dtype)


# ----- sparse inputs -------------------------------------------------------------------
# Digits are mostly background, and masking noise zeroes more of them: the two
# products that take the corrupted input, X̃W and X̃ᵀδ_h, then only need the
# non-zero pixels. Each costs about nnz·k multiply-adds instead of m·n·k.


@numba.njit(**_JIT)
def _sparse_workspace(W, rows):
    """Buffers for a rows×n batch in compressed form (n = W's rows): the row-wise
    index (rowptr, cols, vals) and the column-wise one (colptr, crows, cvals)."""
    n = W.shape[0]
    cap = rows * n
    return (np.empty(rows + 1, np.int32), np.empty(cap, np.int32), np.empty(cap, W.dtype),
            np.empty(n + 1, np.int32), np.empty(cap, np.int32), np.empty(cap, W.dtype))


@numba.njit(**_JIT)
def _compress_rows(xt, limit, rowptr, cols, vals):
    """The non-zero entries of xt (m×n) row by row: row i's are cols/vals[rowptr[i]:rowptr[i+1]].

    Returns their count, or −1 as soon as it passes `limit` (the batch is too
    dense to be worth it). NaN counts as non-zero, so it still propagates.
    """
    m, n = xt.shape
    nnz = 0
    for i in range(m):
        rowptr[i] = nnz
        for j in range(n):
            # Always store, advance only past a non-zero: no branch to mispredict.
            v = xt[i, j]
            cols[nnz] = j
            vals[nnz] = v
            nnz += v != 0
        if nnz > limit:
            return -1
    rowptr[m] = nnz
    return nnz


@numba.njit(**_JIT)
def _expand_rows(rowptr, cols, vals, out):
    """out (m×n) ← the matrix that _compress_rows gave rowptr/cols/vals."""
    m, n = out.shape
    for i in range(m):
        for j in range(n):
            out[i, j] = 0.0
        for p in range(rowptr[i], rowptr[i + 1]):
            out[i, cols[p]] = vals[p]


@numba.njit(**_JIT)
def _mask_compressed(rng, q, m, rowptr, cols, vals):
    """Masking noise on a batch in compressed form, in place: each entry kept with
    probability 1 − q, the masked ones dropped. Returns the new count.

    Only non-zero pixels are drawn for (masking a zero changes nothing, and
    digits are mostly background), and one uniform double serves two of them:
    its 53 random bits split into independent uniforms of 26 and 27 bits (q is
    resolved to 2⁻²⁶): on MNIST, a tenth of the calls of one draw per pixel.
    """
    split = 67108864.0  # 2**26
    inv_split = 1.0 / split
    spare = -1.0  # the unused second half of the last draw, if any
    kept = 0
    for i in range(m):
        start, end = rowptr[i], rowptr[i + 1]
        rowptr[i] = kept
        for p in range(start, end):
            if spare >= 0.0:
                u = spare
                spare = -1.0
            else:
                d = rng.random() * split
                hi = np.floor(d)
                u = hi * inv_split
                spare = d - hi
            # Always copy, advance only when kept: the test is a coin flip the
            # branch predictor cannot learn.
            cols[kept] = cols[p]
            vals[kept] = vals[p]
            kept += u >= q
    rowptr[m] = kept
    return kept


@numba.njit(**_JIT)
def _corrupt_batch(rng, x, xt, noise, q, sigma, sparse_density, rowptr, cols, vals):
    """Training's X̃ for the clean batch x: compressed into rowptr/cols/vals when at
    most `sparse_density` of its entries are non-zero (returns True), else dense
    in xt (returns False). Either way the same draws as _corrupt's.

    Noise none or masking goes from x straight to compressed form (masks drawn
    for ink only, no dense X̃ written) unless x alone is too dense; other noise
    is drawn densely, then compressed if sparse enough.
    """
    m, n = x.shape
    if sparse_density <= 0.0:
        _corrupt(rng, x, xt, noise, q, sigma)
        return False
    limit = sparse_density * m * n
    if noise in (NOISE_NONE, NOISE_MASK):
        keep_share = 1.0 - q if noise == NOISE_MASK else 1.0
        clean_limit = limit / keep_share if keep_share > 0.0 else m * n
        nnz = _compress_rows(x, clean_limit, rowptr, cols, vals)
        if nnz < 0:  # nothing drawn yet: the dense route draws the same
            _corrupt(rng, x, xt, noise, q, sigma)
            return False
        if noise == NOISE_MASK:
            nnz = _mask_compressed(rng, q, m, rowptr, cols, vals)
        if nnz <= limit:
            return True
        _expand_rows(rowptr, cols, vals, xt)  # drawn, but too dense after all
        return False
    _corrupt(rng, x, xt, noise, q, sigma)
    return _compress_rows(xt, limit, rowptr, cols, vals) >= 0


# ----- the counter-based corruption stream (stream 2) ---------------------------------
# Each row's noise is a pure function of (seed, step, row, pixel): SplitMix64's output
# function over a Weyl sequence seeded with a key mixed from (seed, step, row). No
# state is carried from row to row, so each part corrupts its own rows on its own
# thread and X̃ is the same bits for any split and any thread count (README,
# "Threads"). Stream 1 is the serial numpy Generator of older runs (_corrupt_batch).
STREAM_SERIAL, STREAM_COUNTER = 1, 2

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2⁶⁴/φ: SplitMix64's increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@numba.njit(**_JIT)
def _mix64(z):
    """SplitMix64's finaliser: a bijection of uint64 whose output bits each depend
    on every input bit."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@numba.njit(**_JIT)
def _row_key(seed, step, row):
    """The key of row `row` of update `step` (0-based) of a run seeded `seed` (uint64s)."""
    key = _mix64(seed * _GOLDEN + _GOLDEN)
    key = _mix64(key + step)
    return _mix64(key + row)


@numba.njit(**_JIT)
def _draw(key, counter):
    """The 64 random bits number `counter` (≥ 0) of a row's stream."""
    return _mix64(key + (np.uint64(counter) + np.uint64(1)) * _GOLDEN)


@numba.njit(**_JIT)
def _unit(bits):
    """A uniform double in [0, 1) from the top 53 of 64 random bits."""
    return np.float64(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(**_JIT)
def _counter_rows(x, out, r0, r1, noise, q, sigma, seed, step):
    """out[r0:r1] ← the corruption of x[r0:r1] drawn from the counter stream: masking
    keeps pixel j when draw j's uniform is ≥ q; saltpepper sets pixel j, when its
    uniform is < q, to its lowest bit (1 or 0); gaussian adds σ·N(0, 1), pixels
    2t and 2t + 1 from draw t by Box–Muller (two 32-bit uniforms)."""
    n = x.shape[1]
    two_pi = 2.0 * np.pi
    inv32 = 1.0 / 4294967296.0
    for i in range(r0, r1):
        key = _row_key(seed, step, np.uint64(i))
        xi, oi = x[i], out[i]
        if noise == NOISE_MASK:
            for j in range(n):
                oi[j] = xi[j] if _unit(_draw(key, j)) >= q else 0.0
        elif noise == NOISE_SALTPEPPER:
            for j in range(n):
                bits = _draw(key, j)
                v = xi[j]
                if _unit(bits) < q:
                    v = 1.0 if (bits & np.uint64(1)) else 0.0
                oi[j] = v
        elif noise == NOISE_GAUSSIAN:
            for t in range((n + 1) // 2):
                bits = _draw(key, t)
                u1 = (np.float64(bits >> np.uint64(32)) + 0.5) * inv32  # in (0, 1)
                u2 = np.float64(bits & np.uint64(0xFFFFFFFF)) * inv32
                r = sigma * np.sqrt(-2.0 * np.log(u1))
                j = 2 * t
                oi[j] = xi[j] + r * np.cos(two_pi * u2)
                if j + 1 < n:
                    oi[j + 1] = xi[j + 1] + r * np.sin(two_pi * u2)
        else:
            for j in range(n):
                oi[j] = xi[j]


@numba.njit(**_JIT)
def _counter_compressed(x, r0, r1, base, noise, q, seed, step, rowptr, cols, vals):
    """Rows r0..r1 of masking (or no) noise from the counter stream, straight into
    compressed form from slot `base` on (rowptr[r0:r1] absolute): only the ink is
    drawn for (a masked zero stays zero), the same draws as _counter_rows.
    Returns the count written."""
    n = x.shape[1]
    slot = base
    for i in range(r0, r1):
        rowptr[i] = slot
        key = _row_key(seed, step, np.uint64(i))
        xi = x[i]
        for j in range(n):
            v = xi[j]
            if v != 0 and (noise != NOISE_MASK or _unit(_draw(key, j)) >= q):
                cols[slot] = j
                vals[slot] = v
                slot += 1
    return slot - base


@numba.njit(**_JIT)
def _compress_span(xt, r0, r1, base, rowptr, cols, vals):
    """Rows r0..r1 of a dense X̃ into compressed form from slot `base` on; returns the count."""
    n = xt.shape[1]
    slot = base
    for i in range(r0, r1):
        rowptr[i] = slot
        for j in range(n):
            v = xt[i, j]
            cols[slot] = j
            vals[slot] = v
            slot += v != 0
    return slot - base


@numba.njit(**_JIT)
def _counter_part(part, parts, x, xt, noise, q, sigma, seed, step, sparse, rowptr, cols,
                  vals, counts):
    """One part's rows of X̃: dense into xt, and when `sparse` also (or, for masking and
    no noise, only) compressed into its own slots (from r0·n on); counts[part] ← how many."""
    m, n = x.shape
    r0, r1 = _span(part, parts, m, 1)
    if sparse and noise in (NOISE_MASK, NOISE_NONE):
        counts[part] = _counter_compressed(x, r0, r1, r0 * n, noise, q, seed, step,
                                           rowptr, cols, vals)
        return
    _counter_rows(x, xt, r0, r1, noise, q, sigma, seed, step)
    if sparse:
        counts[part] = _compress_span(xt, r0, r1, r0 * n, rowptr, cols, vals)


@numba.njit(**_JIT)
def _expand_part(part, parts, n, rowptr, cols, vals, counts, xt):
    """One part's rows of X̃ written out dense from its own compressed slots."""
    r0, r1 = _span(part, parts, xt.shape[0], 1)
    for i in range(r0, r1):
        end = rowptr[i + 1] if i + 1 < r1 else r0 * n + counts[part]
        row = xt[i]
        for j in range(n):
            row[j] = 0.0
        for p in range(rowptr[i], end):
            row[cols[p]] = vals[p]


@numba.njit(**_JIT_PAR)
def _corrupt_parts(parts, x, xt, noise, q, sigma, seed, step, sparse_density, rowptr, cols,
                   vals, counts):
    """Training's X̃ for the clean batch x from the counter stream, each part its own
    rows in parallel (as _corrupt_batch: compressed into rowptr/cols/vals when at
    most `sparse_density` of its entries are non-zero, returns True; else dense in
    xt, returns False). seed, step: uint64; counts: int64 scratch (≥ parts)."""
    m, n = x.shape
    sparse = sparse_density > 0.0
    for part in numba.prange(parts):
        _counter_part(np.int64(part), parts, x, xt, noise, q, sigma, seed, step, sparse,
                      rowptr, cols, vals, counts)
    if not sparse:
        return False
    total = 0
    for part in range(parts):
        total += counts[part]
    if total <= sparse_density * m * n:
        # The parts' slots moved together (forward: a part's slots start at or
        # after where they go), giving _compress_rows's layout.
        dest = 0
        for part in range(parts):
            r0, r1 = _span(part, parts, m, 1)
            shift = r0 * n - dest
            for p in range(counts[part]):
                cols[dest + p] = cols[r0 * n + p]
                vals[dest + p] = vals[r0 * n + p]
            for i in range(r0, r1):
                rowptr[i] -= shift
            dest += counts[part]
        rowptr[m] = dest
        return True
    if noise in (NOISE_MASK, NOISE_NONE):  # drawn compressed only: write it out
        for part in numba.prange(parts):
            _expand_part(np.int64(part), parts, n, rowptr, cols, vals, counts, xt)
    return False


@numba.njit(**_JIT_FMA)
def _add_rows(out, M, rows, coefs, start, end, lo, hi):
    """out[lo:hi] ← out[lo:hi] + Σ coefs[p]·M[rows[p], lo:hi] over p in [start, end):
    the one loop of both sparse products."""
    # Loops over slices from 0, here and in the other per-part loops: an index
    # that may be negative (range(lo, hi)) takes numba's wraparound test at
    # every access, and the loop no longer vectorises (10× slower).
    o = out[lo:hi]
    width = o.shape[0]
    p = start
    # Four rows of M per pass over out: a quarter of the loads and stores of out.
    while p + 4 <= end:
        m0, m1 = M[rows[p]][lo:hi], M[rows[p + 1]][lo:hi]
        m2, m3 = M[rows[p + 2]][lo:hi], M[rows[p + 3]][lo:hi]
        v0, v1, v2, v3 = coefs[p], coefs[p + 1], coefs[p + 2], coefs[p + 3]
        for l in range(width):
            o[l] += v0 * m0[l] + v1 * m1[l] + v2 * m2[l] + v3 * m3[l]
        p += 4
    while p < end:
        m0 = M[rows[p]][lo:hi]
        v0 = coefs[p]
        for l in range(width):
            o[l] += v0 * m0[l]
        p += 1


@numba.njit(**_JIT)
def _sparse_times(rowptr, cols, vals, W, out, lo, hi):
    """out[:, lo:hi] ← X̃ W[:, lo:hi] for X̃ given row-wise by _compress_rows; out is m×k."""
    for i in range(out.shape[0]):
        o = out[i][lo:hi]
        for l in range(hi - lo):
            o[l] = 0
        _add_rows(out[i], W, cols, vals, np.int64(rowptr[i]), np.int64(rowptr[i + 1]), lo, hi)


@numba.njit(**_JIT)
def _index_columns(rowptr, cols, vals, alpha, m, n, colptr, crows, cvals):
    """The entries of X̃ (m×n, given row-wise) regrouped by column, alpha folded into
    the values: column j's are crows/cvals[colptr[j − 1]:colptr[j]] (colptr[−1]
    read as 0). A counting sort, once per batch; _add_columns then reads it."""
    for j in range(n + 1):
        colptr[j] = 0
    for p in range(rowptr[m]):
        colptr[cols[p] + 1] += 1
    for j in range(n):
        colptr[j + 1] += colptr[j]
    # Fill: colptr[j] walks from column j's start to its end (= column j+1's start).
    for i in range(m):
        for p in range(rowptr[i], rowptr[i + 1]):
            j = cols[p]
            slot = colptr[j]
            crows[slot] = i
            cvals[slot] = alpha * vals[p]
            colptr[j] = slot + 1


@numba.njit(**_JIT)
def _add_columns(target, D, colptr, crows, cvals, lo, hi):
    """target[:, lo:hi] += X̃ᵀ D[:, lo:hi] (times the alpha folded in) for X̃ indexed by
    column (_index_columns): each row of target is read and written once, while
    the rows of D it adds come from cache."""
    for j in range(target.shape[0]):
        start = colptr[j - 1] if j > 0 else 0
        _add_rows(target[j], D, crows, cvals, np.int64(start), np.int64(colptr[j]), lo, hi)


@numba.njit(**_JIT)
def _scale_columns(a, factor, lo, hi):
    """a[:, lo:hi] ← factor·a[:, lo:hi] (factor 0 writes zeros, so stale NaN cannot
    survive; factor 1 leaves them untouched)."""
    if factor == 1.0:
        return
    f = np.empty(1, a.dtype)
    f[0] = factor  # typed like a: the loop then stays in float32
    fa = f[0]
    for j in range(a.shape[0]):
        row = a[j][lo:hi]
        if factor == 0.0:
            for l in range(hi - lo):
                row[l] = 0.0
        else:
            for l in range(hi - lo):
                row[l] *= fa


# ----- one minibatch, forward and backward, in named steps ------------------------------
# _step runs them in this order; each says which part of the objective (README,
# "What is computed") it computes. The work is split into `parts` (README,
# "Threads"): the hidden units into column blocks (each part keeps its block of
# W in its own core's cache), the batch's rows, and the pixels.
#   _encode_rows           H = sigmoid(X̃W + b)                      (unit blocks)
#   _decode_part           one block's share of HV                  (unit blocks)
#   _loss_rows             X̂, the reconstruction loss and δ_out      (row blocks)
#   _backprop_to_hidden    δ_out Vᵀ                                 (unit blocks)
#   _mean_activation       ρ̂ of the batch
#   _kl_backward           the KL penalty and its derivative per unit
#   _hidden_backward       δ_h = (δ_out Vᵀ + KL derivative)·h(1−h), ∂/∂b
#   _l2_sum                ‖W‖² (+ ‖V‖²)
#   _weight_step           ∂/∂W (∂/∂V) into the gradient, or plain SGD's step itself
#   _column_sums           ∂/∂c                                     (pixel blocks)
#   _bias_step             plain SGD's step on b and c


@numba.njit(**_JIT)
def _span(part, parts, size, align):
    """[lo, hi) of part `part` of `parts` over range(size), cut at multiples of `align`
    (whole cache lines of a row: each part writes its own)."""
    blocks = (size + align - 1) // align
    lo = min(size, (blocks * part // parts) * align)
    hi = min(size, (blocks * (part + 1) // parts) * align)
    return lo, hi


@numba.njit(**_JIT)
def _encode_rows(xt, sparse_ws, compressed, W, b, h, one, ebuf, bits, lo, hi):
    """h[:, lo:hi] ← sigmoid(X̃W + b) for units lo..hi (h is m×k). X̃ is dense in xt,
    or, when `compressed`, in sparse_ws's row-wise index (xt not read). one: 1
    typed like W; ebuf, bits: scratch (≥ hi − lo). sigmoid(a) = 1/(1+e) for
    a ≥ 0, e/(1+e) else, e = exp(−|a|)."""
    m = h.shape[0]
    zero = one - one
    if compressed:
        _sparse_times(sparse_ws[0], sparse_ws[1], sparse_ws[2], W, h, lo, hi)
    else:
        _gemm(False, False, 1.0, xt, W[:, lo:hi], 0.0, h[:, lo:hi])
    width = hi - lo
    bias = b[lo:hi]
    for i in range(m):
        row = h[i][lo:hi]
        for l in range(width):
            a = row[l] + bias[l]
            row[l] = a
            ebuf[l] = -abs(a)
        _exp_nonpositive(ebuf, width, bits)
        for l in range(width):
            a = row[l]
            e = ebuf[l]
            r = one / (one + e)
            row[l] = r if a >= zero else e * r


@numba.njit(**_JIT)
def _decode_part(h, W, V, tied, z, lo, hi):
    """z ← H[:, lo:hi]·V[lo:hi, :] (V = Wᵀ when tied): units lo..hi's share of the
    decoder's HV; the shares of all the blocks sum to HV."""
    if tied:
        _gemm(False, True, 1.0, h[:, lo:hi], W[:, lo:hi], 0.0, z)
    else:
        _gemm(False, False, 1.0, h[:, lo:hi], V[lo:hi], 0.0, z)


@numba.njit(**_JIT)
def _loss_rows(z, x, c, loss, decoder, one, inv_m, ebuf, bits, lanes, r0, r1):
    """Rows r0..r1: the reconstruction from z = HV (+ c), its loss against the clean
    x, and δ_out = ∂L/∂(HV + c) written over z. Returns the loss summed over
    those rows' pixels (the caller divides by m). inv_m: 1/m typed like z; ebuf,
    bits, lanes: scratch as _cross_entropy_row's."""
    n = x.shape[1]
    zero = one - one
    recon = 0.0
    for i in range(r0, r1):
        row = 0.0
        if decoder == DECODER_SIGMOID and loss == LOSS_CE:
            row = _cross_entropy_row(z[i], x[i], c, one, inv_m, ebuf, bits, lanes)
        elif decoder == DECODER_SIGMOID:
            for j in range(n):
                a = z[i, j] + c[j]
                t = x[i, j]
                e = np.exp(-abs(a))
                r = one / (one + e)
                xhat = r if a >= zero else e * r
                res = xhat - t
                row += res * res
                z[i, j] = (res + res) * xhat * (one - xhat) * inv_m
        else:
            for j in range(n):
                res = z[i, j] + c[j] - x[i, j]
                row += res * res
                z[i, j] = (res + res) * inv_m
        recon += row
    return recon


@numba.njit(**_JIT)
def _column_sums(z, gc, j0, j1):
    """gc[j0:j1] ← the column sums of z (δ_out: ∂L/∂c), row by row in order."""
    g = gc[j0:j1]
    for j in range(j1 - j0):
        g[j] = 0.0
    for i in range(z.shape[0]):
        row = z[i][j0:j1]
        for j in range(j1 - j0):
            g[j] += row[j]


@numba.njit(**_JIT)
def _reconstruction_rows(h, W, V, tied, c, x, loss, decoder, z, gc, one, inv_m,
                         ebuf, bits, lanes):
    """The decoder and reconstruction loss on one thread: z ← HV + c (V = Wᵀ when
    tied), then row by row the loss against the clean x and δ_out, written over z;
    gc ← ∂L/∂c. Returns the loss summed over pixels and rows (the caller divides
    by m)."""
    m, n = x.shape
    _decode_part(h, W, V, tied, z, 0, h.shape[1])
    recon = _loss_rows(z, x, c, loss, decoder, one, inv_m, ebuf, bits, lanes, 0, m)
    _column_sums(z, gc, 0, n)
    return recon


@numba.njit(**_JIT)
def _backprop_to_hidden(delta_out, W, V, tied, dh, lo, hi):
    """dh[:, lo:hi] ← δ_out Vᵀ (= δ_out W when tied) for units lo..hi: the
    reconstruction's error at the hidden layer."""
    if tied:
        _gemm(False, False, 1.0, delta_out, W[:, lo:hi], 0.0, dh[:, lo:hi])
    else:
        _gemm(False, True, 1.0, delta_out, V[lo:hi], 0.0, dh[:, lo:hi])


@numba.njit(**_JIT)
def _mean_activation(h, rho_hat, lo, hi):
    """rho_hat[lo:hi] ← those units' mean activation over the rows of h (ρ̂, unclipped)."""
    m = h.shape[0]
    width = hi - lo
    mean = rho_hat[lo:hi]
    for l in range(width):
        mean[l] = 0.0
    for i in range(m):
        row = h[i][lo:hi]
        for l in range(width):
            mean[l] += row[l]
    inv = np.empty(1, rho_hat.dtype)
    inv[0] = 1.0 / m
    for l in range(width):
        mean[l] *= inv[0]


@numba.njit(**_JIT)
def _kl_backward(rho_hat, rho, beta, rho_clip, m, dkl, lo, hi):
    """The sparsity penalty's value and gradient for units lo..hi, for ρ̂ over m examples.

    Returns their Σₗ KL(ρ‖ρ̂ₗ) (not yet times β), with ρ̂ clipped to
    [rho_clip, 1 − rho_clip] (objective.RHO_CLIP); when beta ≠ 0, dkl ←
    ∂(β·Σ KL)/∂hᵢₗ = β/m·(−ρ/ρ̂ₗ + (1−ρ)/(1−ρ̂ₗ)) for each of the m examples, 0
    where ρ̂ was clipped (no gradient through a clipped value).
    """
    kl = 0.0
    if beta == 0.0:
        return kl
    for l in range(lo, hi):
        r_hat = float(rho_hat[l])
        clipped = False
        if r_hat < rho_clip:
            r_hat = rho_clip
            clipped = True
        elif r_hat > 1.0 - rho_clip:
            r_hat = 1.0 - rho_clip
            clipped = True
        kl += rho * np.log(rho / r_hat) + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - r_hat))
        dkl[l] = 0.0 if clipped else beta / m * (-rho / r_hat + (1.0 - rho) / (1.0 - r_hat))
    return kl


@numba.njit(**_JIT)
def _hidden_backward(h, dh, dkl, with_kl, gb, one, lo, hi):
    """δ_h ← (dh + dkl)·h(1−h) over dh[:, lo:hi] (dkl only when `with_kl`), and
    gb[lo:hi] ← ∂/∂b, its column sums."""
    m = h.shape[0]
    zero = one - one
    width = hi - lo
    g = gb[lo:hi]
    d_kl = dkl[lo:hi]
    for l in range(width):
        g[l] = zero
    for i in range(m):
        hrow = h[i][lo:hi]
        drow = dh[i][lo:hi]
        if with_kl:
            for l in range(width):
                hv = hrow[l]
                v = (drow[l] + d_kl[l]) * hv * (one - hv)
                drow[l] = v
                g[l] += v
        else:
            for l in range(width):
                hv = hrow[l]
                v = drow[l] * hv * (one - hv)
                drow[l] = v
                g[l] += v


@numba.njit(**_JIT)
def _l2_sum(W, V, tied, lo, hi):
    """‖W[:, lo:hi]‖² (+ ‖V[lo:hi]‖² when untied), in float64; the L2 term is λ times
    the sum over all blocks."""
    total = 0.0
    for j in range(W.shape[0]):
        row = W[j][lo:hi]
        for l in range(hi - lo):
            total += row[l] * row[l]
    if not tied:
        for l in range(lo, hi):
            row = V[l]
            for j in range(V.shape[1]):
                total += row[j] * row[j]
    return total


@numba.njit(**_JIT)
def _weight_step(xt, delta_out, h, dh, W, V, tied, l2, gW, gV, sparse_ws, compressed,
                 stack_x, stack_h, direct, lr, lo, hi):
    """∂/∂W = X̃ᵀδ_h (+ δ_outᵀH tied) + 2λW and ∂/∂V = Hᵀδ_out + 2λV for units lo..hi
    (columns of W, rows of V), each one gemm C ← alpha·AᵀB + keep·C: into the
    gradient (alpha 1, keep 2λ, C prefilled with W) or, when `direct` (plain
    SGD), into the weights (alpha −lr, keep 1 − 2λ·lr): no gradient buffer
    written and no separate update pass over the n×k arrays.

    The tied gradient X̃ᵀδ_h + δ_outᵀH is one product [X̃; δ_out]ᵀ[δ_h; H] with
    inner dimension 2m: stack_x[:2m] must hold [X̃; δ_out] and stack_h[:2m]
    [δ_h; H] (_step's stacking). A compressed X̃ takes the sparse sum instead,
    over its column index (_index_columns, with this alpha folded in).
    """
    m = h.shape[0]
    if direct:
        alpha = -lr
        keep = 1.0 - 2.0 * l2 * lr
        target_W = W
        target_V = V
    else:
        alpha = 1.0
        keep = 2.0 * l2
        target_W = gW
        target_V = gV
        if l2 != 0.0:
            gW[:, lo:hi] = W[:, lo:hi]
            if not tied:
                gV[lo:hi] = V[lo:hi]
    block_W = target_W[:, lo:hi]
    if compressed:
        # The X̃ᵀδ_h half is added after the gemm, so that `keep` scales W once.
        if tied:
            _gemm(True, False, alpha, delta_out, h[:, lo:hi], keep, block_W)
        else:
            _scale_columns(target_W, keep, lo, hi)
            _gemm(True, False, alpha, h[:, lo:hi], delta_out, keep, target_V[lo:hi])
        _add_columns(target_W, dh, sparse_ws[3], sparse_ws[4], sparse_ws[5], lo, hi)
    elif tied:
        _gemm(True, False, alpha, stack_x[:2 * m], stack_h[:2 * m, lo:hi], keep, block_W)
    else:
        _gemm(True, False, alpha, xt, dh[:, lo:hi], keep, block_W)
        _gemm(True, False, alpha, h[:, lo:hi], delta_out, keep, target_V[lo:hi])


@numba.njit(**_JIT)
def _bias_step(b, c, gb, gc, lr, lo, hi, j0, j1):
    """Plain SGD on the biases of units lo..hi and pixels j0..j1: b ← b − lr·∂/∂b,
    c ← c − lr·∂/∂c."""
    bb, gbb = b[lo:hi], gb[lo:hi]
    for l in range(hi - lo):
        bb[l] -= lr * gbb[l]
    cc, gcc = c[j0:j1], gc[j0:j1]
    for j in range(j1 - j0):
        cc[j] -= lr * gcc[j]


@numba.njit(**_JIT)
def _forward_backward(xt, x, W, b, c, V, tied, loss, decoder, l2, beta, rho, rho_clip,
                      sparse_density, parts, h, z, dh, gW, gb, gc, gV, rho_hat):
    """Loss terms of one minibatch and their gradients, written into g*, computed in
    `parts` parts (_step).

    xt: corrupted input (m×n), x: clean target (m×n), both floats in the
    weights' dtype. h (m×k), z (m×n), dh (m×k) and rho_hat (k) are workspace;
    on return h holds the hidden activations, z holds δ_out = ∂L/∂(HV + c)
    (not x̂) and rho_hat the (unclipped) mean activation of each unit on this
    batch. gV is written only when untied (tied: V = Wᵀ, nothing to learn).
    Returns (recon, l2_term, sparsity_term): recon summed over pixels and
    averaged over the m examples; the other two exactly as they enter the
    objective (λ‖W‖² …, β·Ω). The gradients are of their sum.
    sparse_density: the products with X̃ go sparse when at most this fraction of
    its entries are non-zero (SPARSE_DENSITY; 1 always, 0 never).
    """
    m, n = x.shape
    stack_x, stack_h = _stack_workspace(W, tied, m)
    sparse_ws = _sparse_workspace(W, m)
    compressed = sparse_density > 0.0 and _compress_rows(
        xt, sparse_density * m * n, sparse_ws[0], sparse_ws[1], sparse_ws[2]) >= 0
    scratch = _part_workspace(W, parts, m)
    return _step(xt, x, W, b, c, V, tied, loss, decoder, l2, beta, rho, rho_clip,
                 h, z, dh, gW, gb, gc, gV, rho_hat, stack_x, stack_h, sparse_ws,
                 compressed, False, 0.0, False, scratch)


@numba.njit(**_JIT)
def _exp_scratch(W):
    """Scratch of the vectorised exps and the cross-entropy's sums for rows of W's
    widths: ebuf (W's dtype), bits (int32), lanes (float64, LANES)."""
    width = max(W.shape[0], W.shape[1])
    return np.empty(width, W.dtype), np.empty(width, np.int32), np.empty(LANES)


@numba.njit(**_JIT)
def _part_workspace(W, parts, rows):
    """Each part's own buffers for _step: the decoder's partial sums (parts − 1 of
    them, rows×n; the first part writes z itself), exp scratch (ebuf, bits),
    the cross-entropy's lanes, and its partial results (recon, KL, ‖W‖²);
    then dkl (k), shared, each part writing its own units."""
    n, k = W.shape
    width = max(n, k)
    return (np.empty((max(parts - 1, 0), rows, n), W.dtype), np.empty((parts, width), W.dtype),
            np.empty((parts, width), np.int32), np.empty((parts, LANES)),
            np.zeros((parts, 3)), np.zeros(k, W.dtype))


@numba.njit(**_JIT)
def _encode_part(part, parts, xt, sparse_ws, compressed, W, b, V, tied, h, z, zparts,
                 one, ebuf, bits):
    """Step phase 1 of one part: its units' activations and their share of HV."""
    lo, hi = _span(part, parts, W.shape[1], UNIT_BLOCK)
    _encode_rows(xt, sparse_ws, compressed, W, b, h, one, ebuf[part], bits[part], lo, hi)
    # zparts holds a whole batch's rows; a short last batch uses its first m only.
    _decode_part(h, W, V, tied, z if part == 0 else zparts[part - 1][:h.shape[0]], lo, hi)


@numba.njit(**_JIT)
def _loss_part(part, parts, z, zparts, x, c, loss, decoder, one, inv_m, ebuf, bits, lanes,
               partial):
    """Step phase 2 of one part: its rows of HV summed over the parts' shares, then
    their loss and δ_out."""
    r0, r1 = _span(part, parts, x.shape[0], 1)
    for s in range(parts - 1):
        share = zparts[s]
        for i in range(r0, r1):
            for j in range(z.shape[1]):
                z[i, j] += share[i, j]
    partial[part, 0] = _loss_rows(z, x, c, loss, decoder, one, inv_m, ebuf[part], bits[part],
                                  lanes[part], r0, r1)


@numba.njit(**_JIT)
def _backward_part(part, parts, xt, delta_out, h, dh, W, b, c, V, tied, l2, beta, rho,
                   rho_clip, gW, gb, gc, gV, rho_hat, dkl, sparse_ws, compressed, stack_x,
                   stack_h, stack_copy, direct, lr, one, partial):
    """Step phase 3 of one part: back to its units, their ρ̂ and KL, the gradient of
    (or plain SGD's step on) its block of W, V and b, and ∂/∂c (and c's step) for
    its pixels."""
    m, n = delta_out.shape
    lo, hi = _span(part, parts, W.shape[1], UNIT_BLOCK)
    j0, j1 = _span(part, parts, n, UNIT_BLOCK)
    _backprop_to_hidden(delta_out, W, V, tied, dh, lo, hi)
    _mean_activation(h, rho_hat, lo, hi)
    partial[part, 1] = _kl_backward(rho_hat, rho, beta, rho_clip, m, dkl, lo, hi)
    _hidden_backward(h, dh, dkl, beta != 0.0, gb, one, lo, hi)
    partial[part, 2] = _l2_sum(W, V, tied, lo, hi) if l2 != 0.0 else 0.0
    if stack_copy:  # [δ_h; H] for the stacked tied gemm, this part's columns
        stack_h[:m, lo:hi] = dh[:, lo:hi]
        stack_h[m:2 * m, lo:hi] = h[:, lo:hi]
    _weight_step(xt, delta_out, h, dh, W, V, tied, l2, gW, gV, sparse_ws, compressed,
                 stack_x, stack_h, direct, lr, lo, hi)
    _column_sums(delta_out, gc, j0, j1)
    if direct:
        _bias_step(b, c, gb, gc, lr, lo, hi, j0, j1)


@numba.njit(**_JIT_PAR)
def _step(xt, x, W, b, c, V, tied, loss, decoder, l2, beta, rho, rho_clip,
          h, z, dh, gW, gb, gc, gV, rho_hat, stack_x, stack_h, sparse_ws, compressed,
          direct, lr, in_place, scratch):
    """One minibatch forward and backward (as _forward_backward) in scratch's parts
    (_part_workspace): three phases, each a parallel loop over the parts, each
    part on one thread with its BLAS calls on that thread.

      1. units: H[:, block] and the block's share of HV       (z, zparts)
      2. rows:  HV = Σ shares, the loss and δ_out              (z)
      3. units: δ_h, ρ̂, KL, the block's gradient or SGD step; pixels: ∂/∂c, c's step

    A part's work depends on (part, parts) only, and its partial sums are added
    in part order, so the result is the same bits for a given number of parts,
    whatever thread runs which part. One part is the plain serial step.

    stack_x, stack_h (tied, ≥ 2m rows) and sparse_ws (_sparse_workspace, ≥ m rows)
    are the caller's, so that a training loop allocates them once. compressed:
    sparse_ws holds X̃ in compressed form (_compress_rows) and the sparse
    products take it; xt is not read. Otherwise xt holds X̃ and BLAS takes the
    products. direct=False: gW (gV) ← the gradient; direct=True (plain SGD): the
    weights take the step themselves and gW/gV are not written. in_place
    (tied): xt, z, dh and h already are stack_x[:m], stack_x[m:2m], stack_h[:m]
    and stack_h[m:2m], so the stacking copies are skipped.

    Speed notes (the arithmetic is the README's, unchanged):
    - Constants are typed like the weights (`one`, `inv_m`): numba promotes
      float32 op Python-float to float64, which would run every exp and log of
      a float32 model in double precision.
    - The cross-entropy row (_cross_entropy_row) may regroup its sums, so
      that it vectorises; loops run along rows (unit-stride) for the same reason.
    - A sparse X̃ (see _compress_rows) replaces the two products that take it,
      X̃W and X̃ᵀδ_h, by sums over its non-zero entries; the tied gradient's
      other half δ_outᵀH stays a gemm.
    """
    m, n = x.shape
    zparts, ebuf, bits, lanes, partial, dkl = scratch
    parts = ebuf.shape[0]
    consts = np.empty(2, W.dtype)
    consts[0] = 1.0
    consts[1] = 1.0 / m
    one = consts[0]
    inv_m = consts[1]
    rowptr, cols, vals, colptr, crows, cvals = sparse_ws
    if compressed:
        _index_columns(rowptr, cols, vals, -lr if direct else 1.0, m, n, colptr, crows, cvals)
    # Each part's index as int64: the parallel loop's own index is unsigned, and a
    # second type would compile every part function (and all they call) twice.
    for part in numba.prange(parts):
        _encode_part(np.int64(part), parts, xt, sparse_ws, compressed, W, b, V, tied, h, z,
                     zparts, one, ebuf, bits)
    for part in numba.prange(parts):
        _loss_part(np.int64(part), parts, z, zparts, x, c, loss, decoder, one, inv_m, ebuf,
                   bits, lanes, partial)
    stack_copy = tied and not compressed and not in_place
    if stack_copy:
        _stack_inputs(stack_x, xt, z)
    for part in numba.prange(parts):
        _backward_part(np.int64(part), parts, xt, z, h, dh, W, b, c, V, tied, l2, beta, rho,
                       rho_clip, gW, gb, gc, gV, rho_hat, dkl, sparse_ws, compressed, stack_x,
                       stack_h, stack_copy, direct, lr, one, partial)
    recon = 0.0
    kl = 0.0
    l2_sum = 0.0
    for part in range(parts):
        recon += partial[part, 0]
        kl += partial[part, 1]
        l2_sum += partial[part, 2]
    return recon / m, l2 * l2_sum, beta * kl


@numba.njit(**_JIT)
def _stack_inputs(stack_x, xt, delta_out):
    """stack_x[:2m] ← [X̃; δ_out], the tied gradient's stacked left factor."""
    m = xt.shape[0]
    stack_x[:m] = xt
    stack_x[m:2 * m] = delta_out


@numba.njit(**_JIT)
def _add_scaled(target, factor, a):
    """target ← target + factor·a (same shapes)."""
    tf = target.reshape(-1)
    af = a.reshape(-1)
    for i in range(tf.size):
        tf[i] += factor * af[i]


@numba.njit(**_JIT)
def _full_batch_loss_and_gradient(images, W, b, c, V, tied, loss, decoder, l2, beta, rho,
                                  rho_clip, chunk, gW, gb, gc, gV, rho_hat):
    """The objective over ALL rows of `images` (N×n uint8, clean, scaled by 1/255) and
    its gradient, for full-batch L-BFGS; `chunk` rows at a time bound the memory.

    Two passes when beta ≠ 0: the first takes ρ̂ over the whole set, so that the
    sparsity term (and its derivative, _kl_backward with m = N) is UFLDL's
    full-batch one; the second accumulates the gradient chunk by chunk. Returns
    (recon, l2_term, sparsity_term) as _forward_backward's, recon averaged over
    the N images; g* ← the gradient of their sum (gV only when untied);
    rho_hat ← ρ̂ over the whole set.
    """
    N, n = images.shape
    k = W.shape[1]
    consts = np.empty(3, W.dtype)
    consts[0] = 1.0
    consts[1] = 1.0 / N
    consts[2] = _pixel_scale(images)
    one = consts[0]
    inv_N = consts[1]
    pixel_scale = consts[2]
    rows_max = min(chunk, N)
    x = np.empty((rows_max, n), W.dtype)
    h = np.empty((rows_max, k), W.dtype)
    z = np.empty((rows_max, n), W.dtype)
    dh = np.empty((rows_max, k), W.dtype)
    ebuf, bits, lanes = _exp_scratch(W)
    dkl = np.zeros(k, W.dtype)
    gb_part = np.empty(k, W.dtype)
    gc_part = np.empty(n, W.dtype)
    no_sparse = _sparse_workspace(W, 0)
    activation = np.zeros(k)
    kl = 0.0
    if beta != 0.0:  # pass 1: ρ̂ over the whole set
        for start in range(0, N, rows_max):
            rows = min(rows_max, N - start)
            xb, hb = x[:rows], h[:rows]
            _scaled_rows(images, start, rows, pixel_scale, xb)
            _encode_rows(xb, no_sparse, False, W, b, hb, one, ebuf, bits, 0, k)
            for i in range(rows):
                for l in range(k):
                    activation[l] += hb[i, l]
        for l in range(k):
            rho_hat[l] = activation[l] / N
        kl = _kl_backward(rho_hat, rho, beta, rho_clip, N, dkl, 0, k)
        activation[:] = 0.0
    # pass 2: the gradient, accumulated chunk by chunk (gemm with beta = 1)
    gW[...] = 0.0
    gb[...] = 0.0
    gc[...] = 0.0
    if not tied:
        gV[...] = 0.0
    recon = 0.0
    for start in range(0, N, rows_max):
        rows = min(rows_max, N - start)
        xb, hb, zb, dhb = x[:rows], h[:rows], z[:rows], dh[:rows]
        _scaled_rows(images, start, rows, pixel_scale, xb)
        _encode_rows(xb, no_sparse, False, W, b, hb, one, ebuf, bits, 0, k)
        if beta == 0.0:  # else ρ̂ came from pass 1
            for i in range(rows):
                for l in range(k):
                    activation[l] += hb[i, l]
        recon += _reconstruction_rows(hb, W, V, tied, c, xb, loss, decoder, zb, gc_part, one,
                                      inv_N, ebuf, bits, lanes)
        _backprop_to_hidden(zb, W, V, tied, dhb, 0, k)
        _hidden_backward(hb, dhb, dkl, beta != 0.0, gb_part, one, 0, k)
        for j in range(n):
            gc[j] += gc_part[j]
        for l in range(k):
            gb[l] += gb_part[l]
        _gemm(True, False, 1.0, xb, dhb, 1.0, gW)
        if tied:
            _gemm(True, False, 1.0, zb, hb, 1.0, gW)
        else:
            _gemm(True, False, 1.0, hb, zb, 1.0, gV)
    if beta == 0.0:
        for l in range(k):
            rho_hat[l] = activation[l] / N
    l2_term = 0.0
    if l2 != 0.0:
        l2_term = l2 * _l2_sum(W, V, tied, 0, k)
        _add_scaled(gW, 2.0 * l2, W)
        if not tied:
            _add_scaled(gV, 2.0 * l2, V)
    return recon / N, l2_term, beta * kl


@numba.njit(**_JIT)
def _apply_update(p, g, m1, m2, optimizer, lr, t, lo, hi):
    """One optimizer step on the entries lo..hi of parameter p (any shape, taken flat)
    from gradient g.

    m1/m2 hold the momentum velocity or Adam's moments; t is Adam's step count
    after this update (for bias correction).
    """
    pf = p.reshape(-1)[lo:hi]
    gf = g.reshape(-1)[lo:hi]
    size = hi - lo
    if optimizer == OPT_SGD:
        step = np.empty(1, pf.dtype)
        step[0] = lr  # typed like p: the loop then vectorises in float32
        lr_p = step[0]
        for i in range(size):
            pf[i] -= lr_p * gf[i]
    elif optimizer == OPT_MOMENTUM:
        vf = m1.reshape(-1)[lo:hi]
        for i in range(size):
            vf[i] = MOMENTUM * vf[i] - lr * gf[i]
            pf[i] += vf[i]
    else:
        mf = m1.reshape(-1)[lo:hi]
        sf = m2.reshape(-1)[lo:hi]
        c1 = 1.0 - ADAM_BETA1**t
        c2 = 1.0 - ADAM_BETA2**t
        for i in range(size):
            gi = gf[i]
            mf[i] = ADAM_BETA1 * mf[i] + (1.0 - ADAM_BETA1) * gi
            sf[i] = ADAM_BETA2 * sf[i] + (1.0 - ADAM_BETA2) * gi * gi
            pf[i] -= lr * (mf[i] / c1) / (np.sqrt(sf[i] / c2) + ADAM_EPS)


@numba.njit(**_JIT)
def _update_part(part, parts, p, g, opt, optimizer, lr, t):
    """One part's share (a flat range) of the optimizer step on p."""
    lo, hi = _span(part, parts, p.size, UNIT_BLOCK)
    _apply_update(p, g, opt[0], opt[1], optimizer, lr, t, lo, hi)


@numba.njit(**_JIT_PAR)
def _optimizer_step(parts, W, b, c, V, gW, gb, gc, gV, opt_W, opt_b, opt_c, opt_V, tied,
                    optimizer, lr, t):
    """Momentum's or Adam's step on every parameter from its gradient, each split
    into `parts` flat ranges (elementwise: the same bits for any split)."""
    for part in numba.prange(parts):
        index = np.int64(part)  # one type for the part functions (see _step)
        _update_part(index, parts, W, gW, opt_W, optimizer, lr, t)
        _update_part(index, parts, b, gb, opt_b, optimizer, lr, t)
        _update_part(index, parts, c, gc, opt_c, optimizer, lr, t)
        if not tied:
            _update_part(index, parts, V, gV, opt_V, optimizer, lr, t)


@numba.njit(**_JIT)
def _all_finite(a):
    af = a.reshape(-1)
    for i in range(af.size):  # noqa: SIM110 -- a plain loop compiles to the tightest code
        if not np.isfinite(af[i]):
            return False
    return True


@numba.njit(**_JIT)
def _train_chunk(images, order, pos, n_steps, batch, rng, stream, seed, step0,
                 W, b, c, V, opt_W, opt_b, opt_c, opt_V, adam_t,
                 tied, noise, q, sigma, loss, decoder, l2, beta, rho, rho_clip, optimizer, lr,
                 sparse_density, parts, x, xt, h, z, dh, gW, gb, gc, gV, rho_hat, sums):
    """Run up to `n_steps` minibatch updates over images[order[pos:]], in place, each
    step in `parts` parts run in parallel (_step).

    images: N×n uint8 (0..255), converted to [0, 1] one batch at a time, or float
    rows used as they are (_pixel_scale).
    stream: where the corruption comes from: STREAM_SERIAL, the generator `rng`
    drawn row after row before the step; STREAM_COUNTER, each part its own rows
    from the stream keyed by (seed, step0 + updates done, row) (_corrupt_parts;
    seed and step0 int64, taken as uint64).
    opt_*: (2, *shape) optimizer state per parameter; adam_t: Adam's step
    count before this chunk. sparse_density: as in _forward_backward.
    x/xt/h/z/dh: (batch×·) workspace; g*: gradients.
    sums[0..2] accumulate recon, l2 and sparsity terms (per batch, as in
    _forward_backward) and sums[3] the number of updates, for running means.
    Stops early at the end of `order` or on a non-finite loss.
    Returns (steps done, new pos, finite?).
    """
    n_total = order.shape[0]
    n = images.shape[1]
    # Workspace of the tied gradient's stacked product, once per chunk.
    stack_x, stack_h = _stack_workspace(W, tied, batch)
    sparse_ws = _sparse_workspace(W, batch)
    scratch = _part_workspace(W, parts, batch)
    counts = np.zeros(max(parts, 1), np.int64)
    key_seed = np.uint64(seed)
    scale = np.empty(1, W.dtype)
    scale[0] = _pixel_scale(images)  # typed like the weights: a float32 multiply
    pixel_scale = scale[0]
    direct = optimizer == OPT_SGD
    done = 0
    while done < n_steps and pos < n_total:
        m = min(batch, n_total - pos)
        xb = x[:m]
        # Tied: work straight in the stacked buffers (no stacking copies).
        if tied:
            xtb = stack_x[:m]
            zb = stack_x[m:2 * m]
            dhb = stack_h[:m]
            hb = stack_h[m:2 * m]
        else:
            xtb = xt[:m]
            zb = z[:m]
            dhb = dh[:m]
            hb = h[:m]
        for i in range(m):
            src = order[pos + i]
            for j in range(n):
                xb[i, j] = images[src, j] * pixel_scale
        if stream == STREAM_COUNTER:
            compressed = _corrupt_parts(parts, xb, xtb, noise, q, sigma, key_seed,
                                        np.uint64(step0 + done), sparse_density,
                                        sparse_ws[0], sparse_ws[1], sparse_ws[2], counts)
        else:
            compressed = _corrupt_batch(rng, xb, xtb, noise, q, sigma, sparse_density,
                                        sparse_ws[0], sparse_ws[1], sparse_ws[2])
        recon, l2_term, sparsity = _step(
            xtb, xb, W, b, c, V, tied, loss, decoder, l2, beta, rho, rho_clip,
            hb, zb, dhb, gW, gb, gc, gV, rho_hat, stack_x, stack_h, sparse_ws,
            compressed, direct, lr, tied, scratch)
        total = recon + l2_term + sparsity
        if not np.isfinite(total):
            # (plain SGD has taken the step already; the trainer restores the
            # chunk's starting weights either way)
            return done, pos, False
        if not direct:
            _optimizer_step(parts, W, b, c, V, gW, gb, gc, gV, opt_W, opt_b, opt_c, opt_V,
                            tied, optimizer, lr, adam_t + done + 1)
        sums[0] += recon
        sums[1] += l2_term
        sums[2] += sparsity
        sums[3] += 1.0
        pos += m
        done += 1
    finite = _all_finite(W) and _all_finite(b) and _all_finite(c)
    if not tied:
        finite = finite and _all_finite(V)
    return done, pos, finite


ENCODE_BLOCK = 256  # rows per product when encoding or measuring a whole set


@numba.njit(**_JIT)
def _encode_blocks(images, W, b, out, first, last):
    """Blocks first..last (ENCODE_BLOCK rows each) of _encode."""
    m, n = images.shape
    k = W.shape[1]
    xb = np.empty((ENCODE_BLOCK, n), W.dtype)
    scale = _pixel_scale(images)
    for block in range(first, last):
        start = block * ENCODE_BLOCK
        stop = min(start + ENCODE_BLOCK, m)
        rows = stop - start
        _scaled_rows(images, start, rows, scale, xb)
        hb = out[start:stop]
        np.dot(xb[:rows], W, hb)
        for i in range(rows):
            for l in range(k):
                hb[i, l] = 1.0 / (1.0 + np.exp(-(hb[i, l] + b[l])))


@numba.njit(**_JIT_PAR)
def _encode(images, W, b, out, parts):
    """Hidden activations h(x) of clean images (rows: uint8 scaled by 1/255, or float
    rows as they are; _pixel_scale), written into out (N×k); the blocks of rows
    split into `parts` run in parallel (each row's result is the same for any split)."""
    blocks = (images.shape[0] + ENCODE_BLOCK - 1) // ENCODE_BLOCK
    for part in numba.prange(parts):
        first, last = _span(np.int64(part), parts, blocks, 1)
        _encode_blocks(images, W, b, out, first, last)


@numba.njit(**_JIT)
def _held_out_blocks(images, W, b, c, V, tied, loss, decoder, recon, activation, first, last):
    """Blocks first..last (ENCODE_BLOCK rows each) of _held_out: recon[block] and
    activation[block] ← the block's loss sum and each unit's activation sum."""
    m, n = images.shape
    k = W.shape[1]
    x = np.empty((ENCODE_BLOCK, n), W.dtype)
    h = np.empty((ENCODE_BLOCK, k), W.dtype)
    z = np.empty((ENCODE_BLOCK, n), W.dtype)
    ebuf, bits, lanes = _exp_scratch(W)
    consts = np.empty(2, W.dtype)
    consts[0] = 1.0
    consts[1] = _pixel_scale(images)
    one = consts[0]
    no_sparse = _sparse_workspace(W, 0)
    for block in range(first, last):
        start = block * ENCODE_BLOCK
        rows = min(ENCODE_BLOCK, m - start)
        xb, hb, zb = x[:rows], h[:rows], z[:rows]
        _scaled_rows(images, start, rows, consts[1], xb)
        _encode_rows(xb, no_sparse, False, W, b, hb, one, ebuf, bits, 0, k)
        _decode_part(hb, W, V, tied, zb, 0, k)
        recon[block] = _loss_rows(zb, xb, c, loss, decoder, one, one, ebuf, bits, lanes, 0, rows)
        for i in range(rows):
            for l in range(k):
                activation[block, l] += hb[i, l]


@numba.njit(**_JIT_PAR)
def _held_out(images, W, b, c, V, tied, loss, decoder, parts, rho_hat):
    """The held-out measurement of clean images (as _encode takes them): returns the
    reconstruction loss summed over pixels and averaged over the rows, rho_hat ←
    each unit's mean activation (float64). Blocks of rows split into `parts` run
    in parallel; their sums are added in block order, so the result does not
    depend on the split."""
    m = images.shape[0]
    k = W.shape[1]
    blocks = (m + ENCODE_BLOCK - 1) // ENCODE_BLOCK
    recon = np.zeros(blocks)
    activation = np.zeros((blocks, k))
    for part in numba.prange(parts):
        first, last = _span(np.int64(part), parts, blocks, 1)
        _held_out_blocks(images, W, b, c, V, tied, loss, decoder, recon, activation,
                         first, last)
    total = 0.0
    for l in range(k):
        rho_hat[l] = 0.0
    for block in range(blocks):
        total += recon[block]
        for l in range(k):
            rho_hat[l] += activation[block, l]
    for l in range(k):
        rho_hat[l] /= m
    return total / m


@numba.njit(**_JIT)
def _reconstruct(x, W, b, c, V, tied, decoder, out):
    """x̂ = f(h(x)V + c) for rows x (floats in W's dtype, possibly corrupted; V = Wᵀ
    when tied; f the sigmoid, or the identity for the linear decoder), into out."""
    m, n = x.shape
    k = W.shape[1]
    h = np.empty((m, k), W.dtype)
    ebuf, bits, _ = _exp_scratch(W)
    consts = np.empty(1, W.dtype)
    consts[0] = 1.0
    one = consts[0]
    zero = one - one
    _encode_rows(x, _sparse_workspace(W, 0), False, W, b, h, one, ebuf, bits, 0, k)
    _decode_part(h, W, V, tied, out, 0, k)
    for i in range(m):
        for j in range(n):
            a = out[i, j] + c[j]
            if decoder == DECODER_SIGMOID:
                e = np.exp(-abs(a))
                r = one / (one + e)
                a = r if a >= zero else e * r
            out[i, j] = a
