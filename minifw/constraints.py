r"""Weight constraints: maps applied to a parameter after every optimizer step (`Parameter.constraint`).

`MaxNorm(c)` (Srivastava et al., 2014, used with dropout) rescales every unit's incoming weight
vector to a norm of at most $c$, exactly as Keras `constraints.MaxNorm`:
$w \leftarrow w \cdot \min(\lVert w \rVert, c) / (\epsilon + \lVert w \rVert)$ with $\epsilon = 10^{-7}$,
the norm taken along `axis` (0 for a `Linear` weight of shape (in, out): one norm per output unit).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Constraint = Callable[[np.ndarray], np.ndarray]


class MaxNorm:
    """Cap the L2 norm of the weight vectors along `axis` at `max_value`."""

    def __init__(self, max_value: float = 2.0, axis: int = 0):
        if not max_value > 0:
            raise ValueError(f"MaxNorm: max_value must be > 0, got {max_value!r}")
        self.max_value, self.axis = float(max_value), axis

    def __call__(self, w: np.ndarray) -> np.ndarray:
        norms = np.sqrt(np.sum(w * w, axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (1e-7 + norms))).astype(w.dtype, copy=False)

    def __repr__(self) -> str:
        return f"MaxNorm(max_value={self.max_value}, axis={self.axis})"
