r"""Weight penalties added to the loss: `L2` (weight decay) and `L1` (sparsity).

A regularizer `reg` is used in two places of a training step:

    loss = data_loss + reg(weights)     # the penalty's value, a float
    model.backward(grad_pred)           # adds the data-loss gradients into p.grad
    reg.add_grad(weights)               # adds the penalty's gradient into p.grad
    optimizer.step()

where `weights = reg.select(model)`: the parameters whose role (`Parameter.role`) is in
`reg.roles`, by default only "weight" (as Keras and common practice: no biases, no batchnorm
scales and shifts), whatever the parameters are called.

Conventions (a factor 2 differs between libraries):
- `L2(lam)`: $\frac{\lambda}{2}\sum w^2$, gradient $\lambda w$. This is exactly what
  `SGD(weight_decay=lam)` (minifw or torch) adds to the gradient, so the two give the same
  steps. Keras `regularizers.L2(l)` is $l\sum w^2$ without the $\frac12$: Keras `L2(lam / 2)`
  equals minifw `L2(lam)`.
- `L1(lam)`: $\lambda\sum |w|$, (sub)gradient $\lambda\,\mathrm{sign}(w)$ (0 at $w = 0$), as Keras `L1(lam)`.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from minifw.module import ROLES, Module, Parameter


class Regularizer:
    """Base class: `penalty(w)` and `grad(w)` for one array, summed over the given parameters;
    `roles` names the kinds of parameters it covers (see `Parameter.role`)."""

    def __init__(self, lam: float, roles: Iterable[str] = ("weight",)):
        if not lam >= 0:
            raise ValueError(f"{type(self).__name__}: lam must be >= 0, got {lam}")
        self.lam = float(lam)
        self.roles = tuple(roles)
        unknown = [r for r in self.roles if r not in ROLES]
        if unknown or not self.roles:
            raise ValueError(f"{type(self).__name__}: roles must be a non-empty selection of {ROLES}, got {self.roles}")

    def select(self, model: Module) -> list[Parameter]:
        """The parameters of `model` this regularizer covers (each once)."""
        return [p for p in model.parameters() if p.role in self.roles]

    def penalty(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def grad(self, w: np.ndarray) -> np.ndarray:
        """Gradient of `penalty` with respect to `w` (same shape and dtype)."""
        raise NotImplementedError

    def __call__(self, params: Iterable[Parameter]) -> float:
        """The penalty summed over `params`."""
        return float(sum(self.penalty(p.data) for p in params))

    def add_grad(self, params: Iterable[Parameter]) -> None:
        """Add the penalty's gradient into `p.grad` for every parameter in `params`."""
        for p in params:
            p.accumulate(self.grad(p.data))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self.lam}, roles={self.roles})"


class L2(Regularizer):
    r"""$\frac{\lambda}{2}\sum w^2$, gradient $\lambda w$ (the same as `SGD(weight_decay=lam)`)."""

    def penalty(self, w: np.ndarray) -> float:
        return 0.5 * self.lam * float(np.sum(w * w))

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.lam * w


class L1(Regularizer):
    r"""$\lambda\sum |w|$, subgradient $\lambda\,\mathrm{sign}(w)$ (0 at $w = 0$)."""

    def penalty(self, w: np.ndarray) -> float:
        return self.lam * float(np.sum(np.abs(w)))

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.lam * np.sign(w)


def weights_only(model: Module) -> list[Parameter]:
    """The parameters of `model` with the role "weight" (no biases, no batchnorm parameters)."""
    return [p for p in model.parameters() if p.role == "weight"]
