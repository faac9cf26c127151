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


def init_range(init: str, n_in: int, k: int) -> float:
    """r of the initialisation W ~ U(±r) named `init` (config.INITS):
    glorot-sigmoid 4·√(6/(n_in+k)) (the Theano tutorial's later code, the default),
    glorot √(6/(n_in+k)) (its 2010 figures), ufldl √(6/(n_in+k+1)) (UFLDL's exercise)."""
    if init == "glorot-sigmoid":
        return 4.0 * float(np.sqrt(6.0 / (n_in + k)))
    if init == "glorot":
        return float(np.sqrt(6.0 / (n_in + k)))
    if init == "ufldl":
        return float(np.sqrt(6.0 / (n_in + k + 1)))
    raise ValueError(f"unknown initialisation {init!r}")


def init_params(n_in: int, k: int, seed: int, tied: bool, dtype=np.float32,
                init: str = "glorot-sigmoid") -> Params:
    """Fresh weights: W ~ U(±r) with r from init_range, biases 0.

    Untied V starts as Wᵀ (as if just untied), except with ufldl, whose
    exercise draws its decoder weights separately from the same range.
    """
    rng = np.random.default_rng(seed)
    bound = init_range(init, n_in, k)
    W = np.ascontiguousarray(rng.uniform(-bound, bound, size=(n_in, k)), dtype=dtype)
    b = np.zeros(k, dtype=dtype)
    c = np.zeros(n_in, dtype=dtype)
    if tied:
        V = None
    elif init == "ufldl":
        V = np.ascontiguousarray(rng.uniform(-bound, bound, size=(k, n_in)), dtype=dtype)
    else:
        V = np.ascontiguousarray(W.T)
    return Params(W, b, c, V)


def hidden_activations(params: Params, images: np.ndarray) -> np.ndarray:
    """h(x) = sigmoid(x W + b) for clean images, one row per image (N×k float32).

    images: N×n_in uint8 (0..255) or floats already in [0, 1], converted 256 rows at
    a time inside the engine's kernel (engine.encode).
    """
    from aetui.engine import engine

    return engine.encode(params.W, params.b, images)


def reconstruct(params: Params, x: np.ndarray, decoder: str = "sigmoid") -> np.ndarray:
    """x̂ for inputs x (rows, floats in [0, 1], possibly corrupted), float32."""
    from aetui.engine import engine

    return engine.reconstruct(params, x, decoder)
