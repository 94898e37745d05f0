r"""Learning-rate schedules that set `optimizer.lr`, stepped like `torch.optim.lr_scheduler`.

A schedule starts at step $t = 0$ with `optimizer.lr = lr_at(0)`; each `step()` (once per epoch,
or once per batch for `CyclicLR`) advances $t$ by one and sets `optimizer.lr = lr_at(t)`.
`lr_at(t)` is a pure function of $t$, so a schedule can be plotted without training:

    sched = StepLR(None, step_size=10, gamma=0.5, base_lr=0.1)
    lrs = [sched.lr_at(t) for t in range(30)]

$\eta_0$ (`base_lr`) is the optimizer's `lr` when the schedule is created, unless given.
"""
from __future__ import annotations

import math

from minifw.optim import Optimizer


class LRSchedule:
    """Base class: `lr_at(t)` is the rule, `step()` advances `t` and writes the rate into the optimizer."""

    def __init__(self, optimizer: Optimizer | None, base_lr: float | None = None):
        name = type(self).__name__
        if base_lr is None:
            if optimizer is None:
                raise ValueError(f"{name}: needs an optimizer or a base_lr, got neither")
            base_lr = optimizer.lr
        if base_lr < 0:
            raise ValueError(f"{name}: base_lr must be >= 0, got {base_lr}")
        self.optimizer = optimizer
        self.base_lr = float(base_lr)
        self.last_epoch = 0
        self._set(self.lr_at(0))

    def lr_at(self, t: int) -> float:
        """The learning rate after `t` calls of `step()`."""
        raise NotImplementedError

    def step(self) -> float:
        """Advance one step, set the optimizer's `lr` and return it."""
        self.last_epoch += 1
        self._set(self.lr_at(self.last_epoch))
        return self.lr

    def _set(self, lr: float) -> None:
        self.lr = lr
        if self.optimizer is not None:
            self.optimizer.lr = lr

    def _require(self, ok: bool, what: str, value: object) -> None:
        if not ok:
            raise ValueError(f"{type(self).__name__}: {what}, got {value}")


class StepLR(LRSchedule):
    r"""Multiply the rate by $\gamma$ every `step_size` steps: $\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}$."""

    def __init__(self, optimizer: Optimizer | None, step_size: int, gamma: float = 0.1, *,
                 base_lr: float | None = None):
        self.step_size = step_size
        self.gamma = gamma
        self._require(isinstance(step_size, int) and step_size >= 1, "step_size must be an integer >= 1", step_size)
        self._require(gamma > 0, "gamma must be > 0", gamma)
        super().__init__(optimizer, base_lr)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRSchedule):
    r"""Multiply the rate by $\gamma$ every step: $\eta_t = \eta_0\,\gamma^{t}$."""

    def __init__(self, optimizer: Optimizer | None, gamma: float, *, base_lr: float | None = None):
        self.gamma = gamma
        self._require(gamma > 0, "gamma must be > 0", gamma)
        super().__init__(optimizer, base_lr)

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma**t


class InverseTimeLR(LRSchedule):
    r"""Keras `InverseTimeDecay`: $\eta_t = \eta_0 / (1 + r\, t / T)$ (decay rate $r$, decay steps $T$).

    With `staircase=True` the exponent $t/T$ is replaced by $\lfloor t/T \rfloor$.
    """

    def __init__(self, optimizer: Optimizer | None, decay_steps: float, decay_rate: float,
                 staircase: bool = False, *, base_lr: float | None = None):
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self._require(decay_steps > 0, "decay_steps must be > 0", decay_steps)
        self._require(decay_rate >= 0, "decay_rate must be >= 0", decay_rate)
        super().__init__(optimizer, base_lr)

    def lr_at(self, t: int) -> float:
        p = t / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.base_lr / (1 + self.decay_rate * p)


class CyclicLR(LRSchedule):
    r"""Cyclical learning rate (Smith, 2017), as `torch.optim.lr_scheduler.CyclicLR`; step it once per batch.

    With $s_u$, $s_d$ the steps up and down and $r = s_u / (s_u + s_d)$: the cycle is
    $c = \lfloor 1 + t / (s_u + s_d) \rfloor$, the position in it $x = 1 + t / (s_u + s_d) - c$,
    the triangle $h = x / r$ for $x \le r$ and $h = (x - 1) / (r - 1)$ otherwise, and
    $\eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h\, s$ with the amplitude scale
    $s = 1$ (`triangular`), $s = 2^{-(c-1)}$ (`triangular2`), $s = \gamma^{t}$ (`exp_range`).
    Unlike torch, momentum is not cycled.
    """

    MODES = ("triangular", "triangular2", "exp_range")

    def __init__(self, optimizer: Optimizer | None, base_lr: float, max_lr: float, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0):
        step_size_down = step_size_up if step_size_down is None else step_size_down
        self._require(step_size_up > 0, "step_size_up must be > 0", step_size_up)
        self._require(step_size_down > 0, "step_size_down must be > 0", step_size_down)
        self._require(mode in self.MODES, f"mode must be one of {self.MODES}", repr(mode))
        self._require(max_lr >= 0, "max_lr must be >= 0", max_lr)
        self.max_lr = float(max_lr)
        self.total_size = float(step_size_up + step_size_down)
        self.step_ratio = step_size_up / self.total_size
        self.mode = mode
        self.gamma = gamma
        super().__init__(optimizer, base_lr)

    def lr_at(self, t: int) -> float:
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        h = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = self.gamma**t
        return self.base_lr + (self.max_lr - self.base_lr) * h * scale


class CosineAnnealingWarmRestarts(LRSchedule):
    r"""SGDR (Loshchilov & Hutter, 2017), as `torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`.

    $\eta_t = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})\left(1 + \cos\left(\pi\, T_{cur} / T_i\right)\right)$,
    where the $i$-th period lasts $T_i = T_0\, T_{mult}^{\,i}$ steps and $T_{cur}$ counts the steps
    since the last restart (at a restart $T_{cur} = 0$ and the rate jumps back to $\eta_0$).
    """

    def __init__(self, optimizer: Optimizer | None, T_0: int, T_mult: int = 1, eta_min: float = 0.0, *,
                 base_lr: float | None = None):
        self._require(isinstance(T_0, int) and T_0 >= 1, "T_0 must be an integer >= 1", T_0)
        self._require(isinstance(T_mult, int) and T_mult >= 1, "T_mult must be an integer >= 1", T_mult)
        self._require(eta_min >= 0, "eta_min must be >= 0", eta_min)
        self.T_0 = T_0
        self.T_mult = T_mult
        self.eta_min = float(eta_min)
        super().__init__(optimizer, base_lr)

    def period(self, t: int) -> tuple[int, int]:
        """$(T_{cur}, T_i)$ at step $t$: steps since the last restart and the length of the current period."""
        if self.T_mult == 1:
            return t % self.T_0, self.T_0
        t_cur, t_i = t, self.T_0
        while t_cur >= t_i:
            t_cur -= t_i
            t_i *= self.T_mult
        return t_cur, t_i

    def lr_at(self, t: int) -> float:
        t_cur, t_i = self.period(t)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2
