# %% [markdown] track="pytorch"
# # 03·02 · Regularization in practice (PyTorch Lightning)
#
# A network with 227 000 parameters and only 500 training images learns its training set by
# heart. This notebook sets up exactly that situation on 28 × 28 MNIST digits, with the network of
# the lecture (784-265-64-32-10), and tries, one at a time, the standard cures: **early stopping,
# a smaller network, L1 and L2 penalties, dropout, batch normalization, label smoothing and noise
# on the inputs**. Every method gets the same budget (30 epochs of Adam), and a table at the end
# compares them.
#
# The TensorFlow twin, `02-regularization-tensorflow.ipynb`, runs the same experiment with Keras,
# under the same headings.

# %% [markdown] track="tensorflow"
# # 03·02 · Regularization in practice (TensorFlow / Keras)
#
# A network with 227 000 parameters and only 500 training images learns its training set by
# heart. This notebook sets up exactly that situation on 28 × 28 MNIST digits, with the network of
# the lecture (784-265-64-32-10), and tries, one at a time, the standard cures: **early stopping,
# a smaller network, L1 and L2 penalties, dropout, batch normalization, label smoothing and noise
# on the inputs**. Every method gets the same budget (30 epochs of Adam), and a table at the end
# compares them.
#
# The PyTorch twin, `02-regularization-pytorch.ipynb`, runs the same experiment with Lightning,
# under the same headings.

# %% [markdown] track="pytorch"
# ## Objectives
# After this notebook you can
#
# - read training and validation curves, and pick the epoch to stop at;
# - stop training automatically with Lightning's `EarlyStopping` and get the best weights back
#   with `ModelCheckpoint`;
# - say why shrinking a network is not a free cure, and why one too-narrow layer (a bottleneck)
#   hurts;
# - add an L1 penalty to the loss by hand and an L2 penalty as `weight_decay`,
#   and show that L1 pushes many weights to (nearly) zero while L2 shrinks all of them;
# - place `nn.Dropout` and `nn.BatchNorm1d` in a network and explain what `model.eval()` changes;
# - use `label_smoothing` and Gaussian input noise;
# - compare methods fairly: same data, same budget, one table of validation loss, accuracy and
#   train–validation gap.

# %% [markdown] track="tensorflow"
# ## Objectives
# After this notebook you can
#
# - read training and validation curves, and pick the epoch to stop at;
# - stop training automatically with `keras.callbacks.EarlyStopping` and get the best weights
#   back with `restore_best_weights=True`;
# - say why shrinking a network is not a free cure, and why one too-narrow layer (a bottleneck)
#   hurts;
# - add an L1 penalty to the loss by hand and an L2 penalty as a `kernel_regularizer`, and show
#   that L1 pushes many weights to (nearly) zero while L2 shrinks all of them;
# - place `Dropout` and `BatchNormalization` layers in a network and explain what `training=False`
#   changes;
# - use `label_smoothing` and a `GaussianNoise` layer;
# - compare methods fairly: same data, same budget, one table of validation loss, accuracy and
#   train–validation gap.

# %% track="pytorch"
import logging
import shutil
import warnings

import lightning as L
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import minifw as mf

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)  # no banner about devices at every fit
warnings.filterwarnings("ignore", message=".*LeafSpec.*")        # a deprecation inside Lightning, not ours
torch.set_num_threads(1)  # these networks are small: one CPU thread is enough, and never waits for another
L.seed_everything(0, verbose=False)  # Python, numpy and torch seeds
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch", torch.__version__, "| Lightning", L.__version__, "| device:", device)

DATA = "mnist-sample"  # the images: "mnist-sample" (5000 MNIST digits shipped with the course, no network),
#                        "mnist" or "fashion-mnist" (70 000 images each, downloaded once: needs the network)

# %% track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers

import minifw as mf

tf.config.threading.set_intra_op_parallelism_threads(1)  # these networks are small: one CPU thread is
tf.config.threading.set_inter_op_parallelism_threads(1)  # enough, and never waits for another
keras.utils.set_random_seed(0)  # Python, numpy and TensorFlow seeds
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| GPUs:", tf.config.list_physical_devices("GPU"))

DATA = "mnist-sample"  # the images: "mnist-sample" (5000 MNIST digits shipped with the course, no network),
#                        "mnist" or "fashion-mnist" (70 000 images each, downloaded once: needs the network)

# %% [markdown]
# ## 1. A small training set and a big network
#
# The images are 28 × 28 gray MNIST digits, 784 pixels in $[0, 1]$ (the course ships 5000 of them;
# `DATA = "mnist"` or `"fashion-mnist"` in the first code cell switches to a full set, downloaded
# once). Overfitting needs little data, so a stratified split keeps only **500 images for
# training** (50 of each class), 1500 for validation (to compare methods and choose epochs) and
# a test set touched once at the very end: the other 3000 images of the sample, or the official
# 10 000 test images of a full set.
#
# The network is the lecture's 784-265-64-32-10 perceptron with ReLU activations. (Its first layer
# has 265 units, most likely a typo for 256 in the lecture; we keep it, it changes nothing.) It has
# $784 \cdot 265 + 265 + 265 \cdot 64 + 64 + 64 \cdot 32 + 32 + 32 \cdot 10 + 10 = 227\,459$
# parameters, more than 450 per training image: enough to memorize every image, label and all.
# Its layers narrow from 265 to 64 to 32 units, a funnel that ends in the lecture's 32-unit
# bottleneck before the 10 outputs; section 4 shows what happens when a bottleneck is too narrow.

# %%
N_TRAIN, N_VAL = 500, 1500
EPOCHS, BATCH_SIZE, LR = 30, 100, 2e-3   # the budget every method gets: 30 epochs x 5 steps of Adam
CLASSES = mf.datasets.FASHION_MNIST_CLASSES if DATA == "fashion-mnist" else tuple("0123456789")

# N_TRAIN training and N_VAL validation images; the test set: the rest of the sample, or a full
# set's official 10 000 test images
X_train, X_val, X_test, y_train, y_val, y_test = mf.datasets.load_image_splits(
    DATA, val_size=N_VAL, test_size=5000 - N_TRAIN - N_VAL, train_size=N_TRAIN)
print(f"{DATA}: training {X_train.shape}, validation {X_val.shape}, test {X_test.shape}")
print("training images per class:", np.bincount(y_train))
assert (len(X_train), len(X_val)) == (N_TRAIN, N_VAL) and X_train.shape[1] == 784
assert np.array_equal(np.bincount(y_train), [N_TRAIN // 10] * 10), "expected a stratified split: as many images of each class"
assert X_train.dtype == np.float32 and 0 <= X_train.min() and X_train.max() <= 1

fig, axes = plt.subplots(2, 10, figsize=(12, 2.8))
for ax, image, label in zip(axes.flat, X_train, y_train):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(CLASSES[label], fontsize=9)
    ax.axis("off")
plt.show()

# %% track="pytorch"
# DataLoaders for Lightning, and the training set as tensors on the device for the loop of section 3
train_loader = DataLoader(TensorDataset(torch.tensor(X_train), torch.tensor(y_train)), batch_size=BATCH_SIZE,
                          shuffle=True)
val_loader = DataLoader(TensorDataset(torch.tensor(X_val), torch.tensor(y_val)), batch_size=len(X_val))
Xt_train, yt_train = torch.tensor(X_train, device=device), torch.tensor(y_train, device=device)


def mlp(hidden=(265, 64, 32), dropout=0.0, batchnorm=False):
    """784 -> hidden[0] -> ... -> 10: Linear, [BatchNorm1d], ReLU, [Dropout] per hidden layer."""
    layers, width = [], 784
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batchnorm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def weight_matrices(net):
    """The weight matrices of the Linear layers (no biases, no batchnorm parameters)."""
    return [m.weight for m in net.modules() if isinstance(m, nn.Linear)]


n_params = sum(p.numel() for p in mlp().parameters())
print(mlp())

# %% track="tensorflow"
# one-hot targets (label smoothing in Keras needs them) and tf.data pipelines: Keras then reads
# batches straight from the pipeline instead of converting the numpy arrays on each call to fit.
# Both run on one thread, without autotuning: for 5 batches of 100 images, tf.data's background
# threads and its tuning cost more CPU time than they save (about a tenth of each fit, measured).
PIPELINE_OPTIONS = tf.data.Options()
PIPELINE_OPTIONS.autotune.enabled = False
PIPELINE_OPTIONS.threading.private_threadpool_size = 1
Y_train, Y_val = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_val, 10)
val_ds = tf.data.Dataset.from_tensor_slices((X_val, Y_val)).batch(len(X_val)).with_options(PIPELINE_OPTIONS)


def train_ds():
    """Shuffled batches of the training set, a new order every epoch (the same orders on every call).
    It shuffles itself, so `fit` gets `shuffle=False`."""
    return (tf.data.Dataset.from_tensor_slices((X_train, Y_train)).shuffle(len(X_train), seed=0)
            .batch(BATCH_SIZE).with_options(PIPELINE_OPTIONS))


def dense(units, fan_in, l2=0.0):
    """A Dense layer that starts like PyTorch's nn.Linear: weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = fan_in ** -0.5
    return layers.Dense(units, kernel_initializer=keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
                        bias_initializer=keras.initializers.RandomUniform(-bound, bound),
                        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)


def mlp(hidden=(265, 64, 32), dropout=0.0, batchnorm=False, noise=0.0, l2=0.0):
    """784 -> hidden[0] -> ... -> 10: Dense, [BatchNormalization], ReLU, [Dropout] per hidden layer."""
    model, width = keras.Sequential([keras.Input((784,))]), 784
    if noise:
        model.add(layers.GaussianNoise(noise))       # section 9
    for h in hidden:
        model.add(dense(h, width, l2))
        if batchnorm:
            model.add(layers.BatchNormalization(momentum=0.9))   # section 7
        model.add(layers.ReLU())
        if dropout:
            model.add(layers.Dropout(dropout))       # section 6
        width = h
    model.add(dense(10, width, l2))
    return model


def weight_matrices(model):
    """The kernels of the Dense layers (no biases, no batchnorm parameters)."""
    return [layer.kernel for layer in model.layers if isinstance(layer, layers.Dense)]


mlp().summary()
n_params = mlp().count_params()

# %% [markdown] track="tensorflow"
# **The same start as PyTorch.** Keras starts a `Dense` kernel from Glorot's uniform distribution,
# $U(\pm\sqrt{6 / (n_\text{in} + n_\text{out})})$, and its bias from 0; PyTorch starts `nn.Linear`
# from $U(\pm 1 / \sqrt{n_\text{in}})$, weights and biases. For the first layer that is a range of
# $\pm 0.076$ against $\pm 0.036$. With only 500 training images the start matters: it changes how
# far the plain network overfits, and so how much each cure has to repair. So that both twins run
# the same experiment, `dense` gives Keras PyTorch's start: `VarianceScaling(1/3, "fan_in",
# "uniform")` draws from $U(\pm\sqrt{3 \cdot \tfrac13 / n_\text{in}}) = U(\pm 1/\sqrt{n_\text{in}})$.
# (Try it, task 6, runs the experiment with Keras's own default.)

# %%
print("parameters:", n_params, "| per training image:", n_params / len(X_train))
assert n_params == 784 * 265 + 265 + 265 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10 == 227_459


# %% [markdown] track="pytorch"
# One `LightningModule` serves every experiment of this notebook. Its constructor has a switch
# for each method; they are all off by default, and each section below explains one. The
# training loss of a batch $(x, y)$ is
#
# $$L = \mathrm{CE}_\varepsilon\big(f(x + \sigma \xi),\, y\big) + \lambda_1 \sum_{W} \sum_{ij} |W_{ij}|,
#   \qquad \xi \sim \mathcal N(0, I),$$
#
# with label smoothing $\varepsilon$ (section 8), input noise $\sigma$ (section 9) and the L1
# strength $\lambda_1$ (section 5); the L2 penalty is the optimizer's `weight_decay` (section 5).
# We judge every model with the plain cross-entropy and the accuracy, in evaluation mode: `logits`
# below gives a model's outputs for a numpy array of images as a numpy array, so everything after
# it is plain numpy, the same in both twins.

# %% [markdown] track="tensorflow"
# Every experiment of this notebook compiles its model with the function below. The training
# loss of a batch $(x, y)$ is
#
# $$L = \mathrm{CE}_\varepsilon\big(f(x + \sigma \xi),\, y\big) + \lambda_1 \sum_{W} \sum_{ij} |W_{ij}|,
#   \qquad \xi \sim \mathcal N(0, I),$$
#
# with label smoothing $\varepsilon$ (section 8), input noise $\sigma$ (section 9, a layer of the
# model) and the L1 strength $\lambda_1$ (section 5); the L2 penalty is a `kernel_regularizer` of
# the layers (section 5). All switches are off by default. We judge every model with the plain
# cross-entropy and the accuracy, in inference mode (`training=False`): `logits` below gives a
# model's outputs for a numpy array of images as a numpy array, so everything after it is plain
# numpy, the same in both twins.

# %% track="pytorch"
class Classifier(L.LightningModule):
    def __init__(self, net, lr=LR, weight_decay=0.0, l1=0.0, label_smoothing=0.0, noise=0.0):
        super().__init__()
        self.net = net
        self.lr, self.weight_decay, self.l1 = lr, weight_decay, l1
        self.label_smoothing, self.noise = label_smoothing, noise

    def forward(self, x):
        return self.net(x)

    def regularized_loss(self, x, y):
        if self.noise:                                    # section 9: new noise at every step
            x = x + self.noise * torch.randn_like(x)
        loss = F.cross_entropy(self(x), y, label_smoothing=self.label_smoothing)
        if self.l1:                                       # section 5: L1 penalty, by hand
            loss = loss + self.l1 * sum(w.abs().sum() for w in weight_matrices(self.net))
        return loss

    def training_step(self, batch, batch_idx):
        loss = self.regularized_loss(*batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True)  # mean over the epoch's batches
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


@torch.no_grad()
def logits(model, X):
    """The model's logits (n, 10), in evaluation mode, for images X (n, 784) given as a numpy array."""
    model.to(device).eval()
    return model(torch.as_tensor(X, device=device)).cpu().numpy()


# %% track="tensorflow"
def compile_model(model, l1=0.0, label_smoothing=0.0, lr=LR, metrics=()):
    cross_entropy = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    kernels = weight_matrices(model)

    def loss(y_true, logits):
        value = cross_entropy(y_true, logits)
        if l1:                                               # section 5: L1 penalty, by hand
            value = value + l1 * sum(keras.ops.sum(keras.ops.abs(w)) for w in kernels)
        return value

    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=list(metrics))
    model.optimizer.build(model.trainable_variables)  # its slots now: fit then traces its step once, not twice
    return model


def train(model, **compile_options):
    """Compile and fit for the budget, without validation (the comparisons only need the final weights)."""
    compile_model(model, **compile_options).fit(train_ds(), epochs=EPOCHS, shuffle=False, verbose=0)
    return model


def logits(model, X):
    """The model's logits (n, 10), in inference mode, for images X (n, 784) given as a numpy array."""
    return keras.ops.convert_to_numpy(model(X, training=False))


# %%
def evaluate(model, X, y):
    """(cross-entropy, accuracy) of the model on images X (n, 784) with labels y (n,)."""
    z = logits(model, X).astype(np.float64)
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))   # log-softmax, computed stably
    return -log_p[np.arange(len(y)), y].mean(), np.mean(z.argmax(axis=1) == y)


results = {}  # method -> training and validation accuracy, validation loss, filled as we go


def record(name, model):
    (_, train_acc), (val_loss, val_acc) = evaluate(model, X_train, y_train), evaluate(model, X_val, y_val)
    results[name] = {"train": train_acc, "val": val_acc, "gap": train_acc - val_acc, "val_loss": val_loss}
    print(f"{name:>16}: training accuracy {train_acc:.3f}, validation {val_acc:.3f} "
          f"(gap {train_acc - val_acc:.3f}), validation loss {val_loss:.3f}")


# %% [markdown] track="pytorch"
# ## 2. Validation curves and choosing the epoch
#
# We train the plain network (no regularization) for the full budget. A small callback copies
# the logged values at the end of every epoch, so we can plot them.

# %% [markdown] track="tensorflow"
# ## 2. Validation curves and choosing the epoch
#
# We train the plain network (no regularization) for the full budget, with the validation set
# evaluated after every epoch. `fit` returns the `History` of the logged values.

# %% track="pytorch"
class Curves(Callback):
    """Keeps the epoch means of the logged values: curves.history["val_loss"][e] after epoch e."""

    def __init__(self):
        self.history = {"train_loss": [], "val_loss": [], "val_acc": []}

    def on_train_epoch_end(self, trainer, module):
        for key, values in self.history.items():
            values.append(trainer.callback_metrics[key].item())


def trainer(**kwargs):
    """A quiet Trainer for the budget of this notebook (no progress bar, no logger files)."""
    options = dict(max_epochs=EPOCHS, accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False)
    return L.Trainer(**(options | kwargs))


L.seed_everything(0, verbose=False)
baseline = Classifier(mlp())
curves = Curves()
trainer(callbacks=[curves]).fit(baseline, train_loader, val_loader)
history = curves.history

# %% track="tensorflow"
keras.utils.set_random_seed(0)
baseline = compile_model(mlp(), metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
fitted = baseline.fit(train_ds(), validation_data=val_ds, epochs=EPOCHS, shuffle=False, verbose=0).history
history = {"train_loss": fitted["loss"], "val_loss": fitted["val_loss"], "val_acc": fitted["val_accuracy"]}

# %%
record("baseline", baseline)
best_epoch = int(np.argmin(history["val_loss"]))
print(f"lowest validation loss {min(history['val_loss']):.3f} after epoch {best_epoch + 1}; "
      f"after epoch {EPOCHS}: {history['val_loss'][-1]:.3f}")
print(f"validation accuracy after the best epoch: {history['val_acc'][best_epoch]:.3f}, "
      f"at the end: {history['val_acc'][-1]:.3f}")

epochs = np.arange(1, EPOCHS + 1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(epochs, history["train_loss"], label="training")
ax1.plot(epochs, history["val_loss"], label="validation")
ax1.axvline(best_epoch + 1, color="gray", ls="--", label=f"best epoch ({best_epoch + 1})")
ax1.set_yscale("log")
ax1.set_xlabel("epoch")
ax1.set_ylabel("cross-entropy")
ax1.legend()
ax2.plot(epochs, history["val_acc"], color="C1")
ax2.axhline(results["baseline"]["train"], color="C0", label="training accuracy at the end")
ax2.set_ylim(0.6, 1.01)
ax2.set_xlabel("epoch")
ax2.set_ylabel("validation accuracy")
ax2.legend()
plt.show()

assert results["baseline"]["train"] == 1.0 and history["train_loss"][-1] < 0.02  # the training set is memorized
assert results["baseline"]["gap"] > 0.05                                         # validation lags behind
assert history["train_loss"][-1] < history["train_loss"][best_epoch] / 4          # training loss keeps falling ...
assert history["val_loss"][-1] > 1.1 * min(history["val_loss"]) and best_epoch < EPOCHS - 10  # ... validation's rises
assert abs(history["val_acc"][-1] - history["val_acc"][best_epoch]) < 0.02       # and accuracy hardly moves

# %% [markdown]
# Read the curves like this:
#
# - The **training loss** falls all the time, to almost 0: the network fits the 500 images, and
#   then makes itself ever more confident about them.
# - The **validation loss** falls while the network learns what digits look like, bottoms out
#   after a few epochs, and then climbs again: the extra confidence bought on the training set is
#   paid for on the validation set. The distance between the two curves is **overfitting**.
# - The **validation accuracy** hardly changes after the best epoch (by less than 2 points): the
#   last epochs change the confidence of the answers more than the answers themselves. Training
#   accuracy is 100 %, so the train–validation **gap** in accuracy is the error rate on new
#   images.
#
# The epoch with the lowest validation loss is the natural point to stop. We choose it with the
# validation set, never with the test set: the test set must stay an unbiased estimate of the
# chosen model.

# %% [markdown] track="pytorch"
# ## 3. Early stopping
#
# Instead of training for a fixed budget and looking afterwards, **early stopping** watches the
# validation loss during training and stops when it has not improved for `patience` epochs.
# Patience matters because the validation loss is noisy: one bad epoch should not end training.
# When it stops, the weights are those of the last epoch, `patience` epochs past the best one, so
# we also keep a copy of the best weights: Lightning's `ModelCheckpoint` saves them to a file
# (under `logs/`, which git ignores) whenever the monitored value improves, and we load them back
# at the end. (Keras's `EarlyStopping(restore_best_weights=True)` does both in one callback.)

# %% [markdown] track="tensorflow"
# ## 3. Early stopping
#
# Instead of training for a fixed budget and looking afterwards, **early stopping** watches the
# validation loss during training and stops when it has not improved for `patience` epochs.
# Patience matters because the validation loss is noisy: one bad epoch should not end training.
# When it stops, the weights are those of the last epoch, `patience` epochs past the best one;
# `restore_best_weights=True` keeps a copy of the best weights in memory and puts them back at
# the end. (In Lightning, `EarlyStopping` only stops, and a `ModelCheckpoint` file keeps the
# best weights.)

# %% track="pytorch"
PATIENCE = 5
checkpoint_dir = "logs/early-stopping"
shutil.rmtree(checkpoint_dir, ignore_errors=True)  # a fresh folder on every run
stopper = EarlyStopping(monitor="val_loss", patience=PATIENCE, mode="min")
checkpoint = ModelCheckpoint(dirpath=checkpoint_dir, filename="best", monitor="val_loss", mode="min",
                             save_weights_only=True)

L.seed_everything(0, verbose=False)
early = Classifier(mlp())
early_curves = Curves()
early_trainer = trainer(callbacks=[stopper, checkpoint, early_curves], enable_checkpointing=True)
early_trainer.fit(early, train_loader, val_loader)
early.load_state_dict(torch.load(checkpoint.best_model_path, map_location=device)["state_dict"])
stopped_after = early_trainer.current_epoch
early_val_losses = early_curves.history["val_loss"]

# %% track="tensorflow"
PATIENCE = 5
stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, mode="min", restore_best_weights=True)

keras.utils.set_random_seed(0)
early = compile_model(mlp())
early_val_losses = early.fit(train_ds(), validation_data=val_ds, epochs=EPOCHS, callbacks=[stopper], shuffle=False,
                             verbose=0).history["val_loss"]
stopped_after = len(early_val_losses)

# %%
record("early stopping", early)
early_best = int(np.argmin(early_val_losses)) + 1
restored_val_loss = results["early stopping"]["val_loss"]
print(f"best epoch {early_best}, stopped after epoch {stopped_after} of {EPOCHS}; "
      f"best validation loss {min(early_val_losses):.4f}, restored model: {restored_val_loss:.4f}")

assert stopped_after == early_best + PATIENCE < EPOCHS                  # patience ran out after the best epoch
assert abs(restored_val_loss - min(early_val_losses)) < 1e-4            # the best weights are back
assert abs(min(early_val_losses) - min(history["val_loss"])) < 0.02     # the same curve as section 2, cut short
assert restored_val_loss < results["baseline"]["val_loss"] - 0.05       # a lower loss than after the full budget


# %% [markdown] track="pytorch"
# With the same seed, the run retraces the curve of section 2 and stops `patience` epochs after
# its lowest validation loss, with the weights of that epoch restored: a lower validation loss
# than after the full budget, in fewer epochs. It does not change the training, it only picks a
# point on the same curve, so it can be no better than that curve's best epoch (and the lowest
# *loss* is not always the highest *accuracy*: compare the two in the table of section 10).
# It works together with every method below, costs nothing and is almost always worth
# switching on. The methods below change the curve itself.
#
# **A lighter loop for the comparisons.** A `Trainer` runs many hooks (logging, callbacks,
# checks) around every step and every epoch: worth it for real training runs, but a noticeable
# overhead for the many short runs of this notebook. The remaining experiments only need the
# final weights, so `fit_fast` takes the same steps `Trainer.fit` takes (shuffled batches, the
# module's `regularized_loss`, the optimizer of `configure_optimizers`) in a plain PyTorch loop,
# without validation or logging.

# %% [markdown] track="tensorflow"
# With the same seed, the run retraces the curve of section 2 and stops `patience` epochs after
# its lowest validation loss, with the weights of that epoch restored: a lower validation loss
# than after the full budget, in fewer epochs. It does not change the training, it only picks a
# point on the same curve, so it can be no better than that curve's best epoch (and the lowest
# *loss* is not always the highest *accuracy*: compare the two in the table of section 10).
# It works together with every method below, costs nothing and is almost always worth
# switching on. The methods below change the curve itself.
#
# The remaining experiments only need the final weights, so `train` fits them without a
# validation pass after every epoch.

# %% track="pytorch"
def fit_fast(module, epochs=EPOCHS, batch_size=BATCH_SIZE):
    """Train `module` (a Classifier) like Trainer.fit, without validation or logging."""
    module.to(device).train()
    optimizer = module.configure_optimizers()
    for epoch in range(epochs):
        order = torch.randperm(len(Xt_train), device=device)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss = module.regularized_loss(Xt_train[batch], yt_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return module.eval()


# %% [markdown]
# ## 4. Capacity and the information bottleneck
#
# The oldest cure for overfitting is a smaller model: fewer parameters, less room to memorize.
# We drop the first hidden layer, 784-64-32-10 (227 459 → 52 650 parameters). And we try the
# opposite mistake: the lecture's network with its last hidden layer cut from 32 units to 4.
# Everything the output layer learns about an image must then pass through 4 numbers, an
# **information bottleneck** too narrow for ten classes.

# %% track="pytorch"
torch.manual_seed(0)
smaller = fit_fast(Classifier(mlp((64, 32))))
n_smaller = sum(p.numel() for p in smaller.parameters())
torch.manual_seed(0)
bottleneck = fit_fast(Classifier(mlp((265, 64, 4))))

# %% track="tensorflow"
keras.utils.set_random_seed(0)
smaller = train(mlp((64, 32)))
n_smaller = smaller.count_params()
keras.utils.set_random_seed(0)
bottleneck = train(mlp((265, 64, 4)))

# %%
record("smaller network", smaller)
(_, bottleneck_train), (_, bottleneck_val) = evaluate(bottleneck, X_train, y_train), evaluate(bottleneck, X_val, y_val)
print(f"    bottleneck of 4: training accuracy {bottleneck_train:.3f}, validation {bottleneck_val:.3f}")

assert n_smaller == 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10 == 52_650
assert results["smaller network"]["train"] > 0.99                             # 53 000 parameters still memorize 500 images
assert results["smaller network"]["val"] < results["baseline"]["val"] + 0.01  # and are no more accurate on new ones
assert bottleneck_val < results["baseline"]["val"] - 0.05                      # a 4-unit layer loses information

# %% [markdown]
# The smaller network still learns all 500 training images (for memorizing, 53 000 parameters
# are plenty) and is no more accurate on new ones: fewer parameters did not mean less
# overfitting here. (Large networks that are regularized often generalize better than small
# ones; sections 5 to 10 regularize the full-size network, and the table of section 10 lets you
# compare it with the smaller one.) The 4-unit bottleneck costs much more: 4 numbers cannot keep
# apart ten digits in all their styles. If you shrink a network, shrink it evenly and keep every
# layer comfortably wider than the number of classes, as the lecture's 32 units are.

# %% [markdown] track="pytorch"
# ## 5. L1 and L2 penalties
#
# A penalty on the size of the weights, added to the loss, prefers simple explanations among all
# those that fit the training data:
#
# $$L_{\text{L1}} = \mathrm{CE} + \lambda_1 \sum |w|, \qquad
#   L_{\text{L2}} = \mathrm{CE} + \frac{\lambda_2}{2} \sum w^2 .$$
#
# Their gradients show how they differ. L2 adds $\lambda_2 w$: a pull towards 0 proportional to
# the weight, strong for large weights and vanishing for small ones, so all weights become
# **small**. L1 adds $\lambda_1 \operatorname{sign}(w)$: the same pull for every weight however
# small, so weights the data does not defend are pushed all the way to (near) **zero**: L1 makes
# the network **sparse**.
#
# L1 we add to the loss by hand (the `l1` switch of `Classifier`, $\lambda_1 = 10^{-4}$). L2 is so
# common that every optimizer has it built in: `weight_decay` $= \lambda_2$ adds $\lambda_2 w$ to
# each gradient before the update, exactly the gradient of the L2 term (PyTorch's `weight_decay`
# also decays the biases; a penalty by hand can skip them). We use $\lambda_2 = 10^{-3}$.

# %% [markdown] track="tensorflow"
# ## 5. L1 and L2 penalties
#
# A penalty on the size of the weights, added to the loss, prefers simple explanations among all
# those that fit the training data:
#
# $$L_{\text{L1}} = \mathrm{CE} + \lambda_1 \sum |w|, \qquad
#   L_{\text{L2}} = \mathrm{CE} + \frac{\lambda_2}{2} \sum w^2 .$$
#
# Their gradients show how they differ. L2 adds $\lambda_2 w$: a pull towards 0 proportional to
# the weight, strong for large weights and vanishing for small ones, so all weights become
# **small**. L1 adds $\lambda_1 \operatorname{sign}(w)$: the same pull for every weight however
# small, so weights the data does not defend are pushed all the way to (near) **zero**: L1 makes
# the network **sparse**.
#
# L1 we add to the loss by hand (the `l1` switch of `compile_model`, $\lambda_1 = 10^{-4}$;
# the built-in equivalent is `kernel_regularizer=keras.regularizers.L1(1e-4)`). L2 we ask of the
# layers: `kernel_regularizer=keras.regularizers.L2(l)` adds $l \sum w^2$ to the loss, without
# the $\frac12$, so $l = \lambda_2 / 2$; we use $\lambda_2 = 10^{-3}$, $l = 5 \cdot 10^{-4}$.
# Only the kernels are penalized, not the biases. (Keras optimizers also take a `weight_decay`
# argument: a *decoupled* decay applied after Adam's scaling, as `AdamW` does.)

# %% track="pytorch"
torch.manual_seed(0)
l1_model = fit_fast(Classifier(mlp(), l1=1e-4))
torch.manual_seed(0)
l2_model = fit_fast(Classifier(mlp(), weight_decay=1e-3))


def all_weights(model):
    """Every weight of the model's weight matrices, as one flat numpy array."""
    return torch.cat([w.detach().flatten() for w in weight_matrices(model)]).cpu().numpy()


# %% track="tensorflow"
keras.utils.set_random_seed(0)
l1_model = train(mlp(), l1=1e-4)
keras.utils.set_random_seed(0)
l2_model = train(mlp(l2=5e-4))


def all_weights(model):
    """Every weight of the model's kernels, as one flat numpy array."""
    return np.concatenate([keras.ops.convert_to_numpy(w).ravel() for w in weight_matrices(model)])


# %%
record("L1", l1_model)
record("L2", l2_model)
weights = {"none": all_weights(baseline), "L1": all_weights(l1_model), "L2": all_weights(l2_model)}
near_zero = {name: np.mean(np.abs(w) < 1e-3) for name, w in weights.items()}
norm = {name: np.sqrt(np.sum(w ** 2)) for name, w in weights.items()}
for name in weights:
    print(f"{name:>4}: weights with |w| < 0.001: {near_zero[name]:6.1%} | norm of all weights {norm[name]:6.2f}")

bins = np.linspace(-0.15, 0.15, 61)
plt.figure(figsize=(7, 3))
for name, w in weights.items():
    plt.hist(w, bins=bins, histtype="step", lw=1.5, label=name)
plt.yscale("log")
plt.xlabel("weight value")
plt.ylabel("count")
plt.legend(title="penalty")
plt.show()

assert near_zero["L1"] > 0.5 and near_zero["none"] < 0.05               # L1: most weights near zero
assert near_zero["L1"] > 1.5 * near_zero["L2"]                           # far more than L2
assert 0.45 < norm["L1"] / norm["none"] < 0.75 and 0.45 < norm["L2"] / norm["none"] < 0.75  # both shrink by ~40 %

# %% [markdown] track="pytorch"
# The histogram (log scale) shows it: L1 piles most of the weights up at 0; L2 squeezes the whole
# distribution towards 0. Both shrink the weights, by about 40 %.
#
# L2 also leaves a share near zero, more than its gradient $\lambda_2 w$ suggests. A likely
# reason, which this notebook does not test: Adam divides each gradient by a running estimate of
# its own size, so for a weight the data barely uses, the decay term alone sets the step and Adam
# makes it a full-size step towards 0. `torch.optim.AdamW` applies the decay *after* Adam's
# scaling instead (Try it, task 3, lets you compare); with plain SGD, L2 shrinks each weight by a
# constant factor per step, which never reaches zero.
#
# The strength $\lambda$ is a hyperparameter, chosen with the validation set like the epoch: too
# small does nothing, too large and the network underfits. What the two penalties do to the
# validation loss and accuracy, the table of section 10 shows.

# %% [markdown] track="tensorflow"
# The histogram (log scale) shows it: L1 piles most of the weights up at 0; L2 squeezes the whole
# distribution towards 0. Both shrink the weights, by about 40 %.
#
# L2 also leaves a share near zero, more than its gradient $\lambda_2 w$ suggests. A likely
# reason, which this notebook does not test: Adam divides each gradient by a running estimate of
# its own size, so for a weight the data barely uses, the decay term alone sets the step and Adam
# makes it a full-size step towards 0. The decoupled `weight_decay` of Keras optimizers, as in
# `AdamW`, applies the decay *after* Adam's scaling instead (Try it, task 3, lets you compare);
# with plain SGD, L2 shrinks each weight by a constant factor per step, which never reaches zero.
#
# The strength $\lambda$ is a hyperparameter, chosen with the validation set like the epoch: too
# small does nothing, too large and the network underfits. What the two penalties do to the
# validation loss and accuracy, the table of section 10 shows.

# %% [markdown] track="pytorch"
# ## 6. Dropout
#
# **Dropout** switches each hidden unit off at random during training: with rate $p$, a unit's
# output $h$ becomes
#
# $$\tilde h = \frac{m}{1-p}\, h, \qquad m \sim \mathrm{Bernoulli}(1 - p),$$
#
# a new mask $m$ at every step. Dividing by $1 - p$ keeps the expected value,
# $\mathbb E[\tilde h] = h$, so at test time dropout simply does nothing. No unit can rely on
# one particular partner being present, so the network learns redundant, more robust features;
# it also behaves like an average over many thinned networks.
#
# Where to put it: after the activation of the hidden layers (here after each ReLU), not on the
# output layer. Typical rates are 0.2 to 0.5 for hidden layers (the lecture uses 0.5); on the
# inputs, at most about 0.2. `model.train()` switches the masks on, `model.eval()` off: Lightning
# and `logits` do it for us, and forgetting it in a hand-written loop is a classic bug.

# %% [markdown] track="tensorflow"
# ## 6. Dropout
#
# **Dropout** switches each hidden unit off at random during training: with rate $p$, a unit's
# output $h$ becomes
#
# $$\tilde h = \frac{m}{1-p}\, h, \qquad m \sim \mathrm{Bernoulli}(1 - p),$$
#
# a new mask $m$ at every step. Dividing by $1 - p$ keeps the expected value,
# $\mathbb E[\tilde h] = h$, so at test time dropout simply does nothing. No unit can rely on
# one particular partner being present, so the network learns redundant, more robust features;
# it also behaves like an average over many thinned networks.
#
# Where to put it: after the activation of the hidden layers (here after each ReLU), not on the
# output layer. Typical rates are 0.2 to 0.5 for hidden layers (the lecture uses 0.5); on the
# inputs, at most about 0.2. Calling the model with `training=True` switches the masks on,
# `training=False` off; `fit` and `evaluate` pass the right flag, and a plain `model(x)` runs in
# inference mode.

# %% [markdown]
# ![Dropout: in training, a random half of the hidden units is switched off and their weights are unused; in evaluation every unit is on](../../site/figures/dropout.svg)

# %% track="pytorch"
torch.manual_seed(0)
dropout_model = fit_fast(Classifier(mlp(dropout=0.5)))

x = torch.tensor(X_val[:5], device=device)
with torch.no_grad():
    dropout_model.train()
    train_a, train_b = dropout_model(x), dropout_model(x)
    dropout_model.eval()
    eval_a, eval_b = dropout_model(x), dropout_model(x)
print("train mode, two calls, first logit:", train_a[0, 0].item(), train_b[0, 0].item())
print("eval mode,  two calls, first logit:", eval_a[0, 0].item(), eval_b[0, 0].item())
assert not torch.allclose(train_a, train_b)  # training: a new random mask every call
assert torch.equal(eval_a, eval_b)           # evaluation: dropout is off, the output is fixed

# %% track="tensorflow"
keras.utils.set_random_seed(0)
dropout_model = train(mlp(dropout=0.5))

x = X_val[:5]
train_a, train_b = dropout_model(x, training=True), dropout_model(x, training=True)
eval_a, eval_b = dropout_model(x, training=False), dropout_model(x, training=False)
print("training=True,  two calls, first logit:", float(train_a[0, 0]), float(train_b[0, 0]))
print("training=False, two calls, first logit:", float(eval_a[0, 0]), float(eval_b[0, 0]))
assert not np.allclose(train_a, train_b)   # training: a new random mask every call
assert np.array_equal(eval_a, eval_b)      # inference: dropout is off, the output is fixed

# %%
record("dropout 0.5", dropout_model)

# %% [markdown] track="pytorch"
# ## 7. Batch normalization
#
# A **batch-normalization** layer standardizes each unit over the batch, then rescales it with
# two learned parameters $\gamma, \beta$:
#
# $$\hat h = \frac{h - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad \tilde h = \gamma \hat h + \beta .$$
#
# It was invented to make training faster and more stable (each layer sees inputs of a steady
# scale), but it also regularizes: $\mu_B$ and $\sigma_B$ come from the other images of the batch,
# a different random batch at every step, so each image's activations are slightly noisy. In
# evaluation mode the layer uses running averages of $\mu$ and $\sigma^2$ collected during
# training instead, so a prediction no longer depends on the rest of the batch. We put it
# between each hidden `Linear` and its ReLU, as the lecture does.

# %% [markdown] track="tensorflow"
# ## 7. Batch normalization
#
# A **batch-normalization** layer standardizes each unit over the batch, then rescales it with
# two learned parameters $\gamma, \beta$:
#
# $$\hat h = \frac{h - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad \tilde h = \gamma \hat h + \beta .$$
#
# It was invented to make training faster and more stable (each layer sees inputs of a steady
# scale), but it also regularizes: $\mu_B$ and $\sigma_B$ come from the other images of the batch,
# a different random batch at every step, so each image's activations are slightly noisy. In
# inference mode the layer uses moving averages of $\mu$ and $\sigma^2$ collected during
# training instead, so a prediction no longer depends on the rest of the batch. We put it
# between each hidden `Dense` layer and its ReLU, as the lecture does.
#
# The moving averages are updated as $r \leftarrow m\,r + (1 - m)\,\mu_B$ with the momentum $m$.
# After $n$ steps the value $r$ started from still carries the weight $m^n$, and the batch of $k$
# steps ago the weight $(1 - m)\,m^k$. Keras's default $m = 0.99$ forgets slowly: after our whole
# budget of 150 steps the starting value still weighs $0.99^{150} = 22\,\%$, and the batches of the
# first half of training (the network as it was then) together about $0.99^{75} - 0.99^{150}
# = 25\,\%$. We use $m = 0.9$, which is PyTorch's default (PyTorch writes it as `momentum=0.1`,
# the weight of the new value): there the last 50 steps carry $1 - 0.9^{50} > 99\,\%$ of the
# weight. With 0.99 inference would use partly stale statistics (Try it, task 7).

# %% track="pytorch"
torch.manual_seed(0)
bn_model = fit_fast(Classifier(mlp(batchnorm=True)))

# %% track="tensorflow"
steps = EPOCHS * len(range(0, len(X_train), BATCH_SIZE))       # 30 epochs x 5 batches
print(f"{steps} steps: weight of the start value {0.99 ** steps:.3f} (m = 0.99), {0.9 ** steps:.1e} (m = 0.9); "
      f"first half of training {0.99 ** (steps // 2) - 0.99 ** steps:.3f} (m = 0.99)")
assert steps == 150 and round(0.99 ** steps, 2) == 0.22 and round(0.99 ** 75 - 0.99 ** 150, 2) == 0.25
assert 1 - 0.9 ** 50 > 0.99

keras.utils.set_random_seed(0)
bn_model = train(mlp(batchnorm=True))

# %%
record("batch norm", bn_model)
# evaluation mode: one image alone gets the same logits as inside a batch
alone, in_batch = logits(bn_model, X_val[:1]), logits(bn_model, X_val[:100])[:1]
assert np.allclose(alone, in_batch, atol=1e-5), "expected a prediction that does not depend on the batch"

# %% [markdown]
# ## 8. Label smoothing
#
# The cross-entropy with a one-hot target is lowest when the network gives the right class
# probability 1, which needs infinitely large logits: on a memorized training set, the weights
# keep growing. **Label smoothing** replaces the one-hot target by
#
# $$q = (1 - \varepsilon)\,\mathrm{onehot}(y) + \frac{\varepsilon}{C},$$
#
# here with $\varepsilon = 0.1$ and $C = 10$: 0.91 on the right class, 0.01 on each other one.
# The best the network can do is now a finite, less confident answer. We compare the mean
# probability the networks give to their own predicted class on the validation set.

# %% track="pytorch"
torch.manual_seed(0)
smooth_model = fit_fast(Classifier(mlp(), label_smoothing=0.1))

# %% track="tensorflow"
keras.utils.set_random_seed(0)
smooth_model = train(mlp(), label_smoothing=0.1)

# %%
record("label smoothing", smooth_model)


def confidence(model):
    """The mean probability the model gives to its own predicted class, on the validation images."""
    z = logits(model, X_val).astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return np.mean(p.max(axis=1) / p.sum(axis=1))


print(f"mean confidence on validation images: plain {confidence(baseline):.3f}, smoothed {confidence(smooth_model):.3f}")
assert confidence(smooth_model) < 0.91 < confidence(baseline)  # below the 0.91 of the smoothed target

# %% [markdown] track="pytorch"
# ## 9. Noise on the inputs
#
# Overfitting means learning details of the 500 training images that do not matter. Adding
# fresh Gaussian noise to the inputs at every training step, $\tilde x = x + \sigma \xi$ with
# $\xi \sim \mathcal N(0, I)$, makes such details unreliable: the network only sees slightly
# different versions of each image and must rely on what survives the noise. (For a linear
# model with squared error, input noise is, on average, exactly an L2 penalty:
# $\mathbb E\,(w^\top(x + \sigma\xi) - y)^2 = (w^\top x - y)^2 + \sigma^2 \lVert w \rVert^2$, checked below
# by simulation; for a network the link is only approximate.) Like dropout, it is on in training only.
# Here $\sigma = 0.2$ on pixels in $[0, 1]$; the images below show what the network sees.

# %% [markdown] track="tensorflow"
# ## 9. Noise on the inputs
#
# Overfitting means learning details of the 500 training images that do not matter. Adding
# fresh Gaussian noise to the inputs at every training step, $\tilde x = x + \sigma \xi$ with
# $\xi \sim \mathcal N(0, I)$, makes such details unreliable: the network only sees slightly
# different versions of each image and must rely on what survives the noise. (For a linear
# model with squared error, input noise is, on average, exactly an L2 penalty:
# $\mathbb E\,(w^\top(x + \sigma\xi) - y)^2 = (w^\top x - y)^2 + \sigma^2 \lVert w \rVert^2$, checked below
# by simulation; for a network the link is only approximate.) The `GaussianNoise` layer does it, and,
# like dropout, only in training. Here $\sigma = 0.2$ on pixels in $[0, 1]$; the images below show
# what the network sees.

# %% track="pytorch"
torch.manual_seed(0)
noise_model = fit_fast(Classifier(mlp(), noise=0.2))

# %% track="tensorflow"
keras.utils.set_random_seed(0)
noise_model = train(mlp(noise=0.2))

# %%
record("input noise", noise_model)

fig, axes = plt.subplots(1, 6, figsize=(8, 1.6))
for i, ax in enumerate(axes):
    image = X_train[i // 2] + (0.2 * np.random.default_rng(i).standard_normal(784) if i % 2 else 0)
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title("noisy" if i % 2 else f"digit {CLASSES[y_train[i // 2]]}", fontsize=9)
    ax.axis("off")
plt.show()

# Input noise on a linear model with squared error, averaged over many noise draws, equals the
# noise-free loss plus sigma^2 ||w||^2 (an L2 penalty):
rng = np.random.default_rng(0)
w_lin, x_lin, y_lin, sigma = rng.normal(size=64), rng.uniform(size=64), 0.5, 0.2
noisy = x_lin + sigma * rng.standard_normal((100_000, 64))
simulated = np.mean((noisy @ w_lin - y_lin) ** 2)
formula = (x_lin @ w_lin - y_lin) ** 2 + sigma ** 2 * np.sum(w_lin ** 2)
print(f"mean squared error with input noise {simulated:.4f}; loss + sigma^2 ||w||^2 = {formula:.4f}")
assert abs(simulated - formula) < 0.02 * formula, "expected the noisy loss to equal loss + sigma^2 ||w||^2 on average"

# %% [markdown]
# ## 10. Comparing the methods
#
# Regularizers combine. The lecture's **regularized model** is its 784-265-64-32-10 network with
# batch normalization and dropout 0.5 in every hidden layer, trained with the same budget. Then
# the table: training and validation accuracy of every method, the gap between them (1 image of
# the 1500 is 0.0007), and the validation loss.

# %% track="pytorch"
torch.manual_seed(0)
regularized = fit_fast(Classifier(mlp(batchnorm=True, dropout=0.5)))

# %% track="tensorflow"
keras.utils.set_random_seed(0)
regularized = train(mlp(batchnorm=True, dropout=0.5))

# %%
record("regularized", regularized)

print(f"\n{'method':>18} {'train':>6} {'val':>6} {'gap':>6} {'val loss':>9}")
for name, r in results.items():
    print(f"{name:>18} {r['train']:6.3f} {r['val']:6.3f} {r['gap']:6.3f} {r['val_loss']:9.3f}")

names = list(results)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
ax1.barh(names, [results[n]["val_loss"] for n in names], color="C0")
ax1.axvline(results["baseline"]["val_loss"], color="k", ls="--", lw=1)
ax1.set_xlabel("validation loss (cross-entropy)")
ax1.invert_yaxis()
ax2.barh(names, [results[n]["val"] for n in names], color="C1")
ax2.axvline(results["baseline"]["val"], color="k", ls="--", lw=1)
ax2.set_xlim(0.75, 0.95)
ax2.set_xlabel("validation accuracy")
plt.show()

base, reg = results["baseline"], results["regularized"]
lower_loss = [n for n in names if results[n]["val_loss"] < base["val_loss"] - 0.03]
print("methods with a validation loss lower than the baseline's by more than 0.03:", lower_loss)
best_loss = min(names, key=lambda n: results[n]["val_loss"])
print("lowest validation loss:", best_loss)
assert all(r["train"] > 0.97 for r in results.values())  # every method still (nearly) learns the training set
if DATA == "mnist-sample":  # measured on the shipped sample; other data may rank the methods differently
    assert reg["val_loss"] < base["val_loss"] - 0.1 and reg["val"] > base["val"] + 0.01  # the lecture's model helps
    assert reg["gap"] < base["gap"] - 0.01                                           # and narrows the gap
    assert best_loss == "batch norm" and results["batch norm"]["val"] > base["val"] + 0.02
    assert {"early stopping", "L1", "L2", "batch norm", "label smoothing", "regularized"} <= set(lower_loss)

# %% [markdown]
# What the table says, for this data and this budget:
#
# - Every model still (nearly) learns its 500 training images, so each gap is, near enough, that
#   model's error rate on new images.
# - The **validation loss** separates the methods clearly; the accuracy much less. The plain
#   network ends the budget with a high loss: it is confidently wrong on the images it misses.
#   Early stopping, the L1 and L2 penalties, dropout, label smoothing, batch normalization and
#   the lecture's combination all lower it; so does the smaller network, which is less
#   confident but no more accurate. Input noise of $\sigma = 0.2$ helps little.
# - **Batch normalization** does best on its own here, in loss and in accuracy. The lecture's
#   combination with dropout 0.5 helps clearly against the baseline, but not more than batch
#   normalization alone: a dropout of 0.5 on layers of only 64 and 32 units takes away a lot, and
#   regularizers overlap in what they do. Combine them, but measure the combination.
# - Accuracy differences of a few images are noise: which of the middle methods ranks higher
#   differs between this notebook and its twin, and between seeds, so compare over several
#   seeds before you trust a ranking (Try it, task 1).
# - More data is usually the stronger cure: see notebook 01, and measure it here with Try it,
#   task 5.
#
# Finally, the test set, used once, for the model we would pick by the validation loss:

# %%
chosen = {"batch norm": bn_model, "regularized": regularized}.get(best_loss, regularized)
_, test_acc = evaluate(chosen, X_test, y_test)
print(f"{best_loss}: test accuracy {test_acc:.3f} (validation: {results[best_loss]['val']:.3f})")
assert abs(test_acc - results[best_loss]["val"]) < 0.03, "expected the validation accuracy to be a fair estimate"

# %% [markdown] track="pytorch"
# ## Try it
# 1. Run section 10 with `torch.manual_seed(1)` and `(2)` for the baseline and the regularized
#    model. How much does the validation accuracy of one method move between seeds?
# 2. Dropout rates: try 0.2 and 0.8 in the regularized model. Then put a dropout of 0.2 on the
#    inputs as well.
# 3. L2: try `weight_decay` 1e-4 and 1e-2, and `torch.optim.AdamW` in `configure_optimizers`.
#    When does the network start to underfit (training accuracy below 100 %)?
# 4. Early stopping: monitor `val_acc` (`mode="max"`) instead of `val_loss`. Does it stop at
#    the same epoch?
# 5. Train the baseline on 2000 images instead of 500 (`N_TRAIN = 2000`, `N_VAL = 1500`). How does
#    its gap compare with the best regularizer's?
# 6. Start the baseline from Glorot's uniform distribution, Keras's default
#    (`nn.init.xavier_uniform_` on each `Linear` weight, `nn.init.zeros_` on its bias). How far
#    does it overfit now?
#
# **Next:** `03-regularization-minifw.ipynb` runs the same kind of experiment with the dropout,
# batch-norm, L2 and early stopping of `minifw`, the framework you built (on 8 × 8 digits, where
# numpy is fast enough to repeat every run over five seeds). The TensorFlow twin of
# this notebook is `02-regularization-tensorflow.ipynb`.

# %% [markdown] track="tensorflow"
# ## Try it
# 1. Run section 10 with `keras.utils.set_random_seed(1)` and `(2)` for the baseline and the
#    regularized model. How much does the validation accuracy of one method move between seeds?
# 2. Dropout rates: try 0.2 and 0.8 in the regularized model. Then put a `Dropout(0.2)` on the
#    inputs as well.
# 3. L2: try `l2=5e-5` and `l2=5e-3`, and `keras.optimizers.AdamW(LR, weight_decay=1e-3)` in
#    `compile_model`. When does the network start to underfit (training accuracy below 100 %)?
# 4. Early stopping: monitor `"val_accuracy"` (`mode="max"`) instead of `"val_loss"`. Does it
#    stop at the same epoch?
# 5. Train the baseline on 2000 images instead of 500 (`N_TRAIN = 2000`, `N_VAL = 1500`). How does
#    its gap compare with the best regularizer's?
# 6. Start the baseline from Keras's own default (`layers.Dense(h)` in `dense`, without the two
#    initializers). How far does it overfit now?
# 7. Section 7: build the batch-norm model with Keras's default `BatchNormalization()`
#    (momentum 0.99). Compare its validation accuracy with `training=False` (moving averages)
#    and with `training=True` (the statistics of the batch itself).
#
# **Next:** `03-regularization-minifw.ipynb` runs the same kind of experiment with the dropout,
# batch-norm, L2 and early stopping of `minifw`, the framework you built (on 8 × 8 digits, where
# numpy is fast enough to repeat every run over five seeds). The PyTorch twin of
# this notebook is `02-regularization-pytorch.ipynb`.

# %% [markdown]
# ## Review questions
# 1. Early stopping keeps the weights of the epoch with the lowest validation loss. Why can it be
#    no better than the best point of the curve it watches?
#    <details><summary>Answer</summary>
#
#    It does not change the training, it only picks a point on
#    the same curve; the methods that change the network or the loss change the curve itself.
#
#    </details>
#
# 2. How do the gradients of an L1 and an L2 penalty differ, and what does each do to the weights?
#    <details><summary>Answer</summary>
#
#    L2 adds $\lambda_2 w$, a pull proportional to the weight:
#    all weights become small. L1 adds $\lambda_1 \operatorname{sign}(w)$, the same pull however
#    small the weight: weights the data does not defend go to (nearly) zero, a sparse network.
#
#    </details>
#
# 3. Why does dropout divide the kept activations by $1 - p$, and what changes at test time?
#    <details><summary>Answer</summary>
#
#    So that the expected value of each activation is the same
#    as without dropout; at test time (`eval()` / `training=False`) dropout does nothing and
#    the full network is used.
#
#    </details>
#
# 4. What does batch normalization use in training, and what in evaluation?
#    <details><summary>Answer</summary>
#
#    In training the mean and variance of the current batch; in
#    evaluation the moving averages collected during training, so a prediction does not depend
#    on the other images of the batch. Their momentum decides how fast old batches are
#    forgotten.
#
#    </details>
#
# 5. With label smoothing $\varepsilon = 0.1$ and 10 classes, what is the target for the right
#    class, and why does the network stay less confident?
#    <details><summary>Answer</summary>
#
#    $0.9 + 0.1/10 = 0.91$ (and 0.01 for each other class). The
#    loss is lowest when the predicted probabilities equal that target, so there is no reward
#    for pushing the right class towards probability 1.
#
#    </details>
