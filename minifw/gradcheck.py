r"""Gradient checks by central differences, in float64 (the CS231n recipe).

- `numerical_gradient(f, x)`: $\partial f / \partial x_i \approx (f(x + h e_i) - f(x - h e_i)) / 2h$.
- `rel_error(a, b)`: the largest elementwise relative error
  $\max_i |a_i - b_i| / \max(|a_i| + |b_i|, 10^{-8})$. A correct backward pass in float64 gives
  about $10^{-7}$ or less; $10^{-2}$ or more means a bug.
- `check_module(module, x)`: the relative error of every gradient a module computes (its input
  gradient and each parameter's), for the loss $L = \sum_i \mathrm{out}_i R_i$ with a fixed random $R$.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .module import Module

LossFn = Callable[[np.ndarray], tuple[float, np.ndarray]]


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    r"""$\max_i |a_i - b_i| / \max(|a_i| + |b_i|, 10^{-8})$ (CS231n's relative error, elementwise)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: expected two arrays of the same shape, got {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)), initial=0.0))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    r"""$\partial f / \partial x$ by central differences; `f()` reads `x`, which is perturbed in place
    one element at a time (and restored). `x` should be float64: in float32, $h = 10^{-6}$ is noise."""
    if x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: expected a float64 array, got {x.dtype} (central differences "
                        "need float64; convert with .astype(np.float64))")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def _rng_states(module: Module) -> list[tuple[np.random.Generator, Mapping[str, Any]]]:
    """Every random generator in the module (dropout masks) and its state, to replay it."""
    generators = [getattr(m, "rng", None) for m in module.modules()]
    return [(g, g.bit_generator.state) for g in generators if isinstance(g, np.random.Generator)]


def check_module(module: Module, x: np.ndarray, loss: LossFn | None = None, h: float = 1e-6,
                 seed: int = 42) -> dict[str, float]:
    r"""Relative errors of `module`'s analytic gradients against central differences.

    The loss is `loss(out) -> (value, dL/dout)`, by default $L = \sum_i \mathrm{out}_i R_i$ with
    $R \sim \mathcal{N}(0, 1)$ drawn from `seed`. Returns {"x": error of dL/dx, "<param name>": ...}.
    The module must be float64 (`module.astype(np.float64)`); random layers (dropout) replay the
    same mask at every forward pass. The module's gradients are overwritten and its first layer
    is told that the input gradient is needed.
    """
    low = [name for name, p in module.named_parameters() if p.data.dtype != np.float64]
    if low:
        raise TypeError(f"check_module: parameters {low} are not float64; call module.astype(np.float64) first")
    x = np.array(x, dtype=np.float64)
    module.set_input_grad(True)
    states = _rng_states(module)

    def forward() -> np.ndarray:
        for generator, state in states:
            generator.bit_generator.state = state
        return module.forward(x)

    if loss is None:
        r = np.random.default_rng(seed).standard_normal(forward().shape)
        loss = lambda out: (float(np.sum(out * r)), r)  # noqa: E731

    def f() -> float:
        return loss(forward())[0]

    module.zero_grad()
    _, grad_out = loss(forward())
    grad_x = module.backward(grad_out)
    if grad_x is None:
        raise ValueError(f"check_module: {type(module).__name__}.backward returned no input gradient")
    errors = {"x": rel_error(grad_x, numerical_gradient(f, x, h))}
    analytic = {}
    for name, p in module.named_parameters():
        if p.grad is None:
            raise ValueError(f"check_module: parameter {name!r} got no gradient from backward")
        analytic[name] = p.grad.copy()
    for name, p in module.named_parameters():
        errors[name] = rel_error(analytic[name], numerical_gradient(f, p.data, h))
    return errors
