r"""Optimizers: SGD, Adagrad, RMSprop, Adam, AdamW and Adamax, with the update rules and defaults of `torch.optim`.

An optimizer holds a list of `Parameter`s. `step()` reads every `p.grad` (never writes it) and
updates `p.data` in place, keeping its dtype; a parameter whose `grad` is None (it took no part
in the backward pass) is skipped, as in PyTorch, and a parameter's `constraint` (such as
`MaxNorm`) is applied after its update. `zero_grad()` sets the gradients to zero. The
learning rate is the attribute `lr`, which a schedule (`minifw.schedules`) may change between
steps. Per-parameter state (momentum buffers, running averages, the parameter's own step count
`step`) lives in `self.state[i]`, a dict under the names torch uses (`momentum_buffer`,
`exp_avg`, `exp_avg_sq`, ...), created at the parameter's first step with its shape and dtype.

In the formulas, $g_t$ is the gradient at step $t$ (counted from 1), $\theta$ a parameter,
$\gamma$ the learning rate and $\lambda$ the weight decay: with $\lambda \neq 0$ every rule
first replaces $g_t$ by $g_t + \lambda\theta_{t-1}$ (a new array; `p.grad` is left alone).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minifw.module import Module, Parameter


class Optimizer:
    """Base class: the parameters, the learning rate `lr`, the step count and per-parameter state."""

    def __init__(self, params: Iterable[Parameter], lr: float):
        name = type(self).__name__
        if isinstance(params, Module):
            raise TypeError(f"{name}: expected a list of Parameters such as model.parameters(), got the model")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, expected a minifw Parameter")
            if any(p is q for q in self.params[:i]):
                raise ValueError(f"{name}: parameter {i} appears twice in the list (it would be updated twice)")
        self._require(isinstance(lr, (int, float, np.integer, np.floating)) and not isinstance(lr, bool),
                      "lr must be a number", repr(lr))
        self._require(lr >= 0, "lr must be >= 0", lr)
        self.lr = float(lr)
        self.initial_lr: float | None = None  # set by the first schedule (minifw.schedules), as in torch
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def _require(self, ok: bool, what: str, value: object) -> None:
        """Raise `ValueError("<Optimizer>: <what>, got <value>")` unless `ok`."""
        if not ok:
            raise ValueError(f"{type(self).__name__}: {what}, got {value}")

    def _set_moments(self, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
        """Check and keep the hyper-parameters shared by Adam and Adamax."""
        beta1, beta2 = betas
        self._require(0 <= beta1 < 1, "betas[0] must be in [0, 1)", beta1)
        self._require(0 <= beta2 < 1, "betas[1] must be in [0, 1)", beta2)
        self._require(eps >= 0, "eps must be >= 0", eps)
        self._require(weight_decay >= 0, "weight_decay must be >= 0", weight_decay)
        self.betas = (float(beta1), float(beta2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def zero_grad(self) -> None:
        """Set every `p.grad` to zero (in place, lazily; a None gradient stays None)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient, then its constraint."""
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            state["step"] = state.get("step", 0) + 1
            self.update(p, state)
            if p.constraint is not None:
                p.data[...] = p.constraint(p.data)

    def update(self, p: Parameter, state: dict[str, Any]) -> None:
        """The update rule for one parameter (subclasses write it out)."""
        raise NotImplementedError

    @staticmethod
    def decayed_grad(p: Parameter, weight_decay: float) -> np.ndarray:
        r"""$g + \lambda\theta$ as a new array when $\lambda \neq 0$; otherwise `p.grad` itself (read only)."""
        assert p.grad is not None, "step() skips parameters without a gradient"
        return p.grad + weight_decay * p.data if weight_decay != 0 else p.grad

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in vars(self).items() if k not in ("params", "state", "initial_lr"))
        return f"{type(self).__name__}({hyper})"


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum, as `torch.optim.SGD`.

    $b_1 = g_1$, $b_t = \mu b_{t-1} + (1-\tau) g_t$ (momentum $\mu$, dampening $\tau$);
    the step direction is $d_t = g_t + \mu b_t$ (Nesterov) or $d_t = b_t$, or $d_t = g_t$ when
    $\mu = 0$; then $\theta_t = \theta_{t-1} - \gamma d_t$.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr)
        self._require(momentum >= 0, "momentum must be >= 0", momentum)
        self._require(weight_decay >= 0, "weight_decay must be >= 0", weight_decay)
        self._require(not nesterov or (momentum > 0 and dampening == 0),
                      "nesterov=True needs momentum > 0 and dampening == 0",
                      f"momentum={momentum}, dampening={dampening}")
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.weight_decay = float(weight_decay)
        self.nesterov = nesterov

    def update(self, p: Parameter, state: dict[str, Any]) -> None:
        g = self.decayed_grad(p, self.weight_decay)
        if self.momentum != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                state["momentum_buffer"] = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * g
            b = state["momentum_buffer"]
            g = g + self.momentum * b if self.nesterov else b
        p.data -= self.lr * g


class Adagrad(Optimizer):
    r"""Adagrad, as `torch.optim.Adagrad`: per-coordinate steps shrink with the sum of squared gradients.

    $\tilde\gamma_t = \gamma / (1 + (t-1)\eta)$ (lr decay $\eta$),
    $s_t = s_{t-1} + g_t^2$ ($s_0$ = `initial_accumulator_value`),
    $\theta_t = \theta_{t-1} - \tilde\gamma_t\, g_t / (\sqrt{s_t} + \epsilon)$.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(params, lr)
        self._require(lr_decay >= 0, "lr_decay must be >= 0", lr_decay)
        self._require(weight_decay >= 0, "weight_decay must be >= 0", weight_decay)
        self._require(initial_accumulator_value >= 0, "initial_accumulator_value must be >= 0",
                      initial_accumulator_value)
        self._require(eps >= 0, "eps must be >= 0", eps)
        self.lr_decay = float(lr_decay)
        self.weight_decay = float(weight_decay)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.eps = float(eps)

    def update(self, p: Parameter, state: dict[str, Any]) -> None:
        if "sum" not in state:
            state["sum"] = np.full_like(p.data, self.initial_accumulator_value)
        g = self.decayed_grad(p, self.weight_decay)
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] = state["sum"] + g * g
        p.data -= clr * g / (np.sqrt(state["sum"]) + self.eps)


class RMSprop(Optimizer):
    r"""RMSprop, as `torch.optim.RMSprop`: divide by a running root-mean-square of the gradient.

    $v_t = \alpha v_{t-1} + (1-\alpha) g_t^2$; centered: $\bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t$
    and $\tilde v_t = v_t - \bar g_t^2$, else $\tilde v_t = v_t$.
    With momentum $\mu > 0$: $b_t = \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon)$,
    $\theta_t = \theta_{t-1} - \gamma b_t$;
    else $\theta_t = \theta_{t-1} - \gamma g_t / (\sqrt{\tilde v_t} + \epsilon)$.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, lr)
        self._require(alpha >= 0, "alpha must be >= 0", alpha)
        self._require(eps >= 0, "eps must be >= 0", eps)
        self._require(weight_decay >= 0, "weight_decay must be >= 0", weight_decay)
        self._require(momentum >= 0, "momentum must be >= 0", momentum)
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.momentum = float(momentum)
        self.centered = centered

    def update(self, p: Parameter, state: dict[str, Any]) -> None:
        if "square_avg" not in state:
            state["square_avg"] = np.zeros_like(p.data)
            if self.centered:
                state["grad_avg"] = np.zeros_like(p.data)
            if self.momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
        g = self.decayed_grad(p, self.weight_decay)
        a = self.alpha
        state["square_avg"] = a * state["square_avg"] + (1 - a) * g * g
        v = state["square_avg"]
        if self.centered:
            state["grad_avg"] = a * state["grad_avg"] + (1 - a) * g
            v = v - state["grad_avg"] ** 2
        denom = np.sqrt(v) + self.eps
        if self.momentum > 0:
            state["momentum_buffer"] = self.momentum * state["momentum_buffer"] + g / denom
            p.data -= self.lr * state["momentum_buffer"]
        else:
            p.data -= self.lr * g / denom


class Adam(Optimizer):
    r"""Adam, as `torch.optim.Adam` (L2 weight decay added to the gradient, not AdamW's decoupled decay).

    $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$, $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$,
    $\hat m_t = m_t / (1-\beta_1^t)$, $\hat v_t = v_t / (1-\beta_2^t)$
    (amsgrad: $v^{max}_t = \max(v^{max}_{t-1}, v_t)$ and $\hat v_t = v^{max}_t / (1-\beta_2^t)$),
    $\theta_t = \theta_{t-1} - \gamma \hat m_t / (\sqrt{\hat v_t} + \epsilon)$.

    $\epsilon$ is added to $\sqrt{\hat v_t}$, as torch. Keras `optimizers.Adam` adds it to $\sqrt{v_t}$
    (before the bias correction) and defaults to $10^{-7}$: its `epsilon=e` is
    $\epsilon = e / \sqrt{1-\beta_2^t}$ here, so the two agree only when $\epsilon$ is negligible.
    """

    decoupled = False  # AdamW: the decay shrinks the weights instead of entering the gradient

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, lr)
        self._set_moments(betas, eps, weight_decay)
        self.amsgrad = amsgrad

    def update(self, p: Parameter, state: dict[str, Any]) -> None:
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if self.amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        g = self.decayed_grad(p, 0.0 if self.decoupled else self.weight_decay)
        beta1, beta2 = self.betas
        t = state["step"]
        state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
        state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
        v = state["exp_avg_sq"]
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)
            v = state["max_exp_avg_sq"]
        m_hat = state["exp_avg"] / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019), as `torch.optim.AdamW`: Adam with decoupled weight decay.

    The decay shrinks the weights directly, $\theta \leftarrow \theta (1 - \gamma\lambda)$, before the
    Adam step, instead of adding $\lambda\theta$ to the gradient (where Adam's division by
    $\sqrt{\hat v_t}$ would rescale it per coordinate). Default $\lambda = 0.01$, as in torch.
    """

    decoupled = True

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def update(self, p: Parameter, state: dict[str, Any]) -> None:
        p.data *= 1 - self.lr * self.weight_decay
        super().update(p, state)


class Adamax(Optimizer):
    r"""Adamax, as `torch.optim.Adamax`: Adam with an infinity norm in place of the second moment.

    $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$, $u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)$,
    $\theta_t = \theta_{t-1} - \gamma\, m_t / ((1-\beta_1^t)\, u_t)$.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self._set_moments(betas, eps, weight_decay)

    def update(self, p: Parameter, state: dict[str, Any]) -> None:
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_inf"] = np.zeros_like(p.data)
        g = self.decayed_grad(p, self.weight_decay)
        beta1, beta2 = self.betas
        state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
        state["exp_inf"] = np.maximum(beta2 * state["exp_inf"], np.abs(g) + self.eps)
        p.data -= self.lr * state["exp_avg"] / ((1 - beta1**state["step"]) * state["exp_inf"])


def clip_grad_norm(params: Iterable[Parameter], max_norm: float, norm_type: float = 2.0) -> float:
    r"""Scale the gradients in place so that their global norm is at most `max_norm`, as
    `torch.nn.utils.clip_grad_norm_`: with $n = (\sum_p \lVert g_p \rVert_q^q)^{1/q}$ ($q$ = `norm_type`,
    default 2; `float("inf")` takes the largest $|g|$), every gradient is multiplied by
    $\min(1, c / (n + 10^{-6}))$. Returns $n$, the norm before clipping.
    Parameters whose `grad` is None are skipped. As torch (without `error_if_nonfinite`), a NaN
    in any gradient makes $n$ and then every gradient NaN, and an infinite one makes the others 0."""
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be > 0, got {max_norm!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or not norm_type > 0:
        raise ValueError(f"clip_grad_norm: norm_type must be a number > 0 (or float('inf')), got {norm_type!r}")
    grads = [p.grad for p in params if p.grad is not None]
    if norm_type == np.inf:
        total = max((float(np.max(np.abs(g), initial=0.0)) for g in grads), default=0.0)
        if any(np.isnan(g).any() for g in grads):
            total = float("nan")
    else:
        q = float(norm_type)
        total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** q)) for g in grads) ** (1 / q)
    scale = float(np.minimum(1.0, max_norm / (total + 1e-6)))  # np.minimum keeps a NaN, as torch.clamp
    if scale != 1:
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN, as in torch
            for g in grads:
                g *= scale
    return float(total)


def clip_grad_value(params: Iterable[Parameter], clip_value: float) -> None:
    r"""Clip every gradient element into $[-c, c]$ in place, as `torch.nn.utils.clip_grad_value_`
    (a NaN stays NaN). Parameters whose `grad` is None are skipped."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float, np.integer, np.floating)) \
            or not clip_value >= 0:
        raise ValueError(f"clip_grad_value: clip_value must be a number >= 0, got {clip_value!r}")
    for p in params:
        if p.grad is not None:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
