"""Metrics: `metric(output, target) -> float` on one batch."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def accuracy(output: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of correct predictions.

    output (N, C) with C > 1: the predicted class is the arg-max (target: labels (N,) or one-hot (N, C)).
    output (N,) or (N, 1): binary, predicted 1 where output > `threshold`
    (0.5 for probabilities, 0.0 for logits).
    """
    target = np.asarray(target)
    if output.ndim == 2 and output.shape[1] > 1:
        pred = output.argmax(axis=1)
        if target.ndim == 2:
            target = target.argmax(axis=1)
    else:
        pred = (output.reshape(-1) > threshold).astype(np.int64)
        target = target.reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(f"accuracy: expected {pred.shape[0]} targets, got shape {target.shape}")
    return float(np.mean(pred == target))


def confusion_matrix(pred: np.ndarray, target: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    num_classes = num_classes or int(max(pred.max(), target.max())) + 1
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (target, pred), 1)
    return cm
