"""`Model`: a network, a loss and an optimizer with `fit`, `evaluate` and `predict`.

The names mirror what comes next in the course: `fit(X, y, epochs, batch_size,
validation_data, callbacks)` as in Keras, and `training_step` / `configure_optimizers` as in
PyTorch Lightning (override them in a subclass to change what one step does).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from .callbacks import Callback, History
from .data import minibatches
from .losses import BCEWithLogits, Loss
from .metrics import Metric, accuracy
from .module import Module
from .optim import Optimizer
from .regularizers import Regularizer, weights_only


class Model:
    """Train `network` on `loss` with `optimizer`.

    `metrics` are names ("accuracy") or functions `f(output, target) -> float`;
    `regularizer` (`minifw.L1` or `minifw.L2`) adds its penalty on the weight matrices (not
    biases or batchnorm parameters) to the loss, and its gradient to their `.grad`.
    """

    def __init__(self, network: Module, loss: Loss, optimizer: Optimizer | None = None,
                 metrics: Sequence[str | Metric] = ("accuracy",), regularizer: Regularizer | None = None):
        self.network, self.loss, self.optimizer, self.regularizer = network, loss, optimizer, regularizer
        self.weights = weights_only(network)  # what the regularizer covers
        self.metrics = {self._metric_name(m): self._metric(m) for m in metrics}
        self.stop_training = False

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

    def training_step(self, x: np.ndarray, y: np.ndarray, optimizer: Optimizer) -> tuple[float, np.ndarray]:
        """Forward, loss, backward and one optimizer step on a batch; returns (loss, output)."""
        optimizer.zero_grad()
        output = self.network.forward(x)
        loss, grad = self.loss(output, y)
        if self.network.can_skip_input_grad:
            self.network.backward(grad, input_grad=False)  # the data needs no gradient
        else:
            self.network.backward(grad)
        if self.regularizer is not None:
            loss += self.regularizer(self.weights)
            self.regularizer.add_grad(self.weights)
        optimizer.step()
        return loss, output

    # -- loops ----------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, epochs: int = 10, batch_size: int = 32,
            validation_data: tuple[np.ndarray, np.ndarray] | None = None,
            callbacks: Sequence[Callback] = (), shuffle: bool = True, seed: int | None = 0,
            progress: bool = True) -> History:
        """Train for `epochs` passes over (X, y) in minibatches; returns the `History`.

        Logged per epoch: "loss" and each metric (averaged over the epoch's batches, as Keras
        does) and, with `validation_data`, "val_loss" and "val_<metric>" in eval mode.
        Stops with an error naming the epoch and batch if the loss stops being finite.
        """
        if len(X) != len(y):
            raise ValueError(f"fit: X has {len(X)} samples but y has {len(y)}")
        optimizer = self.configure_optimizers()
        history = History()
        callbacks = [*callbacks, history]
        self.stop_training = False
        rng = np.random.default_rng(seed)
        for cb in callbacks:
            cb.on_train_begin(self)
        bar = tqdm(range(epochs), desc="fit", unit="epoch", disable=not progress, leave=True)
        for epoch in bar:
            self.network.train()
            sums, count = dict.fromkeys(["loss", *self.metrics], 0.0), 0
            for batch, (xb, yb) in enumerate(minibatches(X, y, batch_size, shuffle=shuffle, rng=rng)):
                loss, output = self.training_step(xb, yb, optimizer)
                if not np.isfinite(loss):
                    raise FloatingPointError(f"fit: the loss became {loss} at epoch {epoch}, batch {batch} "
                                             "(try a smaller learning rate or normalized inputs)")
                n = len(xb)
                sums["loss"] += loss * n
                for name, metric in self.metrics.items():
                    sums[name] += metric(output, yb) * n
                count += n
            logs = {name: total / count for name, total in sums.items()}
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(*validation_data).items()})
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            if self.stop_training:
                break
        bar.close()
        self.network.eval()
        for cb in callbacks:
            cb.on_train_end()
        return history

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The network's output on X in eval mode (batched; no gradients)."""
        self.network.eval()
        return np.concatenate([self.network.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """{"loss": ..., "<metric>": ...} on (X, y) in eval mode."""
        was_training = self.network.training
        output = self.predict(X, batch_size)
        self.network.train(was_training)
        result = {"loss": self.loss(output, y)[0]}
        result.update({name: metric(output, y) for name, metric in self.metrics.items()})
        return result
