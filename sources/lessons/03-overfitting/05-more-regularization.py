# %% [markdown] track="pytorch"
# # 03·05 · More regularization in PyTorch: constraints, activity penalties, patient stopping, depth
#
# Notebook 02 covered the regularizers you will use most (early stopping, L1/L2, dropout, batch
# normalization, label smoothing, input noise). This one adds the rest of the toolbox named in
# the lectures: a **max-norm constraint** on the weights, a penalty on the **activations**
# instead of the weights, **early stopping on a noisy validation curve**, advice on **dropout
# rates**, and **batch normalization as what lets a deep network train at all**.

# %% [markdown] track="tensorflow"
# # 03·05 · More regularization in Keras: constraints, activity penalties, patient stopping, depth
#
# Notebook 02 covered the regularizers you will use most (early stopping, L1/L2, dropout, batch
# normalization, label smoothing, input noise). This one adds the rest of the toolbox named in
# the lectures: a **max-norm constraint** on the weights, a penalty on the **activations**
# instead of the weights, **early stopping on a noisy validation curve**, advice on **dropout
# rates**, and **batch normalization as what lets a deep network train at all**.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - constrain each unit's incoming weight vector to a maximum norm, and check that training kept it;
# - penalize large activations, and measure what the penalty does to them;
# - choose between a longer patience and a smoothed validation curve for early stopping when the
#   validation loss is noisy;
# - say where dropout rates should be higher, and why;
# - show a depth at which a plain sigmoid network does not learn while the same network with batch
#   normalization does.

# %% track="pytorch"
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import minifw as mf

torch.manual_seed(0)
torch.set_num_threads(1)  # small networks: one thread is fastest and never waits for another
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch", torch.__version__, "| device:", device)

# %% track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers

import minifw as mf

keras.utils.set_random_seed(0)
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))

# %% [markdown]
# The data: the 28×28 MNIST sample that ships with minifw, 2000 images for training and 1000 for
# validation, pixels in $[0, 1]$.

# %%
X, y = mf.datasets.load_mnist_sample()
X_tr, X_val, _, y_tr, y_val, _ = mf.train_val_test_split(X, y, val_size=1000, test_size=2000, seed=0)
print("train", X_tr.shape, "validation", X_val.shape)
assert X_tr.shape == (2000, 784) and X_val.shape == (1000, 784)

# %% [markdown] track="pytorch"
# One small training loop serves every experiment. `training_step` returns the loss of a batch,
# as a Lightning `training_step` does, and the loop does the rest: `zero_grad`, `backward`,
# `step`, and then an optional `after_step` hook (for the constraint of section 1).

# %% track="pytorch"
X_tr_t, y_tr_t = torch.tensor(X_tr), torch.tensor(y_tr)
X_val_t, y_val_t = torch.tensor(X_val).to(device), torch.tensor(y_val).to(device)
cross_entropy = nn.CrossEntropyLoss()


def training_step(model, xb, yb):
    return cross_entropy(model(xb), yb)


def fit(model, epochs=3, lr=1e-3, optimizer="adam", step=training_step, after_step=None, seed=0):
    model.to(device)
    opt = (torch.optim.Adam(model.parameters(), lr=lr) if optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=lr))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(X_tr_t), generator=generator).split(64):
            loss = step(model, X_tr_t[idx].to(device), y_tr_t[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step(model)
    return model


@torch.no_grad()
def val_accuracy(model):
    model.eval()
    return (model(X_val_t).argmax(1) == y_val_t).float().mean().item()


# %% [markdown] track="tensorflow"
# Every experiment compiles a Keras model and trains it with `fit` on the same 2000 images;
# one helper keeps the calls short.

# %% track="tensorflow"
train_ds = tf.data.Dataset.from_tensor_slices((X_tr, y_tr)).shuffle(2000, seed=0).batch(64)


def fit(model, epochs=3, lr=1e-3, optimizer="adam"):
    opt = keras.optimizers.Adam(lr) if optimizer == "adam" else keras.optimizers.SGD(lr)
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)  # its slots now: fit then traces its step once, not twice
    model.fit(train_ds, epochs=epochs, verbose=0, shuffle=False)  # train_ds shuffles itself
    return model


def val_accuracy(model):
    return float(np.mean(np.argmax(model(X_val, training=False).numpy(), axis=1) == y_val))


# %% [markdown]
# ## 1. Max-norm: a ceiling on each unit's weights
#
# L2 regularization pulls all weights towards zero a little at every step. A **max-norm
# constraint** leaves the weights alone until a unit's incoming weight vector $w_j$ grows longer
# than a limit $c$, and then scales it back onto the sphere of radius $c$ after the update:
#
# $$w_j \leftarrow w_j \cdot \min\left(1, \frac{c}{\lVert w_j \rVert_2}\right).$$
#
# It is a hard bound instead of a soft pull, and it combines well with dropout and large learning
# rates (Srivastava et al., 2014), because no unit's weights can run away. We use $c = 0.5$ on a
# 784-256-10 network, small enough that the constraint is active from the start.

# %% track="pytorch"
MAX_NORM = 0.5


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


@torch.no_grad()
def max_norm_(model, c=MAX_NORM):
    """Rescale each row of every Linear weight (one unit's incoming weights, shape (out, in)) to norm <= c."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.weight.copy_(torch.renorm(module.weight, p=2, dim=0, maxnorm=c))


torch.manual_seed(0)
free = fit(mlp())
torch.manual_seed(0)
capped = fit(mlp(), after_step=max_norm_)


def unit_norms(model):
    """Norm of each hidden unit's incoming weight vector (rows of the first weight matrix)."""
    return model[0].weight.detach().norm(dim=1).cpu().numpy()


# %% track="tensorflow"
MAX_NORM = 0.5


def mlp(constraint=None):
    return keras.Sequential([keras.Input((784,)),
                             layers.Dense(256, activation="relu", kernel_constraint=constraint),
                             layers.Dense(10, kernel_constraint=constraint)])


keras.utils.set_random_seed(0)
free = fit(mlp())
keras.utils.set_random_seed(0)
capped = fit(mlp(keras.constraints.MaxNorm(MAX_NORM)))  # axis=0: each column of the (in, out) kernel


def unit_norms(model):
    """Norm of each hidden unit's incoming weight vector (columns of the first kernel, shape (in, out))."""
    return np.linalg.norm(model.layers[0].kernel.numpy(), axis=0)


# %%
for name, model in (("no constraint", free), (f"max-norm {MAX_NORM}", capped)):
    norms = unit_norms(model)
    print(f"{name:>14}: largest unit norm {norms.max():.3f}, median {np.median(norms):.3f}, "
          f"validation accuracy {val_accuracy(model):.3f}")
assert unit_norms(free).max() > MAX_NORM, "expected unconstrained weights to grow past the limit"
assert unit_norms(capped).max() <= MAX_NORM * (1 + 1e-5), "max-norm: no unit's weight vector may exceed the limit"
assert val_accuracy(capped) > 0.85, "expected the constrained network to still learn (> 85 %)"

plt.figure(figsize=(6, 3))
bins = np.linspace(0, max(unit_norms(free).max(), MAX_NORM) * 1.05, 41)
plt.hist(unit_norms(free), bins=bins, alpha=0.6, label="no constraint")
plt.hist(unit_norms(capped), bins=bins, alpha=0.6, label=f"max-norm {MAX_NORM}")
plt.axvline(MAX_NORM, color="k", ls="--")
plt.xlabel("norm of a hidden unit's incoming weights")
plt.legend()
plt.show()

# %% [markdown]
# Every constrained unit sits at or under the dashed line; many sit exactly on it, which is
# where the constraint pushed them back. The network still learns: the constraint limits how
# *large* the weights get, not where they point.
#
# ## 2. Activity regularization: a penalty on what the units output
#
# L1 and L2 penalize the **weights**. An **activity regularizer** penalizes the **activations**
# $h$ of a layer instead, e.g. $\lambda \cdot \operatorname{mean}|h|$ added to the loss. An L1
# penalty on activations pushes most units to output exactly zero for a given input: a sparse
# code, where each input is described by few active units.

# %% track="pytorch"
LAMBDA = 0.3


def penalized_step(model, xb, yb):
    hidden = model[1](model[0](xb))  # the ReLU activations, shape (batch, 256)
    return cross_entropy(model[2](hidden), yb) + LAMBDA * hidden.abs().mean()


torch.manual_seed(0)
penalized = fit(mlp(), step=penalized_step)
unpenalized = free  # the network of section 1: same architecture and seed, no penalty


@torch.no_grad()
def activations(model):
    model.eval()
    return model[1](model[0](X_val_t)).cpu().numpy()


# %% track="tensorflow"
LAMBDA = 0.3


def mlp_activity(penalty=None):
    inputs = keras.Input((784,))
    hidden = layers.Dense(256, activation="relu", activity_regularizer=penalty, name="hidden")(inputs)
    return keras.Model(inputs, layers.Dense(10)(hidden))


keras.utils.set_random_seed(0)
unpenalized = fit(mlp_activity())
keras.utils.set_random_seed(0)
penalized = fit(mlp_activity(keras.regularizers.L1(LAMBDA / 256)))  # L1 sums over the 256 units: / 256 = a mean


def activations(model):
    return keras.Model(model.inputs[0], model.get_layer("hidden").output)(X_val, training=False).numpy()


# %%
for name, model in (("no penalty", unpenalized), (f"L1 on activations, λ = {LAMBDA}", penalized)):
    h = activations(model)
    print(f"{name:>32}: mean activation {h.mean():.3f}, share of zeros {np.mean(h == 0):.0%}, "
          f"validation accuracy {val_accuracy(model):.3f}")
h_free, h_pen = activations(unpenalized), activations(penalized)
assert h_pen.mean() < 0.7 * h_free.mean(), "expected the penalty to cut the mean activation by more than 30 %"
assert np.mean(h_pen == 0) > np.mean(h_free == 0), "expected more units to be silent with the penalty"
assert val_accuracy(penalized) > 0.85, "expected the penalized network to still learn (> 85 %)"

# %% [markdown]
# The penalty cuts the average activation by more than 30 % and silences more units, for a small
# change in accuracy (asserted: still above 85 %). Activity penalties are used where a sparse or small code is the goal in
# itself (sparse autoencoders, for instance) more than as a general regularizer.
#
# ## 3. Early stopping when the validation loss is noisy
#
# Early stopping waits `patience` epochs for a new best validation loss. On a real curve the
# validation loss is noisy: with small validation sets or large learning rates it bumps up for
# an epoch or two while the model is still improving. A small patience then stops too early; a
# large one wastes epochs (the weights are restored to the best epoch anyway). A third option
# watches a **moving average** of the validation loss, which ignores single bumps.
#
# The effect is easiest to see on a curve whose truth we know: a loss that falls, then slowly
# rises as the model overfits, plus noise.

# %%
rng = np.random.default_rng(3)
epochs = np.arange(80)
true_loss = 0.3 + 0.6 * np.exp(-epochs / 10) + 0.003 * epochs  # minimum near epoch 30
noisy_loss = true_loss + rng.normal(0, 0.025, len(epochs))


def early_stop(curve, patience):
    """(epoch at which training stops, epoch whose weights are restored) for `patience`."""
    best, best_epoch = np.inf, 0
    for epoch, value in enumerate(curve):
        if value < best:
            best, best_epoch = value, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(curve) - 1, best_epoch


def moving_average(curve, window=5):
    """Mean of the last `window` values at each epoch (fewer at the start): usable while training."""
    return np.array([curve[max(0, i - window + 1): i + 1].mean() for i in range(len(curve))])


rules = {"patience 2": early_stop(noisy_loss, 2), "patience 10": early_stop(noisy_loss, 10),
         "patience 2 on a 5-epoch average": early_stop(moving_average(noisy_loss), 2)}
best_true = true_loss.min()
for name, (stop, restored) in rules.items():
    print(f"{name:>31}: stops at epoch {stop:2d}, restores epoch {restored:2d}, "
          f"true loss there {true_loss[restored]:.3f} (best possible {best_true:.3f})")
stop_2, kept_2 = rules["patience 2"]
stop_10, kept_10 = rules["patience 10"]
stop_avg, kept_avg = rules["patience 2 on a 5-epoch average"]
assert stop_2 < 20 and true_loss[kept_2] > best_true + 0.05, "expected patience 2 to stop early on a noise bump"
assert true_loss[kept_avg] < best_true + 0.02 and true_loss[kept_10] < best_true + 0.02
assert stop_avg < stop_10, "expected the smoothed rule to stop sooner than patience 10"

plt.figure(figsize=(7, 3.2))
plt.plot(epochs, noisy_loss, ".", color="0.6", label="validation loss (noisy)")
plt.plot(epochs, true_loss, "k-", lw=1, label="the truth behind it")
plt.plot(epochs, moving_average(noisy_loss), "C2-", label="5-epoch moving average")
for (name, (stop, restored)), color in zip(rules.items(), ("C3", "C0", "C2")):
    plt.axvline(stop, color=color, ls="--", label=f"{name}: stop")
plt.xlabel("epoch")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# Patience 2 stops at the first noise bump, long before the true minimum. Patience 10 and the
# smoothed rule both restore weights from near the minimum; the smoothed rule gets there with
# fewer wasted epochs. In the frameworks:

# %% [markdown] track="pytorch"
# Lightning's `EarlyStopping(monitor="val_loss", patience=10, min_delta=0.0)` implements the
# patience rule (with `ModelCheckpoint(monitor="val_loss")` to keep the best weights). To stop
# on a moving average, log the smoothed value yourself in `validation_step`/
# `on_validation_epoch_end` (e.g. `self.log("val_loss_avg", ...)`) and monitor that name.

# %% [markdown] track="tensorflow"
# Keras's `keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)`
# implements the patience rule. It has no smoothing option; to stop on a moving average, write a
# small callback that computes the average in `on_epoch_end` and sets `self.model.stop_training = True`.

# %% [markdown]
# ## 4. Dropout rates: higher where the layers are large
#
# The lectures' advice: use more dropout in the large layers near the input, which hold most of
# the parameters and so most of the capacity to memorize, and little or none in the small layers
# near the output, where every unit matters (rates of 0.5 for wide hidden layers and 0.1–0.2 for
# the inputs are the classic choices). In the lectures' 784-265-64-32-10 network that means 0.5
# after the 265-unit layer and less after the 64- and 32-unit ones. Dropout is only active while
# training: frameworks use **inverted dropout**, which scales the kept activations by
# $1/(1-p)$ during training so that nothing changes at test time (the seed material's "scaled
# down at test time" describes the original 2014 formulation, not what PyTorch or Keras do).
#
# ## 5. Batch normalization lets a deep network train
#
# Lesson 01-numpy/05 showed the gradient of a deep sigmoid stack shrinking layer by layer. Here is
# the consequence: 12 sigmoid layers of 64 units, trained for 3 epochs with plain SGD, next to
# the same network with batch normalization before each sigmoid.

# %% track="pytorch"
DEPTH = 12


def deep_mlp(batch_norm):
    blocks, n_in = [], 784
    for _ in range(DEPTH):
        blocks += [nn.Linear(n_in, 64), *([nn.BatchNorm1d(64)] if batch_norm else []), nn.Sigmoid()]
        n_in = 64
    return nn.Sequential(*blocks, nn.Linear(64, 10))


results = {}
for batch_norm in (False, True):
    torch.manual_seed(0)
    results[batch_norm] = val_accuracy(fit(deep_mlp(batch_norm), epochs=3, lr=0.1, optimizer="sgd"))

# %% track="tensorflow"
DEPTH = 12


def deep_mlp(batch_norm):
    blocks = [keras.Input((784,))]
    for _ in range(DEPTH):
        blocks += [layers.Dense(64), *([layers.BatchNormalization(momentum=0.9)] if batch_norm else []),
                   layers.Activation("sigmoid")]
    return keras.Sequential([*blocks, layers.Dense(10)])


results = {}
for batch_norm in (False, True):
    keras.utils.set_random_seed(0)
    results[batch_norm] = val_accuracy(fit(deep_mlp(batch_norm), epochs=3, lr=0.1, optimizer="sgd"))

# %%
print(f"{DEPTH} sigmoid layers, plain:               validation accuracy {results[False]:.3f}")
print(f"{DEPTH} sigmoid layers, with batch norm:     validation accuracy {results[True]:.3f}")
assert results[False] < 0.25, "expected the plain deep sigmoid network to stay near chance (10 %)"
assert results[True] > 0.6, "expected the batch-normalized network to learn (> 60 % after 3 epochs)"

# %% [markdown]
# The plain network stays at chance (10 %): its first layers receive almost no gradient. With
# batch normalization every layer's input is re-centred and re-scaled, the sigmoids work in their
# steep middle part, and the same depth learns. That, more than its mild regularizing effect, is
# why batch normalization made deep networks practical.
#
# ## Try it
#
# 1. Lower `MAX_NORM` to 0.1 and raise it to 2.0. When does the constraint stop mattering, and
#    when does it hurt accuracy?
# 2. Use an L2 activity penalty instead (the squared activations). Which gives more zeros?
# 3. Change the noise of the curve in section 3 (0.025) to 0.05. Which rule suffers most?
# 4. Find the smallest `DEPTH` at which the plain network fails. Replace the sigmoids by ReLUs:
#    does the plain network still fail?
#
# Changing a setting can make an `assert` above fail: its message says what was expected for
# the settings in this notebook.

# %% [markdown]
# ## Review questions
#
# 1. How does a max-norm constraint differ from an L2 penalty?
#    <details><summary>Answer</summary>
#
#    L2 pulls every weight towards zero at every step, in
#    proportion to its size; max-norm does nothing until a unit's weight vector is longer than
#    the limit, then rescales it back to the limit. One is a soft pull, the other a hard ceiling.
#
#    </details>
# 2. What does an L1 activity regularizer penalize, and what does it do to the hidden code?
#    <details><summary>Answer</summary>
#
#    The absolute values of a layer's outputs; it makes many
#    of them exactly zero for each input, a sparse code.
#
#    </details>
# 3. Why can a small patience stop training too early?
#    <details><summary>Answer</summary>
#
#    The validation loss is noisy: a bump of one or two epochs
#    looks like the start of overfitting, so training stops while the model was still improving.
#
#    </details>
# 4. Where should dropout rates be highest, and why?
#    <details><summary>Answer</summary>
#
#    In the large layers near the input: they hold most
#    parameters and most capacity to memorize. Small layers near the output need every unit.
#
#    </details>
# 5. Why does a deep sigmoid network fail to train while the batch-normalized one succeeds?
#    <details><summary>Answer</summary>
#
#    Each sigmoid multiplies the gradient by at most 1/4, so
#    the gradient reaching the first layers vanishes. Batch normalization keeps the sigmoids'
#    inputs centred where their slope is largest and each layer's scale under control.
#
#    </details>
