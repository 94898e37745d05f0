"""Callbacks that `Model.fit` calls: `History`, `EarlyStopping`, `LearningRateScheduler`.

The hooks and their names follow Keras: `on_train_begin(model)`, `on_epoch_end(epoch, logs)`,
`on_train_end()`. `logs` maps names such as "loss", "accuracy", "val_loss" to floats.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .schedules import LRSchedule, ReduceLROnPlateau

if TYPE_CHECKING:
    from .training import Model


class Callback:
    """Base class: override the hooks you need; `self.model` is the `Model` being trained."""

    model: Model

    def on_train_begin(self, model: Model) -> None:
        self.model = model

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self) -> None:
        pass


class History(Callback):
    """Per-epoch logs: `history.history["val_loss"][e]` is the validation loss after epoch e."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    `mode` is "min" (losses) or "max" (accuracies); "auto" picks "max" when the name holds "acc".
    With `restore_best_weights`, the weights of the best epoch are put back at the end.
    The improvement rule and the patience count are those of Keras `callbacks.EarlyStopping`;
    unlike Keras, `restore_best_weights` defaults to True.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.sign = 1 if mode == "max" or (mode == "auto" and "acc" in monitor) else -1
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, model: Model) -> None:
        super().on_train_begin(model)
        self.best, self.wait = -np.inf, 0
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: monitored value {self.monitor!r} is not logged; "
                           f"logged values are {sorted(logs)} (pass validation_data to fit for 'val_*')")
        score = self.sign * logs[self.monitor]
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self.best_state = self.model.network.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    def on_train_end(self) -> None:
        if self.restore_best_weights and self.best_state is not None:
            self.model.network.load_state_dict(self.best_state)

    @property
    def best_value(self) -> float:
        """The best monitored value seen (in its own sign)."""
        return self.sign * self.best


class LearningRateScheduler(Callback):
    """Step a schedule from `minifw.schedules` after every epoch and log the rate ("lr").

    A `ReduceLROnPlateau` is stepped with the logged value `monitor` (default "val_loss")."""

    def __init__(self, schedule: LRSchedule | ReduceLROnPlateau, monitor: str = "val_loss"):
        if not isinstance(schedule, (LRSchedule, ReduceLROnPlateau)) or schedule.optimizer is None:
            raise TypeError(f"LearningRateScheduler: expected a schedule with an optimizer, got {schedule!r}")
        self.schedule, self.monitor = schedule, monitor

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        assert self.schedule.optimizer is not None
        logs["lr"] = self.schedule.optimizer.lr
        if isinstance(self.schedule, ReduceLROnPlateau):
            if self.monitor not in logs:
                raise KeyError(f"LearningRateScheduler: monitored value {self.monitor!r} is not logged; "
                               f"logged values are {sorted(logs)} (pass validation_data to fit for 'val_*')")
            self.schedule.step(logs[self.monitor])
        else:
            self.schedule.step()
