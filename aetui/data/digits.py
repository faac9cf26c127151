"""Built-in handwriting-like digits, drawn procedurally: no files, no network.

Each digit class has a few pen paths (how people write it: a 4 open or closed,
a 7 with or without a bar, ...), given as points a smooth Catmull-Rom spline
passes through, in a box 1 unit tall with y pointing down. One image is drawn by

1. jittering the path's points (the shape varies: loop sizes, where strokes meet),
2. a random affine map (rotation, slant, width) and a small elastic wobble,
3. normalising like MNIST: the longer side of the ink fits a 20-pixel box and the
   centre of ink goes to the centre of the 28×28 image,
4. depositing ink along the path (bilinear splats every ~0.4 px), blurring it
   by the image's pen width and applying a soft threshold: anti-aliased strokes
   with a dark core and edges that fade over about a pixel, as in MNIST's scans.

Everything is vectorised (numpy, one thread) over the images of one path, so
the 25,000 built-in digits take about a second. The output depends only on
the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZE = 28
N_TRAIN = 20_000
N_TEST = 5_000
# MNIST: the digit's longer side fills 20 px; its centre of mass lands at (14, 14)
# in pixel-index coordinates (measured on the training set: 14.0 ± 0.3).
BOX = 20.0
CENTRE = 14.0
SAMPLES_PER_UNIT = 48  # path samples per unit of template length (~0.4 px apart)
# The hand, in template units (the digit is 1 tall) and radians: jitter of each
# path point and of whole strokes, rotation, slant (shear, mean and spread),
# width relative to height, amplitude of each of the three elastic waves.
POINT_JITTER = 0.03
STROKE_SHIFT = 0.025
ROTATION = 0.12
SLANT = (0.12, 0.18)
WIDTH = (0.75, 1.15)
ELASTIC = 0.015
# The pen: Gaussian width (px), how much of the box its edges take, and the soft
# threshold on the blurred ink (a line peaks at 1): 0 below `low`, 255 above
# `low + ramp`. Tuned so stroke widths and grey levels resemble MNIST's.
PEN_SIGMA = (0.6, 1.1)
PEN_MARGIN = 2.5
EDGE_LOW = (0.1, 0.25)
EDGE_RAMP = (0.3, 0.6)

# A stroke is (points, closed). Coordinates: x right, y down, the digit ~1 tall.
Stroke = tuple[list[tuple[float, float]], bool]

_OVAL = [(0.50, 0.00), (0.22, 0.12), (0.12, 0.50), (0.24, 0.88), (0.50, 1.00),
         (0.77, 0.88), (0.88, 0.50), (0.77, 0.12)]

TEMPLATES: dict[int, list[tuple[float, list[Stroke]]]] = {
    # (how often, strokes)
    0: [
        (0.6, [(_OVAL, True)]),
        (0.4, [([(0.62, 0.04), (0.42, 0.02), (0.24, 0.20), (0.18, 0.55), (0.30, 0.90),
                 (0.52, 1.00), (0.75, 0.85), (0.82, 0.45), (0.70, 0.12), (0.50, 0.03),
                 (0.40, 0.06)], False)]),
    ],
    1: [
        (0.7, [([(0.52, 0.00), (0.50, 0.50), (0.48, 1.00)], False)]),
        (0.3, [([(0.34, 0.18), (0.54, 0.00)], False),
               ([(0.54, 0.00), (0.51, 0.50), (0.48, 1.00)], False)]),
    ],
    2: [
        (0.6, [([(0.18, 0.22), (0.34, 0.04), (0.58, 0.01), (0.77, 0.18), (0.72, 0.44),
                 (0.46, 0.70), (0.18, 0.97)], False),
               ([(0.18, 0.97), (0.52, 0.95), (0.86, 0.98)], False)]),
        (0.4, [([(0.18, 0.22), (0.34, 0.04), (0.58, 0.01), (0.77, 0.18), (0.72, 0.44),
                 (0.50, 0.66), (0.34, 0.78), (0.20, 0.80), (0.12, 0.90), (0.22, 0.99),
                 (0.36, 0.92), (0.50, 0.92), (0.70, 0.96), (0.88, 0.92)], False)]),
    ],
    3: [
        (0.7, [([(0.18, 0.14), (0.45, 0.00), (0.74, 0.10), (0.74, 0.32), (0.44, 0.48)], False),
               ([(0.44, 0.48), (0.74, 0.58), (0.80, 0.80), (0.56, 0.99), (0.28, 0.97),
                 (0.14, 0.85)], False)]),
        (0.3, [([(0.18, 0.04), (0.50, 0.02), (0.76, 0.04)], False),
               ([(0.76, 0.04), (0.60, 0.24), (0.44, 0.44)], False),
               ([(0.44, 0.44), (0.74, 0.56), (0.80, 0.80), (0.56, 0.99), (0.28, 0.97),
                 (0.14, 0.85)], False)]),
    ],
    4: [
        (0.6, [([(0.22, 0.00), (0.18, 0.30), (0.14, 0.58)], False),
               ([(0.14, 0.58), (0.50, 0.58), (0.86, 0.56)], False),
               ([(0.70, 0.02), (0.68, 0.50), (0.66, 1.00)], False)]),
        (0.4, [([(0.66, 0.00), (0.40, 0.32), (0.10, 0.66)], False),
               ([(0.10, 0.66), (0.50, 0.66), (0.90, 0.64)], False),
               ([(0.66, 0.00), (0.66, 0.50), (0.66, 1.00)], False)]),
    ],
    5: [
        (0.4, [([(0.78, 0.02), (0.55, 0.03), (0.32, 0.04)], False),
               ([(0.32, 0.04), (0.29, 0.28), (0.26, 0.52)], False),
               ([(0.26, 0.52), (0.52, 0.46), (0.74, 0.60), (0.74, 0.82), (0.52, 0.98),
                 (0.22, 0.92)], False)]),
        (0.6, [([(0.80, 0.02), (0.55, 0.02), (0.30, 0.03)], False),
               ([(0.30, 0.03), (0.28, 0.22), (0.24, 0.46)], False),
               ([(0.24, 0.46), (0.50, 0.38), (0.76, 0.52), (0.80, 0.78), (0.56, 0.98),
                 (0.30, 0.98), (0.14, 0.86)], False)]),
    ],
    6: [
        (0.4, [([(0.72, 0.02), (0.46, 0.16), (0.26, 0.48), (0.24, 0.80), (0.44, 0.99),
                 (0.70, 0.92), (0.78, 0.70), (0.60, 0.53), (0.38, 0.56), (0.24, 0.72)],
                False)]),
        (0.3, [([(0.70, 0.00), (0.42, 0.18), (0.22, 0.50), (0.20, 0.78), (0.40, 0.98),
                 (0.68, 0.94), (0.80, 0.72), (0.64, 0.48), (0.40, 0.46), (0.22, 0.62)],
                False)]),
        (0.3, [([(0.74, 0.00), (0.52, 0.30), (0.34, 0.62), (0.30, 0.86), (0.46, 0.99),
                 (0.66, 0.90), (0.68, 0.72), (0.52, 0.62), (0.34, 0.70)], False)]),
    ],
    7: [
        (0.3, [([(0.20, 0.04), (0.50, 0.03), (0.80, 0.04)], False),
               ([(0.80, 0.04), (0.72, 0.50), (0.64, 1.00)], False)]),
        (0.5, [([(0.14, 0.04), (0.50, 0.02), (0.86, 0.04)], False),
               ([(0.86, 0.04), (0.64, 0.44), (0.46, 1.00)], False)]),
        (0.3, [([(0.14, 0.04), (0.50, 0.02), (0.86, 0.04)], False),
               ([(0.86, 0.04), (0.64, 0.44), (0.46, 1.00)], False),
               ([(0.38, 0.50), (0.60, 0.50), (0.82, 0.48)], False)]),
    ],
    8: [
        (0.6, [([(0.70, 0.12), (0.50, 0.00), (0.28, 0.10), (0.30, 0.32), (0.50, 0.46),
                 (0.74, 0.62), (0.74, 0.88), (0.50, 1.00), (0.26, 0.88), (0.27, 0.62),
                 (0.50, 0.46), (0.70, 0.30), (0.70, 0.12)], False)]),
        (0.4, [([(0.50, 0.00), (0.30, 0.11), (0.32, 0.34), (0.50, 0.45), (0.68, 0.34),
                 (0.70, 0.11)], True),
               ([(0.50, 0.45), (0.26, 0.58), (0.24, 0.86), (0.50, 1.00), (0.76, 0.86),
                 (0.74, 0.58)], True)]),
    ],
    9: [
        (0.7, [([(0.74, 0.16), (0.50, 0.00), (0.26, 0.12), (0.26, 0.36), (0.50, 0.48),
                 (0.74, 0.34)], True),
               ([(0.76, 0.10), (0.74, 0.55), (0.70, 1.00)], False)]),
        (0.3, [([(0.74, 0.16), (0.50, 0.00), (0.26, 0.12), (0.26, 0.36), (0.50, 0.48),
                 (0.74, 0.34)], True),
               ([(0.76, 0.10), (0.74, 0.60), (0.58, 0.92), (0.34, 0.96)], False)]),
    ],
}


@dataclass(frozen=True)
class _Path:
    """A template sampled evenly along its length, as a linear map of its points.

    `basis` (samples × points) turns the (jittered) control points into path
    samples: Catmull-Rom splines are linear in their control points, so one
    matrix product draws every image of this path at once.
    """

    label: int
    weight: float
    points: np.ndarray   # (C, 2) control points
    basis: np.ndarray    # (P, C)
    stroke_of_point: np.ndarray  # (C,) stroke index of each control point


def _catmull_rom_weights(t: np.ndarray) -> np.ndarray:
    """Uniform Catmull-Rom weights of (P0, P1, P2, P3) at t in [0, 1]; shape (len(t), 4)."""
    t2, t3 = t * t, t * t * t
    return 0.5 * np.stack([-t + 2 * t2 - t3, 2 - 5 * t2 + 3 * t3,
                           t + 4 * t2 - 3 * t3, -t2 + t3], axis=1)


def _stroke_basis(n: int, closed: bool, u: np.ndarray) -> np.ndarray:
    """(len(u), n) weights giving the spline through n points at parameters u in [0, segments]."""
    segments = n if closed else n - 1
    seg = np.minimum(np.floor(u).astype(int), segments - 1)
    local = _catmull_rom_weights(u - seg)
    out = np.zeros((len(u), n))
    rows = np.arange(len(u))
    for j in range(4):
        idx = seg + j - 1
        if closed:
            np.add.at(out, (rows, idx % n), local[:, j])
            continue
        # Open ends: phantom points reflected through the end points (P-1 = 2P0 - P1).
        before, after = idx < 0, idx > n - 1
        inside = ~(before | after)
        np.add.at(out, (rows[inside], idx[inside]), local[inside, j])
        np.add.at(out, (rows[before], 0), 2 * local[before, j])
        np.add.at(out, (rows[before], 1), -local[before, j])
        np.add.at(out, (rows[after], n - 1), 2 * local[after, j])
        np.add.at(out, (rows[after], n - 2), -local[after, j])
    return out


def _build_path(label: int, weight: float, strokes: list[Stroke]) -> _Path:
    blocks, pts, owner = [], [], []
    for s, (points, closed) in enumerate(strokes):
        p = np.asarray(points, dtype=np.float64)
        segments = len(p) if closed else len(p) - 1
        dense_u = np.linspace(0, segments, 64 * segments + 1)
        dense = _stroke_basis(len(p), closed, dense_u) @ p
        arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
        count = max(2, int(np.ceil(arc[-1] * SAMPLES_PER_UNIT)) + 1)
        u = np.interp(np.linspace(0, arc[-1], count), arc, dense_u)  # even in arc length
        blocks.append(_stroke_basis(len(p), closed, u))
        pts.append(p)
        owner.append(np.full(len(p), s))
    total = sum(len(p) for p in pts)
    basis = np.zeros((sum(len(b) for b in blocks), total))
    row = col = 0
    for b in blocks:
        basis[row:row + len(b), col:col + b.shape[1]] = b
        row, col = row + len(b), col + b.shape[1]
    return _Path(label, weight, np.concatenate(pts), basis.astype(np.float32),
                 np.concatenate(owner))


_PATHS = [_build_path(label, w, strokes)
          for label, variants in TEMPLATES.items() for w, strokes in variants]


def generate(n: int, seed: int | np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """`n` digits: images n × 784 uint8 (0 = background) and labels n uint8.

    Labels are balanced (each class n // 10 or one more) and shuffled; the
    result depends only on (n, seed).
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    images = np.zeros((n, SIZE * SIZE), dtype=np.uint8)
    for label in range(10):
        where = np.flatnonzero(labels == label)
        paths = [p for p in _PATHS if p.label == label]
        odds = np.array([p.weight for p in paths])
        choice = rng.choice(len(paths), size=len(where), p=odds / odds.sum())
        for k, path in enumerate(paths):
            chosen = where[choice == k]
            if len(chosen):
                images[chosen] = _draw(path, len(chosen), rng)
    return images, labels


def builtin(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The built-in dataset: N_TRAIN training and N_TEST test digits from `seed`,
    as (train_x, train_y, test_x, test_y); images uint8 × 784, labels uint8."""
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    train_x, train_y = generate(N_TRAIN, train_seed)
    test_x, test_y = generate(N_TEST, test_seed)
    return train_x, train_y, test_x, test_y


def _draw(path: _Path, n: int, rng: np.random.Generator) -> np.ndarray:
    """n images (n × 784 uint8) of one path, each with its own hand."""
    c = len(path.points)
    # 1. Shape: every control point moves a little, each stroke as a whole a bit more.
    n_strokes = path.stroke_of_point.max() + 1
    stroke_shift = rng.normal(0, STROKE_SHIFT, (n, n_strokes, 2))[:, path.stroke_of_point]
    ctrl = path.points + rng.normal(0, POINT_JITTER, (n, c, 2)) + stroke_shift
    pts = path.basis @ ctrl.astype(np.float32)  # (n, P, 2)

    # 2. Hand: rotation, slant (shear: the top leans right), width; then a wobble.
    x, y = pts[..., 0] - 0.5, pts[..., 1] - 0.5
    angle = rng.normal(0, ROTATION, (n, 1))
    slant = rng.normal(SLANT[0], SLANT[1], (n, 1))
    width = rng.uniform(WIDTH[0], WIDTH[1], (n, 1))
    x = (x - slant * y) * width
    cos, sin = np.cos(angle), np.sin(angle)
    x, y = cos * x - sin * y, sin * x + cos * y
    x, y = _elastic(x, y, rng)

    # 3. MNIST's normalisation, on the pen's centre line: the longer side fits the box
    # (less the pen's width) and the centre of ink goes to the image centre.
    pen = rng.uniform(PEN_SIGMA[0], PEN_SIGMA[1], (n, 1))  # Gaussian width of the pen, px
    seg = _segment_lengths(x, y)
    extent = np.maximum(np.ptp(x, axis=1, keepdims=True), np.ptp(y, axis=1, keepdims=True))
    scale = (BOX - PEN_MARGIN * pen) / extent
    ink = seg.sum(axis=1, keepdims=True)
    cx = (seg * x).sum(axis=1, keepdims=True) / ink
    cy = (seg * y).sum(axis=1, keepdims=True) / ink
    px = (x - cx) * scale + CENTRE
    py = (y - cy) * scale + CENTRE

    # 4. Ink: deposit length-weighted splats and blur by the pen, so that a line's
    # profile peaks at 1 (~2 where strokes cross); then a soft threshold: a dark
    # core, edges fading over about a pixel, and exactly 0 away from the strokes.
    density = _blur(_splat(px, py, (seg * scale).astype(np.float32), n), pen[:, 0])
    density *= (np.sqrt(2 * np.pi) * pen[:, :, None]).astype(np.float32)
    low = rng.uniform(EDGE_LOW[0], EDGE_LOW[1], (n, 1, 1)).astype(np.float32)
    high = low + rng.uniform(EDGE_RAMP[0], EDGE_RAMP[1], (n, 1, 1)).astype(np.float32)
    value = np.clip((density - low) / (high - low), 0.0, 1.0)
    return np.rint(value * 255).astype(np.uint8).reshape(n, SIZE * SIZE)


def _elastic(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """A smooth random displacement (three low-frequency waves), about 2–3% of the height."""
    n = x.shape[0]
    for _ in range(3):
        freq = rng.normal(0, 1.2, (n, 1, 2)) * 2 * np.pi
        phase = rng.uniform(0, 2 * np.pi, (n, 1))
        amp = rng.normal(0, ELASTIC, (n, 1, 2))
        wave = np.sin(freq[..., 0] * x + freq[..., 1] * y + phase)
        x = x + amp[..., 0] * wave
        y = y + amp[..., 1] * wave
    return x, y


def _segment_lengths(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Length of path each sample stands for (half of each neighbouring segment).

    Consecutive strokes are adjacent in the arrays, but the jump from one
    stroke's end to the next one's start is not ink: steps longer than twice
    the median spacing count as 0.
    """
    step = np.hypot(np.diff(x, axis=1), np.diff(y, axis=1))
    cap = 2.0 * np.median(step, axis=1, keepdims=True)
    step = np.where(step > cap, 0.0, step)
    out = np.zeros_like(x)
    out[:, 1:] += 0.5 * step
    out[:, :-1] += 0.5 * step
    return out


def _splat(px: np.ndarray, py: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """Ink per pixel (n × 28 × 28, float32) from weighted points, shared bilinearly
    among the 4 nearest pixels. Points are kept on the canvas (clipped), which
    changes nothing for digits normalised into the central 20-pixel box."""
    px = np.clip(px, 0.0, SIZE - 1.001)
    py = np.clip(py, 0.0, SIZE - 1.001)
    x0, y0 = px.astype(np.int64), py.astype(np.int64)
    fx, fy = (px - x0).astype(np.float32), (py - y0).astype(np.float32)
    base = np.arange(n)[:, None] * (SIZE * SIZE) + y0 * SIZE + x0
    flat = np.concatenate([base, base + 1, base + SIZE, base + SIZE + 1], axis=None)
    gx, gy = 1 - fx, 1 - fy
    share = np.concatenate([gx * gy * weight, fx * gy * weight, gx * fy * weight,
                            fx * fy * weight], axis=None)
    total = np.bincount(flat, weights=share, minlength=n * SIZE * SIZE)
    return total.astype(np.float32).reshape(n, SIZE, SIZE)


def _blur(density: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Each image blurred by a Gaussian of its own width `sigma` (px); ink is conserved.

    Separable, as shifted sums over a ±3σ window: plain element-wise numpy on
    one thread, so its speed does not depend on the BLAS and the machine's load.
    """
    radius = int(np.ceil(3 * sigma.max()))
    offsets = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 * (offsets[None, :] / sigma[:, None]) ** 2)
    w = (w / w.sum(axis=1, keepdims=True)).astype(np.float32)[:, :, None, None]
    padded = np.pad(density, ((0, 0), (radius, radius), (radius, radius)))
    rows = w[:, 0] * padded[:, :, 0:SIZE]
    for j in range(1, 2 * radius + 1):
        rows += w[:, j] * padded[:, :, j:j + SIZE]
    out = w[:, 0] * rows[:, 0:SIZE, :]
    for j in range(1, 2 * radius + 1):
        out += w[:, j] * rows[:, j:j + SIZE, :]
    return out
