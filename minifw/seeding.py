"""One global seed for minifw: `minifw.seed(n)` makes every later random choice reproducible.

Every random component (weight initialization, dropout masks, `fit`'s shuffling when given
`seed=None`) takes its generator from `rng(seed)`: an explicit seed or Generator wins; with
`seed=None`, a generator is drawn from the global one, which `seed(n)` resets.
"""
from __future__ import annotations

import numpy as np

RNGLike = int | np.random.Generator | None

_global = np.random.default_rng()


def seed(n: int) -> None:
    """Reset the global generator: the same program after `seed(n)` makes the same random choices."""
    global _global
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {n!r}")
    _global = np.random.default_rng(int(n))


def rng(seed: RNGLike = None) -> np.random.Generator:
    """A Generator: `seed` itself when it is one, a new one from an int seed, else (None) one drawn
    from the global generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(_global.integers(2**63))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"expected a seed (int), a numpy Generator or None, got {type(seed).__name__}")
    return np.random.default_rng(seed)
