"""Data handling: mini-batches, (stratified) splits, feature scaling and one-hot labels.

Features are float32 unless they come in as float64 (then float64 stays float64).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .seeding import RNGLike
from .seeding import rng as _as_rng


def _samples(value: Any, name: str, caller: str) -> np.ndarray:
    """`value` as an array with at least one sample (lists are converted), or a clear error."""
    array = np.asarray(value)
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{caller}: expected {name} as an array of at least one sample, got shape {array.shape}")
    return array


def _float_dtype(x: np.ndarray) -> type:
    return np.float64 if x.dtype == np.float64 else np.float32


def minibatches(
    X: np.ndarray,
    y: np.ndarray | None = None,
    batch_size: int = 32,
    shuffle: bool = True,
    rng: RNGLike = None,
) -> Iterator[np.ndarray | tuple[np.ndarray, np.ndarray]]:
    """Yield `X[idx]` (or `(X[idx], y[idx])`) for consecutive batches of `batch_size` samples.

    X: (n, ...); y: (n, ...) or None. Every sample appears exactly once per pass; the last
    batch keeps the remaining `n % batch_size` samples. With `shuffle`, the order is a
    permutation drawn from `rng`: an int seed gives the same order on every call, a
    `np.random.Generator` gives a new order each call (one reproducible sequence of epochs).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be a positive integer, got {batch_size!r}")
    X = np.asarray(X)
    y = None if y is None else np.asarray(y)
    n = len(X)
    if y is not None and len(y) != n:
        raise ValueError(f"minibatches: X and y must have the same length, got {n} and {len(y)}")
    order = _as_rng(rng).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx] if y is None else (X[idx], y[idx])


# -- splits ----------------------------------------------------------------------------------
def _count(size: float | int, n: int, name: str, caller: str) -> int:
    """A split size given as a fraction of n (float in [0, 1)) or as a number of samples (int)."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        count = int(size)
    elif isinstance(size, (float, np.floating)) and 0.0 <= size < 1.0:
        count = int(round(float(size) * n))
    else:
        raise ValueError(f"{caller}: {name} must be a fraction in [0, 1) or a number of samples, "
                         f"got {size!r}")
    if not 0 <= count < n:
        raise ValueError(f"{caller}: {name}={size!r} asks for {count} of {n} samples; "
                         f"expected 0 <= count < {n}")
    return count


def _class_labels(y: np.ndarray, caller: str) -> np.ndarray:
    """Labels (n,) from class labels (n,) / (n, 1) or one-hot rows (n, k)."""
    y = np.asarray(y).reshape(len(y), -1)
    labels = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise ValueError(f"{caller}: stratify=True needs class labels, got non-integer targets; "
                         "pass stratify=False for regression targets")
    return labels


def _stratified_counts(class_counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """(classes, parts) integer table with the given margins, each cell within 1 of its share.

    Start from floor(class_count * size / n); hand out the missing samples part by part to the
    classes with the most samples still unassigned (then the largest rounding remainder).
    """
    share = np.outer(class_counts, sizes) / class_counts.sum()
    table = np.floor(share).astype(np.int64)
    left = class_counts - table.sum(axis=1)
    for part in np.argsort(-sizes, kind="stable"):
        need = sizes[part] - table[:, part].sum()
        rows = np.lexsort((table[:, part] - share[:, part], -left))[:need]
        table[rows, part] += 1
        left[rows] -= 1
    return table


def _split_indices(
    X: np.ndarray, y: np.ndarray, sizes: dict[str, float | int], stratify: bool, seed: RNGLike, caller: str
) -> list[np.ndarray]:
    """Index arrays [rest, part_1, part_2, ...] of the given sizes, each in random order."""
    X, y = _samples(X, "X", caller), _samples(y, "y", caller)
    if len(X) != len(y):
        raise ValueError(f"{caller}: X and y must have the same length, got {len(X)} and {len(y)}")
    n = len(y)
    requested = [_count(size, n, name, caller) for name, size in sizes.items()]
    if sum(requested) >= n:
        raise ValueError(f"{caller}: {' + '.join(sizes)} take {sum(requested)} of {n} samples; "
                         "nothing is left to train on")
    counts = np.array([n - sum(requested), *requested])
    rng = _as_rng(seed)
    if not stratify:
        return [rng.permutation(part) for part in np.split(rng.permutation(n), np.cumsum(counts)[:-1])]
    classes, labels = np.unique(_class_labels(y, caller), return_inverse=True)
    table = _stratified_counts(np.bincount(labels, minlength=len(classes)), counts)
    parts: list[list[np.ndarray]] = [[] for _ in counts]
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(labels == k))
        for part, chunk in zip(parts, np.split(members, np.cumsum(table[k])[:-1])):
            part.append(chunk)
    return [rng.permutation(np.concatenate(part)) for part in parts]


def train_test_split(
    X: np.ndarray, y: np.ndarray, test_size: float | int = 0.2, stratify: bool = True, seed: RNGLike = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into `X_train, X_test, y_train, y_test` (scikit-learn's order).

    test_size: fraction of the samples (float) or a number of samples (int). With `stratify`,
    each class keeps its overall proportion in both parts (up to one sample per class).
    """
    X, y = np.asarray(X), np.asarray(y)
    train, test = _split_indices(X, y, {"test_size": test_size}, stratify, seed, "train_test_split")
    return X[train], X[test], y[train], y[test]


def train_val_test_split(
    X: np.ndarray,
    y: np.ndarray,
    val_size: float | int = 0.15,
    test_size: float | int = 0.15,
    stratify: bool = True,
    seed: RNGLike = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into `X_train, X_val, X_test, y_train, y_val, y_test`.

    Sizes are fractions of all samples (float) or numbers of samples (int); the training set
    gets the rest. With `stratify`, every part keeps the class proportions (±1 per class).
    """
    X, y = np.asarray(X), np.asarray(y)
    sizes = {"val_size": val_size, "test_size": test_size}
    train, val, test = _split_indices(X, y, sizes, stratify, seed, "train_val_test_split")
    return X[train], X[val], X[test], y[train], y[val], y[test]


# -- scaling ---------------------------------------------------------------------------------
class _Scaler:
    """Per-feature statistics over axis 0 of X (n, ...), learned by `fit` on the training data only."""

    feature_shape_: tuple[int, ...] | None = None  # X.shape[1:] seen by fit

    def _fit_input(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise TypeError(f"{type(self).__name__}.fit: expected a numeric array, got dtype {X.dtype}")
        if X.ndim == 0 or len(X) == 0:
            raise ValueError(f"{type(self).__name__}.fit: expected an array of shape (n_samples, n_features) "
                             f"with n_samples >= 1, got shape {X.shape}")
        self.feature_shape_ = X.shape[1:]
        return X

    def _checked(self, X: np.ndarray, method: str) -> np.ndarray:
        name = type(self).__name__
        if self.feature_shape_ is None:
            raise RuntimeError(f"{name}.{method}: the scaler is not fitted; call fit(X_train) first")
        X = np.asarray(X)
        if X.shape[1:] != self.feature_shape_:
            raise ValueError(f"{name}.{method}: fitted on {int(np.prod(self.feature_shape_))} features "
                             f"(samples of shape {self.feature_shape_}), got X of shape {X.shape}")
        return X

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def fit(self, X: np.ndarray) -> _Scaler:
        raise NotImplementedError

    def transform(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class MinMaxScaler(_Scaler):
    r"""$x' = lo + (x - min) \cdot (hi - lo) / (max - min)$ per feature, mapping the training range to
    `feature_range = (lo, hi)`.

    After `fit(X)` (X: (n, ...)): `min_`, `max_` are the per-feature training minimum and
    maximum, `scale_ = (hi - lo) / (max_ - min_)`; a constant feature gets `scale_ = hi - lo`
    and maps to `lo`.
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)):
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: feature_range must be (low, high) with low < high, "
                             f"got {feature_range!r}")
        self.feature_range = (float(lo), float(hi))
        self.min_: np.ndarray | None = None
        self.max_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> MinMaxScaler:
        X = self._fit_input(X)
        self.min_ = X.min(axis=0).astype(np.float64)
        self.max_ = X.max(axis=0).astype(np.float64)
        data_range = self.max_ - self.min_
        lo, hi = self.feature_range
        self.scale_ = (hi - lo) / np.where(data_range == 0, 1.0, data_range)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = self._checked(X, "transform")
        return (self.feature_range[0] + (X - self.min_) * self.scale_).astype(_float_dtype(X))

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        X = self._checked(X, "inverse_transform")
        assert self.scale_ is not None and self.min_ is not None  # fitted (checked above)
        return ((X - self.feature_range[0]) / self.scale_ + self.min_).astype(_float_dtype(X))


class StandardScaler(_Scaler):
    r"""$x' = (x - \mu) / \sigma$ per feature, with the training mean and (population) std.

    After `fit(X)` (X: (n, ...)): `mean_` and `std_` per feature; a constant feature gets
    `std_ = 1`, so it maps to 0 instead of dividing by zero.
    """

    def __init__(self):
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> StandardScaler:
        X = self._fit_input(X).astype(np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.std_ = np.where(std == 0, 1.0, std)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = self._checked(X, "transform")
        return ((X - self.mean_) / self.std_).astype(_float_dtype(X))

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        X = self._checked(X, "inverse_transform")
        return (X * self.std_ + self.mean_).astype(_float_dtype(X))


# -- labels ----------------------------------------------------------------------------------
def one_hot(y: np.ndarray, num_classes: int | None = None, dtype: type = np.float32) -> np.ndarray:
    """One-hot rows: labels of shape (n,) become an (n, num_classes) array with a single 1 per row.

    `num_classes` defaults to `max(y) + 1`. Labels must be integers (integral floats such as
    1.0 are accepted) in `[0, num_classes)`.
    """
    y = np.asarray(y)
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if y.dtype.kind not in "iuf":
        raise ValueError(f"one_hot: labels must be integers, got an array of dtype {y.dtype}")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from empty labels; pass num_classes=")
        num_classes = max(int(np.max(y, where=np.isfinite(y), initial=0)) + 1, 1)
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive integer, got {num_classes!r}")
    bad = ((y != np.floor(y)) | (y < 0) | (y >= num_classes)).ravel()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = i if y.ndim == 1 else tuple(int(k) for k in np.unravel_index(i, y.shape))
        raise ValueError(f"one_hot: labels must be integers in [0, {num_classes}), "
                         f"got {y.ravel()[i].item()!r} at index {where}")
    return np.eye(num_classes, dtype=dtype)[y.astype(np.int64)]
