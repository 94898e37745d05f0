"""minifw.data: mini-batches, stratified splits, scalers and one-hot labels."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minifw as mf
from minifw.data import (
    MinMaxScaler,
    StandardScaler,
    minibatches,
    one_hot,
    train_test_split,
    train_val_test_split,
)


# -- minibatches -----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), batch_size=st.integers(1, 64), seed=st.integers(0, 2**32 - 1))
def test_minibatches_cover_every_index_once(n, batch_size, seed):
    batches = list(minibatches(np.arange(n), batch_size=batch_size, rng=seed))
    assert sorted(np.concatenate(batches or [np.arange(0)]).tolist()) == list(range(n))
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    assert len(batches) == -(-n // batch_size)  # the last, partial batch is kept


def test_minibatches_last_partial_batch_and_pairs():
    X, y = np.arange(10).reshape(10, 1) * 1.0, np.arange(10)
    batches = list(minibatches(X, y, batch_size=4, shuffle=False))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)  # rows stay paired with their labels


def test_minibatches_reproducible():
    X = np.arange(50)
    first = np.concatenate(list(minibatches(X, batch_size=8, rng=3)))
    again = np.concatenate(list(minibatches(X, batch_size=8, rng=3)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, X)  # shuffled

    # a Generator moves on: new order every epoch, same sequence of epochs from the same seed
    gen_a, gen_b = np.random.default_rng(7), np.random.default_rng(7)
    epochs_a = [np.concatenate(list(minibatches(X, rng=gen_a))) for _ in range(2)]
    epochs_b = [np.concatenate(list(minibatches(X, rng=gen_b))) for _ in range(2)]
    assert not np.array_equal(epochs_a[0], epochs_a[1])
    for a, b in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(a, b)


def test_minibatches_no_shuffle_keeps_order():
    np.testing.assert_array_equal(np.concatenate(list(minibatches(np.arange(9), batch_size=4, shuffle=False))),
                                  np.arange(9))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_minibatches_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        list(minibatches(np.arange(5), batch_size=batch_size))


def test_minibatches_length_mismatch():
    with pytest.raises(ValueError, match="same length, got 5 and 4"):
        list(minibatches(np.arange(5), np.arange(4)))


# -- splits ----------------------------------------------------------------------------------
def _imbalanced_labels(n=503, seed=0):
    return np.random.default_rng(seed).choice(4, size=n, p=[0.55, 0.25, 0.15, 0.05])


def test_train_val_test_split_partition_and_sizes():
    y = _imbalanced_labels()
    X = np.arange(len(y))
    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, val_size=0.2, test_size=0.1, seed=1)
    assert (len(X_tr), len(X_val), len(X_te)) == (503 - 101 - 50, 101, 50)
    # no overlap, full coverage, rows still paired with their labels
    np.testing.assert_array_equal(np.sort(np.concatenate([X_tr, X_val, X_te])), X)
    for Xp, yp in [(X_tr, y_tr), (X_val, y_val), (X_te, y_te)]:
        np.testing.assert_array_equal(y[Xp], yp)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 400),
       val=st.floats(0.05, 0.4), test=st.floats(0.05, 0.4), num_classes=st.integers(2, 8))
def test_stratification_keeps_class_proportions(seed, n, val, test, num_classes):
    rng = np.random.default_rng(seed)
    y = rng.choice(num_classes, size=n, p=rng.dirichlet(np.ones(num_classes)))
    *_, y_tr, y_val, y_te = train_val_test_split(np.zeros((n, 2)), y, val, test, seed=seed)
    classes, counts = np.unique(y, return_counts=True)
    for part in (y_tr, y_val, y_te):
        for cls, count in zip(classes, counts):
            # each class gets its share of every part, within one sample
            assert abs(np.sum(part == cls) - count * len(part) / n) <= 1


def test_train_test_split_order_seed_and_counts():
    y = _imbalanced_labels(200)
    X = np.arange(200) * 10
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=40, seed=5)
    assert len(X_te) == 40 and len(X_tr) == 160
    np.testing.assert_array_equal(y[X_te // 10], y_te)
    again = train_test_split(X, y, test_size=40, seed=5)
    np.testing.assert_array_equal(again[1], X_te)
    assert not np.array_equal(train_test_split(X, y, test_size=40, seed=6)[1], X_te)


def test_split_one_hot_targets_are_stratified():
    y = _imbalanced_labels(300)
    *_, y_tr, y_te = train_test_split(np.zeros(300), one_hot(y), test_size=0.25)
    for cls in range(4):
        assert abs(y_te[:, cls].sum() - np.sum(y == cls) * 0.25) <= 1


def test_split_without_stratify_accepts_regression_targets():
    X = np.arange(30, dtype=np.float32).reshape(30, 1)
    y = np.linspace(0, 1, 30)
    with pytest.raises(ValueError, match="stratify=True needs class labels"):
        train_test_split(X, y)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, stratify=False)
    assert len(X_te) == 6
    np.testing.assert_allclose(y_te, y[X_te[:, 0].astype(int)])


@pytest.mark.parametrize("sizes, message", [
    ((0.5, 0.5), "nothing is left to train on"),
    ((1.5, 0.1), "val_size must be a fraction in \\[0, 1\\) or a number of samples"),
    ((0.1, 100), "test_size=100 asks for 100 of 20 samples"),
])
def test_split_bad_sizes(sizes, message):
    with pytest.raises(ValueError, match=message):
        train_val_test_split(np.zeros(20), np.arange(20) % 2, *sizes)


def test_split_length_mismatch():
    with pytest.raises(ValueError, match="train_test_split: X and y must have the same length, got 5 and 4"):
        train_test_split(np.zeros(5), np.zeros(4))


# -- scalers ---------------------------------------------------------------------------------
def _train_test(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal([5.0, -100.0, 0.0], [2.0, 30.0, 0.01], size=(80, 3)).astype(np.float32)
    X[:, 2] = 7.0  # a constant column
    return X[:60], X[60:]


def test_standard_scaler_uses_train_statistics():
    X_train, X_test = _train_test()
    scaler = StandardScaler().fit(X_train)
    np.testing.assert_allclose(scaler.mean_, X_train.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scaler.std_[:2], X_train[:, :2].astype(np.float64).std(axis=0), rtol=1e-6)
    assert scaler.std_[2] == 1.0  # constant column: no division by zero
    Z_train = scaler.transform(X_train)
    np.testing.assert_allclose(Z_train[:, :2].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(Z_train[:, :2].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(Z_train[:, 2], 0)
    # the test set is scaled with the training statistics, not its own
    Z_test = scaler.transform(X_test)
    np.testing.assert_allclose(Z_test, (X_test - scaler.mean_) / scaler.std_, rtol=1e-5, atol=1e-6)
    assert abs(Z_test[:, 0].mean()) > 1e-3
    np.testing.assert_allclose(scaler.inverse_transform(Z_test), X_test, rtol=1e-5)


def test_minmax_scaler_uses_train_statistics():
    X_train, X_test = _train_test()
    scaler = MinMaxScaler(feature_range=(-1, 1))
    Z_train = scaler.fit_transform(X_train)
    np.testing.assert_array_equal(scaler.min_, X_train.min(axis=0))
    np.testing.assert_array_equal(scaler.max_, X_train.max(axis=0))
    np.testing.assert_allclose(Z_train[:, :2].min(axis=0), -1, atol=1e-6)
    np.testing.assert_allclose(Z_train[:, :2].max(axis=0), 1, atol=1e-6)
    np.testing.assert_array_equal(Z_train[:, 2], -1)  # constant column maps to the low end
    Z_test = scaler.transform(X_test)
    np.testing.assert_allclose(Z_test, -1 + (X_test - scaler.min_) * scaler.scale_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(Z_test), X_test, rtol=1e-5)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 50), features=st.integers(1, 6))
def test_scalers_round_trip(seed, n, features):
    X = np.random.default_rng(seed).normal(0, 10, size=(n, features))
    for scaler in (StandardScaler(), MinMaxScaler()):
        Z = scaler.fit_transform(X)
        assert np.all(np.isfinite(Z))
        np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("Scaler", [StandardScaler, MinMaxScaler])
def test_scaler_dtypes(Scaler):
    X64 = np.random.default_rng(0).normal(size=(10, 2))
    assert Scaler().fit_transform(X64).dtype == np.float64
    assert Scaler().fit_transform(X64.astype(np.float32)).dtype == np.float32
    assert Scaler().fit_transform(np.arange(20).reshape(10, 2)).dtype == np.float32  # ints -> float32


@pytest.mark.parametrize("Scaler", [StandardScaler, MinMaxScaler])
def test_scaler_errors(Scaler):
    name = Scaler.__name__
    with pytest.raises(RuntimeError, match=f"{name}.transform: the scaler is not fitted; call fit"):
        Scaler().transform(np.zeros((2, 3)))
    scaler = Scaler().fit(np.random.default_rng(0).normal(size=(5, 3)))
    with pytest.raises(ValueError, match=r"fitted on 3 features .* got X of shape \(2, 4\)"):
        scaler.transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"inverse_transform: fitted on 3 features"):
        scaler.inverse_transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=rf"{name}.fit: expected .* got shape \(0, 3\)"):
        Scaler().fit(np.zeros((0, 3)))


def test_minmax_bad_range():
    with pytest.raises(ValueError, match="low < high, got \\(1, 0\\)"):
        MinMaxScaler(feature_range=(1, 0))


# -- one_hot ---------------------------------------------------------------------------------
def test_one_hot_values():
    out = one_hot(np.array([0, 2, 1, 2]))
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out.argmax(axis=1), [0, 2, 1, 2])
    np.testing.assert_array_equal(out.sum(axis=1), 1)
    assert one_hot([1], num_classes=5).shape == (1, 5)
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])  # integral floats are fine
    assert one_hot(np.array([[0, 1]]), 2).shape == (1, 2, 2)


@pytest.mark.parametrize("labels, num_classes, message", [
    ([1, 2, 3, 12, 4], 10, "one_hot: labels must be integers in [0, 10), got 12 at index 3"),
    ([0, -1], None, "one_hot: labels must be integers in [0, 1), got -1 at index 1"),
    ([0.0, 1.5], 3, "one_hot: labels must be integers in [0, 3), got 1.5 at index 1"),
    ([0.0, np.nan], 3, "one_hot: labels must be integers in [0, 3), got nan at index 1"),
    (["cat", "dog"], 2, "one_hot: labels must be integers, got an array of dtype <U3"),
    ([[0, 1], [2, 5]], 4, "one_hot: labels must be integers in [0, 4), got 5 at index (1, 1)"),
    ([], None, "one_hot: cannot infer num_classes from empty labels"),
    ([0, 1], 0, "one_hot: num_classes must be a positive integer, got 0"),
])
def test_one_hot_errors(labels, num_classes, message):
    with pytest.raises(ValueError) as info:
        one_hot(np.array(labels), num_classes)
    assert str(info.value).startswith(message)


# -- lists, empty arrays, integer data ---------------------------------------------------------
def test_data_helpers_take_lists_and_refuse_empty_arrays():
    X, y = [[float(i), 2.0 * i] for i in range(10)], [i % 2 for i in range(10)]
    X_tr, X_te, y_tr, y_te = mf.train_test_split(X, y, test_size=0.2)
    assert X_tr.shape == (8, 2) and X_te.shape == (2, 2) and sorted(np.concatenate([y_tr, y_te])) == sorted(y)
    assert sum(len(b[0]) for b in mf.minibatches(X, y, batch_size=3)) == 10
    with pytest.raises(ValueError, match="train_test_split: expected X as an array of at least one sample, got shape"):
        mf.train_test_split(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="expected an array of shape \\(n_samples, n_features\\) with n_samples >= 1"):
        mf.StandardScaler().fit(np.zeros((0, 3)))
    with pytest.raises(TypeError, match="StandardScaler.fit: expected a numeric array, got dtype <U"):
        mf.StandardScaler().fit(np.array([["a"]]))
    scaled = mf.MinMaxScaler().fit_transform(np.arange(12).reshape(6, 2))  # integers scale to float32
    assert scaled.dtype == np.float32 and scaled.min() == 0 and scaled.max() == 1
