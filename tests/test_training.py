"""Model.fit / evaluate / predict, callbacks and the clear errors of a training run."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

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
    with pytest.raises(FloatingPointError, match=r"loss became (inf|nan) at epoch 0, batch [1-9]"):
        with np.errstate(all="ignore"):
            model.fit(X, y, epochs=3, batch_size=8, progress=False)


def test_fit_rejects_mismatched_inputs():
    net = mlp()
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters()))
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
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
