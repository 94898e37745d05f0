r"""Learning-rate schedules that set `optimizer.lr`, stepped like `torch.optim.lr_scheduler`.

A schedule starts at step $t = 0$ with `optimizer.lr = lr_at(0)`; each `step()` (once per epoch,
or once per batch for `CyclicLR`) advances $t$ by one and sets `optimizer.lr = lr_at(t)`.
`lr_at(t)` is a pure function of $t$ (torch's closed forms; torch's `step()` computes most of them
by a chained update from the current rate instead, which gives the same rates unless the rate is
changed by hand between steps: here the next `step()` overwrites such a change), so a schedule can
be plotted without training:

    sched = StepLR(None, step_size=10, gamma=0.5, base_lr=0.1)
    lrs = [sched.lr_at(t) for t in range(30)]

$\eta_0$ (`base_lr`) is the optimizer's `lr` when its first schedule is created (kept as
`optimizer.initial_lr`, as torch does, so schedules chained by `SequentialLR` share it), unless given.
Linear warm-up then cosine:
`SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, T_max=45)], milestones=[5])`.
`ReduceLROnPlateau` is different: it follows a monitored value, `step(metric)`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from minifw.optim import Optimizer


class LRSchedule:
    """Base class: `lr_at(t)` is the rule, `step()` advances `t` and writes the rate into the optimizer."""

    def __init__(self, optimizer: Optimizer | None, base_lr: float | None = None):
        name = type(self).__name__
        if base_lr is None:
            if optimizer is None:
                raise ValueError(f"{name}: needs an optimizer or a base_lr, got neither")
            if optimizer.initial_lr is None:
                optimizer.initial_lr = optimizer.lr
            base_lr = optimizer.initial_lr
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


class CosineAnnealingLR(LRSchedule):
    r"""Cosine annealing, as `torch.optim.lr_scheduler.CosineAnnealingLR`:
    $\eta_t = \eta_{min} + \tfrac12(\eta_0 - \eta_{min})\left(1 + \cos(\pi t / T_{max})\right)$,
    from $\eta_0$ at $t = 0$ down to $\eta_{min}$ at $t = T_{max}$ (and back up after, as torch)."""

    def __init__(self, optimizer: Optimizer | None, T_max: int, eta_min: float = 0.0, *,
                 base_lr: float | None = None):
        self._require(isinstance(T_max, int) and T_max >= 1, "T_max must be an integer >= 1", T_max)
        self._require(eta_min >= 0, "eta_min must be >= 0", eta_min)
        self.T_max = T_max
        self.eta_min = float(eta_min)
        super().__init__(optimizer, base_lr)

    def lr_at(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearLR(LRSchedule):
    r"""Linear warm-up (or decay), as `torch.optim.lr_scheduler.LinearLR`: the factor goes linearly
    from `start_factor` to `end_factor` over `total_iters` steps and then stays:
    $\eta_t = \eta_0\,(f_s + (f_e - f_s)\min(t, T) / T)$."""

    def __init__(self, optimizer: Optimizer | None, start_factor: float = 1 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, *, base_lr: float | None = None):
        self._require(0 < start_factor <= 1, "start_factor must be in (0, 1]", start_factor)
        self._require(0 <= end_factor <= 1, "end_factor must be in [0, 1]", end_factor)
        self._require(isinstance(total_iters, int) and total_iters >= 1, "total_iters must be an integer >= 1",
                      total_iters)
        self.start_factor, self.end_factor, self.total_iters = float(start_factor), float(end_factor), total_iters
        super().__init__(optimizer, base_lr)

    def lr_at(self, t: int) -> float:
        progress = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class SequentialLR(LRSchedule):
    r"""Schedules one after the other, as `torch.optim.lr_scheduler.SequentialLR`: before
    `milestones[0]` the first one runs, then the second restarts from its own step 0, and so on.
    Warm-up then cosine: `SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=w), CosineAnnealingLR(opt, T)], [w])`."""

    def __init__(self, optimizer: Optimizer | None, schedules: Sequence[LRSchedule], milestones: Sequence[int]):
        self._require(len(schedules) >= 1 and len(milestones) == len(schedules) - 1,
                      "expected n schedules and n - 1 milestones", f"{len(schedules)} and {len(milestones)}")
        self._require(all(isinstance(s, LRSchedule) for s in schedules), "schedules must be LRSchedules",
                      [type(s).__name__ for s in schedules])
        self._require(list(milestones) == sorted(milestones) and all(m >= 1 for m in milestones),
                      "milestones must be increasing integers >= 1", list(milestones))
        self.schedules, self.milestones = list(schedules), list(milestones)
        super().__init__(optimizer, self.schedules[0].base_lr)

    def lr_at(self, t: int) -> float:
        i = sum(t >= m for m in self.milestones)
        start = self.milestones[i - 1] if i else 0
        return self.schedules[i].lr_at(t - start)


class ReduceLROnPlateau:
    r"""Divide the rate when a monitored value stops improving, as `torch.optim.lr_scheduler.ReduceLROnPlateau`.

    `step(metric)` once per epoch: the value improves when it beats the best so far by more than
    `threshold` (relative: best $\cdot (1 \mp \text{threshold})$, or absolute); after more than
    `patience` epochs without improvement the rate becomes $\max(\eta \cdot \text{factor}, \eta_{min})$
    (changes smaller than `eps` are skipped), and `cooldown` epochs pass before counting again.
    `mode` is "min" (losses) or "max" (accuracies). A NaN or infinite value is an error here (a
    diverged run), where torch counts it as one more epoch without improvement.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                 eps: float = 1e-8):
        checks = [(mode in ("min", "max"), "mode must be 'min' or 'max'", mode),
                  (0 < factor < 1, "factor must be in (0, 1)", factor),
                  (isinstance(patience, int) and patience >= 0, "patience must be an integer >= 0", patience),
                  (threshold_mode in ("rel", "abs"), "threshold_mode must be 'rel' or 'abs'", threshold_mode),
                  (isinstance(cooldown, int) and cooldown >= 0, "cooldown must be an integer >= 0", cooldown),
                  (min_lr >= 0, "min_lr must be >= 0", min_lr),
                  (isinstance(optimizer, Optimizer), "expected an Optimizer", type(optimizer).__name__)]
        for ok, what, value in checks:
            if not ok:
                raise ValueError(f"ReduceLROnPlateau: {what}, got {value!r}")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, float(factor), patience
        self.threshold, self.threshold_mode, self.cooldown = float(threshold), threshold_mode, cooldown
        self.min_lr, self.eps = float(min_lr), float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.lr = optimizer.lr

    def is_better(self, value: float) -> bool:
        if self.threshold_mode == "rel":
            bound = self.best * (1 - self.threshold if self.mode == "min" else 1 + self.threshold)
        else:
            bound = self.best - self.threshold if self.mode == "min" else self.best + self.threshold
        return value < bound if self.mode == "min" else value > bound

    def step(self, metric: float) -> float:
        """Record one epoch's monitored value; returns the (possibly reduced) learning rate."""
        value = float(metric)
        if not math.isfinite(value):
            raise ValueError(f"ReduceLROnPlateau.step: the monitored value must be finite, got {metric!r}")
        if self.is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self.lr = self.optimizer.lr
        return self.lr
