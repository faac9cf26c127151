"""The autoencoder's parameters as contiguous arrays: creation, copies, encoding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Params:
    """W (n_in×k), b (k), c (n_in), and V (k×n_in) when untied (None when tied: V = Wᵀ)."""

    W: np.ndarray
    b: np.ndarray
    c: np.ndarray
    V: np.ndarray | None = None

    @property
    def n_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def hidden(self) -> int:
        return int(self.W.shape[1])

    @property
    def tied(self) -> bool:
        return self.V is None

    def decoder_weights(self) -> np.ndarray:
        """V as used by the decoder (k×n_in): Wᵀ when tied."""
        return self.W.T if self.V is None else self.V

    def copy(self) -> Params:
        return Params(self.W.copy(), self.b.copy(), self.c.copy(),
                      None if self.V is None else self.V.copy())

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"W": self.W, "b": self.b, "c": self.c}
        if self.V is not None:
            out["V"] = self.V
        return out

    def all_finite(self) -> bool:
        return all(bool(np.isfinite(a).all()) for a in self.arrays().values())


def init_params(n_in: int, k: int, seed: int, tied: bool, dtype=np.float32) -> Params:
    """Initialisation of the Theano denoising-autoencoder tutorial.

    W ~ U(±4·√(6/(n_in+k))), biases 0; untied V starts as Wᵀ, as if just untied.
    """
    rng = np.random.default_rng(seed)
    bound = 4.0 * np.sqrt(6.0 / (n_in + k))
    W = np.ascontiguousarray(rng.uniform(-bound, bound, size=(n_in, k)), dtype=dtype)
    b = np.zeros(k, dtype=dtype)
    c = np.zeros(n_in, dtype=dtype)
    V = None if tied else np.ascontiguousarray(W.T)
    return Params(W, b, c, V)


def hidden_activations(params: Params, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """h(x) = sigmoid(x W + b) for clean images, one row per image (N×k float32).

    images: N×n_in uint8 (0..255) or floats already in [0, 1]. `batch`: rows per
    product for float input (bounds the temporaries); uint8 input is converted
    256 rows at a time inside the kernel.
    """
    from aetui.core import kernels

    W = np.ascontiguousarray(params.W, dtype=np.float32)
    b = np.ascontiguousarray(params.b, dtype=np.float32)
    out = np.empty((images.shape[0], W.shape[1]), dtype=np.float32)
    if images.dtype == np.uint8:
        kernels._encode(np.ascontiguousarray(images), W, b, out)
        return out
    step = max(1, int(batch))
    for start in range(0, images.shape[0], step):
        x = np.asarray(images[start:start + step], dtype=np.float32)
        block = out[start:start + step]
        np.dot(x, W, out=block)
        block += b
        block[...] = _sigmoid(block)
    return out


def reconstruct(params: Params, x: np.ndarray, decoder: str = "sigmoid") -> np.ndarray:
    """x̂ for inputs x (rows, floats in [0, 1], possibly corrupted), float32."""
    x = np.asarray(x, dtype=np.float32)
    h = _sigmoid(x @ params.W + params.b)
    a = h @ params.decoder_weights() + params.c
    return _sigmoid(a) if decoder == "sigmoid" else a.astype(np.float32)


def reconstruction_loss_of(params: Params, h: np.ndarray, clean: np.ndarray, loss: str = "ce",
                           decoder: str = "sigmoid") -> float:
    """Reconstruction loss of the rows of `clean` (floats in [0, 1]) from their hidden
    activations `h`, summed over pixels and over rows (divide by the row count for the
    per-example figure): cross-entropy in nats, or squared error."""
    V = params.W.T if params.V is None else params.V  # any object with W, b, c, V
    a = (h @ V + params.c).astype(np.float64)
    clean = np.asarray(clean, dtype=np.float64)
    if decoder == "linear":
        return float(np.sum((a - clean) ** 2))
    if loss == "mse":
        return float(np.sum((1.0 / (1.0 + np.exp(-a)) - clean) ** 2))
    # −[x log σ(a) + (1−x) log(1−σ(a))] = softplus(a) − x·a, exact for any a.
    return float(np.sum(np.logaddexp(0.0, a) - clean * a))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # Written so that large |a| neither overflows nor warns.
    out = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + out), out / (1.0 + out)).astype(np.float32)
