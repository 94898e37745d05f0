# %% [markdown] track="pytorch"
# # 02·03 · High-level training with PyTorch Lightning
#
# In notebook 02 you wrote the training loop yourself: batches, `zero_grad`, `backward`, `step`,
# validation after each epoch, the best weights kept by hand. That loop is the same in every
# project, and so are its bugs (a forgotten `model.eval()`, a metric not reset). **PyTorch
# Lightning** writes it once: you say what *one step* does in a `LightningModule`, and a `Trainer`
# runs the loops, moves data to the device, logs, calls your callbacks and saves checkpoints.
# Under the hood it is still the PyTorch of notebooks 01 and 02.
#
# We train the example of the course's PyTorch lecture from start to end, on real 28×28 images:
# a 784 → 512 → 512 → 10 network (669 706 parameters) with RMSprop and a label-smoothed
# cross-entropy, on the GPU when there is one.

# %% [markdown] track="tensorflow"
# # 02·03 · Keras: the high-level API
#
# In notebook 02 you wrote the training loop: batches, tape, optimizer, validation, best weights.
# Keras packs all of it into a `keras.Model` with three methods, `compile`, `fit` and `evaluate`,
# plus **callbacks** that hook into the loop. We train the example of the course's Keras
# lecture from start to end, on real 28×28 images: a
# $784 \to 512 \to \mathrm{ReLU} \to 512 \to \mathrm{ReLU} \to 10$ network (669 706 parameters)
# with RMSprop and a label-smoothed cross-entropy, on the GPU when there is one.

# %% [markdown] track="pytorch"
# ## Objectives
# After this notebook you can
#
# - load MNIST-sized images (a sample shipped with the course, or the full MNIST and
#   Fashion-MNIST), look at them, and feed them to a network as 784 pixel values;
# - write the lecture's classifier as a `LightningModule` (`training_step`, `validation_step`,
#   `test_step`, `configure_optimizers`) and train it with a `Trainer(accelerator="auto")`;
# - count the parameters of a dense network by hand and check the count with `ModelSummary`;
# - log metrics with `self.log`, and read them back in TensorBoard;
# - write a callback (here: a line per epoch and live training curves) and use `EarlyStopping`
#   and `ModelCheckpoint`;
# - write a layer of your own with `nn.Parameter`, and check its gradients;
# - test a trained model once, on data it has never seen, and look at its mistakes;
# - pick the last layer and the loss for binary, multi-class and multi-label problems;
# - say what `devices` and `strategy` change when you train on several GPUs.

# %% [markdown] track="tensorflow"
# ## Objectives
# After this notebook you can
#
# - load MNIST-sized images (a sample shipped with the course, or the full MNIST and
#   Fashion-MNIST), look at them, and feed them to a network as 784 pixel values;
# - build a model with the **Functional API** (`keras.Input` → layers → `keras.Model`) and the
#   **Sequential API**, and read `model.summary()`, counting the parameters by hand;
# - train with `compile` / `fit` on training and validation data, and read the logged history;
# - write a callback (a line per epoch, live curves), stop early with `EarlyStopping`, and log
#   to **TensorBoard**;
# - write your own layer with `build`, `add_weight` and `call`, and use it in a `Sequential` model;
# - test a model once, on data it has never seen, and look at its mistakes;
# - choose the last layer and the loss for binary, multi-class and multi-label problems;
# - know how `tf.distribute.MirroredStrategy` spreads training over several GPUs, and how Keras
#   maps onto PyTorch Lightning.

# %%
DATA = "mnist-sample"  # the images: "mnist-sample" (5000 MNIST digits shipped with the course, no network),
#                        "mnist" or "fashion-mnist" (70 000 images each, downloaded once: needs the network)

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
torch.set_num_threads(1)  # tests run two notebooks at once on two cores; at home, delete this line
L.seed_everything(0)      # Python, numpy and torch seeds at once
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
LOGS = Path("logs")       # next to this notebook; git ignores it
RUN = time.strftime("%Y-%m-%d_%H-%M-%S")   # every run of this notebook logs into a folder of its own
print("Lightning", L.__version__, "| torch", torch.__version__, "| device:", device)

# %% [markdown]
# ## 1. The images
#
# **MNIST** holds 70 000 handwritten digits of 28 × 28 gray pixels (LeCun, Cortes and Burges);
# **Fashion-MNIST** (Zalando) has the same format, with ten kinds of clothing instead of digits.
# The course ships 5000 MNIST digits, 500 of each, with minifw (`mf.datasets.load_mnist_sample()`),
# so that this notebook runs anywhere, offline, in seconds: that is the default,
# `DATA = "mnist-sample"` in the first code cell. Set it to `"mnist"` or `"fashion-mnist"` to train
# on a full set instead: minifw downloads it once into `~/.cache/minifw` (11 MB or 30 MB; this
# needs the network) and every run then takes minutes on a CPU rather than seconds.
#
# - Sample: 60 / 20 / 20 % stratified into 3000 training, 1000 validation and 1000 test images.
# - Full sets: the official 10 000 test images are the test set, and 10 000 of the 60 000
#   training images are held out for validation.
#
# A dense network sees an image as one long vector: the 28 rows of 28 pixels one after the other,
# $28 \cdot 28 = 784$ numbers, already divided by 255 into $[0, 1]$, so no scaler is needed. Every
# threshold below that depends on the data says which data it holds for.

# %%
CLASSES = mf.datasets.FASHION_MNIST_CLASSES if DATA == "fashion-mnist" else tuple("0123456789")
# the test accuracy the model of section 5 must reach (full MNIST is easier with 50 000 training
# images, clothes are harder than digits)
MIN_TEST_ACCURACY = {"mnist-sample": 0.92, "mnist": 0.97, "fashion-mnist": 0.85}[DATA]


# the sample: 60 / 20 / 20 % stratified; a full set: 10 000 training images held out for validation,
# its official 10 000 test images as the test set
X_train, X_val, X_test, y_train, y_val, y_test = mf.datasets.load_image_splits(
    DATA, val_size=0.2 if DATA == "mnist-sample" else 10_000, test_size=0.2)
print(f"{DATA}: training {X_train.shape}, validation {X_val.shape}, test {X_test.shape}, "
      f"pixels from {X_train.min()} to {X_train.max()}")
assert X_train.shape[1] == 784 and X_train.dtype == np.float32 and 0 <= X_train.min() and X_train.max() <= 1
if DATA == "mnist-sample":
    assert (len(X_train), len(X_val), len(X_test)) == (3000, 1000, 1000)
    assert np.array_equal(np.bincount(y_train), [300] * 10), "expected a stratified split: 300 of each digit"

fig, axes = plt.subplots(3, 10, figsize=(12, 4))
for ax, image, label in zip(axes.flat, X_train, y_train):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")      # back from 784 numbers to 28 rows of 28
    ax.set_title(CLASSES[label], fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# At home, with the network, the frameworks' own downloaders give the same images (this notebook
# does not run them, so that it stays offline):
#
# ```python
# # Keras: numpy arrays of uint8, (60000, 28, 28) and (10000, 28, 28), cached in ~/.keras/datasets
# (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()   # or .fashion_mnist
# x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
# ```
#
# ```python
# # torchvision (pip install torchvision): a Dataset of (image tensor (1, 28, 28) in [0, 1], label)
# from torchvision import datasets, transforms
# train = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())  # or FashionMNIST
# loader = torch.utils.data.DataLoader(train, batch_size=64, shuffle=True)
# for x, y in loader:                          # x: (64, 1, 28, 28)
#     x = x.flatten(start_dim=1)               # (64, 784), what a dense network takes
# ```

# %% [markdown] track="tensorflow"
# Keras trains fastest from a `tf.data.Dataset`: shuffled batches of 64 for training, larger
# batches for evaluation (their size does not change the result, only the speed). The labels
# become one-hot rows (`to_categorical`), because the loss of section 4 smooths them, and Keras's
# label smoothing works on one-hot targets only.

# %% track="tensorflow"
Y_train, Y_val, Y_test = (keras.utils.to_categorical(labels, 10) for labels in (y_train, y_val, y_test))
train_ds = (tf.data.Dataset.from_tensor_slices((X_train, Y_train))
            .shuffle(len(X_train), seed=0).batch(64).prefetch(tf.data.AUTOTUNE))
val_ds = tf.data.Dataset.from_tensor_slices((X_val, Y_val)).batch(1000)
test_ds = tf.data.Dataset.from_tensor_slices((X_test, Y_test)).batch(1000)
print("batches per epoch:", len(train_ds), "| one-hot label of a", y_train[0], ":", Y_train[0])
assert Y_train.shape == (len(X_train), 10) and np.array_equal(Y_train.argmax(axis=1), y_train)


# %% [markdown] track="pytorch"
# `DataLoader`s as in notebook 02: the training loader shuffles (with a seeded generator) into
# batches of 64; validation and test need no order.

# %% track="pytorch"
def loader(X, y, shuffle=False, batch_size=64):
    data = TensorDataset(torch.tensor(X), torch.tensor(y))
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(0) if shuffle else None)


train_loader = loader(X_train, y_train, shuffle=True)
val_loader, test_loader = loader(X_val, y_val, batch_size=1000), loader(X_test, y_test, batch_size=1000)
print("batches per epoch:", len(train_loader), "| validation", len(X_val), "| test", len(X_test))
assert len(train_loader) == -(-len(X_train) // 64)   # the last batch keeps the rest


# %% [markdown] track="pytorch"
# ## 2. The classifier as a model
#
# The network of the lecture: $784 \to 512 \to \mathrm{ReLU} \to 512 \to \mathrm{ReLU} \to 10$
# logits, trained with RMSprop ($\eta = 0.001$) on the cross-entropy with label smoothing 0.01
# (notebook 02: the target gives 0.991 to the right class and 0.001 to each other one).

# %% [markdown] track="tensorflow"
# ## 2. The classifier as a model
#
# The network of the lecture: $784 \to 512 \to \mathrm{ReLU} \to 512 \to \mathrm{ReLU} \to 10$,
# trained with RMSprop ($\eta = 0.001$) on the cross-entropy with label smoothing 0.01.
#
# **Functional API.** Start from a symbolic input of shape `(784,)` (the batch axis is implicit)
# and call each layer on the previous result; `keras.Model(inputs, outputs)` ties the graph
# together. `Dense(n)` computes $xW + b$ with $W$ of shape `(inputs, n)`, like `minifw.Linear`;
# `activation="relu"` applies the ReLU after it. The last layer has no activation: it outputs
# the 10 **logits**, and the loss will apply the softmax (section 4).

# %% track="tensorflow"
def functional_model():
    inputs = keras.Input(shape=(784,), name="pixels")
    h = keras.layers.Dense(512, activation="relu", name="hidden_1")(inputs)
    h = keras.layers.Dense(512, activation="relu", name="hidden_2")(h)
    logits = keras.layers.Dense(10, name="logits")(h)
    return keras.Model(inputs=inputs, outputs=logits, name="mlp_functional")


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
class ImageClassifier(L.LightningModule):
    """784 -> 512 -> ReLU -> 512 -> ReLU -> 10 logits, RMSprop, label-smoothed cross-entropy."""

    def __init__(self, hidden=(512, 512), lr=1e-3, label_smoothing=0.01, linear=nn.Linear):
        super().__init__()
        self.save_hyperparameters(ignore=["linear"])   # stored in checkpoints and in the logs
        self.net = nn.Sequential(
            linear(784, hidden[0]), nn.ReLU(),
            linear(hidden[0], hidden[1]), nn.ReLU(),
            linear(hidden[1], 10),
        )
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
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
        return torch.optim.RMSprop(self.parameters(), lr=self.hparams.lr)


model = ImageClassifier()
x_batch, y_batch = next(iter(train_loader))
print("a batch:", tuple(x_batch.shape), "-> logits", tuple(model(x_batch).shape))
assert model(x_batch).shape == (64, 10) and model.hparams.lr == 1e-3


# %% track="tensorflow"
def sequential_model():
    return keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(10),
    ], name="mlp_sequential")


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
# ## 3. Counting parameters by hand
#
# A dense layer from $n_\text{in}$ to $n_\text{out}$ units has a weight matrix of
# $n_\text{in} \times n_\text{out}$ numbers and one bias per output unit:
# $n_\text{in} n_\text{out} + n_\text{out} = (n_\text{in} + 1)\, n_\text{out}$ parameters. ReLU has none. So
#
# $$\underbrace{784 \cdot 512 + 512}_{401\,920} + \underbrace{512 \cdot 512 + 512}_{262\,656}
#   + \underbrace{512 \cdot 10 + 10}_{5\,130} = 669\,706.$$
#
# Six in ten of them sit in the first layer: every one of the 784 pixels has a weight to every
# one of the 512 units. `ModelSummary` lists every sub-module with its parameter count (`max_depth=2` looks inside
# `net`); the `Trainer` prints the same table when training starts, unless told not to.

# %% [markdown] track="tensorflow"
# ## 3. Counting parameters by hand
#
# A dense layer from $n_\text{in}$ to $n_\text{out}$ units has an $n_\text{in} \times n_\text{out}$
# weight matrix and $n_\text{out}$ biases:
#
# | layer | weights | biases | parameters |
# |---|---|---|---|
# | 784 → 512 | $784 \cdot 512 = 401\,408$ | 512 | 401,920 |
# | 512 → 512 | $512 \cdot 512 = 262\,144$ | 512 | 262,656 |
# | 512 → 10 | $512 \cdot 10 = 5\,120$ | 10 | 5,130 |
# | **total** | | | **669,706** |
#
# ReLU has no parameters; six in ten parameters sit in the first layer, one weight from every
# pixel to every unit. `model.summary()` lists the same numbers:

# %% track="pytorch"
by_hand = (784 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10)
summary = ModelSummary(model, max_depth=2)
print(summary)
print("total parameters:", summary.total_parameters, "| by hand:", by_hand)

assert by_hand == 669_706
assert summary.total_parameters == summary.trainable_parameters == 669_706, "ModelSummary should agree"
assert sum(p.numel() for p in model.parameters()) == 669_706
assert [sum(p.numel() for p in layer.parameters()) for layer in model.net] == [401_920, 0, 262_656, 0, 5_130]

# %% track="tensorflow"
functional.summary()

summary_lines = []
functional.summary(print_fn=lambda line, *args, **kwargs: summary_lines.append(line))
by_hand = [784 * 512 + 512, 512 * 512 + 512, 512 * 10 + 10]
assert [layer.count_params() for layer in functional.layers[1:]] == by_hand == [401_920, 262_656, 5_130]
assert functional.count_params() == sequential.count_params() == sum(by_hand) == 669_706
assert "Total params: 669,706" in "".join(summary_lines), "model.summary() should print the same total"


# %% [markdown] track="pytorch"
# ## 4. Training with validation and logging
#
# The `Trainer` holds everything about *how* to train, apart from the model:
#
# - `accelerator="auto"` picks a GPU (`cuda` or `mps`) when there is one, else the CPU, and
#   `devices=1` uses one of them; the model and every batch are moved there for you (and the
#   model back to the CPU when `fit` ends);
# - `max_epochs` bounds the training; `deterministic="warn"` asks for reproducible algorithms
#   (with a warning where PyTorch has none);
# - `logger` receives everything passed to `self.log`: here a `TensorBoardLogger` writing to
#   `logs/images/<date_time>/<version>` next to this notebook (section 6);
# - `callbacks`: objects whose methods the `Trainer` calls at fixed moments (section 5). The one
#   below prints a line at the end of every training epoch, from `on_train_epoch_end`; by then
#   Lightning has also run the validation pass, so `trainer.callback_metrics` holds the epoch's
#   `loss`, `accuracy`, `val_loss` and `val_accuracy`;
# - `enable_checkpointing=False`: no checkpoint files for this first, short run.
#
# `trainer.fit(model, train_loader, val_loader)` first runs two validation batches as a *sanity
# check* (so a bug in `validation_step` shows up at once, not after an epoch of training), then
# alternates a training epoch and a validation pass. We train for 3 epochs only, and look at what
# was logged.

# %% [markdown] track="tensorflow"
# ## 4. Training with validation and logging
#
# `compile` chooses the optimizer, the loss and the metrics; `fit` runs the loop of notebook 02.
# The loss `CategoricalCrossentropy(from_logits=True, label_smoothing=0.01)` is
# $L = -\frac1N \sum_i \sum_c q_{ic} \log \mathrm{softmax}(z_i)_c$ on logits $z$ and one-hot rows
# smoothed into $q = 0.99\,\mathrm{onehot}(y) + 0.01/10$, with the softmax computed inside the
# loss, stably. (`SparseCategoricalCrossentropy` takes class indices instead, but has no label
# smoothing.) Keras's `RMSprop` defaults differ from PyTorch's: $\rho = 0.9$ where PyTorch has
# $\alpha = 0.99$, and $\epsilon = 10^{-7}$ inside the square root (notebook 02, section 4).
#
# With `validation_data`, `fit` evaluates the validation set after every epoch; everything it
# measures is **logged** in the returned `History` (`history.history["val_loss"]`, ...). Two
# **callbacks** (objects whose methods `fit` calls at fixed points, section 5) see the same
# numbers: `CSVLogger` writes them to a file, one row per epoch, and our `PrintEpoch` prints a
# line from `on_epoch_end`. (`verbose=2` would print a similar line, `verbose=0` prints nothing;
# `shuffle=False`: the dataset already shuffles, in a new order each epoch.) We train for 3 epochs.

# %% track="pytorch"
class PrintEpoch(Callback):
    """Print the epoch's logged metrics, one line per epoch."""

    def on_train_epoch_end(self, trainer, pl_module):
        m = trainer.callback_metrics
        print(f"epoch {trainer.current_epoch + 1}: loss {m['loss']:.4f}, accuracy {m['accuracy']:.3f}, "
              f"val_loss {m['val_loss']:.4f}, val_accuracy {m['val_accuracy']:.3f}")


def make_trainer(version, max_epochs, callbacks=(), **options):
    return L.Trainer(
        accelerator="auto", devices=1, max_epochs=max_epochs, deterministic="warn",
        logger=TensorBoardLogger(save_dir=LOGS / "images", name=RUN, version=version, default_hp_metric=False),
        callbacks=list(callbacks), log_every_n_steps=10, enable_progress_bar=False,
        enable_model_summary=False, **options,
    )


short_trainer = make_trainer("short", max_epochs=3, callbacks=[PrintEpoch()], enable_checkpointing=False)
short_model = ImageClassifier()
short_trainer.fit(short_model, train_loader, val_loader)

logged = {name: round(float(value), 4) for name, value in short_trainer.logged_metrics.items()}
print("after", short_trainer.current_epoch, "epochs:", logged)
print("trained on:", short_trainer.strategy.root_device, "| log folder:", short_trainer.logger.log_dir)

assert short_trainer.current_epoch == 3
assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(logged)
assert logged["val_accuracy"] > MIN_TEST_ACCURACY - 0.03, \
    f"{DATA}: expected 3 epochs to reach a validation accuracy near {MIN_TEST_ACCURACY} already"
assert short_trainer.strategy.root_device.type == device   # accelerator="auto" found our device (GPU if any)


# %% track="tensorflow"
def smoothed_cross_entropy():
    return keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.01)


class PrintEpoch(keras.callbacks.Callback):
    """Print the epoch's logged metrics, one line per epoch."""

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch + 1}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.3f}, "
              f"val_loss {logs['val_loss']:.4f}, val_accuracy {logs['val_accuracy']:.3f}")


functional.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3), loss=smoothed_cross_entropy(),
                   metrics=["accuracy"])
csv_log = LOGS / "functional.csv"
csv_log.parent.mkdir(parents=True, exist_ok=True)
history = functional.fit(train_ds, validation_data=val_ds, epochs=3, shuffle=False, verbose=0,
                         callbacks=[PrintEpoch(), keras.callbacks.CSVLogger(str(csv_log))])

h = history.history
print("logged:", sorted(h), "| trained on:", "GPU" if tf.config.list_physical_devices("GPU") else "CPU")
with open(csv_log) as f:
    rows = list(csv.DictReader(f))
assert sorted(h) == ["accuracy", "loss", "val_accuracy", "val_loss"] and len(h["loss"]) == len(rows) == 3
assert np.allclose([float(r["val_loss"]) for r in rows], h["val_loss"])   # the file holds the same numbers
assert h["loss"][-1] < h["loss"][0]
assert h["val_accuracy"][-1] > MIN_TEST_ACCURACY - 0.03, \
    f"{DATA}: expected 3 epochs to reach a validation accuracy near {MIN_TEST_ACCURACY} already"


# %% [markdown] track="pytorch"
# ## 5. Callbacks: live curves and early stopping
#
# A **callback** is an object whose methods the `Trainer` calls at fixed moments:
# `on_train_epoch_end`, `on_validation_epoch_end`, `on_fit_end` and many more. It keeps the
# *extras* (plots, early stopping, checkpoints) out of the model's code. Ours collects the epoch's
# metrics from `trainer.callback_metrics` after every epoch and redraws the curves every few
# epochs (every redraw of a figure costs time, so not after each one).

# %% [markdown] track="tensorflow"
# ## 5. Callbacks: live curves and early stopping
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
# We train a fresh model for at most 12 epochs with all three (and patience 2: on 3000 images the
# validation loss stops improving after a few epochs).

# %% [markdown] track="tensorflow"
# **Early stopping**: how many epochs to train is a choice, and the validation loss makes it. Once
# it stops improving, more epochs cost time and learn the training set rather than the task.
# `EarlyStopping(monitor="val_loss", min_delta=0.01, patience=2)` stops when the validation loss
# has not improved by at least 0.01 for 2 epochs in a row, and `restore_best_weights=True`
# returns to the weights of the best epoch (what notebook 02 did by hand). A `TensorBoard`
# callback writes the same run to `logs/keras/images` for section 6. We train a fresh
# `Sequential` model, for at most 12 epochs:

# %% track="pytorch"
curves = LiveCurves(every=5)
early_stopping = EarlyStopping(monitor="val_loss", mode="min", patience=2, min_delta=0.01)
checkpoint = ModelCheckpoint(monitor="val_loss", mode="min")
L.seed_everything(0)
model = ImageClassifier()
trainer = make_trainer("full", max_epochs=12, callbacks=[curves, early_stopping, checkpoint])
trainer.fit(model, train_loader, val_loader)

# %% [markdown] track="pytorch"
# Lightning prints its notes on stderr, and JupyterLab shows stderr in a red box. These are notes,
# not warnings. "GPU available: False, used: False" (and the TPU/HPU lines) says which accelerators
# Lightning found and that the Trainer is not using them: on a laptop without a GPU it trains on
# the CPU, as intended. "Seed set to 0" confirms that `L.seed_everything(0)` seeded Python, NumPy
# and PyTorch, so the run repeats exactly. "Restoring states from the checkpoint path at …" and
# "Loaded model weights from the checkpoint at …" (further down) mean `trainer.test(...,
# ckpt_path="best")` loaded the best weights `ModelCheckpoint` saved before evaluating. A real
# problem looks different: a line naming a warning class (`UserWarning`, `PossibleUserWarning`)
# or a traceback.

# %% track="tensorflow"
keras.utils.set_random_seed(0)
model = sequential_model()
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3), loss=smoothed_cross_entropy(),
              metrics=["accuracy"])
# The optimizer makes its slots (RMSprop's running averages) on its first step, inside the traced
# training step, so fit would trace that step twice; built now, fit traces it once (seconds saved).
model.optimizer.build(model.trainable_variables)
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0.01, patience=2,
                                               restore_best_weights=True)
tensorboard = keras.callbacks.TensorBoard(log_dir=str(LOGS / "images"))
history = model.fit(train_ds, validation_data=val_ds, epochs=12, shuffle=False, verbose=0,
                    callbacks=[LiveCurves(every=5), early_stopping, tensorboard])

# %% track="pytorch"
history = curves.history
epochs_run = len(history["val_loss"])
best_epoch = int(np.argmin(history["val_loss"])) + 1
print(f"trained {epochs_run} epochs; best validation loss {min(history['val_loss']):.4f} at epoch {best_epoch}")
print("best checkpoint:", checkpoint.best_model_path)

assert epochs_run <= 12 and history["val_accuracy"][best_epoch - 1] > MIN_TEST_ACCURACY - 0.02, \
    f"{DATA}: expected the best epoch's validation accuracy near {MIN_TEST_ACCURACY}"
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

if len(val_loss) < 12:                                           # stopped early:
    assert len(val_loss) == best_epoch + 2                       # 2 epochs after the best one
assert abs(restored_loss - val_loss[best_epoch - 1]) < 1e-4      # the best weights are back
assert restored_accuracy > MIN_TEST_ACCURACY - 0.02, \
    f"{DATA}: expected the best epoch's validation accuracy near {MIN_TEST_ACCURACY}"

# %% [markdown] track="pytorch"
# ## 6. TensorBoard
#
# Everything passed to `self.log` went to the `TensorBoardLogger`, as *event files* under
# `logs/images/<date_time>/short` and `.../full`, together with the hyper-parameters
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
# ## 6. TensorBoard
#
# TensorBoard is a web page that plots logged runs: curves, histograms of weights, the model
# graph. The callback above wrote event files for the training and validation curves:

# %% track="pytorch"
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

runs = {}
for version in ("short", "full"):
    events = EventAccumulator(str(LOGS / "images" / RUN / version))
    events.Reload()
    runs[version] = {tag: [s.value for s in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
print("logged scalars:", sorted(runs["full"]))
print("val_loss per epoch (full run):", np.round(runs["full"]["val_loss"], 3))

assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(runs["full"])
assert len(runs["short"]["val_loss"]) == 3 and len(runs["full"]["val_loss"]) == epochs_run   # one point per epoch
assert np.allclose(runs["full"]["val_loss"], history["val_loss"], rtol=1e-5)   # what the callback saw

# %% track="tensorflow"
for path in sorted((LOGS / "images").rglob("*")):
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
# are exactly the History of section 5.

# %% track="tensorflow"
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read_scalars(folder, tag):
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})  # 0: keep every event
    events.Reload()
    return [float(tf.make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)]


logged = {part: read_scalars(LOGS / "images" / part, "epoch_loss") for part in ["train", "validation"]}
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
# ## 7. A custom layer
#
# When no built-in layer does what you need, you write one. A layer is an `nn.Module`; its
# trainable tensors are `nn.Parameter`s set as attributes in `__init__` (that is how `parameters()`,
# the optimizer, `.to(device)` and `ModelSummary` find them), and `forward` computes the output.
# Autograd derives the backward pass. Here is `minifw`'s dense layer, $y = xW + b$ with
# $W$ of shape `(in, out)` and He-uniform initialization $W \sim U(-a, a)$, $a = \sqrt{6 / n_\text{in}}$:

# %% [markdown] track="tensorflow"
# ## 7. A custom layer
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
custom = ImageClassifier(linear=DenseLayer)
print(custom.net)
print("gradcheck:", gradients_ok, "| parameters:", ModelSummary(custom).total_parameters)

assert gradients_ok
assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
assert ModelSummary(custom).total_parameters == 669_706
assert custom.net[0].weight.abs().max() <= np.sqrt(6 / 784)


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
    keras.Input(shape=(784,)),
    MyDense(512, activation="relu"),
    MyDense(512, activation="relu"),
    MyDense(10),
], name="mlp_custom")
custom.summary()
assert custom.count_params() == 669_706 and len(custom.trainable_weights) == 6

# %% [markdown] track="pytorch"
# The model with our layer trains like the original one. Two epochs:

# %% [markdown] track="tensorflow"
# It computes what `Dense` computes: given the trained weights of section 5, it gives the same
# logits. And it trains like any layer: 2 epochs from scratch.

# %% track="pytorch"
custom_trainer = make_trainer("custom", max_epochs=2, enable_checkpointing=False)
custom_trainer.fit(custom, train_loader, val_loader)
custom_val_accuracy = float(custom_trainer.callback_metrics["val_accuracy"])
print(f"validation accuracy after 2 epochs: {custom_val_accuracy:.3f} (built-in layers, 3 epochs: {logged['val_accuracy']:.3f})")
assert custom_val_accuracy > MIN_TEST_ACCURACY - 0.06, f"{DATA}: expected about the accuracy of the built-in layers"

# %% track="tensorflow"
custom.set_weights(model.get_weights())
assert np.allclose(custom.predict(X_val, verbose=0), model.predict(X_val, verbose=0), atol=1e-5)

keras.utils.set_random_seed(0)
custom = keras.Sequential([keras.Input(shape=(784,)), MyDense(512, "relu"), MyDense(512, "relu"), MyDense(10)])
custom.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3), loss=smoothed_cross_entropy(),
               metrics=["accuracy"])
custom.optimizer.build(custom.trainable_variables)  # fit then traces its step once (section 5)
custom_history = custom.fit(train_ds, validation_data=val_ds, epochs=2, shuffle=False, verbose=0)
print(f"custom layers, 2 epochs: val_accuracy {custom_history.history['val_accuracy'][-1]:.3f}")
assert custom_history.history["val_accuracy"][-1] > MIN_TEST_ACCURACY - 0.06, \
    f"{DATA}: expected about the accuracy of the built-in layers"

# %% [markdown] track="pytorch"
# ## 8. Testing the model
#
# The test set has not been used so far: not for training, not for choosing the epoch. It gives
# the honest estimate of how the model will do on new images, and we use it **once**.
# `trainer.test(..., ckpt_path="best")` reloads the best checkpoint of section 5 and runs
# `test_step` over the test loader; `trainer.predict` runs `predict_step` and returns its outputs.

# %% [markdown] track="tensorflow"
# ## 8. Testing the model
#
# The test set has waited until now: its score estimates how the model will do on new images.
# Look at it **once**, after all choices (architecture, epochs, learning rate) are made on the
# validation set; choosing by the test score would make it optimistic. `evaluate` computes the
# compiled loss and metrics; `predict` gives the logits, and their arg-max the predicted class.

# %% track="pytorch"
results = trainer.test(model, test_loader, ckpt_path="best", verbose=False)[0]
predicted = torch.cat(trainer.predict(model, test_loader, ckpt_path="best")).cpu().numpy()
print(f"test accuracy {results['test_accuracy']:.3f}, test loss {results['test_loss']:.4f}")

assert results["test_accuracy"] > MIN_TEST_ACCURACY, f"{DATA}: expected a test accuracy above {MIN_TEST_ACCURACY}"
assert np.isclose((predicted == y_test).mean(), results["test_accuracy"], atol=1e-6)

# %% track="tensorflow"
test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)
predicted = model.predict(X_test, verbose=0).argmax(axis=1)
print(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.3f}")

assert test_accuracy > MIN_TEST_ACCURACY, f"{DATA}: expected a test accuracy above {MIN_TEST_ACCURACY}"
assert np.isclose(test_accuracy, np.mean(predicted == y_test))        # evaluate and predict agree

# %% [markdown]
# Which classes get confused? The **confusion matrix** counts, for each true class (row), the
# predicted classes (columns); the diagonal holds the correct answers. Below it, the first
# misclassified test images, with the true and the predicted class. Which of them would you have
# got right?

# %%
confusion = mf.confusion_matrix(predicted, y_test, num_classes=10)
wrong = np.flatnonzero(predicted != y_test)
fig, ax = plt.subplots(figsize=(5.5, 5))
ax.imshow(confusion, cmap="Blues")
for i, j in zip(*np.nonzero(confusion)):
    ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=8, color="white" if i == j else "black")
ax.set(xticks=range(10), yticks=range(10), xticklabels=CLASSES, yticklabels=CLASSES,
       xlabel="predicted", ylabel="true", title=f"confusion matrix, {DATA} test set")
plt.setp(ax.get_xticklabels(), rotation=45, ha="right")   # Fashion-MNIST's class names are long
plt.show()

fig, axes = plt.subplots(2, 8, figsize=(12, 3.8))
for ax in axes.flat:
    ax.axis("off")
for ax, i in zip(axes.flat, wrong):
    ax.imshow(X_test[i].reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{CLASSES[y_test[i]]} → {CLASSES[predicted[i]]}", fontsize=8)
fig.suptitle("misclassified test images (true → predicted)")
plt.show()

mistakes = confusion - np.diag(np.diag(confusion))
true_class, predicted_class = np.unravel_index(mistakes.argmax(), mistakes.shape)
print(f"{len(wrong)} mistakes out of {len(y_test)}; the most frequent: {CLASSES[true_class]} taken for "
      f"{CLASSES[predicted_class]}, {mistakes.max()} times")
assert confusion.sum() == len(y_test) and np.trace(confusion) == len(y_test) - len(wrong)
assert np.array_equal(confusion.sum(axis=1), np.bincount(y_test, minlength=10))   # rows: the true classes


# %% [markdown] track="pytorch"
# ## 9. Choosing the last layer and the loss
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
# ## 9. Choosing the last layer and the loss
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
logits = nn.Linear(784, 10)(torch.tensor(X_val[:8])).detach()       # an untrained layer: any logits do
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
softmax_model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])
probs = softmax_model(X_val[:8]).numpy()
one_hot = keras.utils.to_categorical(y_val[:8], num_classes=10)
loss_one_hot = float(keras.losses.CategoricalCrossentropy()(one_hot, probs))
loss_index = float(keras.losses.SparseCategoricalCrossentropy()(y_val[:8], probs))
by_hand = -np.mean(np.log(probs[np.arange(8), y_val[:8]]))
print(f"one-hot {loss_one_hot:.5f} = class index {loss_index:.5f} = by hand {by_hand:.5f}")
assert one_hot.shape == (8, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-6)
assert np.isclose(loss_one_hot, loss_index, rtol=1e-5) and np.isclose(loss_index, by_hand, rtol=1e-4)

# the softmax layer with the plain loss equals logits with from_logits=True
logits_model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10)])
logits_model.set_weights(softmax_model.get_weights())
from_logits = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_val[:8], logits_model(X_val[:8])))
assert np.isclose(from_logits, loss_index, rtol=1e-4)

# %% track="pytorch"
# Row 4, multi-label: three yes/no questions about each digit, any number of them true.
questions = ["even", "at least 5", "prime"]


def digit_labels(y):
    return np.stack([y % 2 == 0, y >= 5, np.isin(y, [2, 3, 5, 7])], axis=1).astype("float32")


torch.manual_seed(0)
multi_label = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 3))   # 3 independent logits
train_plain(multi_label, nn.BCEWithLogitsLoss(), X_train, digit_labels(y_train), epochs=5,
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
    keras.Input(shape=(784,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(3, activation="sigmoid"),       # 3 independent probabilities
])
multi_label.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                    loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy()])
multi_label.optimizer.build(multi_label.trainable_variables)  # fit then traces its step once (section 5)
label_ds = (tf.data.Dataset.from_tensor_slices((X_train, digit_labels(y_train)))
            .shuffle(len(X_train), seed=0).batch(32).prefetch(tf.data.AUTOTUNE))
multi_label.fit(label_ds, epochs=5, shuffle=False, verbose=0)
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
# ## 10. More than one device
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
# step, so all copies stay identical. With 4 devices and `batch_size=64`, each step sees
# $4 \times 64 = 256$ examples. Models too large for one GPU need a strategy that splits the model
# itself (`strategy="fsdp"`). Our trainer used one device:

# %% [markdown] track="tensorflow"
# ## 10. More than one device
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

# How DDP would share our training examples among 4 devices (no GPU needed to see it):
shares = [list(DistributedSampler(train_loader.dataset, num_replicas=4, rank=r, shuffle=False)) for r in range(4)]
print(len(X_train), "examples; per device:", [len(s) for s in shares],
      "| batches of 64 per device and epoch:", -(-len(shares[0]) // 64))
assert [len(s) for s in shares] == [-(-len(X_train) // 4)] * 4             # padded to a multiple of 4
assert set().union(*map(set, shares)) == set(range(len(X_train)))          # together they cover every example

# Averaging the gradients of 4 equal batches of 64 gives the gradient of the 256 examples together:
xb, yb = torch.tensor(X_train[:256]), torch.tensor(y_train[:256])
net = ImageClassifier().net


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
    distributed.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3), loss=smoothed_cross_entropy(),
                        metrics=["accuracy"])
    distributed.optimizer.build(distributed.trainable_variables)  # fit then traces its step once (section 5)
global_batches = (tf.data.Dataset.from_tensor_slices((X_train, Y_train))
                  .shuffle(len(X_train), seed=0).batch(64 * replicas).prefetch(tf.data.AUTOTUNE))
distributed.fit(global_batches, epochs=1, shuffle=False, verbose=0)
_, distributed_accuracy = distributed.evaluate(val_ds, verbose=0)
print(f"1 epoch under MirroredStrategy: val_accuracy {distributed_accuracy:.3f}")
assert distributed_accuracy > MIN_TEST_ACCURACY - 0.12, f"{DATA}: expected one epoch to do most of the work"

# %% [markdown] track="tensorflow"
# Other strategies follow the same pattern: `MultiWorkerMirroredStrategy` for several machines,
# `TPUStrategy` for TPUs.

# %% [markdown] track="pytorch"
# ## 11. Side by side with the other framework
#
# The same ideas carry three names. The TensorFlow twin of this notebook builds the same network
# with Keras; here is the correspondence, with `minifw` (part 1) for reference:
#
# | idea | minifw | PyTorch Lightning | Keras |
# |---|---|---|---|
# | the model | `mf.Sequential(...)` in `mf.Model(net, loss, optimizer)` | `LightningModule` (`forward`) | `keras.Sequential([...])` |
# | loss and optimizer | `mf.Model(..., mf.CrossEntropy(label_smoothing=0.01), mf.RMSprop(...))` | `training_step`, `configure_optimizers` | `model.compile(optimizer, loss, metrics)` |
# | training | `model.fit(X, y, epochs, batch_size, validation_data)` | `Trainer(max_epochs=...).fit(model, train, val)` | `model.fit(X, y, epochs, batch_size, validation_data)` |
# | metrics per epoch | `History` | `self.log`, `trainer.callback_metrics`, a logger | `History` |
# | callbacks | `mf.EarlyStopping` | `EarlyStopping`, `ModelCheckpoint`, `Callback` | `keras.callbacks.EarlyStopping`, `ModelCheckpoint`, `Callback` |
# | parameter count | `net.num_parameters()` | `ModelSummary` | `model.summary()`, `count_params()` |
# | test | `model.evaluate(X, y)` | `trainer.test(model, loader)` | `model.evaluate(X, y)` |
# | device | the CPU (numpy) | `accelerator="auto"`, `devices`, `strategy` | automatic; `tf.distribute` strategies |
#
# In Keras the whole of sections 2 to 5 is about ten lines:
#
# ```python
# model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
#                           keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
# model.compile(keras.optimizers.RMSprop(1e-3),
#               keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.01), metrics=["accuracy"])
# model.fit(X_train, Y_train, batch_size=64, epochs=12, validation_data=(X_val, Y_val),   # Y: one-hot labels
#           callbacks=[keras.callbacks.EarlyStopping(min_delta=0.01, patience=2, restore_best_weights=True),
#                      keras.callbacks.TensorBoard("logs")])
# model.evaluate(X_test, Y_test)
# ```
#
# And `minifw`, whose `fit` was modelled on Keras's, trains the same network on the same split,
# for 3 epochs as in section 4. (Its matrix products run in numpy's BLAS library, limited here to
# one thread like PyTorch above; lesson 01-03 compares the two speeds.)

# %% [markdown] track="tensorflow"
# ## 11. Side by side with the other framework
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
# | `CategoricalCrossentropy(from_logits=True, label_smoothing=0.01)`, one-hot targets | `nn.CrossEntropyLoss(label_smoothing=0.01)` (always on logits, class indices) |
# | `RMSprop(learning_rate=1e-3)`: $\rho = 0.9$, $\epsilon$ inside the root | `torch.optim.RMSprop(lr=1e-3)`: $\alpha = 0.99$, $\epsilon$ outside |
# | `fit(train, validation_data=val, epochs=12)` | `Trainer(max_epochs=12).fit(model, train, val)` |
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
from threadpoolctl import threadpool_limits

net_mf = mf.Sequential(mf.Linear(784, 512, seed=0), mf.ReLU(), mf.Linear(512, 512, seed=1), mf.ReLU(),
                       mf.Linear(512, 10, seed=2))
model_mf = mf.Model(net_mf, mf.CrossEntropy(label_smoothing=0.01), mf.RMSprop(net_mf.parameters(), lr=1e-3))
with threadpool_limits(limits=1, user_api="blas"):
    history_mf = model_mf.fit(X_train, y_train, epochs=3, batch_size=64, validation_data=(X_val, y_val),
                              progress=False)
    test_accuracy_mf = model_mf.evaluate(X_test, y_test)["accuracy"]
print(f"minifw: {net_mf.num_parameters()} parameters, 3 epochs, test accuracy {test_accuracy_mf:.3f}")
print(f"Lightning: {summary.total_parameters} parameters, {epochs_run} epochs, test accuracy {results['test_accuracy']:.3f}")

assert net_mf.num_parameters() == summary.total_parameters == 669_706
assert test_accuracy_mf > MIN_TEST_ACCURACY - 0.03, f"{DATA}: expected minifw near the accuracy of Lightning"

# %% track="tensorflow"
import torch

device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
torch_model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                  torch.nn.ReLU(), torch.nn.Linear(512, 10))
minifw_model = mf.Sequential(mf.Linear(784, 512), mf.ReLU(), mf.Linear(512, 512), mf.ReLU(), mf.Linear(512, 10))

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
# 1. Set `DATA = "fashion-mnist"` in the first cell (this needs the network once) and run the
#    notebook again. Which classes does the confusion matrix mix up, and why those?
# 2. Section 3: work out the parameter count of `ImageClassifier(hidden=(256, 128))` by hand, then
#    check it with `ModelSummary`.
# 3. Section 5: set `patience=1` and then `patience=10`. When does training stop, and how does the
#    test accuracy of the best checkpoint change?
# 4. Section 5: add a learning-rate schedule: return
#    `{"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)}`
#    from `configure_optimizers`, add `lightning.pytorch.callbacks.LearningRateMonitor()` to the
#    callbacks and find the learning-rate curve in TensorBoard.
# 5. Section 7: write a `Scale` layer with one trainable number per feature, $y = x \odot s$, put it in
#    front of the network and check its gradients with `gradcheck`.
# 6. Section 9: end the binary perceptron with `nn.Sigmoid()` and train it with `nn.BCELoss()`: same
#    accuracy? Then compare `nn.BCELoss()(torch.sigmoid(z), y)` with `nn.BCEWithLogitsLoss()(z, y)`
#    for `z = torch.tensor([-120.0])`, `y = torch.tensor([1.0])`: which one is right, and why?
#
# **Next:** the TensorFlow twin of this notebook, `03-high-level-tensorflow.ipynb`, has the same
# sections with Keras; compare them side by side. Then practise in the labs (`labs/`).

# %% [markdown] track="tensorflow"
# ## Try it
# 1. Set `DATA = "fashion-mnist"` in the first cell (this needs the network once) and run the
#    notebook again. Which classes does the confusion matrix mix up, and why those?
# 2. Add `keras.layers.Dropout(0.2)` after each hidden layer of `sequential_model` and train
#    with early stopping. Does the test accuracy change? Do more epochs run before it stops?
# 3. In section 4, add `keras.metrics.TopKCategoricalAccuracy(k=2)` to the metrics. How often is
#    the right class among the two best guesses?
# 4. Write a callback that halves the learning rate when the validation loss has not improved for
#    2 epochs (set `self.model.optimizer.learning_rate`), then compare with the built-in
#    `keras.callbacks.ReduceLROnPlateau`.
# 5. Give `MyDense` an option `use_bias=False` and check that the parameter count drops by
#    $512 + 512 + 10 = 1034$.
# 6. Row 4 of section 9: replace the sigmoid by a softmax. What goes wrong, and how does the
#    accuracy per question show it?
# 7. Split your CPU into two logical devices (`tf.config.set_logical_device_configuration`, at the
#    very start of a fresh kernel) and run section 10 with `MirroredStrategy(["/cpu:0", "/cpu:1"])`.
#
# **Next:** the PyTorch twin, `03-high-level-pytorch.ipynb`, trains the same model with
# Lightning; the labs in `labs/` ask you to build, train and test models with both frameworks.

# %% [markdown]
# ## Review questions
# 1. How many parameters does a dense layer from 784 inputs to 512 units have, and why do most of
#    the 669 706 parameters of this network sit in its first layer?
#    <details><summary>Answer</summary>
#
#    $(784 + 1) \cdot 512 = 401\,920$: one weight from every
#    pixel to every unit, plus one bias per unit. The first layer connects the most inputs
#    (784) to the most units (512); the second has $513 \cdot 512 = 262\,656$, the last only
#    $513 \cdot 10 = 5\,130$.
#
#    </details>
# 2. With `label_smoothing=0.01` and 10 classes, what target does the loss use for an image of a 3?
#    <details><summary>Answer</summary>
#
#    $q = 0.99\,\mathrm{onehot}(3) + 0.01/10$: 0.991 for class 3
#    and 0.001 for each of the other nine. The loss can no longer reach 0, and the network is
#    not pushed towards infinitely confident logits.
#
#    </details>
# 3. Why is the test set used only once, at the end, while the validation set is used after
#    every epoch?
#    <details><summary>Answer</summary>
#
#    Every choice made by looking at a score (the epoch to stop
#    at, the checkpoint to keep, the architecture) fits the model a little to that data set, so
#    its score becomes optimistic. The validation set pays that price; the test set, untouched
#    by any choice, stays an honest estimate for new images.
#
#    </details>
# 4. What does early stopping with `patience=2` and `min_delta=0.01` do, and which weights does
#    the model have when it stops?
#    <details><summary>Answer</summary>
#
#    It stops when the validation loss has not improved by at
#    least 0.01 for 2 epochs in a row. The weights are then those of the last epoch, unless the
#    best ones are restored: `ModelCheckpoint` and `ckpt_path="best"` in Lightning,
#    `restore_best_weights=True` in Keras.
#
#    </details>
# 5. A confusion matrix has a large number in row 4, column 9. What does it mean?
#    <details><summary>Answer</summary>
#
#    Many test images whose true class is 4 were predicted as 9
#    (rows are true classes, columns predicted ones). The row sums are the numbers of test
#    images per class; the diagonal holds the correct answers.
#
#    </details>
