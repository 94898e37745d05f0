# %% [markdown]
# # 02·03 · Keras: the high-level API
#
# In notebook 02 you wrote the training loop: batches, tape, optimizer, validation, best weights.
# Keras packs all of it into a `keras.Model` with three methods, `compile`, `fit` and `evaluate`,
# plus **callbacks** that hook into the loop. It is the same digits classifier as before,
# $64 \to 128 \to \mathrm{ReLU} \to 64 \to \mathrm{ReLU} \to 10$, now in a few lines.

# %% [markdown]
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

# %%
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

# %% [markdown]
# The data exactly as in notebook 02: the digits split 60 / 20 / 20 % (stratified), pixels
# scaled to $[0, 1]$ with the training set's minimum and maximum. Keras trains fastest from a
# `tf.data.Dataset`: shuffled batches of 32 for training, larger batches for evaluation (their
# size does not change the result, only the speed).

# %%
X, y = mf.datasets.load_digits()
X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=0.2, test_size=0.2, seed=0)
pixels = mf.MinMaxScaler().fit(X_train)
X_train, X_val, X_test = pixels.transform(X_train), pixels.transform(X_val), pixels.transform(X_test)

train_ds = (tf.data.Dataset.from_tensor_slices((X_train, y_train))
            .shuffle(len(X_train), seed=0).batch(32).prefetch(tf.data.AUTOTUNE))
val_ds = tf.data.Dataset.from_tensor_slices((X_val, y_val)).batch(512)
test_ds = tf.data.Dataset.from_tensor_slices((X_test, y_test)).batch(512)
assert (len(X_train), len(X_val), len(X_test)) == (1079, 359, 359)

# %% [markdown]
# ## 1. The digits classifier as a model
#
# **Functional API.** Start from a symbolic input of shape `(64,)` (the batch axis is implicit)
# and call each layer on the previous result; `keras.Model(inputs, outputs)` ties the graph
# together. `Dense(n)` computes $xW + b$ with $W$ of shape `(inputs, n)`, like `minifw.Linear`;
# `activation="relu"` applies the ReLU after it. The last layer has no activation: it outputs
# the 10 **logits**, and the loss will apply the softmax (section 3).

# %%
def functional_model():
    inputs = keras.Input(shape=(64,), name="pixels")
    h = keras.layers.Dense(128, activation="relu", name="hidden_1")(inputs)
    h = keras.layers.Dense(64, activation="relu", name="hidden_2")(h)
    logits = keras.layers.Dense(10, name="logits")(h)
    return keras.Model(inputs=inputs, outputs=logits, name="digits_functional")


# %% [markdown]
# **Sequential API.** When the layers form a simple chain, list them:

# %%
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

# %% [markdown]
# The Functional API can also describe graphs that are not a chain: several inputs (an image
# *and* a patient's age), several outputs, branches that merge, or layers shared between
# branches. `Sequential` is a shortcut for the common chain.

# %% [markdown]
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

# %%
functional.summary()

summary_lines = []
functional.summary(print_fn=lambda line, *args, **kwargs: summary_lines.append(line))
by_hand = [64 * 128 + 128, 128 * 64 + 64, 64 * 10 + 10]
assert [layer.count_params() for layer in functional.layers[1:]] == by_hand == [8320, 8256, 650]
assert functional.count_params() == sequential.count_params() == sum(by_hand) == 17226
assert "Total params: 17,226" in "".join(summary_lines)

# %% [markdown]
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

# %%
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

# %% [markdown]
# ## 4. Callbacks: live curves and early stopping
#
# A **callback** is an object whose methods `fit` calls at fixed points: `on_train_begin`,
# `on_epoch_end(epoch, logs)`, `on_batch_end`, `on_train_end`, ... `logs` holds the epoch's
# numbers. This one redraws the training curves every few epochs, so you can watch a long run:

# %%
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


# %% [markdown]
# **Early stopping**: in section 3 the last 10 epochs improved the validation loss by less than a
# tenth of what the first 10 did; they cost time and risk overfitting.
# `EarlyStopping(monitor="val_loss", min_delta=0.005, patience=3)` stops when the validation loss
# has not improved by at least 0.005 for 3 epochs in a row, and `restore_best_weights=True`
# returns to the weights of the best epoch (what notebook 02 did by hand). A `TensorBoard` callback writes the same run to
# `logs/keras/digits` for section 5. We train a fresh `Sequential` model, for at most 30 epochs:

# %%
keras.utils.set_random_seed(0)
model = sequential_model()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0.005, patience=3,
                                               restore_best_weights=True)
tensorboard = keras.callbacks.TensorBoard(log_dir=str(LOGS / "digits"))
history = model.fit(train_ds, validation_data=val_ds, epochs=30, shuffle=False, verbose=0,
                    callbacks=[LiveCurves(every=5), early_stopping, tensorboard])

# %%
val_loss = history.history["val_loss"]
best_epoch = early_stopping.best_epoch + 1                      # Keras counts epochs from 0
restored_loss, restored_accuracy = model.evaluate(val_ds, verbose=0)
print(f"stopped after {len(val_loss)} epochs; best epoch {best_epoch} (val_loss {val_loss[best_epoch - 1]:.4f}); "
      f"restored model: val_loss {restored_loss:.4f}, val_accuracy {restored_accuracy:.3f}")

assert len(val_loss) < 30 and len(val_loss) == best_epoch + 3   # stopped 3 epochs after the best one
assert abs(restored_loss - val_loss[best_epoch - 1]) < 1e-4      # the best weights are back
assert restored_accuracy > 0.95

# %% [markdown]
# ## 5. TensorBoard
#
# TensorBoard is a web page that plots logged runs: curves, histograms of weights, the model
# graph. The callback above wrote event files for the training and validation curves:

# %%
for path in sorted((LOGS / "digits").rglob("*")):
    if path.is_file():
        print(path)

# %% [markdown]
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

# %%
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

# %% [markdown]
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

# %%
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

# %% [markdown]
# It computes what `Dense` computes: given the trained weights of section 4, it gives the same
# logits. And it trains like any layer: 5 epochs from scratch.

# %%
custom.set_weights(model.get_weights())
assert np.allclose(custom.predict(X_val, verbose=0), model.predict(X_val, verbose=0), atol=1e-5)

keras.utils.set_random_seed(0)
custom = keras.Sequential([keras.Input(shape=(64,)), MyDense(128, "relu"), MyDense(64, "relu"), MyDense(10)])
custom.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
custom_history = custom.fit(train_ds, validation_data=val_ds, epochs=5, shuffle=False, verbose=0)
print(f"custom layers, 5 epochs: val_accuracy {custom_history.history['val_accuracy'][-1]:.3f}")
assert custom_history.history["val_accuracy"][-1] > 0.88

# %% [markdown]
# ## 7. Testing the model
#
# The test set has waited until now: its score estimates how the model will do on new digits.
# Look at it **once**, after all choices (architecture, epochs, learning rate) are made on the
# validation set; choosing by the test score would make it optimistic. `evaluate` computes the
# compiled loss and metrics; `predict` gives the logits, and their arg-max the predicted digit.

# %%
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

# %% [markdown]
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

# %%
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

# %%
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

# %%
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

# %% [markdown]
# ## 9. More than one device
#
# With several GPUs, `tf.distribute.MirroredStrategy` trains one copy (**replica**) of the model
# on each. Every step splits the batch of $B$ examples into $R$ parts of $B / R$, each replica
# computes the gradient $g_r$ of its part, and an *all-reduce* averages them,
# $g = \frac1R \sum_r g_r$, so all replicas apply the same update and keep identical weights. The
# only change to the code: build and compile the model inside `strategy.scope()`, and scale the
# batch size with the number of replicas. With one GPU, or none, it runs one replica and the
# same code works unchanged, as here:

# %%
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

# %% [markdown]
# Other strategies follow the same pattern: `MultiWorkerMirroredStrategy` for several machines,
# `TPUStrategy` for TPUs.

# %% [markdown]
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

# %%
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

# %% [markdown]
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
