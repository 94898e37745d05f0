# %% [markdown]
# # 03·03 · Regularization in minifw
#
# Notebook 02 fought overfitting with PyTorch or Keras, on 500 MNIST images of 28 × 28 pixels.
# Here we run the same kind of experiment with `minifw`, the framework you built, on the 8 × 8
# digits of scikit-learn: 200 training digits, a 64-256-256-10 network, 60 epochs of Adam, and
# four of the regularizers minifw has: **early stopping, L2, dropout and batch normalization**.
# The small images are a choice of speed: minifw runs on numpy, one CPU core, and this notebook
# trains every method five times; with 28 × 28 images and notebook 02's network that would take
# minutes instead of seconds.
# For each one we read the few lines of minifw that do the work, check that they do what the
# formula says, and then measure the effect. minifw is fast on a problem this small, so we can
# afford to do the comparison properly: every method is trained with five different seeds.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - stop training with `mf.EarlyStopping` and explain how it restores the best weights;
# - add an L2 penalty with `mf.L2` and show that it is the same update as an optimizer's
#   `weight_decay`, and tell Adam's weight decay from AdamW's decoupled one;
# - check minifw's inverted dropout and batch normalization against their formulas, in training
#   and in evaluation mode;
# - compare methods over several seeds, and tell a real effect from seed-to-seed noise;
# - explain why a regularizer can leave the accuracy unchanged and still make the validation
#   loss, and the train–validation gap in loss, clearly smaller.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: for these small matrices one thread
os.environ.setdefault("OMP_NUM_THREADS", "1")       # is faster than several that wait for each other

import matplotlib.pyplot as plt
import numpy as np

import minifw as mf

show = mf.source.show  # displays the installed source of minifw's classes, functions and methods

# %% [markdown]
# ## 1. The same setting
#
# The situation of notebook 02, a training set small enough to learn by heart, at the size of
# the 8 × 8 digits: pixels divided by 16, 200 training images (about 20 per digit), 800 for
# validation, 797 held out for the test. `mlp` builds the
# 64-256-256-10 network from minifw layers, optionally with `BatchNorm1d` between each hidden
# `Linear` and its `ReLU`, and `Dropout` after it. Every random choice, the initial weights,
# the dropout masks and (through `fit(seed=...)`) the order of the batches, comes from a seed.

# %%
X, y = mf.datasets.load_digits()
X = X / 16
X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=800, test_size=797, seed=0)
assert X_train.shape == (200, 64) and X_val.shape == (800, 64) and X_test.shape == (797, 64)

EPOCHS, BATCH_SIZE, LR = 60, 50, 2e-3   # the budget every method gets: 60 epochs x 4 steps of Adam


def mlp(hidden=(256, 256), dropout=0.0, batchnorm=False, seed=0):
    """64 -> hidden -> 10: Linear, [BatchNorm1d], ReLU, [Dropout] per hidden layer.
    One random generator, seeded with `seed`, draws the initial weights and the dropout masks."""
    rng = np.random.default_rng(seed)
    layers, width = [], 64
    for h in hidden:
        layers.append(mf.Linear(width, h, seed=rng))
        if batchnorm:
            layers.append(mf.BatchNorm1d(h))
        layers.append(mf.ReLU())
        if dropout:
            layers.append(mf.Dropout(dropout, seed=rng))
        width = h
    layers.append(mf.Linear(width, 10, seed=rng))
    return mf.Sequential(*layers)


def model_for(net, regularizer=None):
    """A minifw Model: cross-entropy on the logits, Adam, an optional L1/L2 regularizer."""
    return mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=LR), regularizer=regularizer)


def scores(model):
    """Accuracy and cross-entropy on the training and validation sets, in evaluation mode."""
    train, val = model.evaluate(X_train, y_train), model.evaluate(X_val, y_val)
    return {"train_acc": train["accuracy"], "val_acc": val["accuracy"],
            "train_loss": train["loss"], "val_loss": val["loss"]}


net = mlp()
print(net)
print("parameters:", net.num_parameters())
assert net.num_parameters() == 85_002

# %% [markdown]
# ## 2. Validation curves and early stopping
#
# `Model.fit` calls each callback's `on_epoch_end(epoch, logs)` after every epoch, with the
# epoch's `loss`, `accuracy`, `val_loss` and `val_accuracy`. `EarlyStopping` keeps the best
# score so far; when it improves, it copies the network's `state_dict()` (every parameter and
# batch-norm statistic); when it has not improved for `patience` epochs, it sets
# `model.stop_training`, and `fit` leaves its loop. At the end of training the copy is loaded
# back:

# %%
show(mf.EarlyStopping.on_epoch_end, mf.EarlyStopping.on_train_end)

# %% [markdown]
# First the full budget, then the same run (same seed) with early stopping and a patience of
# 10 epochs.

# %%
baseline = model_for(mlp(seed=0))
history = baseline.fit(X_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=(X_val, y_val),
                       progress=False, seed=0)
best_epoch = int(np.argmin(history["val_loss"]))

stopper = mf.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
early = model_for(mlp(seed=0))
early_history = early.fit(X_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=(X_val, y_val),
                          callbacks=[stopper], progress=False, seed=0)
stopped_after = len(early_history["val_loss"])
print(f"lowest validation loss {min(history['val_loss']):.4f} after epoch {best_epoch + 1}, "
      f"{history['val_loss'][-1]:.4f} after epoch {EPOCHS}")
print(f"early stopping: stopped after epoch {stopped_after}, restored the weights of epoch {stopper.best_epoch + 1}, "
      f"validation loss {early.evaluate(X_val, y_val)['loss']:.4f}")

epochs = np.arange(1, EPOCHS + 1)
plt.figure(figsize=(6, 3.5))
plt.plot(epochs, history["loss"], label="training")
plt.plot(epochs, history["val_loss"], label="validation")
plt.axvline(best_epoch + 1, color="gray", ls="--", label="best epoch")
plt.axvline(stopped_after, color="k", ls=":", label="early stopping ends")
plt.yscale("log")
plt.xlabel("epoch")
plt.ylabel("cross-entropy")
plt.legend()
plt.show()

assert history["loss"][-1] < 0.01 and history["accuracy"][-1] == 1.0           # the training set is memorized
assert history["val_loss"][-1] > min(history["val_loss"]) and best_epoch < EPOCHS - 10  # validation turned up
assert np.allclose(early_history["val_loss"], history["val_loss"][:stopped_after], rtol=1e-6)  # the same run, cut short ...
assert stopper.best_epoch == best_epoch and stopped_after == best_epoch + 1 + 10  # ... 10 epochs after the best
assert abs(early.evaluate(X_val, y_val)["loss"] - min(history["val_loss"])) < 1e-6  # with the best weights back

# %% [markdown]
# The curves look like those of notebook 02: the training loss falls towards 0, the validation
# loss bottoms out and creeps up again. With the same seed the early-stopped run is the same
# run, cut short 10 epochs after its best epoch, and it ends with exactly the best weights.

# %% [markdown]
# ## 3. L2: a penalty in the loss, or weight decay
#
# `mf.L2(lam)` is the penalty $\frac{\lambda}{2}\sum w^2$ over the weight matrices (not the
# biases, nor batch-norm's $\gamma, \beta$), as in Keras and common practice. It finds them by
# their **role**: every `Parameter` says whether it is a "weight", a "bias" or a "norm_scale",
# so a layer you write yourself is covered whatever you call its arrays (`roles=` widens the
# choice). `Model.fit` adds the penalty's value to the loss and its gradient $\lambda w$ to each
# weight's `.grad`, after the backward pass and before the optimizer's step; `training_step`
# only computes the data loss, as a Lightning `training_step` does.

# %%
show(mf.L2.penalty, mf.L2.grad, mf.Regularizer.select, mf.Model.fit)
print({name: p.role for name, p in mlp(batchnorm=True).named_parameters()})
assert [p.role for p in mf.L2(1e-3).select(mlp(batchnorm=True))] == ["weight"] * 3  # the three Linear weights


# %% [markdown]
# An optimizer's `weight_decay=lam` adds the same $\lambda w$ to the gradient inside `step()`,
# so the two must give the same updates. They do, as long as they decay the same parameters: the
# optimizer decays every parameter it holds, biases included, so for the check we build the
# network without biases. Both runs start from the same weights and see the same batches.

# %%
def no_bias_net():
    return mf.Sequential(mf.Linear(64, 32, bias=False, seed=0), mf.ReLU(), mf.Linear(32, 10, bias=False, seed=1))


net_a, net_b = no_bias_net(), no_bias_net()
mf.Model(net_a, mf.CrossEntropy(), mf.Adam(net_a.parameters(), lr=LR), regularizer=mf.L2(1e-3)).fit(
    X_train, y_train, epochs=3, batch_size=BATCH_SIZE, progress=False)
mf.Model(net_b, mf.CrossEntropy(), mf.Adam(net_b.parameters(), lr=LR, weight_decay=1e-3)).fit(
    X_train, y_train, epochs=3, batch_size=BATCH_SIZE, progress=False)
largest_difference = max(np.abs(a - b).max() for a, b in zip(net_a.params().values(), net_b.params().values()))
print("largest difference between the weights after 3 epochs:", largest_difference)
assert largest_difference < 1e-6

# %% [markdown]
# In notebook 02 you met both forms: the PyTorch twin used `weight_decay`, the Keras twin a
# `kernel_regularizer`. Now you have seen that they are one and the same update.
#
# With Adam that sameness has a cost. Adam divides each coordinate's gradient by the root of
# its running average of squares, so the decay term $\lambda w$ inside the gradient is divided
# too: a weight whose gradient is small gets a large share of decay, one with a large gradient
# almost none. **AdamW** (Loshchilov & Hutter) *decouples* the decay: it shrinks every weight by
# the factor $1 - \eta\lambda$ and then takes Adam's step on the data gradient alone.
# `mf.AdamW` does exactly what `torch.optim.AdamW` does (default $\lambda = 0.01$). With a zero
# data gradient the difference is plain: Adam moves both weights by about $\eta$ whatever their
# size, AdamW shrinks each in proportion to its size.

# %%
show(mf.AdamW.update)

w0 = np.array([10.0, 0.1])
coupled, decoupled = mf.Parameter(w0.copy()), mf.Parameter(w0.copy())
mf.Adam([coupled], lr=0.1, weight_decay=0.1).step()      # grad is zero: only the decay acts
mf.AdamW([decoupled], lr=0.1, weight_decay=0.1).step()
print("Adam  + weight_decay:", w0, "->", coupled.data)
print("AdamW (decoupled):   ", w0, "->", decoupled.data)
assert np.allclose(coupled.data, w0 - 0.1, atol=1e-6)         # the same step for both weights
assert np.allclose(decoupled.data, w0 * (1 - 0.1 * 0.1))      # each shrunk by 1 - lr * wd

# %% [markdown]
# ## 4. Dropout
#
# minifw's `Dropout` is **inverted** dropout: in training, each unit survives with probability
# $1 - p$ and is scaled by $1/(1-p)$,
#
# $$\tilde h = \frac{m}{1 - p}\, h, \qquad m \sim \mathrm{Bernoulli}(1 - p), \qquad
#   \mathbb E[\tilde h] = h ;$$
#
# in evaluation mode it returns its input. The mask is kept in `self.cache`, because the
# backward pass multiplies the gradient by the same mask.

# %%
show(mf.Dropout.forward, mf.Dropout.backward)

# %% [markdown]
# Two checks of the formula: the average over many masks is the input itself, and in evaluation
# mode nothing is dropped.

# %%
drop = mf.Dropout(0.5, seed=0)
h = np.tile(np.linspace(0.1, 1.0, 10, dtype=np.float32), (20_000, 1))  # the same 10 activations, 20 000 times
out = drop.train()(h)
print("share of units dropped:", np.mean(out == 0))
print("mean output per unit / input:", np.round(out.mean(axis=0) / h[0], 3))
assert abs(np.mean(out == 0) - 0.5) < 0.01                 # about p of the units are zeroed
assert np.allclose(out.mean(axis=0), h[0], rtol=0.03)       # E[output] = input
assert np.array_equal(drop.eval()(h), h)                    # evaluation: the identity

# %% [markdown]
# ## 5. Batch normalization
#
# `BatchNorm1d` standardizes each unit with the mean $\mu_B$ and variance $\sigma_B^2$ of the batch,
# then applies the learned scale and shift,
# $\tilde h = \gamma\,(h - \mu_B)/\sqrt{\sigma_B^2 + \epsilon} + \beta$. In training it also
# updates running averages, $r \leftarrow (1 - m)\,r + m\,s$ with
# $m = 0.1$ (PyTorch's convention); in evaluation mode it uses those running averages instead of
# the batch statistics, so that a prediction does not depend on the other images of the batch.

# %%
show(mf.BatchNorm1d.forward)

# %% [markdown]
# We train the batch-norm network for the full budget and check both modes: in evaluation
# mode one image alone gets the same output as inside a batch; in training mode the output of
# the same image changes with the batch around it, which is the noise that regularizes.

# %%
bn_model = model_for(mlp(batchnorm=True, seed=0))
bn_model.fit(X_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, progress=False, seed=0)
bn_net = bn_model.network

bn_net.eval()
alone, in_batch = bn_net(X_val[:1]), bn_net(X_val[:100])[:1]
bn_net.train()
with_batch_a, with_batch_b = bn_net(X_val[:50])[:1], bn_net(np.concatenate([X_val[:1], X_val[50:99]]))[:1]
bn_net.eval()
print("evaluation mode, alone vs in a batch:     ", np.abs(alone - in_batch).max())
print("training mode, in two different batches:  ", np.abs(with_batch_a - with_batch_b).max())
assert np.allclose(alone, in_batch, atol=1e-5)
assert not np.allclose(with_batch_a, with_batch_b, atol=1e-2)


# %% [markdown]
# (The training-mode calls above also moved the running averages a little; a real evaluation
# never runs in training mode.)

# %% [markdown]
# ## 6. Comparing the methods over five seeds
#
# One run per method, as in notebook 02, mixes the effect of the method with the luck of the
# seed. Here every method is trained with seeds 0, 1, 2, 3 and 4, and we look at the mean and
# the spread. The methods: the plain network, early stopping (patience 10), L2
# ($\lambda = 10^{-3}$), dropout 0.5, batch normalization, and the **regularized** network that
# combines dropout, batch normalization and L2.
#
# Besides the gap in accuracy we measure the gap in cross-entropy, validation minus training:
# the loss also sees how *confident* the answers are, not only whether they are right.

# %%
def train(method, seed):
    """One run of a method with one seed; returns its scores."""
    if method == "early stopping":
        model = model_for(mlp(seed=seed))
        model.fit(X_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=(X_val, y_val),
                  callbacks=[mf.EarlyStopping(patience=10)], progress=False, seed=seed)
        return scores(model)
    net = mlp(dropout=0.5 if method in ("dropout 0.5", "regularized") else 0.0,
              batchnorm=method in ("batch norm", "regularized"), seed=seed)
    model = model_for(net, mf.L2(1e-3) if method in ("L2", "regularized") else None)
    model.fit(X_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, progress=False, seed=seed)
    return scores(model)


methods = ["baseline", "early stopping", "L2", "dropout 0.5", "batch norm", "regularized"]
seeds = range(5)
runs = {m: [train(m, s) for s in seeds] for m in methods}
table = {}
for m in methods:
    r = {key: np.array([run[key] for run in runs[m]]) for key in runs[m][0]}
    table[m] = {"val_acc": r["val_acc"].mean(), "val_acc_std": r["val_acc"].std(),
                "acc_gap": (r["train_acc"] - r["val_acc"]).mean(), "val_loss": r["val_loss"].mean(),
                "loss_gap": (r["val_loss"] - r["train_loss"]).mean(), "val_losses": r["val_loss"],
                "train_acc_min": r["train_acc"].min()}

print(f"{'method':>15} {'val acc':>14} {'acc gap':>8} {'val loss':>9} {'loss gap':>9}")
for m, t in table.items():
    print(f"{m:>15} {t['val_acc']:7.3f} ± {t['val_acc_std']:.3f} {t['acc_gap']:8.3f} {t['val_loss']:9.3f} "
          f"{t['loss_gap']:9.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5), sharey=True)
for i, m in enumerate(methods):
    ax1.scatter([run["val_acc"] for run in runs[m]], [i] * len(seeds), color="C1", alpha=0.7)
    ax2.scatter(table[m]["val_losses"], [i] * len(seeds), color="C3", alpha=0.7)
    ax1.plot(table[m]["val_acc"], i, "k|", ms=14)
    ax2.plot(table[m]["val_loss"], i, "k|", ms=14)
ax1.set_yticks(range(len(methods)), methods)
ax1.invert_yaxis()
ax1.set_xlabel("validation accuracy (dots: seeds, bar: mean)")
ax1.xaxis.set_major_locator(plt.MaxNLocator(5))
ax2.set_xlabel("validation cross-entropy")
plt.show()

base, reg = table["baseline"], table["regularized"]
assert all(t["train_acc_min"] > 0.99 for t in table.values())                   # every run learns its training set
assert all(abs(t["val_acc"] - base["val_acc"]) < 0.01 for t in table.values())  # accuracy: within a point ...
assert 0.002 < max(t["val_acc_std"] for t in table.values()) < 0.01              # ... seeds spread up to ~half a point
for m in ["regularized", "dropout 0.5", "batch norm"]:
    assert table[m]["loss_gap"] < base["loss_gap"] - 0.015                  # the regularized models' gap is smaller
    assert np.all(table[m]["val_losses"] < base["val_losses"])              # and their loss is lower at every seed
assert reg["loss_gap"] > min(table["dropout 0.5"]["loss_gap"], table["batch norm"]["loss_gap"]) - 0.005  # no sum
assert reg["loss_gap"] < table["L2"]["loss_gap"] < base["loss_gap"]         # L2: a little
assert abs(table["early stopping"]["loss_gap"] - base["loss_gap"]) < 0.01    # early stopping: hardly

# %% [markdown]
# What the five seeds show:
#
# - **Accuracy.** Every run learns its 200 training images, and every method's mean validation
#   accuracy is within one point of the plain network's, while the seeds of one method spread by
#   up to about half a point (the standard deviations). With 200 images of clean digits this
#   network is already about as accurate as it gets, and one run per method could not have told
#   the methods apart.
# - **Loss.** Dropout, batch normalization and the regularized network that combines them (with
#   L2) all have a train–validation gap in cross-entropy clearly smaller than the plain
#   network's, by more than 0.015, and a lower validation loss at *every* seed. Combined, they do
#   not add up: the regularized network is about as good as dropout alone. L2 narrows the gap a
#   little, early stopping hardly at all.
#
# So here the regularizers do not change *which* digit the network answers, but *how sure* it
# is: the plain network is overconfident on images it has not seen, and the loss punishes every
# confident mistake. When the outputs are used as probabilities (to rank, to abstain when
# unsure, to combine models), that matters even when the accuracy does not move.
#
# The PyTorch and Keras runs of notebook 02, on 28 × 28 images, gained accuracy with batch
# normalization (about 4 points) and with the lecture's combination (about 2.5). Other data, and
# another starting point: minifw initializes `Linear` layers with He initialization, larger
# weights than PyTorch's default (which both twins of notebook 02 start from). Is the starting
# point part of the difference? Try it (task 3).

# %% [markdown]
# ## Try it
# 1. Give the L2 penalty $\lambda = 10^{-2}$ and $10^{-1}$. When does the training accuracy fall
#    below 100 %, and what happens to the validation loss?
# 2. Train with 100 and with 800 training images (take the extra images from the test set):
#    how do the gaps of the plain and the regularized network change?
# 3. Give every `Linear` PyTorch's default initialization,
#    `init=lambda shape, rng: rng.uniform(-1, 1, shape).astype(np.float32) / np.sqrt(shape[0])`,
#    and compare the plain and the regularized network again, over five seeds.
# 4. Add label smoothing, `mf.CrossEntropy(label_smoothing=0.1)`. Why does the validation
#    cross-entropy, measured without smoothing, get *worse* although the accuracy does not?
# 5. Write input noise as a subclass of `mf.Model` that overrides `training_step(batch)` to add
#    `0.1 * rng.standard_normal(x.shape)` to each batch before the forward pass and return
#    `self.loss(output, y)`; `fit` still does the backward pass and the step. A
#    `LightningModule`'s `training_step` is written the same way.
# 6. Train the plain network with `mf.AdamW(net.parameters(), lr=LR, weight_decay=...)` instead
#    of the L2 penalty. Which $\lambda$ gives about the same loss gap as `mf.L2(1e-3)`?

# %% [markdown]
# ## Review questions
#
# 1. Why does minifw's `L2` penalize only the parameters with the role "weight"?
#    <details><summary>Answer</summary>
#
#    Biases and batch-norm scales and shifts do not make the
#    function more complex the way large weights do, and penalizing them can hurt the fit; so
#    Keras, PyTorch practice and minifw leave them out. Choosing by role, not by name, also
#    covers layers you write yourself.
#
#    </details>
# 2. Why do `mf.L2(lam)` with Adam and `mf.Adam(..., weight_decay=lam)` give the same weights?
#    <details><summary>Answer</summary>
#
#    Both add $\lambda w$ to each weight's gradient before
#    Adam's step (given the same parameters: the optimizer decays biases too, so the check used
#    a network without biases).
#
#    </details>
# 3. How does AdamW's weight decay differ from Adam's?
#    <details><summary>Answer</summary>
#
#    Adam's decay goes through the gradient and is rescaled by
#    Adam's per-coordinate step size; AdamW multiplies every weight by $1 - \eta\lambda$
#    separately, so each weight shrinks in proportion to its size.
#
#    </details>
# 4. Why does `EarlyStopping` save a `state_dict()` and not just the best epoch's number?
#    <details><summary>Answer</summary>
#
#    Training goes on for `patience` epochs after the best
#    one and changes the weights; to end with the best weights it must have copied them when
#    they were the best.
#
#    </details>
# 5. The regularizers left the validation accuracy within a point but lowered the validation
#    loss. What changed?
#    <details><summary>Answer</summary>
#
#    How confident the network is: the
#    plain network gives very high probabilities to its mistakes on unseen images, and
#    cross-entropy punishes those; the regularized ones are less overconfident.
#
#    </details>
#
# **Next:** the labs in `labs/` put regularization to work on a problem of your own. Back to
# the beginning of this part: `01-overfitting-bias-variance.ipynb`.
