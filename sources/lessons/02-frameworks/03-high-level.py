# %% [markdown] track="pytorch"
# # 02·03 · High-level training with PyTorch Lightning
#
# In notebook 02 you wrote the training loop yourself: batches, `zero_grad`, `backward`, `step`,
# validation after each epoch, the best weights kept by hand. That loop is the same in every
# project, and so are its bugs (a forgotten `model.eval()`, a metric not reset). **PyTorch
# Lightning** writes it once: you say what *one step* does in a `LightningModule`, and a `Trainer`
# runs the loops, moves data to the device, logs, calls your callbacks and saves checkpoints.
# Under the hood it is still the PyTorch of notebooks 01 and 02.

# %% [markdown] track="tensorflow"
# # 02·03 · Keras: the high-level API
#
# In notebook 02 you wrote the training loop: batches, tape, optimizer, validation, best weights.
# Keras packs all of it into a `keras.Model` with three methods, `compile`, `fit` and `evaluate`,
# plus **callbacks** that hook into the loop. It is the same digits classifier as before,
# $64 \to 128 \to \mathrm{ReLU} \to 64 \to \mathrm{ReLU} \to 10$, now in a few lines.

# %% [markdown] track="pytorch"
# ## Objectives
# After this notebook you can
#
# - write the digits classifier as a `LightningModule` (`training_step`, `validation_step`,
#   `test_step`, `configure_optimizers`) and train it with a `Trainer(accelerator="auto")`;
# - count the parameters of a dense network by hand and check the count with `ModelSummary`;
# - log metrics with `self.log`, and read them back in TensorBoard;
# - write a callback (here: live training curves) and use `EarlyStopping` and `ModelCheckpoint`;
# - write a layer of your own with `nn.Parameter`, and check its gradients;
# - test a trained model once, on data it has never seen;
# - pick the last layer and the loss for binary, multi-class and multi-label problems;
# - say what `devices` and `strategy` change when you train on several GPUs.

# %% [markdown] track="tensorflow"
# ## Objectives
# After this notebook you can
#
# - build a model with the **Functional API** (`keras.Input` → layers → `keras.Model`) and the
#   **Sequential API**, and read `model.summary()`, counting the parameters by hand;
# - train with `compile` / `fit` on training and validation data, and read the logged history;
# - write a callback, stop early with `EarlyStopping`, and log to **TensorBoard**;
# - write your own layer with `build`, `add_weight` and `call`, and use it in a `Sequential` model;
# - test a model once, on data it has never seen;
# - choose the last layer and the loss for binary, multi-class and multi-label problems;
# - know how `tf.distribute.MirroredStrategy` spreads training over several GPUs, and how Keras
#   maps onto PyTorch Lightning.

# %% track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet

import csv
import shutil
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import clear_output

import minifw as mf

keras.utils.set_random_seed(0)  # Python, numpy and TensorFlow seeds
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| GPUs:", tf.config.list_physical_devices("GPU"))

LOGS = Path("logs") / "keras"          # next to this notebook; git ignores logs/
shutil.rmtree(LOGS, ignore_errors=True)  # start from empty logs on every run

# %% [markdown] track="tensorflow"
# The data exactly as in notebook 02: the digits split 60 / 20 / 20 % (stratified), pixels
# scaled to $[0, 1]$ with the training set's minimum and maximum. Keras trains fastest from a
# `tf.data.Dataset`: shuffled batches of 32 for training, larger batches for evaluation (their
# size does not change the result, only the speed).

# %% track="pytorch"
import logging
import sys
import time
import types
import warnings
from collections import defaultdict
from pathlib import Path

# TensorBoard's file writer would import all of TensorFlow (seconds, and a screen of log lines) just
# to write files; this empty module makes it use its own small writer, as when TensorFlow is absent.
sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))

import lightning as L
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import clear_output
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.model_summary import ModelSummary
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchmetrics.classification import MulticlassAccuracy

import minifw as mf

# Lightning's advice to use several DataLoader workers does not apply to data already in memory.
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*treespec.*")   # an internal deprecation inside Lightning
# and its tip advertising a cloud logger:
logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(lambda record: "litlogger" not in record.getMessage())
torch.set_num_threads(1)  # these networks are tiny: one CPU thread is enough, and never waits for another
L.seed_everything(0)      # Python, numpy and torch seeds at once
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
LOGS = Path("logs")       # next to this notebook; git ignores it
RUN = time.strftime("%Y-%m-%d_%H-%M-%S")   # every run of this notebook logs into a folder of its own
print("Lightning", L.__version__, "| torch", torch.__version__, "| device:", device)

# %% track="tensorflow"
X, y = mf.datasets.load_digits()
X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=0.2, test_size=0.2, seed=0)
pixels = mf.MinMaxScaler().fit(X_train)
X_train, X_val, X_test = pixels.transform(X_train), pixels.transform(X_val), pixels.transform(X_test)

train_ds = (tf.data.Dataset.from_tensor_slices((X_train, y_train))
            .shuffle(len(X_train), seed=0).batch(32).prefetch(tf.data.AUTOTUNE))
val_ds = tf.data.Dataset.from_tensor_slices((X_val, y_val)).batch(512)
test_ds = tf.data.Dataset.from_tensor_slices((X_test, y_test)).batch(512)
assert (len(X_train), len(X_val), len(X_test)) == (1079, 359, 359)

# %% [markdown] track="pytorch"
# ## 1. The digits classifier as a model
#
# The same data as in notebook 02: the digits split 60 / 20 / 20 % (stratified) into training,
# validation and test sets, pixels scaled to $[0, 1]$ with a `MinMaxScaler` fitted on the training
# set. The training loader shuffles (with a seeded generator); validation and test need no order.

# %% [markdown] track="tensorflow"
# ## 1. The digits classifier as a model
#
# **Functional API.** Start from a symbolic input of shape `(64,)` (the batch axis is implicit)
# and call each layer on the previous result; `keras.Model(inputs, outputs)` ties the graph
# together. `Dense(n)` computes $xW + b$ with $W$ of shape `(inputs, n)`, like `minifw.Linear`;
# `activation="relu"` applies the ReLU after it. The last layer has no activation: it outputs
# the 10 **logits**, and the loss will apply the softmax (section 3).

# %% track="pytorch"
X, y = mf.datasets.load_digits()
X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=0.2, test_size=0.2, seed=0)
pixels = mf.MinMaxScaler().fit(X_train)
X_train, X_val, X_test = pixels.transform(X_train), pixels.transform(X_val), pixels.transform(X_test)


def loader(X, y, shuffle=False, batch_size=32):
    data = TensorDataset(torch.tensor(X), torch.tensor(y))
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(0) if shuffle else None)


train_loader = loader(X_train, y_train, shuffle=True)
val_loader, test_loader = loader(X_val, y_val, batch_size=512), loader(X_test, y_test, batch_size=512)
print("batches per epoch:", len(train_loader), "| validation", len(X_val), "| test", len(X_test))
assert (len(X_train), len(X_val), len(X_test)) == (1079, 359, 359) and len(train_loader) == 34


# %% track="tensorflow"
def functional_model():
    inputs = keras.Input(shape=(64,), name="pixels")
    h = keras.layers.Dense(128, activation="relu", name="hidden_1")(inputs)
    h = keras.layers.Dense(64, activation="relu", name="hidden_2")(h)
    logits = keras.layers.Dense(10, name="logits")(h)
    return keras.Model(inputs=inputs, outputs=logits, name="digits_functional")


# %% [markdown] track="pytorch"
# A `LightningModule` is an `nn.Module` with a few more methods, each answering one question:
#
# | method | question |
# |---|---|
# | `__init__` | which layers, loss and metrics? |
# | `forward(x)` | what does the model compute? (logits here) |
# | `training_step(batch, batch_idx)` | what is the loss of one training batch? |
# | `validation_step` / `test_step` | what do we measure on one validation / test batch? |
# | `configure_optimizers()` | which optimizer (and learning-rate schedule)? |
#
# `training_step` only returns the loss: the `Trainer` calls `zero_grad`, `backward` and `step`,
# switches between `train()` and `eval()` and turns off gradients for validation. `self.log(name,
# value)` records a number; with `on_epoch=True` Lightning averages it over the epoch's batches
# (weighted by batch size). A `torchmetrics` metric is logged as an object: Lightning calls its
# `compute()` and `reset()` at the end of each epoch. The names follow Keras: `loss`, `accuracy`,
# `val_loss`, `val_accuracy`.

# %% [markdown] track="tensorflow"
# **Sequential API.** When the layers form a simple chain, list them:

# %% track="pytorch"
class DigitsClassifier(L.LightningModule):
    """64 -> 128 -> ReLU -> 64 -> ReLU -> 10 logits, Adam, softmax cross-entropy."""

    def __init__(self, hidden=(128, 64), lr=1e-3, linear=nn.Linear):
        super().__init__()
        self.save_hyperparameters(ignore=["linear"])   # stored in checkpoints and in the logs
        self.net = nn.Sequential(
            linear(64, hidden[0]), nn.ReLU(),
            linear(hidden[0], hidden[1]), nn.ReLU(),
            linear(hidden[1], 10),
        )
        self.loss_fn = nn.CrossEntropyLoss()
        self.train_accuracy = MulticlassAccuracy(num_classes=10, average="micro")
        self.val_accuracy = MulticlassAccuracy(num_classes=10, average="micro")
        self.test_accuracy = MulticlassAccuracy(num_classes=10, average="micro")

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = self.loss_fn(logits, y)
        self.train_accuracy.update(logits, y)
        self.log("loss", loss, on_step=False, on_epoch=True)
        self.log("accuracy", self.train_accuracy, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.val_accuracy.update(logits, y)
        self.log("val_loss", self.loss_fn(logits, y), prog_bar=True)
        self.log("val_accuracy", self.val_accuracy, prog_bar=True)

    def test_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.test_accuracy.update(logits, y)
        self.log("test_loss", self.loss_fn(logits, y))
        self.log("test_accuracy", self.test_accuracy)

    def predict_step(self, batch, batch_idx):
        x, _ = batch
        return self(x).argmax(dim=1)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


model = DigitsClassifier()
x_batch, y_batch = next(iter(train_loader))
print("a batch:", tuple(x_batch.shape), "-> logits", tuple(model(x_batch).shape))
assert model(x_batch).shape == (32, 10) and model.hparams.lr == 1e-3


# %% track="tensorflow"
def sequential_model():
    return keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ], name="digits_sequential")


functional, sequential = functional_model(), sequential_model()
sequential.set_weights(functional.get_weights())     # same architecture: the weights fit one to one
out_f, out_s = functional(X_val[:5]), sequential(X_val[:5])
print("logits of 5 images:", out_f.shape)
assert out_f.shape == (5, 10)
assert np.allclose(out_f.numpy(), out_s.numpy())   # the two APIs build the same function

# %% [markdown] track="tensorflow"
# The Functional API can also describe graphs that are not a chain: several inputs (an image
# *and* a patient's age), several outputs, branches that merge, or layers shared between
# branches. `Sequential` is a shortcut for the common chain.

# %% [markdown] track="pytorch"
# ## 2. Counting parameters by hand
#
# A dense layer from $n_\text{in}$ to $n_\text{out}$ units has a weight matrix of
# $n_\text{in} \times n_\text{out}$ numbers and one bias per output unit:
# $n_\text{in} n_\text{out} + n_\text{out} = (n_\text{in} + 1)\, n_\text{out}$ parameters. ReLU has none. So
#
# $$\underbrace{64 \cdot 128 + 128}_{8\,320} + \underbrace{128 \cdot 64 + 64}_{8\,256}
#   + \underbrace{64 \cdot 10 + 10}_{650} = 17\,226.$$
#
# `ModelSummary` lists every sub-module with its parameter count (`max_depth=2` looks inside
# `net`); the `Trainer` prints the same table when training starts, unless told not to.

# %% [markdown] track="tensorflow"
# ## 2. Counting parameters by hand
#
# A dense layer from $n_\text{in}$ to $n_\text{out}$ units has an $n_\text{in} \times n_\text{out}$
# weight matrix and $n_\text{out}$ biases:
#
# | layer | weights | biases | parameters |
# |---|---|---|---|
# | 64 → 128 | $64 \cdot 128 = 8192$ | 128 | 8,320 |
# | 128 → 64 | $128 \cdot 64 = 8192$ | 64 | 8,256 |
# | 64 → 10 | $64 \cdot 10 = 640$ | 10 | 650 |
# | **total** | | | **17,226** |
#
# ReLU has no parameters. `model.summary()` lists the same numbers:

# %% track="pytorch"
by_hand = (64 * 128 + 128) + (128 * 64 + 64) + (64 * 10 + 10)
summary = ModelSummary(model, max_depth=2)
print(summary)
print("total parameters:", summary.total_parameters, "| by hand:", by_hand)

assert by_hand == 17226
assert summary.total_parameters == summary.trainable_parameters == 17226
assert sum(p.numel() for p in model.parameters()) == 17226
assert [sum(p.numel() for p in layer.parameters()) for layer in model.net] == [8320, 0, 8256, 0, 650]

# %% track="tensorflow"
functional.summary()

summary_lines = []
functional.summary(print_fn=lambda line, *args, **kwargs: summary_lines.append(line))
by_hand = [64 * 128 + 128, 128 * 64 + 64, 64 * 10 + 10]
assert [layer.count_params() for layer in functional.layers[1:]] == by_hand == [8320, 8256, 650]
assert functional.count_params() == sequential.count_params() == sum(by_hand) == 17226
assert "Total params: 17,226" in "".join(summary_lines)


# %% [markdown] track="pytorch"
# ## 3. Training with validation and logging
#
# The `Trainer` holds everything about *how* to train, apart from the model:
#
# - `accelerator="auto"` picks a GPU (`cuda` or `mps`) when there is one, else the CPU, and
#   `devices=1` uses one of them; the model and every batch are moved there for you (and the
#   model back to the CPU when `fit` ends);
# - `max_epochs` bounds the training; `deterministic="warn"` asks for reproducible algorithms
#   (with a warning where PyTorch has none);
# - `logger` receives everything passed to `self.log`: here a `TensorBoardLogger` writing to
#   `logs/digits/<date_time>/<version>` next to this notebook (section 5);
# - `enable_checkpointing=False`: no checkpoint files for this first, short run.
#
# `trainer.fit(model, train_loader, val_loader)` first runs two validation batches as a *sanity
# check* (so a bug in `validation_step` shows up at once, not after an epoch of training), then
# alternates a training epoch and a validation pass. We train for 5 epochs only, and look at what
# was logged.

# %% [markdown] track="tensorflow"
# ## 3. Training with validation and logging
#
# `compile` chooses the optimizer, the loss and the metrics; `fit` runs the loop of notebook 02.
# The loss `SparseCategoricalCrossentropy(from_logits=True)` is
# $L = -\frac1N \sum_i \log \mathrm{softmax}(z_i)_{y_i}$ on logits $z$ and class indices $y$
# ("sparse"), with the softmax computed inside the loss, stably.
#
# With `validation_data`, `fit` evaluates the validation set after every epoch; everything it
# measures is **logged** in the returned `History` (`history.history["val_loss"]`, ...). The
# `CSVLogger` callback also writes it to a file, one row per epoch. `verbose=2` would print one
# line per epoch, `verbose=0` prints nothing. (`shuffle=False`: the dataset already shuffles, in a
# new order each epoch.)

# %% track="pytorch"
def make_trainer(version, max_epochs, callbacks=(), **options):
    return L.Trainer(
        accelerator="auto", devices=1, max_epochs=max_epochs, deterministic="warn",
        logger=TensorBoardLogger(save_dir=LOGS / "digits", name=RUN, version=version, default_hp_metric=False),
        callbacks=list(callbacks), log_every_n_steps=10, enable_progress_bar=False,
        enable_model_summary=False, **options,
    )


short_trainer = make_trainer("short", max_epochs=5, enable_checkpointing=False)
short_model = DigitsClassifier()
short_trainer.fit(short_model, train_loader, val_loader)

logged = {name: round(float(value), 4) for name, value in short_trainer.logged_metrics.items()}
print("after", short_trainer.current_epoch, "epochs:", logged)
print("trained on:", short_trainer.strategy.root_device, "| log folder:", short_trainer.logger.log_dir)

assert short_trainer.current_epoch == 5
assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(logged)
assert logged["val_accuracy"] > 0.85                  # 5 epochs already do most of the work
assert short_trainer.strategy.root_device.type == device   # accelerator="auto" found our device

# %% track="tensorflow"
functional.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
csv_log = LOGS / "functional.csv"
csv_log.parent.mkdir(parents=True, exist_ok=True)
history = functional.fit(train_ds, validation_data=val_ds, epochs=30, shuffle=False, verbose=0,
                         callbacks=[keras.callbacks.CSVLogger(str(csv_log))])

h = history.history
print("logged:", sorted(h))
for epoch in range(4, 30, 5):
    print(f"epoch {epoch + 1:2d}: loss {h['loss'][epoch]:.4f}, accuracy {h['accuracy'][epoch]:.3f}, "
          f"val_loss {h['val_loss'][epoch]:.4f}, val_accuracy {h['val_accuracy'][epoch]:.3f}")

with open(csv_log) as f:
    rows = list(csv.DictReader(f))
assert sorted(h) == ["accuracy", "loss", "val_accuracy", "val_loss"] and len(h["loss"]) == len(rows) == 30
assert np.allclose([float(r["val_loss"]) for r in rows], h["val_loss"])   # the file holds the same numbers
assert h["loss"][-1] < h["loss"][0] / 10 and max(h["val_accuracy"]) > 0.95

first_10, last_10 = h["val_loss"][0] - h["val_loss"][9], h["val_loss"][19] - min(h["val_loss"][20:])
print(f"val_loss gained {first_10:.3f} in epochs 1-10, {max(last_10, 0):.3f} in epochs 21-30")
assert last_10 < first_10 / 10


# %% [markdown] track="pytorch"
# ## 4. Callbacks: live curves and early stopping
#
# A **callback** is an object whose methods the `Trainer` calls at fixed moments:
# `on_train_epoch_end`, `on_validation_epoch_end`, `on_fit_end` and many more. It keeps the
# *extras* (plots, early stopping, checkpoints) out of the model's code. Ours collects the epoch's
# metrics from `trainer.callback_metrics` after every epoch and redraws the curves every few
# epochs (every redraw of a figure costs time, so not after each one).

# %% [markdown] track="tensorflow"
# ## 4. Callbacks: live curves and early stopping
#
# A **callback** is an object whose methods `fit` calls at fixed points: `on_train_begin`,
# `on_epoch_end(epoch, logs)`, `on_batch_end`, `on_train_end`, ... `logs` holds the epoch's
# numbers. This one redraws the training curves every few epochs, so you can watch a long run:

# %% track="pytorch"
class LiveCurves(Callback):
    """Collect the logged metrics after every epoch; redraw loss and accuracy every `every` epochs."""

    def __init__(self, every=5):
        self.every = every
        self.history = defaultdict(list)

    def on_train_epoch_end(self, trainer, pl_module):
        for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
            self.history[name].append(float(trainer.callback_metrics[name]))
        if (trainer.current_epoch + 1) % self.every == 0:
            self.draw()

    def on_fit_end(self, trainer, pl_module):
        self.draw()

    def draw(self):
        clear_output(wait=True)   # replace the previous figure instead of adding one below it
        epochs = range(1, len(self.history["loss"]) + 1)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
        for ax, name in ((ax1, "loss"), (ax2, "accuracy")):
            ax.plot(epochs, self.history[name], label="training")
            ax.plot(epochs, self.history["val_" + name], label="validation")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
        ax1.set_yscale("log")
        plt.show()


# %% track="tensorflow"
class LiveCurves(keras.callbacks.Callback):
    """Plot loss and val_loss while `fit` runs, every `every` epochs and at the end."""

    def __init__(self, every=5):
        super().__init__()
        self.every = every

    def on_train_begin(self, logs=None):
        self.logs = {"loss": [], "val_loss": []}

    def on_epoch_end(self, epoch, logs=None):
        for key in self.logs:
            self.logs[key].append(logs[key])
        if (epoch + 1) % self.every == 0:
            self.draw()

    def on_train_end(self, logs=None):
        self.draw()

    def draw(self):
        clear_output(wait=True)     # replace the previous plot in the notebook
        epochs = range(1, len(self.logs["loss"]) + 1)
        plt.figure(figsize=(5, 3))
        plt.plot(epochs, self.logs["loss"], label="training")
        plt.plot(epochs, self.logs["val_loss"], label="validation")
        plt.yscale("log")
        plt.xlabel("epoch")
        plt.ylabel("loss")
        plt.legend()
        plt.show()


# %% [markdown] track="pytorch"
# Two callbacks come with Lightning:
#
# - `EarlyStopping(monitor="val_loss", patience=p, min_delta=δ)` stops training when the validation
#   loss has not improved by more than $\delta$ for $p$ epochs in a row: past that point the network
#   learns the training set, not the task;
# - `ModelCheckpoint(monitor="val_loss")` saves the weights of the best epoch so far (under the
#   log folder), so that we can test **that** model, not the last one.
#
# We train a fresh model for at most 30 epochs with all three.

# %% [markdown] track="tensorflow"
# **Early stopping**: in section 3 the last 10 epochs improved the validation loss by less than a
# tenth of what the first 10 did; they cost time and risk overfitting.
# `EarlyStopping(monitor="val_loss", min_delta=0.005, patience=3)` stops when the validation loss
# has not improved by at least 0.005 for 3 epochs in a row, and `restore_best_weights=True`
# returns to the weights of the best epoch (what notebook 02 did by hand). A `TensorBoard` callback writes the same run to
# `logs/keras/digits` for section 5. We train a fresh `Sequential` model, for at most 30 epochs:

# %% track="pytorch"
curves = LiveCurves(every=5)
early_stopping = EarlyStopping(monitor="val_loss", mode="min", patience=3, min_delta=0.005)
checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
L.seed_everything(0)
model = DigitsClassifier()
trainer = make_trainer("full", max_epochs=30, callbacks=[curves, early_stopping, checkpoint])
trainer.fit(model, train_loader, val_loader)

# %% track="tensorflow"
keras.utils.set_random_seed(0)
model = sequential_model()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0.005, patience=3,
                                               restore_best_weights=True)
tensorboard = keras.callbacks.TensorBoard(log_dir=str(LOGS / "digits"))
history = model.fit(train_ds, validation_data=val_ds, epochs=30, shuffle=False, verbose=0,
                    callbacks=[LiveCurves(every=5), early_stopping, tensorboard])

# %% track="pytorch"
history = curves.history
epochs_run = len(history["val_loss"])
best_epoch = int(np.argmin(history["val_loss"])) + 1
print(f"trained {epochs_run} epochs; best validation loss {min(history['val_loss']):.4f} at epoch {best_epoch}")
print("best checkpoint:", checkpoint.best_model_path)

assert epochs_run <= 30 and history["val_accuracy"][best_epoch - 1] > 0.93
assert np.isclose(float(checkpoint.best_model_score), min(history["val_loss"]), rtol=1e-5)
assert LOGS.resolve() in Path(checkpoint.best_model_path).resolve().parents   # checkpoints live under logs/
if early_stopping.stopped_epoch:   # stopped early: `patience` epochs without an improvement > min_delta
    assert early_stopping.wait_count == early_stopping.patience
    print("early stopping after", early_stopping.stopped_epoch + 1, "epochs")

# %% track="tensorflow"
val_loss = history.history["val_loss"]
best_epoch = early_stopping.best_epoch + 1                      # Keras counts epochs from 0
restored_loss, restored_accuracy = model.evaluate(val_ds, verbose=0)
print(f"stopped after {len(val_loss)} epochs; best epoch {best_epoch} (val_loss {val_loss[best_epoch - 1]:.4f}); "
      f"restored model: val_loss {restored_loss:.4f}, val_accuracy {restored_accuracy:.3f}")

assert len(val_loss) < 30 and len(val_loss) == best_epoch + 3   # stopped 3 epochs after the best one
assert abs(restored_loss - val_loss[best_epoch - 1]) < 1e-4      # the best weights are back
assert restored_accuracy > 0.95

# %% [markdown] track="pytorch"
# ## 5. TensorBoard
#
# Everything passed to `self.log` went to the `TensorBoardLogger`, as *event files* under
# `logs/digits/<date_time>/short` and `.../full`, together with the hyper-parameters
# (`save_hyperparameters`). To look at them, start TensorBoard on the `logs` folder, in a terminal
#
# ```
# tensorboard --logdir lessons/02-frameworks/logs
# ```
#
# and open http://localhost:6006, or inside JupyterLab: `%load_ext tensorboard` and then
# `%tensorboard --logdir logs` in a cell. The runs appear side by side, those of earlier runs of
# the notebook too (delete their folders when you no longer need them); each curve can be smoothed,
# zoomed and downloaded. The event files are plain data; TensorBoard's own reader gives them back:

# %% [markdown] track="tensorflow"
# ## 5. TensorBoard
#
# TensorBoard is a web page that plots logged runs: curves, histograms of weights, the model
# graph. The callback above wrote event files for the training and validation curves:

# %% track="pytorch"
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

runs = {}
for version in ("short", "full"):
    events = EventAccumulator(str(LOGS / "digits" / RUN / version))
    events.Reload()
    runs[version] = {tag: [s.value for s in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
print("logged scalars:", sorted(runs["full"]))
print("val_loss per epoch (full run):", np.round(runs["full"]["val_loss"], 3))

assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(runs["full"])
assert len(runs["short"]["val_loss"]) == 5 and len(runs["full"]["val_loss"]) == epochs_run   # one point per epoch
assert np.allclose(runs["full"]["val_loss"], history["val_loss"], rtol=1e-5)   # what the callback saw

# %% track="tensorflow"
for path in sorted((LOGS / "digits").rglob("*")):
    if path.is_file():
        print(path)

# %% [markdown] track="tensorflow"
# To look at them, start TensorBoard in a notebook cell (JupyterLab shows it inline) or in a
# terminal, pointing at the logs folder, and open the address it prints:
#
# ```
# %load_ext tensorboard
# %tensorboard --logdir logs/keras
# ```
#
# ```
# tensorboard --logdir lessons/02-frameworks/logs/keras
# ```
#
# The event files are ordinary data, so we can also read them in Python: the `epoch_loss` curves
# are exactly the History of section 4.

# %% track="tensorflow"
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_scalars(folder, tag):
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})  # 0: keep every event
    events.Reload()
    return [float(tf.make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)]


logged = {part: read_scalars(LOGS / "digits" / part, "epoch_loss") for part in ["train", "validation"]}
assert np.allclose(logged["train"], history.history["loss"])
assert np.allclose(logged["validation"], history.history["val_loss"])

plt.figure(figsize=(5, 3))
for part, values in logged.items():
    plt.plot(range(1, len(values) + 1), values, label=part)
plt.yscale("log")
plt.xlabel("epoch")
plt.ylabel("epoch_loss")
plt.title("read back from the TensorBoard logs")
plt.legend()
plt.show()


# %% [markdown] track="pytorch"
# ## 6. A custom layer
#
# When no built-in layer does what you need, you write one. A layer is an `nn.Module`; its
# trainable tensors are `nn.Parameter`s set as attributes in `__init__` (that is how `parameters()`,
# the optimizer, `.to(device)` and `ModelSummary` find them), and `forward` computes the output.
# Autograd derives the backward pass. Here is `minifw`'s dense layer, $y = xW + b$ with
# $W$ of shape `(in, out)` and He-uniform initialization $W \sim U(-a, a)$, $a = \sqrt{6 / n_\text{in}}$:

# %% [markdown] track="tensorflow"
# ## 6. A custom layer
#
# Keras's layers are written with a small low-level API that you can use too. Subclass
# `keras.layers.Layer` and write
#
# - `__init__`: store the settings (here the number of units and the activation);
# - `build(input_shape)`: create the weights with `self.add_weight(shape, initializer)`, once the
#   input size is known (Keras calls it on the first input);
# - `call(x)`: the forward pass, $y = f(xW + b)$.
#
# The gradients come from the tape, as in notebook 01: no backward pass to write. `get_config`
# lets Keras save and rebuild the layer. `keras.ops` is Keras's numpy-like library; with the
# TensorFlow backend its functions run TensorFlow operations.

# %% track="pytorch"
class DenseLayer(nn.Module):
    """y = x W + b, W: (in_features, out_features), He-uniform W, zero b (minifw's Linear)."""

    def __init__(self, in_features, out_features):
        super().__init__()
        a = np.sqrt(6 / in_features)
        self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-a, a))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        return x @ self.weight + self.bias

    def extra_repr(self):   # what print(model) shows for this layer
        return f"{self.weight.shape[0]} -> {self.weight.shape[1]}"


layer = DenseLayer(4, 3).double()
x_check = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
gradients_ok = torch.autograd.gradcheck(layer, (x_check,))   # autograd vs central differences
custom = DigitsClassifier(linear=DenseLayer)
print(custom.net)
print("gradcheck:", gradients_ok, "| parameters:", ModelSummary(custom).total_parameters)

assert gradients_ok
assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
assert ModelSummary(custom).total_parameters == 17226
assert custom.net[0].weight.abs().max() <= np.sqrt(6 / 64)


# %% track="tensorflow"
class MyDense(keras.layers.Layer):
    """A fully connected layer y = activation(x W + b), W: (inputs, units), b: (units,)."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)   # None -> the identity

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        return self.activation(keras.ops.matmul(x, self.w) + self.b)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


custom = keras.Sequential([
    keras.Input(shape=(64,)),
    MyDense(128, activation="relu"),
    MyDense(64, activation="relu"),
    MyDense(10),
], name="digits_custom")
custom.summary()
assert custom.count_params() == 17226 and len(custom.trainable_weights) == 6

# %% [markdown] track="pytorch"
# The model with our layer trains like the original one. Five epochs, as in section 3:

# %% [markdown] track="tensorflow"
# It computes what `Dense` computes: given the trained weights of section 4, it gives the same
# logits. And it trains like any layer: 5 epochs from scratch.

# %% track="pytorch"
custom_trainer = make_trainer("custom", max_epochs=5, enable_checkpointing=False)
custom_trainer.fit(custom, train_loader, val_loader)
custom_val_accuracy = float(custom_trainer.callback_metrics["val_accuracy"])
print(f"validation accuracy after 5 epochs: {custom_val_accuracy:.3f} (built-in layers: {logged['val_accuracy']:.3f})")
assert custom_val_accuracy > 0.85

# %% track="tensorflow"
custom.set_weights(model.get_weights())
assert np.allclose(custom.predict(X_val, verbose=0), model.predict(X_val, verbose=0), atol=1e-5)

keras.utils.set_random_seed(0)
custom = keras.Sequential([keras.Input(shape=(64,)), MyDense(128, "relu"), MyDense(64, "relu"), MyDense(10)])
custom.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
custom_history = custom.fit(train_ds, validation_data=val_ds, epochs=5, shuffle=False, verbose=0)
print(f"custom layers, 5 epochs: val_accuracy {custom_history.history['val_accuracy'][-1]:.3f}")
assert custom_history.history["val_accuracy"][-1] > 0.88

# %% [markdown] track="pytorch"
# ## 7. Testing the model
#
# The test set has not been used so far: not for training, not for choosing the epoch. It gives
# the honest estimate of how the model will do on new digits, and we use it **once**.
# `trainer.test(..., ckpt_path="best")` reloads the best checkpoint of section 4 and runs
# `test_step` over the test loader; `trainer.predict` runs `predict_step` and returns its outputs.

# %% [markdown] track="tensorflow"
# ## 7. Testing the model
#
# The test set has waited until now: its score estimates how the model will do on new digits.
# Look at it **once**, after all choices (architecture, epochs, learning rate) are made on the
# validation set; choosing by the test score would make it optimistic. `evaluate` computes the
# compiled loss and metrics; `predict` gives the logits, and their arg-max the predicted digit.

# %% track="pytorch"
results = trainer.test(model, test_loader, ckpt_path="best", verbose=False)[0]
predictions = torch.cat(trainer.predict(model, test_loader, ckpt_path="best")).cpu().numpy()
print(f"test accuracy {results['test_accuracy']:.3f}, test loss {results['test_loss']:.4f}")

assert results["test_accuracy"] > 0.95
assert np.isclose((predictions == y_test).mean(), results["test_accuracy"], atol=1e-6)

# %% track="tensorflow"
test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)
predicted = model.predict(X_test, verbose=0).argmax(axis=1)
confusion = mf.confusion_matrix(predicted, y_test, num_classes=10)
print(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.3f} ({confusion.trace()} of {len(y_test)} right)")

assert test_accuracy > 0.95
assert np.isclose(test_accuracy, np.mean(predicted == y_test))        # evaluate and predict agree
assert confusion.sum() == len(y_test) and np.isclose(confusion.trace() / len(y_test), test_accuracy)

wrong = np.flatnonzero(predicted != y_test)[:8]
fig, axes = plt.subplots(1, 2 + len(wrong), figsize=(12, 2.6),
                         gridspec_kw={"width_ratios": [4, 0.5] + [1] * len(wrong)})
axes[0].imshow(confusion, cmap="Blues")
axes[0].set_xlabel("predicted")
axes[0].set_ylabel("true")
axes[0].set_xticks(range(10))
axes[0].set_yticks(range(10))
axes[0].set_title("confusion matrix")
axes[1].axis("off")
for ax, i in zip(axes[2:], wrong):
    ax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{y_test[i]} → {predicted[i]}")
    ax.axis("off")
plt.show()

# %% [markdown] track="pytorch"
# Which digits get confused? The confusion matrix counts, for each true digit (row), the
# predicted digits (columns); the diagonal holds the correct answers.

# %% track="pytorch"
confusion = mf.confusion_matrix(predictions, y_test, num_classes=10)
wrong = np.flatnonzero(predictions != y_test)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1, 1.2]})
axes[0].imshow(confusion, cmap="Blues")
for i in range(10):
    for j in range(10):
        if confusion[i, j]:
            axes[0].text(j, i, confusion[i, j], ha="center", va="center", fontsize=8,
                         color="white" if i == j else "black")
axes[0].set_xlabel("predicted")
axes[0].set_ylabel("true")
axes[0].set_xticks(range(10))
axes[0].set_yticks(range(10))
axes[1].axis("off")
fig.text(0.74, 0.95, "some mistakes (true → predicted)", ha="center")
for k, i in enumerate(wrong[:8]):
    ax = fig.add_axes([0.55 + 0.1 * (k % 4), 0.5 - 0.4 * (k // 4), 0.08, 0.35])
    ax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{y_test[i]} → {predictions[i]}", fontsize=9)
    ax.axis("off")
plt.show()

assert confusion.sum() == len(y_test) and np.trace(confusion) == (predictions == y_test).sum()
print(len(wrong), "mistakes out of", len(y_test))


# %% [markdown] track="pytorch"
# ## 8. Choosing the last layer and the loss
#
# The last layer and the loss go together, and they depend on what the labels are. In PyTorch the
# network ends with a plain `Linear` (logits) and the loss applies the sigmoid or softmax itself,
# in a numerically stable form; you apply `sigmoid` / `softmax` only to read probabilities.
# In Keras the last layer usually carries the activation.
#
# | problem | labels | last layer | PyTorch loss | to predict | Keras (last layer, loss) |
# |---|---|---|---|---|---|
# | binary | 0/1, float, shape `(N,)` or `(N, 1)` | `Linear(n, 1)` | `BCEWithLogitsLoss` | `sigmoid(z) > 0.5` | `Dense(1, "sigmoid")`, `BinaryCrossentropy` |
# | multi-class, one-hot | one 1 per row, float `(N, C)` | `Linear(n, C)` | `CrossEntropyLoss` (probability targets) | `argmax(z)` | `Dense(C, "softmax")`, `CategoricalCrossentropy` |
# | multi-class, class index | `int64` `(N,)` in $0..C-1$ | `Linear(n, C)` | `CrossEntropyLoss` | `argmax(z)` | `Dense(C, "softmax")`, `SparseCategoricalCrossentropy` |
# | multi-label | any number of 1s per row, float `(N, C)` | `Linear(n, C)` | `BCEWithLogitsLoss` | `sigmoid(z) > 0.5` per column | `Dense(C, "sigmoid")`, `BinaryCrossentropy` |
#
# The formulas: binary, $\ell = -[y \log \sigma(z) + (1-y)\log(1-\sigma(z))]$; multi-class,
# $\ell = -\sum_c q_c \log \mathrm{softmax}(z)_c$ with $q$ the one-hot (or smoothed) target;
# multi-label, one binary cross-entropy per column, averaged. A small demo of each row, with the
# loss checked against its formula (and against `minifw`'s losses). The models are small, so a plain
# loop as in notebook 02 trains them:

# %% [markdown] track="tensorflow"
# ## 8. Choosing the last layer and the loss
#
# The last layer and the loss go together, and depend on what the targets are:
#
# | problem | targets `y` | last layer | loss |
# |---|---|---|---|
# | binary | `(n, 1)` of 0 / 1 | `Dense(1, activation="sigmoid")` | `BinaryCrossentropy()` |
# | multi-class, one-hot | `(n, C)` rows with one 1 | `Dense(C, activation="softmax")` | `CategoricalCrossentropy()` |
# | multi-class, class index | `(n,)` integers in $0..C-1$ | `Dense(C, activation="softmax")` | `SparseCategoricalCrossentropy()` |
# | multi-label | `(n, K)` of 0 / 1, any number of 1s | `Dense(K, activation="sigmoid")` | `BinaryCrossentropy()` |
#
# The sigmoid $\sigma(z) = 1/(1 + e^{-z})$ turns each output into an independent probability;
# the softmax $\mathrm{softmax}(z)_c = e^{z_c} / \sum_k e^{z_k}$ makes the $C$ outputs compete
# (they sum to 1). The losses:
#
# $$\text{binary: } -\big[y \log p + (1 - y)\log(1 - p)\big], \qquad
#   \text{categorical: } -\sum_c y_c \log p_c = -\log p_{\text{true class}}.$$
#
# Equivalent and numerically safer: leave out the activation (`Dense(C)`, logits) and pass
# `from_logits=True` to the loss, as we did above; then predict with `sigmoid` / `softmax` (or
# compare the logits directly). A small demo of each row, with the loss checked against the
# formula:

# %% track="pytorch"
def train_plain(model, loss_fn, X, Y, epochs, optimizer):
    """The loop of notebook 02: shuffled batches of 32, forward, loss, backward, step."""
    batches = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=32, shuffle=True,
                         generator=torch.Generator().manual_seed(0))
    for epoch in range(epochs):
        for xb, yb in batches:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    return model.eval()


# Row 1, binary: is the tumour malignant? A perceptron on the two scaled features (notebook 02).
X_tum, y_tum = mf.datasets.make_tumours(seed=0)
X_tum_train, X_tum_test, y_tum_train, y_tum_test = mf.train_test_split(X_tum, y_tum, seed=0)
tumour_scaler = mf.MinMaxScaler().fit(X_tum_train)
X_tum_train, X_tum_test = tumour_scaler.transform(X_tum_train), tumour_scaler.transform(X_tum_test)

torch.manual_seed(0)
binary = nn.Linear(2, 1)                                         # one logit, no activation
train_plain(binary, nn.BCEWithLogitsLoss(), X_tum_train, y_tum_train[:, None].astype("float32"), epochs=30,
            optimizer=torch.optim.SGD(binary.parameters(), lr=0.1, momentum=0.9))
with torch.no_grad():
    z_bin = binary(torch.tensor(X_tum_test))
y_bin = torch.tensor(y_tum_test[:, None], dtype=torch.float32)
loss_bin = nn.BCEWithLogitsLoss()(z_bin, y_bin).item()
p = torch.sigmoid(z_bin).numpy()
bce_by_hand = -np.mean(y_bin.numpy() * np.log(p) + (1 - y_bin.numpy()) * np.log(1 - p))
binary_accuracy = np.mean((p[:, 0] > 0.5) == y_tum_test)
print(f"binary: test accuracy {binary_accuracy:.3f}, loss {loss_bin:.4f} (by hand {bce_by_hand:.4f})")
assert binary_accuracy > 0.85 and np.isclose(loss_bin, bce_by_hand, rtol=1e-4)
assert np.isclose(loss_bin, mf.BCEWithLogits()(z_bin.numpy(), y_bin.numpy())[0], rtol=1e-5)

# %% track="pytorch"
# Rows 2 and 3, multi-class: the same logits, targets one-hot or as class indices.
torch.manual_seed(0)
logits = nn.Linear(64, 10)(torch.tensor(X_val[:8])).detach()       # an untrained layer: any logits do
index = torch.tensor(y_val[:8])
one_hot = F.one_hot(index, num_classes=10).float()
loss_index = nn.CrossEntropyLoss()(logits, index).item()
loss_one_hot = nn.CrossEntropyLoss()(logits, one_hot).item()       # float (N, C) targets: probabilities
probs = F.softmax(logits, dim=1).numpy()
by_hand = -np.mean(np.log(probs[np.arange(8), y_val[:8]]))
print(f"one-hot {loss_one_hot:.5f} = class index {loss_index:.5f} = by hand {by_hand:.5f}")
assert one_hot.shape == (8, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-6)
assert np.isclose(loss_one_hot, loss_index, rtol=1e-5) and np.isclose(loss_index, by_hand, rtol=1e-4)
assert np.isclose(loss_index, mf.CrossEntropy()(logits.numpy(), y_val[:8])[0], rtol=1e-5)

# %% track="tensorflow"
# Row 1, binary: is the tumour malignant? A perceptron on the two scaled features.
X_tum, y_tum = mf.datasets.make_tumours(seed=0)
X_tum_train, X_tum_test, y_tum_train, y_tum_test = mf.train_test_split(X_tum, y_tum, seed=0)
tumour_scaler = mf.MinMaxScaler().fit(X_tum_train)
X_tum_train, X_tum_test = tumour_scaler.transform(X_tum_train), tumour_scaler.transform(X_tum_test)

keras.utils.set_random_seed(0)
binary = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation="sigmoid")])
binary.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
               loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy()])
tumour_ds = (tf.data.Dataset.from_tensor_slices((X_tum_train, y_tum_train[:, None].astype("float32")))
             .shuffle(len(X_tum_train), seed=0).batch(32))
binary.fit(tumour_ds, epochs=30, shuffle=False, verbose=0)
p = binary.predict(X_tum_test, verbose=0)[:, 0]
bce_by_hand = -np.mean(y_tum_test * np.log(p) + (1 - y_tum_test) * np.log(1 - p))
bce_keras = float(keras.losses.BinaryCrossentropy()(y_tum_test[:, None].astype("float32"), p[:, None]))
binary_accuracy = np.mean((p > 0.5) == y_tum_test)
print(f"binary: test accuracy {binary_accuracy:.3f}, loss {bce_keras:.4f} (by hand {bce_by_hand:.4f})")
assert binary_accuracy > 0.85 and np.isclose(bce_keras, bce_by_hand, rtol=1e-3)

# %% track="tensorflow"
# Rows 2 and 3, multi-class: the same softmax outputs, targets one-hot or as class indices.
keras.utils.set_random_seed(0)
softmax_model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(10, activation="softmax")])
probs = softmax_model(X_val[:8]).numpy()
one_hot = keras.utils.to_categorical(y_val[:8], num_classes=10)
loss_one_hot = float(keras.losses.CategoricalCrossentropy()(one_hot, probs))
loss_index = float(keras.losses.SparseCategoricalCrossentropy()(y_val[:8], probs))
by_hand = -np.mean(np.log(probs[np.arange(8), y_val[:8]]))
print(f"one-hot {loss_one_hot:.5f} = class index {loss_index:.5f} = by hand {by_hand:.5f}")
assert one_hot.shape == (8, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-6)
assert np.isclose(loss_one_hot, loss_index, rtol=1e-5) and np.isclose(loss_index, by_hand, rtol=1e-4)

# the softmax layer with the plain loss equals logits with from_logits=True
logits_model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(10)])
logits_model.set_weights(softmax_model.get_weights())
from_logits = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_val[:8], logits_model(X_val[:8])))
assert np.isclose(from_logits, loss_index, rtol=1e-4)

# %% track="pytorch"
# Row 4, multi-label: three yes/no questions about each digit, any number of them true.
questions = ["even", "at least 5", "prime"]


def digit_labels(y):
    return np.stack([y % 2 == 0, y >= 5, np.isin(y, [2, 3, 5, 7])], axis=1).astype("float32")


torch.manual_seed(0)
multi_label = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))   # 3 independent logits
train_plain(multi_label, nn.BCEWithLogitsLoss(), X_train, digit_labels(y_train), epochs=10,
            optimizer=torch.optim.Adam(multi_label.parameters(), lr=3e-3))
with torch.no_grad():
    answers = torch.sigmoid(multi_label(torch.tensor(X_test))).numpy()
per_question = np.mean((answers > 0.5) == digit_labels(y_test), axis=0)
print("test accuracy per question:", {q: round(float(a), 3) for q, a in zip(questions, per_question)})
print("digit", y_test[0], "->", {q: round(float(a), 2) for q, a in zip(questions, answers[0])})
assert digit_labels(np.array([2, 7, 8, 9])).tolist() == [[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 1, 0]]
assert answers.shape == (len(y_test), 3) and per_question.min() > 0.9
assert not np.allclose(answers.sum(axis=1), 1)      # sigmoids: the outputs do not sum to 1

# %% track="tensorflow"
# Row 4, multi-label: three yes/no questions about each digit, any number of them true.
questions = ["even", "at least 5", "prime"]


def digit_labels(y):
    return np.stack([y % 2 == 0, y >= 5, np.isin(y, [2, 3, 5, 7])], axis=1).astype("float32")


keras.utils.set_random_seed(0)
multi_label = keras.Sequential([
    keras.Input(shape=(64,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(3, activation="sigmoid"),       # 3 independent probabilities
])
multi_label.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                    loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy()])
label_ds = (tf.data.Dataset.from_tensor_slices((X_train, digit_labels(y_train)))
            .shuffle(len(X_train), seed=0).batch(32).prefetch(tf.data.AUTOTUNE))
multi_label.fit(label_ds, epochs=10, shuffle=False, verbose=0)
answers = multi_label.predict(X_test, verbose=0)
per_question = np.mean((answers > 0.5) == digit_labels(y_test), axis=0)
print("test accuracy per question:", {q: round(float(a), 3) for q, a in zip(questions, per_question)})
print("digit", y_test[0], "->", {q: round(float(a), 2) for q, a in zip(questions, answers[0])})
assert answers.shape == (len(y_test), 3) and per_question.min() > 0.9
assert not np.allclose(answers.sum(axis=1), 1)      # sigmoids: the outputs do not sum to 1

# %% [markdown] track="pytorch"
# The classic mistake is a softmax in the model **and** `CrossEntropyLoss`, which applies another
# one: the loss still runs, but it is computed on squashed numbers, and its gradients shrink, so
# training crawls. No error message warns you:

# %% track="pytorch"
z = torch.tensor([[4.0, 0.0, -2.0]], requires_grad=True)
target = torch.tensor([1])
right = nn.CrossEntropyLoss()(z, target)
(grad_right,) = torch.autograd.grad(right, z)
wrong_loss = nn.CrossEntropyLoss()(F.softmax(z, dim=1), target)
(grad_wrong,) = torch.autograd.grad(wrong_loss, z)
print(f"logits: loss {right.item():.3f}, gradient size {grad_right.norm():.3f}")
print(f"softmax twice: loss {wrong_loss.item():.3f}, gradient size {grad_wrong.norm():.3f}")
assert grad_wrong.norm() < grad_right.norm() / 10

# %% [markdown] track="pytorch"
# ## 9. More than one device
#
# The `Trainer` hides where the computation runs. With several GPUs you change arguments, not code:
#
# ```python
# L.Trainer(accelerator="gpu", devices=4, strategy="ddp")            # 4 GPUs, one process each (a script)
# L.Trainer(accelerator="gpu", devices=4, strategy="ddp_notebook")   # the same from Jupyter
# L.Trainer(accelerator="gpu", devices=8, num_nodes=2)               # 16 GPUs on 2 machines
# L.Trainer(accelerator="gpu", devices=1, precision="bf16-mixed")    # faster 16-bit arithmetic
# ```
#
# With **DDP** (distributed data parallel) every device holds a full copy of the model. Each one
# gets its own share of the data (a `DistributedSampler`, which Lightning adds for you), computes
# the gradients of its own batches, and the devices then **average** their gradients before every
# step, so all copies stay identical. With 4 devices and `batch_size=32`, each step sees
# $4 \times 32 = 128$ examples. Models too large for one GPU need a strategy that splits the model
# itself (`strategy="fsdp"`). Our trainer used one device:

# %% [markdown] track="tensorflow"
# ## 9. More than one device
#
# With several GPUs, `tf.distribute.MirroredStrategy` trains one copy (**replica**) of the model
# on each. Every step splits the batch of $B$ examples into $R$ parts of $B / R$, each replica
# computes the gradient $g_r$ of its part, and an *all-reduce* averages them,
# $g = \frac1R \sum_r g_r$, so all replicas apply the same update and keep identical weights. The
# only change to the code: build and compile the model inside `strategy.scope()`, and scale the
# batch size with the number of replicas. With one GPU, or none, it runs one replica and the
# same code works unchanged, as here:

# %% track="pytorch"
from lightning.pytorch.strategies import SingleDeviceStrategy
from torch.utils.data.distributed import DistributedSampler

print("accelerator:", type(trainer.accelerator).__name__, "| devices:", trainer.num_devices,
      "| strategy:", type(trainer.strategy).__name__)
assert trainer.num_devices == 1 and isinstance(trainer.strategy, SingleDeviceStrategy)

# How DDP would share our 1079 training examples among 4 devices (no GPU needed to see it):
shares = [list(DistributedSampler(train_loader.dataset, num_replicas=4, rank=r, shuffle=False)) for r in range(4)]
print("examples per device:", [len(s) for s in shares], "| batches of 32 per device and epoch:", -(-len(shares[0]) // 32))
assert [len(s) for s in shares] == [270] * 4                        # 1079 padded to 1080 = 4 x 270
assert set().union(*map(set, shares)) == set(range(1079))           # together they cover every example

# Averaging the gradients of 4 equal batches of 32 gives the gradient of the 128 examples together:
xb, yb = torch.tensor(X_train[:128]), torch.tensor(y_train[:128])
net = DigitsClassifier().net


def gradient(x, y):
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return torch.cat([p.grad.flatten() for p in net.parameters()])


averaged = torch.stack([gradient(xb[k::4], yb[k::4]) for k in range(4)]).mean(dim=0)
assert torch.allclose(averaged, gradient(xb, yb), atol=1e-6)

# %% track="tensorflow"
strategy = tf.distribute.MirroredStrategy()
replicas = strategy.num_replicas_in_sync
print("replicas:", replicas, "on", strategy.extended.worker_devices)
assert replicas == max(1, len(tf.config.list_physical_devices("GPU")))

with strategy.scope():
    keras.utils.set_random_seed(0)
    distributed = sequential_model()
    distributed.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
global_batches = (tf.data.Dataset.from_tensor_slices((X_train, y_train))
                  .shuffle(len(X_train), seed=0).batch(32 * replicas).prefetch(tf.data.AUTOTUNE))
distributed.fit(global_batches, epochs=5, shuffle=False, verbose=0)
_, distributed_accuracy = distributed.evaluate(val_ds, verbose=0)
print(f"5 epochs under MirroredStrategy: val_accuracy {distributed_accuracy:.3f}")
assert distributed_accuracy > 0.85

# %% [markdown] track="tensorflow"
# Other strategies follow the same pattern: `MultiWorkerMirroredStrategy` for several machines,
# `TPUStrategy` for TPUs.

# %% [markdown] track="pytorch"
# ## 10. Side by side with the other framework
#
# The same ideas carry three names. The TensorFlow twin of this notebook builds the same network
# with Keras; here is the correspondence, with `minifw` (part 1) for reference:
#
# | idea | minifw | PyTorch Lightning | Keras |
# |---|---|---|---|
# | the model | `mf.Sequential(...)` in `mf.Model(net, loss, optimizer)` | `LightningModule` (`forward`) | `keras.Sequential([...])` |
# | loss and optimizer | `mf.Model(..., mf.CrossEntropy(), mf.Adam(...))` | `training_step`, `configure_optimizers` | `model.compile(optimizer, loss, metrics)` |
# | training | `model.fit(X, y, epochs, batch_size, validation_data)` | `Trainer(max_epochs=...).fit(model, train, val)` | `model.fit(X, y, epochs, batch_size, validation_data)` |
# | metrics per epoch | `History` | `self.log`, `trainer.callback_metrics`, a logger | `History` |
# | callbacks | `mf.EarlyStopping` | `EarlyStopping`, `ModelCheckpoint`, `Callback` | `keras.callbacks.EarlyStopping`, `ModelCheckpoint`, `Callback` |
# | parameter count | `net.num_parameters()` | `ModelSummary` | `model.summary()`, `count_params()` |
# | test | `model.evaluate(X, y)` | `trainer.test(model, loader)` | `model.evaluate(X, y)` |
# | device | the CPU (numpy) | `accelerator="auto"`, `devices`, `strategy` | automatic; `tf.distribute` strategies |
#
# In Keras the whole of sections 1 to 4 is about ten lines:
#
# ```python
# model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(128, activation="relu"),
#                           keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
# model.compile(keras.optimizers.Adam(1e-3),
#               keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
# model.fit(X_train, y_train, batch_size=32, epochs=30, validation_data=(X_val, y_val),
#           callbacks=[keras.callbacks.EarlyStopping(min_delta=0.005, patience=3, restore_best_weights=True),
#                      keras.callbacks.TensorBoard("logs")])
# model.evaluate(X_test, y_test)
# ```
#
# And `minifw`, whose `fit` was modelled on Keras's, trains the same network on the same split:

# %% [markdown] track="tensorflow"
# ## 10. Side by side with the other framework
#
# The PyTorch twin of this notebook builds the same model with PyTorch Lightning. The pieces
# correspond one to one:
#
# | Keras | PyTorch / Lightning |
# |---|---|
# | `keras.Sequential([...])`, Functional `keras.Model` | `nn.Sequential(...)`, a `LightningModule` |
# | `Dense(n)`: kernel `(in, out)`, $y = xW + b$ | `nn.Linear(in, n)`: weight `(out, in)`, $y = xW^\top + b$ |
# | `Layer`: `build` / `add_weight` / `call` | `nn.Module`: `__init__` / `nn.Parameter` / `forward` |
# | `compile(optimizer, loss, metrics)` | `configure_optimizers`, `training_step`, torchmetrics |
# | `SparseCategoricalCrossentropy(from_logits=True)` | `nn.CrossEntropyLoss()` (always on logits) |
# | `fit(train, validation_data=val, epochs=30)` | `Trainer(max_epochs=30).fit(model, train, val)` |
# | `History`, `CSVLogger`, `TensorBoard` callback | `self.log(...)`, `CSVLogger`, `TensorBoardLogger` |
# | `EarlyStopping(restore_best_weights=True)` | `EarlyStopping` + `ModelCheckpoint` callbacks |
# | `evaluate`, `predict` | `Trainer.test`, `Trainer.predict` |
# | `model.summary()` | `ModelSummary` (printed by the `Trainer`) |
# | `MirroredStrategy` | `Trainer(devices=..., strategy="ddp")` |
#
# The layouts differ only in the transposed weight matrix. To prove the models are the same
# function, copy the trained Keras weights into PyTorch (transposing) and into `minifw` (whose
# `Linear` uses Keras's layout): all three give the same logits.

# %% track="pytorch"
net_mf = mf.Sequential(mf.Linear(64, 128, seed=0), mf.ReLU(), mf.Linear(128, 64, seed=1), mf.ReLU(),
                       mf.Linear(64, 10, seed=2))
model_mf = mf.Model(net_mf, mf.CrossEntropy(), mf.Adam(net_mf.parameters(), lr=1e-3))
history_mf = model_mf.fit(X_train, y_train, epochs=30, batch_size=32, validation_data=(X_val, y_val),
                          callbacks=[mf.EarlyStopping(monitor="val_loss", min_delta=0.005, patience=3)], progress=False)
test_accuracy_mf = mf.accuracy(net_mf.eval()(X_test), y_test)
print(f"minifw: {net_mf.num_parameters()} parameters, {len(history_mf['val_loss'])} epochs, test accuracy {test_accuracy_mf:.3f}")
print(f"Lightning: {summary.total_parameters} parameters, {epochs_run} epochs, test accuracy {results['test_accuracy']:.3f}")

assert net_mf.num_parameters() == summary.total_parameters == 17226
assert test_accuracy_mf > 0.95 and results["test_accuracy"] > 0.95

# %% track="tensorflow"
import torch

device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
torch_model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                                  torch.nn.ReLU(), torch.nn.Linear(64, 10))
minifw_model = mf.Sequential(mf.Linear(64, 128), mf.ReLU(), mf.Linear(128, 64), mf.ReLU(), mf.Linear(64, 10))

kernels_and_biases = model.get_weights()       # [W1, b1, W2, b2, W3, b3], W: (in, out)
with torch.no_grad():
    for linear, W, b in zip([torch_model[0], torch_model[2], torch_model[4]], kernels_and_biases[::2], kernels_and_biases[1::2]):
        linear.weight.copy_(torch.from_numpy(W.T))     # PyTorch stores (out, in)
        linear.bias.copy_(torch.from_numpy(b))
for linear, W, b in zip([minifw_model[0], minifw_model[2], minifw_model[4]], kernels_and_biases[::2], kernels_and_biases[1::2]):
    linear.W.data[...], linear.b.data[...] = W, b

torch_model = torch_model.to(device)
with torch.no_grad():
    torch_logits = torch_model(torch.from_numpy(X_test).to(device)).cpu().numpy()
keras_logits = model.predict(X_test, verbose=0)
minifw_logits = minifw_model.forward(X_test)
print("largest difference: PyTorch", np.abs(torch_logits - keras_logits).max(),
      "| minifw", np.abs(minifw_logits - keras_logits).max())
assert np.allclose(torch_logits, minifw_logits, atol=1e-4)
# On recent NVIDIA GPUs TensorFlow multiplies float32 matrices in TF32 (10-bit mantissa) by default,
# so its logits differ in the third digit there; on a CPU they agree to float32 precision.
keras_tolerance = 5e-2 if tf.config.list_physical_devices("GPU") else 1e-4
assert np.allclose(keras_logits, minifw_logits, atol=keras_tolerance)

# %% [markdown] track="pytorch"
# ## Try it
# 1. Section 2: work out the parameter count of `DigitsClassifier(hidden=(256, 128))` by hand, then
#    check it with `ModelSummary`.
# 2. Section 4: set `patience=1` and then `patience=10`. When does training stop, and how does the
#    test accuracy of the best checkpoint change?
# 3. Section 4: add a learning-rate schedule: return
#    `{"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)}`
#    from `configure_optimizers`, add `lightning.pytorch.callbacks.LearningRateMonitor()` to the
#    callbacks and find the learning-rate curve in TensorBoard.
# 4. Section 6: write a `Scale` layer with one trainable number per feature, $y = x \odot s$, put it in
#    front of the network and check its gradients with `gradcheck`.
# 5. Section 8: end the binary perceptron with `nn.Sigmoid()` and train it with `nn.BCELoss()`: same
#    accuracy? Then compare `nn.BCELoss()(torch.sigmoid(z), y)` with `nn.BCEWithLogitsLoss()(z, y)`
#    for `z = torch.tensor([-120.0])`, `y = torch.tensor([1.0])`: which one is right, and why?
#
# **Next:** the TensorFlow twin of this notebook, `03-high-level-tensorflow.ipynb`, has the same
# sections with Keras; compare them side by side. Then practise in the labs (`labs/`).

# %% [markdown] track="tensorflow"
# ## Try it
# 1. Add `keras.layers.Dropout(0.2)` after each hidden layer of `sequential_model` and train
#    with early stopping. Does the test accuracy change? Do more epochs run before it stops?
# 2. In section 3, add `keras.metrics.SparseTopKCategoricalAccuracy(k=2)` to the metrics. How
#    often is the right digit among the two best guesses?
# 3. Write a callback that halves the learning rate when the validation loss has not improved for
#    2 epochs (set `self.model.optimizer.learning_rate`), then compare with the built-in
#    `keras.callbacks.ReduceLROnPlateau`.
# 4. Give `MyDense` an option `use_bias=False` and check that the parameter count drops by
#    $128 + 64 + 10 = 202$.
# 5. Row 4 of section 8: replace the sigmoid by a softmax. What goes wrong, and how does the
#    accuracy per question show it?
# 6. Split your CPU into two logical devices (`tf.config.set_logical_device_configuration`, at the
#    very start of a fresh kernel) and run section 9 with `MirroredStrategy(["/cpu:0", "/cpu:1"])`.
#
# **Next:** the PyTorch twin, `03-high-level-pytorch.ipynb`, trains the same model with
# Lightning; the labs in `labs/` ask you to build, train and test models with both frameworks.
