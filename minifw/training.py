"""`Model`: a network, a loss and an optimizer with `fit`, `evaluate` and `predict`.

The names mirror what comes next in the course: `fit(X, y, epochs, batch_size,
validation_data, callbacks)` as in Keras, and `training_step` / `configure_optimizers` /
`log` as in PyTorch Lightning. As in Lightning, `training_step(batch)` only computes the
loss of a batch (and, minifw having no autograd, the loss's gradient with respect to the
network's output); `fit` owns the rest of the step: `zero_grad`, `backward`, the
regularization penalty, gradient clipping and `optimizer.step()`. Override `training_step` in
a subclass to change what the loss of a batch is.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .callbacks import Callback, History
from .data import minibatches
from .losses import BCEWithLogits
from .metrics import Metric, accuracy
from .module import Module
from .optim import Optimizer, clip_grad_norm
from .regularizers import Regularizer
from .seeding import rng as make_rng

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def check_array(value: Any, name: str, caller: str, *, features: bool = True) -> np.ndarray:
    """`value` as a non-empty numeric array (lists are converted); integer or boolean features
    become float32. Non-finite values are refused: they are a problem of the data."""
    try:
        array = np.asarray(value)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{caller}: expected {name} as an array of samples, "
                         f"got a ragged {type(value).__name__}") from err
    if array.dtype.kind not in "biuf" or array.ndim == 0:
        raise TypeError(f"{caller}: expected {name} as a numeric array of samples, got "
                        f"{type(value).__name__} of dtype {array.dtype} and shape {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{caller}: expected at least one sample in {name}, got an empty array of shape {array.shape}")
    if features and array.dtype.kind != "f":
        array = array.astype(np.float32)
    if array.dtype.kind == "f" and not np.isfinite(np.sum(array)):  # one fast pass; NaN and inf survive a sum
        bad = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))
        if bad.size:  # (a finite array whose sum overflows passes)
            raise ValueError(f"{caller}: {name} holds non-finite values (NaN or inf) in sample {bad[0]} "
                             f"({bad.size} samples in all); this is the data, not the learning rate: "
                             "remove or impute those values before training")
    return array


def _check_pair(X: Any, y: Any, names: tuple[str, str], caller: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = check_array(X, names[0], caller), check_array(y, names[1], caller, features=False)
    if len(X) != len(y):
        raise ValueError(f"{caller}: {names[0]} has {len(X)} samples but {names[1]} has {len(y)}")
    return X, y


class Model:
    """Train `network` on `loss` with `optimizer`.

    `metrics` are names ("accuracy") or functions `f(output, target) -> float`;
    `regularizer` (`minifw.L1` or `minifw.L2`) adds its penalty on the parameters of the roles
    it covers (by default the weights: no biases, no batchnorm parameters) to the loss, and its
    gradient to their `.grad`; `clip_grad_norm` caps the global gradient norm before each step.
    The network's first layer is told that the data needs no input gradient (`set_input_grad`).
    """

    def __init__(self, network: Module, loss: LossFn, optimizer: Optimizer | None = None,
                 metrics: Sequence[str | Metric] = ("accuracy",), regularizer: Regularizer | None = None,
                 clip_grad_norm: float | None = None):
        if not isinstance(network, Module):
            raise TypeError(f"Model: expected a minifw Module as the network, got {type(network).__name__}")
        if not callable(loss):
            raise TypeError(f"Model: expected a loss such as mf.CrossEntropy(), got {type(loss).__name__}")
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(f"Model: expected a minifw Optimizer, got {type(optimizer).__name__}")
        if regularizer is not None and not isinstance(regularizer, Regularizer):
            raise TypeError(f"Model: expected a minifw Regularizer (L1, L2), got {type(regularizer).__name__}")
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise ValueError(f"Model: clip_grad_norm must be > 0 or None, got {clip_grad_norm!r}")
        self.network, self.loss, self.optimizer, self.regularizer = network, loss, optimizer, regularizer
        self.clip_grad_norm = clip_grad_norm
        self.weights = regularizer.select(network) if regularizer is not None else []
        self.metrics = {self._metric_name(m): self._metric(m) for m in metrics}
        self.stop_training = False
        self.logged: dict[str, float] = {}
        network.set_input_grad(False)  # the data needs no gradient

    def _metric_name(self, metric: str | Metric) -> str:
        return metric if isinstance(metric, str) else metric.__name__

    def _metric(self, metric: str | Metric) -> Metric:
        if callable(metric):
            return metric
        if metric != "accuracy":
            raise ValueError(f"unknown metric {metric!r}; expected 'accuracy' or a function f(output, target)")
        threshold = 0.0 if isinstance(self.loss, BCEWithLogits) else 0.5  # logits vs probabilities
        return lambda output, target: accuracy(output, target, threshold)

    # -- one step -------------------------------------------------------------------------
    def configure_optimizers(self) -> Optimizer:
        """The optimizer `fit` uses (override to build one, as in Lightning)."""
        if self.optimizer is None:
            raise ValueError("Model: no optimizer; pass optimizer=... or override configure_optimizers()")
        return self.optimizer

    def log(self, name: str, value: float) -> None:
        """Log a value for this batch, as Lightning's `self.log`; `fit` averages it over the epoch."""
        self.logged[name] = float(value)

    def training_step(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[float, np.ndarray]:
        """The loss of one batch and its gradient with respect to the network's output.

        Forward and loss only, and each metric logged: `fit` does `zero_grad`, `backward`, the
        penalty and `optimizer.step()` around it.
        """
        x, y = batch
        output = self.network.forward(x)
        loss, grad = self.loss(output, y)
        for name, metric in self.metrics.items():
            self.log(name, metric(output, y))
        return loss, grad

    # -- loops ----------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int = 10, batch_size: int = 32,
            validation_data: tuple[np.ndarray, np.ndarray] | None = None,
            callbacks: Sequence[Callback] = (), shuffle: bool = True, seed: int | None = 0,
            progress: bool = True) -> History:
        """Train for `epochs` passes over (X, y) in minibatches; returns the `History`.

        Each step: `zero_grad`, `training_step`, `backward`, the penalty's value and gradient,
        gradient clipping, `optimizer.step()`. Logged per epoch: "loss" (with the penalty) and
        each logged value (averaged over the epoch's samples, as Keras does) and, with
        `validation_data`, "val_loss" and "val_<metric>" in eval mode. Non-finite data is refused
        before any step; a loss that stops being finite stops training before that step, with
        an error naming the epoch and batch. `seed` fixes the shuffling (None: from `minifw.seed`).
        """
        X, y = _check_pair(X, y, ("X", "y"), "fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                got = type(validation_data).__name__
                if isinstance(validation_data, (tuple, list)):
                    got += f" of length {len(validation_data)}"
                raise ValueError(f"fit: validation_data must be a pair (X_val, y_val), got {got}")
            X_val, y_val = _check_pair(*validation_data, ("X_val", "y_val"), "fit(validation_data)")
            if X_val.shape[1:] != X.shape[1:] or y_val.shape[1:] != y.shape[1:]:
                raise ValueError("fit: validation samples must have the shape of the training samples: "
                                 f"X {X.shape[1:]}, y {y.shape[1:]}; got X_val {X_val.shape[1:]}, "
                                 f"y_val {y_val.shape[1:]}")
            validation_data = (X_val, y_val)
        optimizer = self.configure_optimizers()
        history = History()
        all_callbacks = [*callbacks, history]
        self.stop_training = False
        rng = make_rng(seed)
        for cb in all_callbacks:
            cb.on_train_begin(self)
        bar = tqdm(range(epochs), desc="fit", unit="epoch", disable=not progress, leave=True)
        for epoch in bar:
            self.network.train()
            sums: dict[str, float] = {}
            count = 0
            for batch, (xb, yb) in enumerate(minibatches(X, y, batch_size, shuffle=shuffle, rng=rng)):
                optimizer.zero_grad()
                self.logged = {}
                loss, grad = self.training_step((xb, yb))
                if not np.isfinite(loss):
                    raise FloatingPointError(f"fit: the loss became {loss} at epoch {epoch}, batch {batch}; the "
                                             "weights are those before this step (the data is finite: try a "
                                             "smaller learning rate)")
                self.network.backward(grad)
                if self.regularizer is not None:
                    loss += self.regularizer(self.weights)
                    self.regularizer.add_grad(self.weights)
                if self.clip_grad_norm is not None:
                    clip_grad_norm(optimizer.params, self.clip_grad_norm)
                optimizer.step()
                n = len(xb)
                for name, value in {"loss": loss, **self.logged}.items():
                    sums[name] = sums.get(name, 0.0) + value * n
                count += n
            logs = {name: total / count for name, total in sums.items()}
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(*validation_data).items()})
            for cb in all_callbacks:
                cb.on_epoch_end(epoch, logs)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            if self.stop_training:
                break
        bar.close()
        self.network.eval()
        for cb in all_callbacks:
            cb.on_train_end()
        return history

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The network's output on X in eval mode (batched; no gradients); the mode is restored after."""
        X = check_array(X, "X", "predict")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"predict: batch_size must be a positive integer, got {batch_size!r}")
        was_training = self.network.training
        self.network.eval()
        try:
            return np.concatenate([self.network.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
        finally:
            self.network.train(was_training)

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """{"loss": ..., "<metric>": ...} on (X, y) in eval mode (the data loss, without the penalty)."""
        X, y = _check_pair(X, y, ("X", "y"), "evaluate")
        output = self.predict(X, batch_size)
        result = {"loss": self.loss(output, y)[0]}
        result.update({name: metric(output, y) for name, metric in self.metrics.items()})
        return result
