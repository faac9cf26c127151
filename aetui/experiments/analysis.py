"""What a learned representation is worth: filters, PCA, smoothness, linear probes.

Pure numpy/scipy (no numba, no Textual), so the command line, the experiments
and the lab's background workers can all call it from any thread.

Conventions: images are rows of `n_in` pixels (784 for 28×28), uint8 in 0..255
or float in [0, 1]; uint8 input is scaled by 1/255, the same scaling the
trainer uses. Accuracies are fractions in [0, 1] (not percentages).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from aetui.data import as_float
from aetui.engine.blas import hold_engine_threads
from aetui.engine.engine import held_out
from aetui.engine.model import hidden_activations

# progress(stage, fraction) with fraction in [0, 1]; stage names what is running.
Progress = Callable[[str, float], None]

# Probe settings calibrated on raw MNIST pixels (see fit_linear_probe): the
# penalty is l2·‖W‖² on standardised features, added to the mean cross-entropy.
# At l2 = 1e-4 raw pixels give 92.7% test accuracy (measured; README, "Reproducing the
# references", has the tutorial's figure for its own SGD logistic regression); 100
# L-BFGS iterations are within 0.1 point of full convergence and cost half of 200.
PROBE_L2 = 1e-4
PROBE_MAX_ITER = 100
# Stop early once an iteration lowers the objective by less than this (nats per
# example): PCA features converge in ~50 iterations; raw pixels and h(x) use all 100.
PROBE_FTOL = 1e-6


# ---------------------------------------------------------------- filters


def filter_smoothness(filters: np.ndarray, shape: tuple[int, int] = (28, 28)) -> float:
    """Mean spatial autocorrelation of filters at a one-pixel shift.

    For each filter (a row of `filters`, reshaped to `shape`), the Pearson
    correlation of the image with itself shifted one pixel right and, separately,
    one pixel down, over the overlapping pixels; the two are averaged, then the
    mean is taken over filters. Dimensionless, in [-1, 1]: about 0 for
    pixel-independent noise, near 1 for wide smooth strokes. Constant filters
    (no variance) are left out; returns NaN if every filter is constant.
    """
    f = np.asarray(filters, dtype=np.float64)
    rows, cols = shape
    if f.ndim != 2 or f.shape[1] != rows * cols:
        raise ValueError(f"filters must be n × {rows * cols}, got shape {f.shape}")
    images = f.reshape(-1, rows, cols)
    right = _rowwise_corr(images[:, :, :-1], images[:, :, 1:])
    down = _rowwise_corr(images[:, :-1, :], images[:, 1:, :])
    per_filter = 0.5 * (right + down)
    if np.all(np.isnan(per_filter)):
        return float("nan")
    return float(np.nanmean(per_filter))


def _rowwise_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation between a[i] and b[i] for each i (NaN when one is constant)."""
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / denom, np.nan)


# ---------------------------------------------------------------- edges vs gratings

LOCALITY_RADIUS = 2.0  # pixels around a filter's peak counted as "local"
SPECTRUM_SIZE = 32  # filters are zero-padded to this before their 2-D FFT


def filter_planes(filters: np.ndarray, shape: tuple[int, int],
                  channels: int = 1) -> np.ndarray:
    """Filters as (n, channels, h, w) arrays. `shape` is how a row is drawn: a colour
    patch is h × (channels·w), row i holding row i of each plane in turn."""
    f = np.asarray(filters, dtype=np.float64)
    h, width = shape
    if f.ndim != 2 or f.shape[1] != h * width or width % channels:
        raise ValueError(f"filters must be n × {h * width} with {channels} planes, "
                         f"got shape {f.shape}")
    return f.reshape(len(f), h, channels, width // channels).transpose(0, 2, 1, 3)


def filter_locality(filters: np.ndarray, shape: tuple[int, int], channels: int = 1,
                    radius: float = LOCALITY_RADIUS) -> np.ndarray:
    """Share of each filter's energy (Σ w², summed over colour planes) within `radius`
    pixels (Euclidean) of its peak-energy pixel, per filter, in [0, 1].

    An edge detector (localized) scores high; a global grating spreads its
    energy evenly and scores about the window's share of the patch (13 of 64
    pixels for r = 2 on 8 × 8, so ≈ 0.2). An all-zero filter gives NaN.
    """
    energy = (filter_planes(filters, shape, channels) ** 2).sum(axis=1)  # (n, h, w)
    n, h, w = energy.shape
    flat = energy.reshape(n, -1)
    peak = flat.argmax(axis=1)
    yy, xx = np.mgrid[0:h, 0:w]
    dist2 = ((yy.ravel()[None, :] - (peak // w)[:, None]) ** 2
             + (xx.ravel()[None, :] - (peak % w)[:, None]) ** 2)
    near = (flat * (dist2 <= radius * radius)).sum(axis=1)
    total = flat.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, near / total, np.nan)


def filter_orientation(filters: np.ndarray, shape: tuple[int, int],
                       channels: int = 1) -> np.ndarray:
    """Orientation selectivity per filter, in [0, 1]: how concentrated the filter's 2-D
    power spectrum (zero-padded, DC left out, colour planes summed) is around one
    orientation — the mean resultant length of the doubled angles 2θ of the
    frequencies, weighted by power. 1: all power along one orientation (an
    edge, or a single grating); near 0: power spread over orientations (blobs,
    plaids, checkerboards). An all-zero filter gives NaN.
    """
    planes = filter_planes(filters, shape, channels)
    planes = planes - planes.mean(axis=(2, 3), keepdims=True)
    size = max(SPECTRUM_SIZE, *planes.shape[2:])
    power = (np.abs(np.fft.fft2(planes, s=(size, size))) ** 2).sum(axis=1)  # (n, s, s)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    angle2 = 2.0 * np.arctan2(fy, fx)
    weight = power.copy()
    weight[:, 0, 0] = 0.0
    total = weight.sum(axis=(1, 2))
    resultant = np.hypot((weight * np.cos(angle2)).sum(axis=(1, 2)),
                         (weight * np.sin(angle2)).sum(axis=(1, 2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, resultant / total, np.nan)


def edge_measures(filters: np.ndarray, shape: tuple[int, int],
                  channels: int = 1) -> dict[str, float]:
    """Means over a set of filters: {"locality": …, "orientation": …} (see above)."""
    return {"locality": float(np.nanmean(filter_locality(filters, shape, channels))),
            "orientation": float(np.nanmean(filter_orientation(filters, shape, channels)))}


def no_structure_baseline(shape: tuple[int, int], channels: int = 1, count: int = 2000,
                          seed: int = 0) -> dict[str, float]:
    """edge_measures of `count` white-noise filters (i.i.d. Gaussian pixels): what a set
    of filters with no structure scores at this patch shape. Locality falls with the
    patch size (the 2-px window is a smaller share of a larger patch): about 0.25 on
    8 × 8, 0.13 on 12 × 12, 0.08 on 16 × 16; orientation about 0.13, 0.09, 0.07."""
    rng = np.random.default_rng(seed)
    return edge_measures(rng.standard_normal((count, shape[0] * shape[1])), shape, channels)


# ---------------------------------------------------------------- PCA


@dataclass(frozen=True)
class PCA:
    """Principal directions of a data set (pixels scaled to [0, 1]).

    components: k × n_in, unit-norm rows, by decreasing variance;
    variances: the k eigenvalues (variance per direction, pixel units²);
    mean: n_in, the data mean that `transform` subtracts.
    """

    components: np.ndarray
    variances: np.ndarray
    mean: np.ndarray

    def transform(self, x: np.ndarray, batch: int = 10_000) -> np.ndarray:
        """Coordinates of each row of x along the components: float32, N × k."""
        out = np.empty((len(x), len(self.components)), dtype=np.float32)
        comps = self.components.T.astype(np.float32)
        mean = self.mean.astype(np.float32)
        for start in range(0, len(x), batch):
            out[start:start + batch] = (as_unit_float(x[start:start + batch]) - mean) @ comps
        return out


def fit_pca(x: np.ndarray, k: int, batch: int = 10_000) -> PCA:
    """PCA of the rows of x by an eigendecomposition of the n_in × n_in covariance.

    The covariance is accumulated in float64 over chunks (784 × 784 is cheap,
    and float64 keeps the small eigenvalues honest). Each component's sign is
    fixed so that its largest-magnitude entry is positive, so the result is
    deterministic.
    """
    n, n_in = x.shape
    if not 1 <= k <= n_in:
        raise ValueError(f"k must be in 1..{n_in}, got {k}")
    if n < 2:
        raise ValueError("PCA needs at least 2 rows")
    total = np.zeros(n_in)
    gram = np.zeros((n_in, n_in))
    for start in range(0, n, batch):
        chunk = as_unit_float(x[start:start + batch]).astype(np.float64)
        total += chunk.sum(axis=0)
        gram += chunk.T @ chunk
    mean = total / n
    cov = (gram - n * np.outer(mean, mean)) / (n - 1)
    values, vectors = np.linalg.eigh(cov)  # ascending
    order = np.argsort(values)[::-1][:k]
    comps = vectors[:, order].T
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    return PCA(components=comps, variances=np.maximum(values[order], 0.0), mean=mean)


def pca_components(x_uint8: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """The k leading unit-norm principal directions of the images: float32, k × n_in.

    `seed` is accepted for the contract's signature; the covariance
    eigendecomposition used here is exact and needs no randomness.
    """
    del seed
    return fit_pca(x_uint8, k).components.astype(np.float32)


# ---------------------------------------------------------------- linear probe


@dataclass(frozen=True)
class LinearProbe:
    """A fitted multinomial logistic regression on standardised features.

    keep: which of the d input features vary on the training set (constant
    ones carry no information and are left out); mean/scale: their
    standardisation; weights: (number kept) × C; bias: C; classes: the C
    labels; iterations: L-BFGS iterations used; loss: final training objective
    (mean cross-entropy in nats per example + penalty).
    """

    weights: np.ndarray
    bias: np.ndarray
    classes: np.ndarray
    keep: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    iterations: int
    loss: float

    def decision(self, features: np.ndarray) -> np.ndarray:
        """Class scores (logits), float32, N × C."""
        z = _standardise(features, self.keep, self.mean, self.scale)
        return z @ self.weights.astype(np.float32) + self.bias.astype(np.float32)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The predicted label of each row."""
        return self.classes[np.argmax(self.decision(features), axis=1)]

    def accuracy(self, features: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows whose predicted label equals y, in [0, 1]."""
        y = np.asarray(y)
        if len(y) != len(features):
            raise ValueError(f"{len(features)} feature rows but {len(y)} labels")
        return float(np.mean(self.predict(features) == y))


def fit_linear_probe(
    train_features: np.ndarray,
    train_y: np.ndarray,
    l2: float = PROBE_L2,
    *,
    max_iter: int = PROBE_MAX_ITER,
    progress: Callable[[float], None] | None = None,
) -> LinearProbe:
    """Fit softmax regression by L-BFGS (scipy) on standardised features.

    Minimises (1/N) Σᵢ −log softmax(zᵢW + b)[yᵢ] + l2·‖W‖², the bias not
    penalised, where z is each feature standardised by the training mean and
    standard deviation (constant features are dropped). Loss and gradient are
    vectorised in float32 (the matrix products dominate) and handed to the
    optimiser in float64. `progress(fraction)` is called after every iteration.
    """
    x = np.asarray(train_features)
    y = np.asarray(train_y)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"features must be N × d with N labels, got {x.shape} and {y.shape}")
    classes, y_index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError("a probe needs at least two classes in the training labels")
    keep, mean, scale = _standardisation(x)
    z = _standardise(x, keep, mean, scale)
    n, d = z.shape
    c = len(classes)
    onehot = np.zeros((n, c), dtype=np.float32)
    onehot[np.arange(n), y_index] = 1.0

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * c].reshape(d, c)
        b = theta[d * c:]
        logits = z @ w.astype(np.float32) + b.astype(np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        sums = exp.sum(axis=1, keepdims=True)
        log_lik = (logits * onehot).sum() - np.log(sums).sum()
        probs = exp / sums
        probs -= onehot
        probs /= n
        grad_w = (z.T @ probs).astype(np.float64) + 2.0 * l2 * w
        grad_b = probs.sum(axis=0, dtype=np.float64)
        loss = -float(log_lik) / n + l2 * float(np.sum(w * w))
        return loss, np.concatenate([grad_w.ravel(), grad_b])

    done = [0]

    def callback(_theta: np.ndarray) -> None:
        done[0] += 1
        if progress is not None:
            progress(min(done[0] / max_iter, 1.0))

    # L-BFGS-B's bookkeeping runs in scipy's OpenBLAS (see aetui/engine/blas.py).
    hold_engine_threads(1)
    result = optimize.minimize(
        objective, np.zeros(d * c + c), jac=True, method="L-BFGS-B", callback=callback,
        options={"maxiter": max_iter, "maxcor": 20, "ftol": PROBE_FTOL, "gtol": 1e-6},
    )
    if progress is not None:
        progress(1.0)
    theta = result.x
    return LinearProbe(
        weights=theta[: d * c].reshape(d, c).astype(np.float32),
        bias=theta[d * c:].astype(np.float32),
        classes=classes, keep=keep, mean=mean, scale=scale,
        iterations=int(result.nit), loss=float(result.fun),
    )


def probe_accuracies(
    params,
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    progress: Progress | None = None,
    *,
    which: Sequence[str] = ("raw", "features", "pca"),
    l2: float = PROBE_L2,
    max_iter: int = PROBE_MAX_ITER,
    pca_k: int | None = None,
    workers: int = 1,
) -> dict[str, float]:
    """Test accuracy of a linear probe on three representations of the images.

    "raw": the pixels; "features": the encoder's hidden activations h(x) on
    clean inputs (`params` with W, b); "pca": the pixels projected on as many
    principal directions (fitted on train_x) as the model has hidden units
    (or `pca_k`; `params` may then be None when "features" is not asked for).
    Each probe is fitted on the training split and scored on the test split.
    Returns {name: accuracy in [0, 1]} for the names in `which`.
    `progress(name, fraction)` reports each probe as it runs (name as in `which`).
    workers > 1: that many probes at once, each on its own thread with every BLAS
    pool held to one thread (README, "Threads"); the accuracies are the same.
    """
    unknown = set(which) - {"raw", "features", "pca"}
    if unknown:
        raise ValueError(f"unknown probe(s): {', '.join(sorted(unknown))}")
    if params is None and ("features" in which or ("pca" in which and pca_k is None)):
        raise ValueError("params are needed for the features probe and to size PCA")
    k = pca_k if pca_k is not None else int(np.asarray(params.W).shape[1])

    def one(name: str) -> float:
        # Stage 0 covers the preparation (encoding, PCA fit); the probe fills the rest.
        _report(progress, name, 0.0)
        if name == "raw":
            train_f, test_f = train_x, test_x
        elif name == "features":
            train_f = encode(params, train_x)
            test_f = encode(params, test_x)
        else:
            pca = fit_pca(train_x, min(k, train_x.shape[1]))
            train_f, test_f = pca.transform(train_x), pca.transform(test_x)

        def step(fraction: float, stage: str = name) -> None:
            _report(progress, stage, fraction)

        probe = fit_linear_probe(train_f, train_y, l2, max_iter=max_iter, progress=step)
        return probe.accuracy(test_f, test_y)

    if workers <= 1 or len(which) <= 1:
        return {name: one(name) for name in which}
    from concurrent.futures import ThreadPoolExecutor

    from aetui.engine.blas import all_blas_threads

    with all_blas_threads(1), ThreadPoolExecutor(min(workers, len(which)),
                                                 thread_name_prefix="aetui-probe") as pool:
        futures = {name: pool.submit(one, name) for name in which}
        return {name: f.result() for name, f in futures.items()}


def encode(params, x: np.ndarray) -> np.ndarray:
    """The encoder h(x) = sigmoid(x W + b) on clean inputs: float32, N × k, in (0, 1)."""
    return hidden_activations(params, np.asarray(x))


def reconstruction_loss(params, x: np.ndarray, loss: str = "ce", decoder: str = "sigmoid"
                        ) -> float:
    """Reconstruction loss of clean inputs through the model, per example.

    x̂ = f(h(x) V + c) with V = Wᵀ when `params.V` is None (tied) and f the
    sigmoid (or identity for decoder="linear"); loss "ce" (cross-entropy, in
    nats) or "mse" (squared error), summed over pixels and averaged over the
    rows of x -- the same convention as the trainer's reconstruction term.
    """
    return held_out(params, np.asarray(x), loss, decoder)[0]


# ---------------------------------------------------------------- helpers


def as_unit_float(x: np.ndarray) -> np.ndarray:
    """Pixels as float32 in [0, 1]: uint8 is divided by 255, floats pass through."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return as_float(x)
    return x.astype(np.float32, copy=False)


def _standardisation(x: np.ndarray,
                     batch: int = 10_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which features vary, and their mean and standard deviation (float64)."""
    total = np.zeros(x.shape[1])
    squares = np.zeros(x.shape[1])
    for start in range(0, len(x), batch):
        chunk = as_unit_float(x[start:start + batch]).astype(np.float64)
        total += chunk.sum(axis=0)
        squares += (chunk * chunk).sum(axis=0)
    mean = total / len(x)
    std = np.sqrt(np.maximum(squares / len(x) - mean * mean, 0.0))
    # Constant features (MNIST's border pixels) carry nothing, and 1/std would
    # blow them up on the few test images where they are non-zero; dropping
    # them also saves ~9% of every matrix product on raw pixels.
    keep = std > 1e-6 * max(float(std.max()), 1e-12)
    return keep, mean[keep], std[keep]


def _standardise(x: np.ndarray, keep: np.ndarray, mean: np.ndarray,
                 scale: np.ndarray) -> np.ndarray:
    """The kept columns of x, centred and scaled: float32, N × keep.sum()."""
    out = np.empty((len(x), int(keep.sum())), dtype=np.float32)
    mean32, scale32 = mean.astype(np.float32), scale.astype(np.float32)
    for start in range(0, len(x), 10_000):
        chunk = as_unit_float(x[start:start + 10_000])[:, keep]
        out[start:start + 10_000] = (chunk - mean32) / scale32
    return out


def _report(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, fraction)
