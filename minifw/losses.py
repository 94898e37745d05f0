r"""Losses: `loss(pred, target) -> (mean_loss, grad_pred)`.

The loss of a batch is the mean of the per-sample losses (the *cost*); the returned gradient
is $\partial\, \mathrm{cost} / \partial\, \mathrm{pred}$, with the shape of `pred`, ready for
`model.backward`. Integer predictions are computed in float32; the values at the edges
(probabilities of exactly 0 or 1, masked `-inf` logits) are those of PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .layers import as_float, check_number, log_softmax, sigmoid, softmax


def check_inputs(name: str, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """`pred` as a non-empty float array and `target` as a numeric array, or a clear error."""
    pred = as_float(name, pred)
    if pred.size == 0:
        raise ValueError(f"{name}: expected a non-empty batch of predictions, got shape {pred.shape}")
    target = np.asarray(target)
    if target.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric targets, got dtype {target.dtype}")
    return pred, target


def _check_same_shape(name: str, pred: np.ndarray, target: np.ndarray) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"{name}: expected target of the same shape as the predictions {pred.shape}, "
                         f"got {target.shape}")


def check_labels(name: str, labels: np.ndarray, num_classes: int, batch: int) -> np.ndarray:
    """Class indices as int64, checked: shape (N,), integers in [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.shape != (batch,):
        raise ValueError(f"{name}: expected class labels of shape ({batch},), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind != "f" or not np.all(labels == np.round(labels)):
            raise ValueError(f"{name}: expected integer class labels, got dtype {labels.dtype}")
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise ValueError(f"{name}: class labels must be in [0, {num_classes}), got {labels[bad[0]]} at index {bad[0]}")
    return labels.astype(np.int64)


class Loss:
    """Base class: subclasses implement `__call__(pred, target) -> (float, ndarray)`."""

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    r"""Mean squared error $\frac{1}{n}\sum (p - y)^2$ over all elements; gradient $\frac{2}{n}(p - y)$."""

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        pred, target = check_inputs("MSE", pred, target)
        _check_same_shape("MSE", pred, target)
        diff = pred - target.astype(pred.dtype, copy=False)
        return float(np.mean(diff ** 2)), (2 / diff.size) * diff


class MAE(Loss):
    r"""Mean absolute error $\frac{1}{n}\sum |p - y|$; gradient $\frac{1}{n}\,\mathrm{sign}(p - y)$."""

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        pred, target = check_inputs("MAE", pred, target)
        _check_same_shape("MAE", pred, target)
        diff = pred - target.astype(pred.dtype, copy=False)
        return float(np.mean(np.abs(diff))), np.sign(diff) / diff.size


class BCEWithLogits(Loss):
    r"""Binary cross-entropy on logits $z$ with targets $y \in [0, 1]$, as PyTorch's `BCEWithLogitsLoss`:
    $\ell = (1 - y) z - \log\sigma(z)$ with $\log\sigma(z) = \min(z, 0) - \log(1 + e^{-|z|})$, which
    equals $-y\log\sigma(z) - (1-y)\log(1-\sigma(z))$ without overflow. Gradient $(\sigma(z) - y)/n$.
    Infinite logits give PyTorch's values (for $z = +\infty$, $y = 0$ the loss is $+\infty$; for
    $z = -\infty$, $y = 1$ the product $0 \cdot \infty$ makes it NaN, in torch too)."""

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        z, target = check_inputs("BCEWithLogits", pred, target)
        _check_same_shape("BCEWithLogits", z, target)
        y = target.astype(z.dtype, copy=False)
        with np.errstate(invalid="ignore"):  # 0 * inf at an infinite logit: NaN, as torch
            loss = (1 - y) * z - (np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z))))
        return float(np.mean(loss)), (sigmoid(z) - y) / z.size


_BCE_EPS = float(np.float32(1e-12))  # PyTorch's floor of p(1-p), a float32 constant


class BCE(Loss):
    r"""Binary cross-entropy on probabilities $p$: $-y\log p - (1-y)\log(1-p)$, as PyTorch's `BCELoss`:
    each log is clamped at $-100$ (so $p = 0$ or $1$ gives a finite loss), and the gradient is
    $\frac{1}{n}\frac{p - y}{\max(p(1-p),\ 10^{-12})}$. Prefer `BCEWithLogits`, which is stable."""

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        p, target = check_inputs("BCE", pred, target)
        _check_same_shape("BCE", p, target)
        for what, values in (("probabilities", p), ("targets", target)):
            outside = ~((values >= 0) & (values <= 1))  # NaN is outside too, as torch's check
            if np.any(outside):
                hint = "; for logits use BCEWithLogits" if what == "probabilities" else ""
                raise ValueError(f"BCE: expected {what} in [0, 1], got {values[outside].flat[0]}{hint}")
        y = target.astype(p.dtype, copy=False)
        with np.errstate(divide="ignore"):
            log_p, log_1mp = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        loss = -(y * log_p + (1 - y) * log_1mp)
        grad = (p - y) / np.maximum(p * (1 - p), _BCE_EPS) / p.size
        return float(np.mean(loss)), grad.astype(p.dtype, copy=False)


class CrossEntropy(Loss):
    r"""Softmax cross-entropy on logits (N, C) with class labels (N,):
    $\ell_i = -\sum_c q_{ic} \log \mathrm{softmax}(z_i)_c$, the log-softmax computed stably.

    With label smoothing $\varepsilon$ the target is $q = (1-\varepsilon)\,\mathrm{onehot}(y) + \varepsilon / C$
    (as in `torch.nn.CrossEntropyLoss(label_smoothing=...)`). Gradient $(\mathrm{softmax}(z) - q) / N$.
    The target may also be class probabilities of shape (N, C), such as one-hot rows, as in torch
    (and Keras `CategoricalCrossentropy`); then $q = (1-\varepsilon)\,\mathrm{target} + \varepsilon / C$.
    Masked logits ($-\infty$, probability 0) are allowed, with PyTorch's values: with class labels they
    add nothing to the loss where $q = 0$ and make it infinite where $q > 0$; with probability
    targets, torch's product $0 \cdot (-\infty)$ makes the loss NaN, here too.
    """

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = check_number("CrossEntropy", "label_smoothing", label_smoothing, 0.0, 1.0)

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        pred, target = check_inputs("CrossEntropy", pred, target)
        if pred.ndim != 2:
            raise ValueError(f"CrossEntropy: expected logits of shape (N, C), got {pred.shape}")
        n, c = pred.shape
        if target.ndim == 2:
            if target.shape != pred.shape:
                raise ValueError(f"CrossEntropy: expected class labels of shape ({n},) or class probabilities "
                                 f"of shape {pred.shape}, got {target.shape}")
            return self._soft(pred, target.astype(pred.dtype, copy=False))
        labels = check_labels("CrossEntropy", target, c, n)
        rows = np.arange(n)
        logp = log_softmax(pred)
        loss = -(1 - self.label_smoothing) * logp[rows, labels].sum()  # the product 0 * -inf never happens
        if self.label_smoothing > 0:
            loss -= self.label_smoothing / c * logp.sum()
        q = np.full_like(pred, self.label_smoothing / c)
        q[rows, labels] += 1 - self.label_smoothing
        return float(loss / n), (softmax(pred) - q) / n

    def _soft(self, pred: np.ndarray, probs: np.ndarray) -> tuple[float, np.ndarray]:
        r"""Probability targets $p$ (N, C): $q = (1-\varepsilon) p + \varepsilon / C$,
        $\ell_i = -\sum_c q_{ic} \log \mathrm{softmax}(z_i)_c$, gradient
        $(\mathrm{softmax}(z_i) \sum_c q_{ic} - q_i) / N$ (rows need not sum to 1, as torch)."""
        n, c = pred.shape
        q = (1 - self.label_smoothing) * probs + self.label_smoothing / c
        with np.errstate(invalid="ignore"):  # 0 * -inf at a masked logit: NaN, as torch
            loss = -(q * log_softmax(pred)).sum()
        grad = (softmax(pred) * q.sum(axis=1, keepdims=True) - q) / n
        return float(loss / n), grad.astype(pred.dtype, copy=False)


class NLL(Loss):
    r"""Negative log-likelihood on log-probabilities (N, C): $\ell_i = -\log p_{i, y_i}$
    (pair it with a log-softmax output). Gradient $-1/N$ at the true class, 0 elsewhere."""

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        pred, target = check_inputs("NLL", pred, target)
        if pred.ndim != 2:
            raise ValueError(f"NLL: expected log-probabilities of shape (N, C), got {pred.shape}")
        n, c = pred.shape
        labels = check_labels("NLL", target, c, n)
        grad = np.zeros_like(pred)
        grad[np.arange(n), labels] = -1 / n
        return float(-pred[np.arange(n), labels].mean()), grad
