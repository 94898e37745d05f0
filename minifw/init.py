"""Weight initializers for a weight matrix of shape `(fan_in, fan_out)`.

Each takes the shape and a `np.random.Generator` and returns a float32 array. They draw from the
distributions of `torch.nn.init` (`xavier_*_`, and `kaiming_*_` with `nonlinearity="relu"`, fan_in
mode; torch's weight is (fan_out, fan_in), the transpose). Keras's `glorot_normal` and `he_normal`
differ in shape, not spread: they draw a normal truncated at two standard deviations, rescaled to
the same variance.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[tuple[int, int], np.random.Generator], np.ndarray]


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
    """All zeros: every unit computes the same thing, so symmetry is never broken."""
    return np.zeros(shape, dtype=np.float32)


def normal(shape: tuple[int, ...], rng: np.random.Generator, std: float = 0.01) -> np.ndarray:
    r"""$W_{ij} \sim \mathcal{N}(0, \sigma^2)$ with a fixed `std` (default 0.01)."""
    return (rng.standard_normal(shape) * std).astype(np.float32)


def xavier_normal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    r"""Glorot/Xavier normal: $\sigma = \sqrt{2 / (n_{in} + n_{out})}$ (for tanh and sigmoid)."""
    fan_in, fan_out = shape
    return normal(shape, rng, std=np.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    r"""Glorot/Xavier uniform: $U(-a, a)$, $a = \sqrt{6 / (n_{in} + n_{out})}$."""
    fan_in, fan_out = shape
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(np.float32)


def he_normal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    r"""He/Kaiming normal: $\sigma = \sqrt{2 / n_{in}}$ (for ReLU)."""
    return normal(shape, rng, std=np.sqrt(2.0 / shape[0]))


def he_uniform(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    r"""He/Kaiming uniform: $U(-a, a)$, $a = \sqrt{6 / n_{in}}$ (for ReLU)."""
    a = np.sqrt(6.0 / shape[0])
    return rng.uniform(-a, a, size=shape).astype(np.float32)


INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "normal": normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}


def get(init: str | Initializer) -> Initializer:
    """An initializer by name (see `INITIALIZERS`) or the callable itself."""
    if callable(init):
        return init
    if init not in INITIALIZERS:
        raise ValueError(f"unknown initializer {init!r}; expected one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[init]
