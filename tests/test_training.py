"""Model.fit / evaluate / predict, callbacks and the clear errors of a training run."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minifw as mf


@pytest.fixture(scope="module")
def digits():
    X, y = mf.datasets.load_digits()
    X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=0.15, test_size=0.2, seed=0)
    scaler = mf.MinMaxScaler().fit(X_train)
    return [scaler.transform(a) for a in (X_train, X_val, X_test)], (y_train, y_val, y_test)


def mlp(seed: int = 0, dropout: float = 0.0) -> mf.Sequential:
    return mf.Sequential(mf.Linear(64, 128, seed=seed), mf.ReLU(), mf.Dropout(dropout, seed=seed),
                         mf.Linear(128, 10, seed=seed + 1))


def test_mlp_fit_on_digits_reaches_95_percent_test_accuracy(digits):
    (X_train, X_val, X_test), (y_train, y_val, y_test) = digits
    net = mlp()
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=1e-3))
    history = model.fit(X_train, y_train, epochs=30, batch_size=32, validation_data=(X_val, y_val), progress=False)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 30 and history["loss"][-1] < history["loss"][0]
    result = model.evaluate(X_test, y_test)
    assert result["accuracy"] >= 0.95
    assert model.predict(X_test).shape == (len(X_test), 10)
    assert np.mean(model.predict(X_test).argmax(1) == y_test) == pytest.approx(result["accuracy"])


def test_same_seed_same_history(digits):
    (X_train, X_val, _), (y_train, y_val, _) = digits

    def run():
        net = mlp(dropout=0.2)
        model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.1, momentum=0.9))
        return model.fit(X_train[:300], y_train[:300], epochs=3, validation_data=(X_val, y_val), progress=False, seed=5)

    assert run().history == run().history


def test_early_stopping_stops_and_restores_the_best_weights(digits):
    (X_train, X_val, _), (y_train, y_val, _) = digits
    net = mf.Sequential(mf.Linear(64, 256, seed=0), mf.ReLU(), mf.Linear(256, 10, seed=1))
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=3e-3))
    stop = mf.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    # 60 samples and a large network: the validation loss turns up within a few dozen epochs
    history = model.fit(X_train[:60], y_train[:60], epochs=200, batch_size=16, validation_data=(X_val, y_val),
                        callbacks=[stop], progress=False)
    epochs_run = len(history["val_loss"])
    assert stop.stopped_epoch == epochs_run - 1 < 199
    assert stop.best_epoch == int(np.argmin(history["val_loss"])) == epochs_run - 1 - 3
    assert model.evaluate(X_val, y_val)["loss"] == pytest.approx(min(history["val_loss"]), rel=1e-5)


def test_early_stopping_min_delta_and_max_mode():
    stop = mf.EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.05)
    model = mf.Model(mf.Sequential(mf.Linear(2, 2)), mf.CrossEntropy(), mf.SGD(mf.Linear(2, 2).parameters()))
    stop.on_train_begin(model)
    for epoch, acc in enumerate([0.50, 0.60, 0.62, 0.64, 0.70]):
        stop.on_epoch_end(epoch, {"val_accuracy": acc})
        if model.stop_training:
            break
    assert stop.best_value == 0.60 and stop.stopped_epoch == 3  # 0.62 and 0.64 are not 0.05 better


def test_early_stopping_needs_the_monitored_value():
    net = mlp()
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.1))
    X = np.zeros((8, 64), dtype=np.float32)
    with pytest.raises(KeyError, match="'val_loss' is not logged.*pass validation_data"):
        model.fit(X, np.zeros(8, dtype=int), epochs=1, callbacks=[mf.EarlyStopping()], progress=False)


def test_learning_rate_scheduler_callback_logs_and_steps():
    net = mf.Sequential(mf.Linear(2, 2, seed=0))
    opt = mf.SGD(net.parameters(), lr=0.1)
    model = mf.Model(net, mf.CrossEntropy(), opt)
    X, y = mf.datasets.make_moons(64, seed=0)
    history = model.fit(X, y, epochs=4, callbacks=[mf.LearningRateScheduler(mf.StepLR(opt, step_size=2, gamma=0.5))],
                        progress=False)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_regularizer_adds_penalty_to_loss_and_gradient():
    X, y = mf.datasets.make_moons(64, seed=0)

    def first_loss(reg):
        net = mf.Sequential(mf.Linear(2, 8, seed=0), mf.ReLU(), mf.Linear(8, 2, seed=1))
        model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.0), regularizer=reg)
        return model.fit(X, y, epochs=1, batch_size=64, shuffle=False, progress=False)["loss"][0], net

    plain, net = first_loss(None)
    penalised, _ = first_loss(mf.L2(0.1))
    weights = mf.weights_only(net)
    assert penalised == pytest.approx(plain + mf.L2(0.1)(weights), rel=1e-5)


def test_binary_accuracy_thresholds_logits_at_zero():
    X, y = mf.datasets.make_moons(200, seed=0)
    net = mf.Sequential(mf.Linear(2, 16, seed=0), mf.Tanh(), mf.Linear(16, 1, seed=1))
    model = mf.Model(net, mf.BCEWithLogits(), mf.Adam(net.parameters(), lr=0.05))
    history = model.fit(X, y.reshape(-1, 1).astype(np.float32), epochs=40, progress=False)
    logits = model.predict(X)
    assert history["accuracy"][-1] > 0.9
    assert model.evaluate(X, y.reshape(-1, 1))["accuracy"] == pytest.approx(np.mean((logits[:, 0] > 0) == y))


def test_non_finite_loss_stops_with_epoch_and_batch():
    X = np.ones((64, 2), dtype=np.float32)
    y = np.ones((64, 1), dtype=np.float32)
    net = mf.Sequential(mf.Linear(2, 1, seed=0))
    model = mf.Model(net, mf.MSE(), mf.SGD(net.parameters(), lr=1e18), metrics=())
    with pytest.raises(FloatingPointError, match=r"loss became (inf|nan) at epoch 0, batch [1-9].*learning rate"):
        with np.errstate(all="ignore"):
            model.fit(X, y, epochs=3, batch_size=8, progress=False)
    assert np.all(np.isfinite(net[0].W.data))  # the step that would have used the bad loss was not taken


def test_fit_rejects_mismatched_inputs():
    net = mlp()
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters()))
    with pytest.raises(ValueError, match="fit: X has 10 samples but y has 9"):
        model.fit(np.zeros((10, 64), dtype=np.float32), np.zeros(9, dtype=int), progress=False)
    with pytest.raises(ValueError, match=r"Linear\(64 -> 128\): expected input of shape \(N, 64\), got \(10, 63\)"):
        model.fit(np.zeros((10, 63), dtype=np.float32), np.zeros(10, dtype=int), progress=False)
    with pytest.raises(ValueError, match="no optimizer"):
        mf.Model(net, mf.CrossEntropy()).fit(np.zeros((4, 64)), np.zeros(4, dtype=int), progress=False)


def test_progress_bar_can_be_turned_off(capsys):
    X, y = mf.datasets.make_moons(32, seed=0)
    net = mf.Sequential(mf.Linear(2, 2, seed=0))
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.1))
    model.fit(X, y, epochs=2, progress=False)
    assert capsys.readouterr().err == ""
    model.fit(X, y, epochs=2, progress=True)
    assert "fit" in capsys.readouterr().err


def test_minifw_imports_nothing_beyond_numpy_and_tqdm():
    code = ("import sys, minifw, minifw.autograd, minifw.datasets; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'tensorflow', 'keras', 'sklearn', 'scipy', 'matplotlib', 'pandas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- the contract: training_step computes the loss, fit owns the step ---------------------------
def test_training_step_only_computes_the_loss_and_its_gradient():
    net = mlp()
    opt = mf.SGD(net.parameters(), lr=0.1)
    model = mf.Model(net, mf.CrossEntropy(), opt)
    X, y = np.random.default_rng(0).random((8, 64)).astype(np.float32), np.arange(8) % 10
    before = net.state_dict()
    loss, grad = model.training_step((X, y))
    assert grad.shape == (8, 10) and loss == pytest.approx(mf.CrossEntropy()(net.forward(X), y)[0])
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())  # no step taken
    assert all(not g.any() for g in net.grads().values())  # no backward either
    assert set(model.logged) == {"accuracy"}


def test_a_subclass_changes_the_loss_and_fit_does_the_rest():
    """Input noise as a training_step override, exactly as a LightningModule would write it."""
    class NoisyModel(mf.Model):
        def training_step(self, batch):
            x, y = batch
            x = x + 0.1 * self.rng.standard_normal(x.shape).astype(x.dtype)
            output = self.network(x)
            self.log("noise_free_accuracy", mf.accuracy(self.network(batch[0]), y))
            return self.loss(output, y)

    X, y = mf.datasets.make_moons(128, seed=0)
    net = mf.Sequential(mf.Linear(2, 16, seed=0), mf.Tanh(), mf.Linear(16, 2, seed=1))
    model = NoisyModel(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.05), metrics=())
    model.rng = np.random.default_rng(0)
    history = model.fit(X, y, epochs=15, progress=False)
    assert set(history.history) == {"loss", "noise_free_accuracy"}
    assert history["loss"][-1] < history["loss"][0] and history["noise_free_accuracy"][-1] > 0.8


def test_fit_clips_the_gradient_norm_before_the_step():
    X, y = mf.datasets.make_moons(64, seed=0)

    def first_step(clip):
        net = mf.Sequential(mf.Linear(2, 4, seed=0), mf.ReLU(), mf.Linear(4, 2, seed=1))
        before = [p.data.copy() for p in net.parameters()]
        model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=1.0), clip_grad_norm=clip)
        model.fit(X, y, epochs=1, batch_size=64, shuffle=False, progress=False)
        return np.sqrt(sum(np.sum((p.data - b) ** 2) for p, b in zip(net.parameters(), before)))

    assert first_step(None) > 0.01
    assert first_step(0.01) == pytest.approx(0.01, rel=1e-4)  # one SGD step of lr 1: the clipped gradient


# -- bad data and bad arguments ----------------------------------------------------------------
@pytest.mark.parametrize("where", ["X", "y", "X_val"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_is_refused_before_any_step(where, bad):
    X, y = mf.datasets.make_regression_1d(40, seed=0)
    X_val, y_val = X[:10].copy(), y[:10].copy()
    {"X": X, "y": y, "X_val": X_val}[where][7] = bad
    net = mf.Sequential(mf.Linear(1, 4, seed=0), mf.Tanh(), mf.Linear(4, 1, seed=1))
    before = net.state_dict()
    model = mf.Model(net, mf.MSE(), mf.SGD(net.parameters(), lr=0.1), metrics=())
    with pytest.raises(ValueError, match=r"holds non-finite values \(NaN or inf\) in sample 7.*the data, not the "
                                         "learning rate"):
        model.fit(X, y, epochs=1, validation_data=(X_val, y_val), progress=False)
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())


@pytest.mark.parametrize("epochs", [0, -1, 2.5, True, "3", None])
def test_fit_rejects_a_bad_epochs(epochs):
    net = mlp()
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters()))
    with pytest.raises(ValueError, match=f"fit: epochs must be a positive integer, got {epochs!r}"):
        model.fit(np.zeros((4, 64)), np.zeros(4, dtype=int), epochs=epochs, progress=False)


@pytest.mark.parametrize("validation_data, message", [
    (np.zeros((4, 64)), "validation_data must be a pair \\(X_val, y_val\\), got ndarray"),
    ((np.zeros((4, 64)),), "validation_data must be a pair \\(X_val, y_val\\), got tuple of length 1"),
    ((np.zeros((4, 64)), np.zeros(3, dtype=int)), "X_val has 4 samples but y_val has 3"),
    ((np.zeros((4, 63)), np.zeros(4, dtype=int)), "validation samples must have the shape of the training samples"),
    ((np.zeros((0, 64)), np.zeros(0, dtype=int)), "expected at least one sample in X_val"),
])
def test_fit_rejects_malformed_validation_data(validation_data, message):
    net = mlp()
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters()))
    with pytest.raises(ValueError, match=message):
        model.fit(np.zeros((4, 64)), np.zeros(4, dtype=int), validation_data=validation_data, progress=False)


def test_entry_points_take_lists_and_integers_and_refuse_empty_or_text():
    X, y = mf.datasets.make_moons(32, seed=0)
    net = mf.Sequential(mf.Linear(2, 2, seed=0))
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.1))
    model.fit(X.tolist(), y.tolist(), epochs=1, progress=False)  # lists are converted, as in Keras
    X_int = np.round(X * 4).astype(np.int64)
    history = model.fit(X_int, y, epochs=2, progress=False)
    assert all(np.isfinite(history["loss"])) and model.predict(X_int).dtype == np.float32
    assert model.evaluate(X_int.tolist(), y)["loss"] > 0
    for call, name in [(lambda: model.fit(X[:0], y[:0], progress=False), "fit"),
                       (lambda: model.predict(np.zeros((0, 2))), "predict"),
                       (lambda: model.evaluate(X[:0], y[:0]), "evaluate")]:
        with pytest.raises(ValueError, match=f"{name}: expected at least one sample in X"):
            call()
    with pytest.raises(TypeError, match="fit: expected X as a numeric array of samples, got list of dtype <U"):
        model.fit([["a", "b"]], [0], progress=False)
    with pytest.raises(ValueError, match="predict: batch_size must be a positive integer, got 0"):
        model.predict(X, batch_size=0)
    with pytest.raises(TypeError, match="Model: expected a minifw Optimizer, got SGD"):
        import torch

        mf.Model(net, mf.CrossEntropy(), torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))


@pytest.mark.parametrize("method", ["predict", "evaluate"])
@pytest.mark.parametrize("mode", [True, False])
def test_predict_and_evaluate_restore_the_mode(method, mode):
    net = mlp(dropout=0.5)
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters()))
    net.train(mode)
    X, y = np.zeros((4, 64), dtype=np.float32), np.zeros(4, dtype=int)
    getattr(model, method)(X) if method == "predict" else model.evaluate(X, y)
    assert all(m.training == mode for m in net.modules())


# -- state dicts -------------------------------------------------------------------------------
def test_load_state_dict_refuses_a_wrong_shape_even_a_broadcastable_one():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.BatchNorm1d(4))
    state = net.state_dict()
    state["0.b"] = np.zeros(1, dtype=np.float32)  # numpy would broadcast it
    before = net.state_dict()
    with pytest.raises(ValueError, match=r"'0.b' has shape \(4,\) in the model but \(1,\) in the state dict"):
        net.load_state_dict(state)
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())  # nothing written


def test_load_state_dict_strict_and_not_strict_like_pytorch():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.BatchNorm1d(4))
    other = mf.Sequential(mf.Linear(3, 4, seed=1), mf.BatchNorm1d(4))
    state = other.state_dict()
    state["2.W"] = np.zeros(2)
    del state["1.running_var"]
    with pytest.raises(KeyError, match=r"missing keys \['1.running_var'\], unexpected keys \['2.W'\].*strict=False"):
        net.load_state_dict(state)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["1.running_var"] and result.unexpected_keys == ["2.W"]
    np.testing.assert_array_equal(net[0].W.data, other[0].W.data)
    assert net.load_state_dict(other.state_dict()) == ([], [])
    with pytest.raises(TypeError, match="expected a dict of arrays such as state_dict\\(\\), got list"):
        net.load_state_dict([1, 2])


@settings(max_examples=30, deadline=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4)), key=st.sampled_from(["0.W", "0.b", "1.running_mean"]),
       change=st.sampled_from(["drop_axis", "add_axis", "grow", "shrink"]))
def test_any_wrong_shape_is_refused_by_name(shape, key, change):
    net = mf.Sequential(mf.Linear(shape[0], shape[1], seed=0), mf.BatchNorm1d(shape[1]))
    state = net.state_dict()
    right = state[key].shape
    wrong = {"drop_axis": right[1:], "add_axis": (1, *right), "grow": (right[0] + 1, *right[1:]),
             "shrink": (max(right[0] - 1, 0), *right[1:])}[change]
    state[key] = np.zeros(wrong, dtype=np.float32)
    with pytest.raises(ValueError, match=re.escape(f"{key!r} has shape {right} in the model but {wrong}")):
        net.load_state_dict(state)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), d=st.integers(1, 4), row=st.integers(0, 29), col=st.integers(0, 3),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]), dtype=st.sampled_from([np.float32, np.float64]))
def test_non_finite_data_anywhere_is_found(n, d, row, col, bad, dtype):
    X = np.random.default_rng(n).random((n, d)).astype(dtype)
    X[row % n, col % d] = bad
    net = mf.Sequential(mf.Linear(d, 2, seed=0))
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=f"in sample {row % n} "):
        model.fit(X, np.zeros(n, dtype=int), epochs=1, progress=False)
    with pytest.raises(ValueError, match="predict: X holds non-finite values"):
        model.predict(X)


# -- reproducibility ---------------------------------------------------------------------------
def test_one_global_seed_makes_a_whole_run_reproducible():
    X, y = mf.datasets.make_moons(64, seed=0)

    def run():
        mf.seed(123)
        net = mf.Sequential(mf.Linear(2, 8), mf.ReLU(), mf.Dropout(0.3), mf.Linear(8, 2))
        model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.01))
        return model.fit(X, y, epochs=3, seed=None, progress=False).history, net.state_dict()

    (h1, s1), (h2, s2) = run(), run()
    assert h1 == h2 and all(np.array_equal(s1[k], s2[k]) for k in s1)
    mf.seed(124)
    assert not np.array_equal(mf.Linear(2, 8).W.data, s1["0.W"])
    with pytest.raises(ValueError, match="seed: expected a non-negative integer, got -1"):
        mf.seed(-1)


def test_reduce_lr_on_plateau_through_the_callback():
    X, y = mf.datasets.make_moons(64, seed=0)
    net = mf.Sequential(mf.Linear(2, 2, seed=0))
    opt = mf.SGD(net.parameters(), lr=0.1)
    model = mf.Model(net, mf.CrossEntropy(), opt)
    # no epoch halves the loss: after the first, every one is a plateau
    plateau = mf.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.5)
    history = model.fit(X, y, epochs=4, callbacks=[mf.LearningRateScheduler(plateau, monitor="loss")], progress=False)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    with pytest.raises(KeyError, match="'val_loss' is not logged"):
        model.fit(X, y, epochs=1, callbacks=[mf.LearningRateScheduler(mf.ReduceLROnPlateau(opt))], progress=False)


def test_cross_entropy_on_one_hot_targets_trains_exactly_as_on_labels():
    """CrossEntropy takes class probabilities (N, C) as torch does: one-hot rows give the same run."""
    X, y = mf.datasets.make_moons(96, seed=0)

    def run(targets):
        net = mf.Sequential(mf.Linear(2, 8, seed=0), mf.ReLU(), mf.Linear(8, 2, seed=1))
        model = mf.Model(net, mf.CrossEntropy(label_smoothing=0.1), mf.Adam(net.parameters(), lr=0.05))
        history = model.fit(X, targets, epochs=3, batch_size=32, progress=False, seed=0)
        return history, model.evaluate(X, targets)

    by_labels, by_one_hot = run(y), run(mf.one_hot(y, 2))
    np.testing.assert_allclose(by_one_hot[0]["loss"], by_labels[0]["loss"], rtol=1e-6)
    assert by_one_hot[1]["accuracy"] == by_labels[1]["accuracy"]


def test_state_dict_survives_a_file_round_trip_with_every_buffer(tmp_path):
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.BatchNorm1d(4, momentum=None), mf.BatchNorm1d(4),
                        mf.Linear(4, 2, seed=1))
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    net.forward(x)
    net.forward(x[::-1] * 2)
    np.savez(tmp_path / "net.npz", **net.state_dict())
    fresh = mf.Sequential(mf.Linear(3, 4, seed=5), mf.BatchNorm1d(4, momentum=None), mf.BatchNorm1d(4),
                          mf.Linear(4, 2, seed=6))
    with np.load(tmp_path / "net.npz") as saved:
        fresh.load_state_dict(dict(saved))
    assert int(fresh[1].num_batches_tracked) == 2
    np.testing.assert_array_equal(fresh.eval()(x), net.eval()(x))
