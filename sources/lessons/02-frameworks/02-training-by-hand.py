# %% [markdown] track="pytorch"
# # 02·02 · Training by hand in PyTorch
#
# `minifw.Model.fit` hid the training loop from you. Here you write it yourself, with PyTorch's
# tools: autograd gives the gradients, `torch.optim` applies the update, `DataLoader` cuts the data
# into batches and `torch.nn` holds the layers and losses. Every training loop, in every
# framework, is these four lines repeated: **forward, loss, gradients, update**.

# %% [markdown] track="tensorflow"
# # 02·02 · Training by hand in TensorFlow
#
# `minifw.Model.fit` hid the training loop from you. Here you write it yourself, with
# TensorFlow's low-level tools: the model is a few `tf.Variable`s, `tf.GradientTape` gives the
# gradients, and you apply the update. Every training loop, in every framework, is these four
# lines repeated: **forward, loss, gradients, update**.

# %% [markdown] track="pytorch"
# ## Objectives
# After this notebook you can
#
# - fit a linear regression with a hand-written gradient-descent loop and check it against the
#   exact least-squares solution;
# - feed data in shuffled mini-batches with `TensorDataset` and `DataLoader`;
# - train a one-layer perceptron for a binary decision with `nn.BCEWithLogitsLoss`, on inputs
#   min-max scaled with training statistics;
# - use `torch.optim` optimizers (SGD with momentum, Adam, RMSprop) inside your own loop, and say
#   why one learning rate does not suit every problem;
# - build a multi-layer classifier with `nn.Sequential` and as an `nn.Module` subclass, train it
#   with `nn.CrossEntropyLoss` (also with `label_smoothing`), measure it with `torchmetrics`, watch its
#   training and validation curves, and keep the weights of the best epoch.

# %% [markdown] track="tensorflow"
# ## Objectives
# After this notebook you can
#
# - fit a linear regression with a hand-written gradient-descent loop and check it against the
#   exact least-squares solution;
# - feed data in shuffled mini-batches with `tf.data.Dataset` (`shuffle`, `batch`, `prefetch`);
# - train a one-layer perceptron for a binary decision with
#   `tf.nn.sigmoid_cross_entropy_with_logits`, on inputs min-max scaled with training statistics;
# - use Keras optimizers (SGD with momentum, Adam, RMSprop) inside your own loop, and say why one
#   learning rate does not suit every problem;
# - train a multi-layer classifier on 28×28 images of digits, watch its training and validation
#   curves, and keep the weights of the best epoch.

# %%
DATA = "mnist-sample"  # the images of section 5: "mnist-sample" (5000 MNIST digits shipped with the course,
#                        no network), "mnist" or "fashion-mnist" (70 000 images each, downloaded once)

# %% track="pytorch"
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torchmetrics
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import minifw as mf

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)  # tests run two notebooks at once on two cores; at home, delete this line
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch", torch.__version__, "| device:", device)

# %% track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import minifw as mf

keras.utils.set_random_seed(0)  # Python, numpy and TensorFlow seeds
print("TensorFlow", tf.__version__, "| GPUs:", tf.config.list_physical_devices("GPU"))

# %% [markdown] track="pytorch"
# ## 1. Linear regression with a hand-written loop
#
# 200 points on the line $y = 3x - 2$, with Gaussian noise of standard deviation 0.5. The model
# $\hat y = wx + b$ has two parameters; the loss is the mean squared error and its gradients are
#
# $$L = \frac1n \sum_{i=1}^n (\hat y_i - y_i)^2, \qquad
#   \frac{\partial L}{\partial w} = \frac2n \sum_i (\hat y_i - y_i)\,x_i, \qquad
#   \frac{\partial L}{\partial b} = \frac2n \sum_i (\hat y_i - y_i).$$
#
# Gradient descent repeats $w \leftarrow w - \eta\,\partial L/\partial w$ (and the same for $b$)
# with the learning rate $\eta = 0.1$. `backward()` computes the gradients; the update runs inside
# `torch.no_grad()` (it must not become part of the graph), and the gradients are reset to zero
# before the next step, since `backward()` adds into `.grad` (notebook 01, section 6).

# %% [markdown] track="tensorflow"
# ## 1. Linear regression with a hand-written loop
#
# 200 points on the line $y = 3x - 2$, with Gaussian noise of standard deviation 0.5. The model
# $\hat y = wx + b$ has two parameters; the loss is the mean squared error and its gradients are
#
# $$L = \frac1n \sum_{i=1}^n (\hat y_i - y_i)^2, \qquad
#   \frac{\partial L}{\partial w} = \frac2n \sum_i (\hat y_i - y_i)\,x_i, \qquad
#   \frac{\partial L}{\partial b} = \frac2n \sum_i (\hat y_i - y_i).$$
#
# Gradient descent repeats $w \leftarrow w - \eta\,\partial L/\partial w$ (and the same for $b$)
# with the learning rate $\eta = 0.1$. The tape computes the gradients; `assign_sub` updates.

# %%
rng = np.random.default_rng(0)
x_reg = rng.uniform(-2, 2, size=(200, 1)).astype(np.float32)
y_reg = (3 * x_reg - 2 + 0.5 * rng.standard_normal((200, 1))).astype(np.float32)

# %% track="pytorch"
x_t, y_t = torch.tensor(x_reg, device=device), torch.tensor(y_reg, device=device)

w = torch.zeros((), device=device, requires_grad=True)
b = torch.zeros((), device=device, requires_grad=True)
learning_rate = 0.1
losses = []
for step in range(100):
    pred = w * x_t + b                          # forward
    loss = ((pred - y_t) ** 2).mean()           # loss
    loss.backward()                             # gradients
    with torch.no_grad():                       # update
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    w.grad = None                               # reset for the next step
    b.grad = None
    losses.append(loss.item())
w_fit, b_fit = w.item(), b.item()

# %% track="tensorflow"
w = tf.Variable(0.0)
b = tf.Variable(0.0)
learning_rate = 0.1
losses = []
for step in range(100):
    with tf.GradientTape() as tape:
        pred = w * x_reg + b                          # forward
        loss = tf.reduce_mean((pred - y_reg) ** 2)    # loss
    dw, db = tape.gradient(loss, [w, b])              # gradients
    w.assign_sub(learning_rate * dw)                  # update
    b.assign_sub(learning_rate * db)
    losses.append(float(loss))
w_fit, b_fit = float(w), float(b)

# %%
# the exact least-squares solution, for comparison
(w_best, b_best), *_ = np.linalg.lstsq(np.hstack([x_reg, np.ones_like(x_reg)]), y_reg[:, 0], rcond=None)
print(f"gradient descent: w = {w_fit:.4f}, b = {b_fit:.4f}, loss {losses[-1]:.4f}")
print(f"least squares:    w = {w_best:.4f}, b = {b_best:.4f}")

assert abs(w_fit - 3) < 0.15 and abs(b_fit + 2) < 0.15            # close to the true line
assert abs(w_fit - w_best) < 1e-3 and abs(b_fit - b_best) < 1e-3    # and to the best fit
assert 0.2 < losses[-1] < 0.3 < losses[0]                           # noise variance is 0.25

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.scatter(x_reg, y_reg, s=8, alpha=0.6)
grid = np.linspace(-2, 2, 2)
ax1.plot(grid, w_fit * grid + b_fit, "r", label=f"$\\hat y = {w_fit:.2f}x {b_fit:+.2f}$")
ax1.legend()
ax1.set_xlabel("$x$")
ax2.plot(losses)
ax2.set_yscale("log")
ax2.set_xlabel("step")
ax2.set_ylabel("MSE")
plt.show()

# %% [markdown]
# The loss stops near $0.25 = 0.5^2$: the variance of the noise, which no line can explain.

# %% [markdown] track="pytorch"
# ## 2. Feeding data in batches
#
# Real data sets do not fit in one step. **Mini-batch** gradient descent uses a small random batch
# for each step, and one pass over all the data is an **epoch**. PyTorch splits the job in two:
#
# - a `Dataset` answers "how many examples?" and "give me example $i$"; `TensorDataset(X, y)` does
#   it for tensors, cutting them along the first axis;
# - a `DataLoader` draws indices (`shuffle=True`: a new random order every epoch, reproducible with a
#   seeded `generator`), fetches the examples and stacks them into batches of `batch_size`; the last
#   batch keeps what is left (`drop_last=True` would drop it). With `num_workers > 0` it prepares
#   batches in other processes while the model trains, worth it for images read from disk.

# %% [markdown] track="tensorflow"
# ## 2. Feeding data in batches
#
# Real data sets do not fit in one step. **Mini-batch** gradient descent uses a small random batch
# for each step, and one pass over all the data is an **epoch**. `tf.data.Dataset` builds such an
# input pipeline:
#
# - `from_tensor_slices((X, y))` cuts arrays into examples along the first axis;
# - `shuffle(buffer_size, seed=...)` draws examples in random order, a new order every epoch
#   (a buffer as large as the data set gives a full shuffle);
# - `batch(32)` groups 32 examples into one tensor; the last batch keeps what is left;
# - `prefetch(tf.data.AUTOTUNE)` prepares the next batch while the model trains on this one.

# %% track="pytorch"
regression_data = TensorDataset(torch.tensor(x_reg), torch.tensor(y_reg))
loader = DataLoader(regression_data, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))

sizes = [len(xb) for xb, yb in loader]
print("examples:", len(regression_data), "| batches per epoch:", len(loader), "| batch sizes:", sizes)
assert sizes == [32] * 6 + [8] and len(loader) == 7            # 200 = 6 * 32 + 8

index_loader = DataLoader(torch.arange(200), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
epoch_1 = torch.cat(list(index_loader)).numpy()
epoch_2 = torch.cat(list(index_loader)).numpy()
assert np.array_equal(np.sort(epoch_1), np.arange(200))       # every example once per epoch
assert not np.array_equal(epoch_1, epoch_2)                    # in a new order each epoch

# %% track="tensorflow"
dataset = (tf.data.Dataset.from_tensor_slices((x_reg, y_reg))
           .shuffle(len(x_reg), seed=0)
           .batch(32)
           .prefetch(tf.data.AUTOTUNE))

sizes = [len(xb) for xb, yb in dataset]
print("batches per epoch:", len(sizes), "| batch sizes:", sizes)
assert sizes == [32] * 6 + [8]                                 # 200 = 6 * 32 + 8

index_data = tf.data.Dataset.range(200).shuffle(200, seed=0).batch(32)
epoch_1 = np.concatenate([batch.numpy() for batch in index_data])
epoch_2 = np.concatenate([batch.numpy() for batch in index_data])
assert np.array_equal(np.sort(epoch_1), np.arange(200))       # every example once per epoch
assert not np.array_equal(epoch_1, epoch_2)                    # in a new order each epoch

# %% [markdown] track="pytorch"
# The same regression trained on mini-batches: 20 epochs of 7 steps each. The batches come out of
# the loader on the CPU; `.to(device)` moves each one to where the parameters are.

# %% [markdown] track="tensorflow"
# The same regression trained on mini-batches: 20 epochs of 7 steps each. The training step is
# wrapped in `@tf.function`, so it runs as a graph (notebook 01, section 8).

# %% track="pytorch"
w = torch.zeros((), device=device, requires_grad=True)
b = torch.zeros((), device=device, requires_grad=True)
for epoch in range(20):
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = ((w * xb + b - yb) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad, b.grad = None, None
print(f"mini-batch SGD after 20 epochs (140 steps): w = {w.item():.3f}, b = {b.item():.3f}")
assert abs(w.item() - w_best) < 0.1 and abs(b.item() - b_best) < 0.1   # noisy steps: close, not exact

# %% track="tensorflow"
w, b = tf.Variable(0.0), tf.Variable(0.0)


@tf.function
def regression_step(xb, yb):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((w * xb + b - yb) ** 2)
    dw, db = tape.gradient(loss, [w, b])
    w.assign_sub(0.1 * dw)
    b.assign_sub(0.1 * db)
    return loss


for epoch in range(20):
    for xb, yb in dataset:
        regression_step(xb, yb)
print(f"mini-batch SGD after 20 epochs (140 steps): w = {float(w):.3f}, b = {float(b):.3f}")
assert abs(float(w) - w_best) < 0.1 and abs(float(b) - b_best) < 0.1   # noisy steps: close, not exact

# %% [markdown]
# ## 3. Binary classification: tumour size and age
#
# The `tumours` data: the size of a tumour (mm) and the patient's age (years) → malignant (1)
# or benign (0). We keep 20 % of the examples as a test set (stratified: both parts have the same
# share of malignant cases), and scale both features to $[0, 1]$:
# $x' = (x - \min) / (\max - \min)$, with the minimum and maximum **of the training set only**:
# the test set stands for future patients, whose values we do not know when we train.

# %% track="pytorch"
X_tum, y_tum = mf.datasets.make_tumours(seed=0)
X_tum_train, X_tum_test, y_tum_train, y_tum_test = mf.train_test_split(X_tum, y_tum, seed=0)
scaler = mf.MinMaxScaler().fit(X_tum_train)
X_tum_train_s, X_tum_test_s = scaler.transform(X_tum_train), scaler.transform(X_tum_test)
print("train", X_tum_train.shape, "test", X_tum_test.shape, "| malignant share", y_tum_train.mean())
print("size range", scaler.min_[0], "to", scaler.max_[0], "mm | age range", scaler.min_[1], "to", scaler.max_[1])

assert X_tum_train.shape == (240, 2) and X_tum_test.shape == (60, 2)
assert X_tum_train_s.min() == 0 and X_tum_train_s.max() == 1         # training data: exactly [0, 1]

# %% track="tensorflow"
X_tum, y_tum = mf.datasets.make_tumours(seed=0)
X_tum_train, X_tum_test, y_tum_train, y_tum_test = mf.train_test_split(X_tum, y_tum, seed=0)
scaler = mf.MinMaxScaler().fit(X_tum_train)
X_tum_train_s, X_tum_test_s = scaler.transform(X_tum_train), scaler.transform(X_tum_test)
y_tum_train_f, y_tum_test_f = y_tum_train.astype(np.float32), y_tum_test.astype(np.float32)
print("train", X_tum_train.shape, "test", X_tum_test.shape, "| malignant share", y_tum_train.mean())
print("size range", scaler.min_[0], "to", scaler.max_[0], "mm | age range", scaler.min_[1], "to", scaler.max_[1])

assert X_tum_train.shape == (240, 2) and X_tum_test.shape == (60, 2)
assert X_tum_train_s.min() == 0 and X_tum_train_s.max() == 1         # training data: exactly [0, 1]


# %% [markdown] track="pytorch"
# The perceptron is one `nn.Linear(2, 1)` layer: it computes one number per patient, the **logit**
# $z = x W^\top + b$ (PyTorch stores $W$ as `(out, in)` = `(1, 2)`), and the probability of
# "malignant" is $p = \sigma(z) = 1 / (1 + e^{-z})$. The loss is the binary cross-entropy,
#
# $$L = -\frac1n \sum_i \big[y_i \log \sigma(z_i) + (1 - y_i) \log(1 - \sigma(z_i))\big].$$
#
# `nn.BCEWithLogitsLoss` takes the logits $z$ (not the probabilities) and computes each term in a
# form that never takes the log of 0; its targets are floats of the same shape as the logits. We
# predict "malignant" when $p > 0.5$, that is when $z > 0$; the accuracy is the mean of the
# booleans `prediction == label` converted to floats (True → 1.0). We start from zero weights, as
# the TensorFlow twin does, and update with plain gradient descent, $\eta = 1$.

# %% [markdown] track="tensorflow"
# The perceptron computes one number per patient, the **logit** $z = x w + b$ with
# $w \in \mathbb R^{2 \times 1}$, and the probability of "malignant" is $p = \sigma(z) = 1 / (1 + e^{-z})$.
# The loss is the binary cross-entropy, averaged with `tf.reduce_mean`:
#
# $$L = -\frac1n \sum_i \big[y_i \log \sigma(z_i) + (1 - y_i) \log(1 - \sigma(z_i))\big].$$
#
# `tf.nn.sigmoid_cross_entropy_with_logits` computes each term from $z$ directly, in a form that
# never takes the log of 0. We predict "malignant" when $p > 0.5$, that is when $z > 0$; the
# accuracy is the mean of the booleans `prediction == label` **cast** to floats (True → 1.0).

# %% track="pytorch"
def perceptron_accuracy(model, X, y):
    with torch.no_grad():
        logits = model(torch.tensor(X, device=device)).squeeze(1)      # (n, 1) -> (n,)
    return ((logits > 0).cpu() == torch.tensor(y == 1)).float().mean().item()


tumour_data = TensorDataset(torch.tensor(X_tum_train_s), torch.tensor(y_tum_train, dtype=torch.float32))
tumour_batches = DataLoader(tumour_data, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
bce = nn.BCEWithLogitsLoss()

perceptron = nn.Linear(2, 1).to(device)
nn.init.zeros_(perceptron.weight)
nn.init.zeros_(perceptron.bias)
for epoch in range(30):
    for xb, yb in tumour_batches:
        xb, yb = xb.to(device), yb.to(device)
        loss = bce(perceptron(xb).squeeze(1), yb)
        perceptron.zero_grad()                   # every parameter's .grad to zero (None)
        loss.backward()
        with torch.no_grad():
            for p in perceptron.parameters():    # weight (1, 2) and bias (1,)
                p -= 1.0 * p.grad
train_acc = perceptron_accuracy(perceptron, X_tum_train_s, y_tum_train)
test_acc = perceptron_accuracy(perceptron, X_tum_test_s, y_tum_test)
w_tum, b_tum = perceptron.weight.detach().cpu().numpy().ravel(), perceptron.bias.item()
print(f"w = {w_tum}, b = {b_tum:.3f}: training accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}")
assert train_acc > 0.8 and test_acc > 0.85


# %% track="tensorflow"
def perceptron_loss(w, b, X, y):
    logits = tf.squeeze(X @ w + b, axis=-1)        # (n, 1) -> (n,)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))


def perceptron_accuracy(w, b, X, y):
    logits = tf.squeeze(X @ w + b, axis=-1)
    return float(tf.reduce_mean(tf.cast((logits > 0) == (y == 1), tf.float32)))


tumour_batches = (tf.data.Dataset.from_tensor_slices((X_tum_train_s, y_tum_train_f))
                  .shuffle(240, seed=0).batch(32).prefetch(tf.data.AUTOTUNE))
w = tf.Variable(tf.zeros((2, 1)))
b = tf.Variable(tf.zeros((1,)))


@tf.function
def perceptron_step(xb, yb, learning_rate=1.0):
    with tf.GradientTape() as tape:
        loss = perceptron_loss(w, b, xb, yb)
    dw, db = tape.gradient(loss, [w, b])
    w.assign_sub(learning_rate * dw)
    b.assign_sub(learning_rate * db)
    return loss


for epoch in range(30):
    for xb, yb in tumour_batches:
        perceptron_step(xb, yb)
train_acc = perceptron_accuracy(w, b, X_tum_train_s, y_tum_train)
test_acc = perceptron_accuracy(w, b, X_tum_test_s, y_tum_test)
w_tum, b_tum = w.numpy().ravel(), float(b.numpy()[0])
print(f"w = {w_tum}, b = {b_tum:.3f}: training accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}")
assert train_acc > 0.8 and test_acc > 0.85


# %% [markdown]
# Both weights are positive: the risk grows with size and with age. The decision boundary
# $z = 0$ is a straight line; drawn in the original units (mm, years) it separates most of the
# red and blue points. The labels were drawn at random from a probability, so points near the
# line fall on both sides and no line can be right about all of them.

# %%
def boundary_in_original_units(w, b, sizes):
    """The ages where z = 0, for the given sizes, undoing the min-max scaling of both axes."""
    (w_size, w_age) = w
    size_scaled = (sizes - scaler.min_[0]) * scaler.scale_[0]
    age_scaled = -(w_size * size_scaled + b) / w_age
    return age_scaled / scaler.scale_[1] + scaler.min_[1]


assert w_tum.min() > 0
sizes_grid = np.linspace(0, 52, 2)
plt.figure(figsize=(5, 3.5))
plt.scatter(*X_tum_train.T, c=y_tum_train, cmap="coolwarm", s=12, label="training")
plt.scatter(*X_tum_test.T, c=y_tum_test, cmap="coolwarm", s=40, marker="x", label="test")
plt.plot(sizes_grid, boundary_in_original_units(w_tum, b_tum, sizes_grid), "k", label="$z = 0$")
plt.ylim(15, 95)
plt.xlabel("tumour size (mm)")
plt.ylabel("age (years)")
plt.legend(loc="lower left")
plt.show()


# %% [markdown] track="pytorch"
# ## 4. Optimizers inside the loop
#
# Writing the update by hand gets tedious for many parameters and better rules. A `torch.optim`
# optimizer does it: it is built with the parameters it updates, `optimizer.zero_grad()` resets
# their gradients and `optimizer.step()` applies one update from their `.grad`. The loop becomes
#
# ```python
# optimizer.zero_grad()
# loss = loss_fn(model(xb), yb)
# loss.backward()
# optimizer.step()
# ```
#
# Plain SGD with learning rate $\eta$ is exactly our hand-written update; one step from the same
# start gives the same weights. And `minifw`'s optimizers follow `torch.optim`'s rules, so its Adam
# takes the very same step as PyTorch's:

# %% [markdown] track="tensorflow"
# ## 4. Optimizers inside the loop
#
# Writing the update by hand gets tedious for many parameters and better rules. A Keras optimizer
# does it: `optimizer.apply_gradients(zip(grads, variables))`. Plain SGD with learning rate
# $\eta$ is exactly our `assign_sub`; one step from the same start gives the same weights. And
# `minifw`'s Adam takes the same step as Keras's (given the same $\epsilon = 10^{-8}$; Keras's
# default is $10^{-7}$):

# %% track="pytorch"
def tumour_loss(model):
    X = torch.tensor(X_tum_train_s, device=device)
    return bce(model(X).squeeze(1), torch.tensor(y_tum_train, dtype=torch.float32, device=device))


start = nn.Linear(2, 1).to(device)
by_hand, by_sgd, by_adam = copy.deepcopy(start), copy.deepcopy(start), copy.deepcopy(start)
tumour_loss(by_hand).backward()
with torch.no_grad():
    for p in by_hand.parameters():
        p -= 0.1 * p.grad
sgd = torch.optim.SGD(by_sgd.parameters(), lr=0.1)
sgd.zero_grad()
tumour_loss(by_sgd).backward()
sgd.step()
for p_hand, p_sgd in zip(by_hand.parameters(), by_sgd.parameters()):
    assert torch.allclose(p_hand, p_sgd)

adam = torch.optim.Adam(by_adam.parameters(), lr=0.1)
adam.zero_grad()
tumour_loss(by_adam).backward()
mf_params = [mf.Parameter(p.detach().cpu().numpy().copy()) for p in by_adam.parameters()]
for mp, p in zip(mf_params, by_adam.parameters()):
    mp.grad = p.grad.cpu().numpy().copy()
adam.step()
mf.Adam(mf_params, lr=0.1).step()
for mp, p in zip(mf_params, by_adam.parameters()):
    np.testing.assert_allclose(mp.data, p.detach().cpu().numpy(), rtol=1e-5, atol=1e-6)
print("one SGD step = the hand-written update; one torch.optim.Adam step = one minifw.Adam step")

# %% track="tensorflow"
w_hand, b_hand = tf.Variable([[0.5], [-0.5]]), tf.Variable([0.1])
w_opt, b_opt = tf.Variable([[0.5], [-0.5]]), tf.Variable([0.1])
with tf.GradientTape() as tape:
    loss = perceptron_loss(w_hand, b_hand, X_tum_train_s, y_tum_train_f)
grads = tape.gradient(loss, [w_hand, b_hand])
w_hand.assign_sub(0.1 * grads[0])
b_hand.assign_sub(0.1 * grads[1])
keras.optimizers.SGD(learning_rate=0.1).apply_gradients(zip(grads, [w_opt, b_opt]))
assert np.allclose(w_hand.numpy(), w_opt.numpy()) and np.allclose(b_hand.numpy(), b_opt.numpy())

w_adam, b_adam = tf.Variable([[0.5], [-0.5]]), tf.Variable([0.1])
mf_params = [mf.Parameter(np.array([[0.5], [-0.5]], dtype=np.float32)), mf.Parameter(np.array([0.1], dtype=np.float32))]
for p, g in zip(mf_params, grads):
    p.grad = g.numpy()
keras.optimizers.Adam(learning_rate=0.1, epsilon=1e-8).apply_gradients(zip(grads, [w_adam, b_adam]))
mf.Adam(mf_params, lr=0.1).step()
np.testing.assert_allclose(mf_params[0].data, w_adam.numpy(), rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(mf_params[1].data, b_adam.numpy(), rtol=1e-5, atol=1e-6)
print("one SGD step = the hand-written update; one keras Adam step = one minifw.Adam step")


# %% [markdown] track="pytorch"
# Three popular rules, with $g$ the gradient of one parameter at step $t$ (all operations
# element-wise, written as `torch.optim` computes them):
#
# | optimizer | update |
# |---|---|
# | SGD with momentum $\mu$ | $v \leftarrow \mu v + g$, $\quad \theta \leftarrow \theta - \eta v$ |
# | RMSprop | $s \leftarrow \alpha s + (1-\alpha) g^2$, $\quad \theta \leftarrow \theta - \eta\, g / (\sqrt{s} + \epsilon)$ |
# | Adam | $m \leftarrow \beta_1 m + (1-\beta_1) g$, $\; s \leftarrow \beta_2 s + (1-\beta_2) g^2$, $\quad \theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat s} + \epsilon)$ |
#
# ($\hat m$, $\hat s$: $m$ and $s$ divided by $1 - \beta^t$, which corrects their start at 0.)
# Momentum accumulates past gradients, so it speeds up along directions where they agree.
# RMSprop and Adam divide by the recent size of the gradient, so the size of a step no longer
# depends on the scale of the gradient, only on $\eta$. Adam's steps are at most about $\eta$.
# RMSprop's first steps are larger: $s$ starts at 0, so after the first step
# $s = (1 - \alpha) g^2$ and the step is $\eta\, |g| / \sqrt{(1-\alpha) g^2} = \eta / \sqrt{1 - \alpha}$,
# that is $10\eta$ with PyTorch's $\alpha = 0.99$; it shrinks towards $\eta$ as $s$ catches up.
#
# We train the perceptron with each, from zero weights for 30 epochs, print the training
# accuracy every 5 epochs, and record the largest weight change of every step:

# %% [markdown] track="tensorflow"
# Three popular rules, with $g$ the gradient of one parameter at step $t$ (all operations
# element-wise):
#
# | optimizer | update (as Keras writes it) |
# |---|---|
# | SGD with momentum $\mu$ | $v \leftarrow \mu v - \eta g$, $\quad \theta \leftarrow \theta + v$ |
# | RMSprop | $s \leftarrow \rho s + (1-\rho) g^2$, $\quad \theta \leftarrow \theta - \eta\, g / \sqrt{s + \epsilon}$ |
# | Adam | $m \leftarrow \beta_1 m + (1-\beta_1) g$, $\; s \leftarrow \beta_2 s + (1-\beta_2) g^2$, $\quad \theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat s} + \epsilon)$ |
#
# ($\hat m$, $\hat s$: $m$ and $s$ divided by $1 - \beta^t$, which corrects their start at 0.)
# Momentum accumulates past gradients, so it speeds up along directions where they agree.
# RMSprop and Adam divide by the recent size of the gradient, so the size of a step no longer
# depends on the scale of the gradient, only on $\eta$. Adam's steps are at most about $\eta$.
# RMSprop's first steps are larger: $s$ starts at 0, so after the first step
# $s = (1 - \rho) g^2$ and the step is $\eta\, |g| / \sqrt{(1-\rho) g^2 + \epsilon} \approx \eta / \sqrt{1 - \rho}$,
# that is $3.2\eta$ with Keras's $\rho = 0.9$; it shrinks towards $\eta$ as $s$ catches up.
# (PyTorch's RMSprop adds $\epsilon$ outside the root, $g / (\sqrt{s} + \epsilon)$, and defaults
# to $\alpha = 0.99$, so its first step is $10\eta$.)
#
# We train the perceptron with each, from zero weights for 30 epochs, print the training
# accuracy every 5 epochs, and record the largest weight change of every step:

# %% track="pytorch"
def train_perceptron(make_optimizer, epochs=30):
    """Train a fresh perceptron (zero weights). Returns it, its training accuracy after each
    epoch and the largest change of a weight at each step."""
    model = nn.Linear(2, 1).to(device)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = make_optimizer(model.parameters())
    accuracies, moves = [], []
    for epoch in range(epochs):
        for xb, yb in tumour_batches:
            xb, yb = xb.to(device), yb.to(device)
            before = model.weight.detach().clone()
            optimizer.zero_grad()
            loss = bce(model(xb).squeeze(1), yb)
            loss.backward()
            optimizer.step()
            moves.append((model.weight.detach() - before).abs().max().item())
        accuracies.append(perceptron_accuracy(model, X_tum_train_s, y_tum_train))
    return model, accuracies, np.array(moves)


optimizers = {
    "SGD(lr=0.1, momentum=0.9)": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
    "Adam(lr=1e-3)": lambda params: torch.optim.Adam(params, lr=1e-3),
    "RMSprop(lr=1e-3)": lambda params: torch.optim.RMSprop(params, lr=1e-3),
}
results = {}
for name, make_optimizer in optimizers.items():
    model, accuracies, moves = train_perceptron(make_optimizer)
    largest_weight = model.weight.abs().max().item()
    results[name] = (largest_weight, accuracies, moves)
    print(f"{name:<26}", " ".join(f"{a:.3f}" for a in accuracies[4::5]), f"| |w| max {largest_weight:.2f}")
rmsprop_rho = 0.99  # torch.optim.RMSprop's default decay of the squared-gradient average (alpha)


# %% track="tensorflow"
def train_perceptron(optimizer, epochs=30):
    """Train a fresh perceptron (zero weights). Returns its weights, its accuracy after each epoch
    and the largest change of a weight at each step."""
    w, b = tf.Variable(tf.zeros((2, 1))), tf.Variable(tf.zeros((1,)))

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = perceptron_loss(w, b, xb, yb)
        before = tf.identity(w)
        optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        return tf.reduce_max(tf.abs(w - before))

    accuracies, moves = [], []
    for epoch in range(epochs):
        for xb, yb in tumour_batches:
            moves.append(float(step(xb, yb)))
        accuracies.append(perceptron_accuracy(w, b, X_tum_train_s, y_tum_train))
    return w, b, accuracies, np.array(moves)


optimizers = {
    "SGD(lr=0.1, momentum=0.9)": keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    "Adam(lr=1e-3)": keras.optimizers.Adam(learning_rate=1e-3),
    "RMSprop(lr=1e-3)": keras.optimizers.RMSprop(learning_rate=1e-3),
}
results = {}
for name, optimizer in optimizers.items():
    w_o, b_o, accuracies, moves = train_perceptron(optimizer)
    largest_weight = float(np.abs(w_o.numpy()).max())
    results[name] = (largest_weight, accuracies, moves)
    print(f"{name:<26}", " ".join(f"{a:.3f}" for a in accuracies[4::5]), f"| |w| max {largest_weight:.2f}")
rmsprop_rho = 0.9  # keras.optimizers.RMSprop's default decay of the squared-gradient average (rho)


# %%
plt.figure(figsize=(5, 3))
for name, (_, accuracies, _) in results.items():
    plt.plot(range(1, 31), accuracies, label=name)
plt.xlabel("epoch")
plt.ylabel("training accuracy")
plt.legend()
plt.show()

# %% [markdown] track="pytorch"
# SGD with momentum learns the boundary within a few epochs, with weights above 2. Adam and
# RMSprop, at the learning rate $\eta = 10^{-3}$ that suits deep networks, are stuck near the
# share of the majority class (55 %, everyone "malignant"). A weight can grow no faster than its
# steps add up: Adam's steps are at most $\eta$ here, so after $30 \times 8 = 240$ steps no weight
# can exceed $240\,\eta = 0.24$; RMSprop starts with a step of $10\eta$ and its steps add up to
# a little more (printed below), still far from the weights above 2 that SGD found. The learning
# rate must fit the problem; Adam with $10^{-3}$ shines on the network of the next section, whose
# many weights are all small.

# %% [markdown] track="tensorflow"
# SGD with momentum learns the boundary within a few epochs, with weights above 2. Adam and
# RMSprop, at the learning rate $\eta = 10^{-3}$ that suits deep networks, are stuck near the
# share of the majority class (55 %, everyone "malignant"). A weight can grow no faster than its
# steps add up: Adam's steps are at most $\eta$ here, so after $30 \times 8 = 240$ steps no weight
# can exceed $240\,\eta = 0.24$; RMSprop starts with a step of $3.2\eta$ and its steps add up to
# a little more (printed below), still far from the weights above 2 that SGD found. The learning
# rate must fit the problem; Adam with $10^{-3}$ shines on the network of the next section, whose
# many weights are all small.

# %%
sgd_largest, sgd_acc, _ = results["SGD(lr=0.1, momentum=0.9)"]
assert sgd_acc[-1] > 0.8 and sgd_largest > 2
for name in ["Adam(lr=1e-3)", "RMSprop(lr=1e-3)"]:
    largest_weight, accuracies, moves = results[name]
    steps_in_eta = moves / 1e-3
    print(f"{name:<17} steps in units of eta: first {steps_in_eta[0]:.2f}, largest {steps_in_eta.max():.2f}, "
          f"sum of all {len(moves)}: {moves.sum():.3f} | |w| max {largest_weight:.3f}")
    assert largest_weight <= moves.sum() + 1e-6              # a weight is at most the sum of its steps
    assert max(accuracies) < sgd_acc[-1] - 0.1               # far behind SGD with momentum
    assert max(accuracies) < y_tum_train.mean() + 0.05       # near the majority share (0.55)
adam_steps, rmsprop_steps = results["Adam(lr=1e-3)"][2] / 1e-3, results["RMSprop(lr=1e-3)"][2] / 1e-3
assert adam_steps.max() < 1.05 and results["Adam(lr=1e-3)"][0] <= 240e-3, "expected Adam steps of at most about eta"
first_step = 1 / np.sqrt(1 - rmsprop_rho)
assert abs(rmsprop_steps[0] - first_step) < 0.01, \
    f"expected RMSprop's first step to be eta / sqrt(1 - {rmsprop_rho}) = {first_step:.2f} eta"
assert rmsprop_steps.sum() * 1e-3 < 0.5, "expected RMSprop's steps to add up to far less than 2"


# %% [markdown]
# ## 5. A multi-layer classifier on digits
#
# Real images now: MNIST's handwritten digits, 28 × 28 gray pixels each. The course ships 5000 of
# them, 500 per digit (`mf.datasets.load_mnist_sample()`, no network needed), split 60 / 20 / 20 %
# (stratified) into 3000 training, 1000 validation and 1000 test images. The pixels are already
# divided by 255 into $[0, 1]$, and a dense network reads each image as one vector of
# $28 \cdot 28 = 784$ numbers, row after row. The **validation** set tells us how training goes
# and which epoch is best; the **test** set is used once, at the end.
#
# `DATA = "mnist"` or `"fashion-mnist"` in the first code cell trains on a full data set instead
# (60 000 training images, downloaded once into `~/.cache/minifw`; 10 000 of them are held out for
# validation, and the official 10 000 test images are the test set). It then runs for minutes,
# and thresholds that depend on the data say which data they hold for.

# %%
# the sample: 60 / 20 / 20 % stratified; a full set: 10 000 training images held out for validation,
# its official 10 000 test images as the test set
X_train, X_val, X_test, y_train, y_val, y_test = mf.datasets.load_image_splits(
    DATA, val_size=0.2 if DATA == "mnist-sample" else 10_000, test_size=0.2)
CLASSES = mf.datasets.FASHION_MNIST_CLASSES if DATA == "fashion-mnist" else tuple("0123456789")
MIN_TEST_ACCURACY = {"mnist-sample": 0.90, "mnist": 0.96, "fashion-mnist": 0.84}[DATA]   # section 5's network
print(DATA, "| train", X_train.shape, "validation", X_val.shape, "test", X_test.shape)
if DATA == "mnist-sample":
    assert (len(X_train), len(X_val), len(X_test)) == (3000, 1000, 1000)

fig, axes = plt.subplots(2, 10, figsize=(12, 2.8))
for ax, image, label in zip(axes.flat, X_train, y_train):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(CLASSES[label], fontsize=9)
    ax.axis("off")
plt.show()

# %% track="pytorch"
train_loader = DataLoader(TensorDataset(torch.tensor(X_train), torch.tensor(y_train)), batch_size=64,
                          shuffle=True, generator=torch.Generator().manual_seed(0))
X_val_t, y_val_t = torch.tensor(X_val, device=device), torch.tensor(y_val, device=device)
X_test_t, y_test_t = torch.tensor(X_test, device=device), torch.tensor(y_test, device=device)

# %% [markdown] track="pytorch"
# The network is $784 \to 128 \to \mathrm{ReLU} \to 64 \to \mathrm{ReLU} \to 10$: three weight
# matrices and bias vectors, $h_1 = \mathrm{relu}(xW_1^\top + b_1)$, $h_2 = \mathrm{relu}(h_1 W_2^\top + b_2)$,
# and 10 logits $z = h_2 W_3^\top + b_3$, one per digit. `nn.Sequential` chains layers exactly like
# `mf.Sequential`. Each `nn.Linear(n_in, n_out)` starts with PyTorch's default initialization,
# $W, b \sim U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})$.

# %% [markdown] track="tensorflow"
# The network is $784 \to 128 \to \mathrm{ReLU} \to 64 \to \mathrm{ReLU} \to 10$: three weight
# matrices and bias vectors, $h_1 = \mathrm{relu}(xW_1 + b_1)$, $h_2 = \mathrm{relu}(h_1 W_2 + b_2)$,
# and 10 logits $z = h_2 W_3 + b_3$, one per digit. The loss is the softmax cross-entropy
# $L = -\frac1N \sum_i \log \mathrm{softmax}(z_i)_{y_i}$
# (`tf.nn.sparse_softmax_cross_entropy_with_logits`: "sparse" means the labels are class
# indices, not one-hot rows). Weights start as in `minifw`: **He uniform**,
# $W \sim U(-a, a)$ with $a = \sqrt{6 / n_\text{in}}$, biases at 0.

# %% track="pytorch"
torch.manual_seed(0)
sequential = nn.Sequential(
    nn.Linear(784, 128), nn.ReLU(),
    nn.Linear(128, 64), nn.ReLU(),
    nn.Linear(64, 10),
).to(device)
print(sequential)

n_params = sum(p.numel() for p in sequential.parameters())
print("parameters:", n_params)
assert n_params == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10 == 109_386

# %% track="tensorflow"
init_rng = tf.random.Generator.from_seed(0)


def dense_parameters(n_in, n_out):
    a = np.sqrt(6 / n_in)
    return tf.Variable(init_rng.uniform((n_in, n_out), -a, a)), tf.Variable(tf.zeros((n_out,)))


params = [*dense_parameters(784, 128), *dense_parameters(128, 64), *dense_parameters(64, 10)]


def mlp(x):
    W1, b1, W2, b2, W3, b3 = params
    h1 = tf.nn.relu(x @ W1 + b1)
    h2 = tf.nn.relu(h1 @ W2 + b2)
    return h2 @ W3 + b3            # logits


def cross_entropy(logits, labels):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def accuracy(logits, labels):
    return float(tf.reduce_mean(tf.cast(tf.argmax(logits, axis=1) == labels, tf.float32)))


n_params = sum(int(tf.size(p)) for p in params)
print("parameters:", n_params)
assert n_params == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10 == 109_386
assert abs(accuracy(mlp(X_val), y_val) - 0.1) < 0.1          # untrained: about chance, 1 in 10

# %% [markdown] track="pytorch"
# ### The same network as an `nn.Module` subclass
#
# When a model is more than a chain (two inputs, a skip connection, an `if`), you write it as a
# class: the layers are attributes set in `__init__` (so the module registers their parameters),
# and `forward` says how they connect, with functions from `torch.nn.functional` (`F.relu`) for the
# steps without parameters. Calling `model(x)` runs `forward`. With the same weights it computes
# exactly what the `nn.Sequential` computes:

# %% [markdown] track="tensorflow"
# The loop: Adam with learning rate $10^{-3}$, batches of 64, 15 epochs. After each epoch
# we measure the loss and accuracy on the validation set, and keep a copy of the weights whenever
# the validation loss is the best so far: **early stopping** done by hand (Keras's callback does
# this in notebook 03).

# %% track="pytorch"
import torch.nn.functional as F


class ImageMLP(nn.Module):
    def __init__(self, hidden=(128, 64), n_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.out = nn.Linear(hidden[1], n_classes)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        h = F.relu(self.fc2(h))
        return self.out(h)          # logits


functional = ImageMLP().to(device)
functional.load_state_dict(dict(zip(functional.state_dict(), sequential.state_dict().values())))
print([name for name, _ in functional.named_parameters()])
assert sum(p.numel() for p in functional.parameters()) == 109_386
assert torch.allclose(functional(X_val_t), sequential(X_val_t))

# %% track="tensorflow"
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
digit_batches = (tf.data.Dataset.from_tensor_slices((X_train, y_train))
                 .shuffle(len(X_train), seed=0).batch(64).prefetch(tf.data.AUTOTUNE))


@tf.function
def train_step(xb, yb):
    with tf.GradientTape() as tape:
        logits = mlp(xb)
        loss = cross_entropy(logits, yb)
    optimizer.apply_gradients(zip(tape.gradient(loss, params), params))
    return loss, tf.reduce_sum(tf.cast(tf.argmax(logits, axis=1) == yb, tf.float32))


history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
best = {"val_loss": np.inf}
for epoch in range(15):
    loss_sum, correct = 0.0, 0.0
    for xb, yb in digit_batches:
        loss, n_correct = train_step(xb, yb)
        loss_sum += float(loss) * len(xb)
        correct += float(n_correct)
    val_logits = mlp(X_val)
    history["loss"].append(loss_sum / len(X_train))        # mean over the epoch's batches
    history["accuracy"].append(correct / len(X_train))
    history["val_loss"].append(float(cross_entropy(val_logits, y_val)))
    history["val_accuracy"].append(accuracy(val_logits, y_val))
    if history["val_loss"][-1] < best["val_loss"]:
        best = {"epoch": epoch + 1, "val_loss": history["val_loss"][-1], "weights": [p.numpy() for p in params]}
    if epoch % 5 == 4:
        print(f"epoch {epoch + 1:2d}: loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.3f}, "
              f"val_loss {history['val_loss'][-1]:.4f}, val_accuracy {history['val_accuracy'][-1]:.3f}")

# %% [markdown] track="pytorch"
# ### Loss and accuracy
#
# The loss is the softmax cross-entropy $L = -\frac1N \sum_i \log \mathrm{softmax}(z_i)_{y_i}$.
# `nn.CrossEntropyLoss` takes the **logits** and the class **indices** (`int64`); it applies the
# log-softmax itself, so the network has no softmax layer. For the accuracy we use `torchmetrics`,
# which can accumulate over the batches of an epoch (`update` per batch, then `compute` and `reset`)
# or, called like a function, give the value for one batch. Mind its default `average="macro"`
# (the mean of the 10 per-class accuracies); the plain share of correct answers is
# `average="micro"`. Untrained, the network is right about 1 time in 10.

# %% track="pytorch"
cross_entropy = nn.CrossEntropyLoss()
accuracy = torchmetrics.classification.MulticlassAccuracy(num_classes=10, average="micro").to(device)
with torch.no_grad():
    untrained = accuracy(sequential(X_val_t), y_val_t).item()
print(f"untrained validation accuracy: {untrained:.3f}")
assert abs(untrained - 0.1) < 0.1


# %% [markdown] track="pytorch"
# ### The training loop
#
# Adam with learning rate $10^{-3}$, batches of 64, 15 epochs. `model.train()` and
# `model.eval()` switch layers such as dropout and batch normalization between their two modes
# (ours has none, but the habit matters); `torch.no_grad()` skips the graph when we only measure.
# After each epoch we compute the loss and accuracy on the validation set, and keep a copy of the
# weights whenever the validation loss is the best so far: **early stopping** done by hand
# (Lightning's callback does this in notebook 03).

# %% track="pytorch"
def fit(model, loss_fn, epochs=15, lr=1e-3):
    """Train with Adam on the images; return the history and the best epoch (by validation loss)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_accuracy = torchmetrics.classification.MulticlassAccuracy(num_classes=10, average="micro").to(device)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    best = {"val_loss": np.inf}
    for epoch in range(epochs):
        model.train()
        loss_sum = 0.0
        train_accuracy.reset()
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(xb)
            train_accuracy.update(logits.detach(), yb)
        history["loss"].append(loss_sum / len(X_train))        # mean over the epoch's examples
        history["accuracy"].append(train_accuracy.compute().item())
        model.eval()
        with torch.no_grad():
            val_logits = model(X_val_t)
            history["val_loss"].append(loss_fn(val_logits, y_val_t).item())
            history["val_accuracy"].append(accuracy(val_logits, y_val_t).item())
        if history["val_loss"][-1] < best["val_loss"]:
            best = {"epoch": epoch + 1, "val_loss": history["val_loss"][-1],
                    "weights": copy.deepcopy(model.state_dict())}
        if epoch % 5 == 4:
            print(f"epoch {epoch + 1:2d}: loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.3f}, "
                  f"val_loss {history['val_loss'][-1]:.4f}, val_accuracy {history['val_accuracy'][-1]:.3f}")
    return history, best


history, best = fit(sequential, cross_entropy)

# %% [markdown]
# Back to the best epoch's weights, and **one** look at the test set:

# %% track="pytorch"
sequential.load_state_dict(best["weights"])
sequential.eval()
with torch.no_grad():
    test_accuracy = accuracy(sequential(X_test_t), y_test_t).item()
print(f"best epoch {best['epoch']} (val_loss {best['val_loss']:.4f}); test accuracy {test_accuracy:.3f}")
assert test_accuracy > MIN_TEST_ACCURACY, f"{DATA}: expected a test accuracy above {MIN_TEST_ACCURACY}"

# %% [markdown] track="pytorch"
# ### Label smoothing
#
# Cross-entropy keeps pushing the correct logit up even when the answer is already right, so a
# network becomes **over-confident**. `nn.CrossEntropyLoss(label_smoothing=ε)` replaces the one-hot
# target by $q = (1 - \varepsilon)\,\mathrm{onehot}(y) + \varepsilon / C$ for $C$ classes,
# $L = -\frac1N \sum_i \sum_c q_{ic} \log \mathrm{softmax}(z_i)_c$: the best prediction is then no
# longer probability 1. `minifw.CrossEntropy(label_smoothing=...)` uses the same formula. We train the
# `ImageMLP` class with $\varepsilon = 0.1$ and compare how sure the two networks are of their answers.

# %% track="pytorch"
smooth = nn.CrossEntropyLoss(label_smoothing=0.1)
some_logits, some_labels = torch.randn(5, 10), torch.tensor([0, 3, 9, 3, 1])
np.testing.assert_allclose(smooth(some_logits, some_labels).item(),
                           mf.CrossEntropy(label_smoothing=0.1)(some_logits.numpy(), some_labels.numpy())[0], rtol=1e-5)

torch.manual_seed(0)
smoothed_model = ImageMLP().to(device)
smooth_history, smooth_best = fit(smoothed_model, smooth)
smoothed_model.load_state_dict(smooth_best["weights"])
smoothed_model.eval()
with torch.no_grad():
    smooth_test_accuracy = accuracy(smoothed_model(X_test_t), y_test_t).item()
    confidence_plain = F.softmax(sequential(X_test_t), dim=1).max(dim=1).values.mean().item()
    confidence_smooth = F.softmax(smoothed_model(X_test_t), dim=1).max(dim=1).values.mean().item()
print(f"test accuracy: plain {test_accuracy:.3f}, smoothed {smooth_test_accuracy:.3f}")
print(f"mean probability of the predicted class: plain {confidence_plain:.3f}, smoothed {confidence_smooth:.3f}")

assert smooth_test_accuracy > MIN_TEST_ACCURACY, f"{DATA}: expected label smoothing to be as accurate"
assert confidence_smooth < confidence_plain - 0.02  # ... and less sure of itself

# %% track="tensorflow"
for p, value in zip(params, best["weights"]):
    p.assign(value)
test_accuracy = accuracy(mlp(X_test), y_test)
print(f"best epoch {best['epoch']} (val_loss {best['val_loss']:.4f}); test accuracy {test_accuracy:.3f}")
assert test_accuracy > MIN_TEST_ACCURACY, f"{DATA}: expected a test accuracy above {MIN_TEST_ACCURACY}"

# %% [markdown] track="pytorch"
# ## 6. Training and validation curves
#
# Plot the four numbers per epoch (of the network trained without label smoothing). The training
# loss keeps falling: the network fits the training set ever more closely, and on the sample its
# training accuracy ends near 99 %. After epoch 5 the training loss falls to a quarter or less
# while the validation loss falls by about a tenth (and would eventually rise), and the validation
# accuracy hardly moves: later epochs learn details of the training examples that do not carry
# over to new ones. The gap between the two curves measures this **overfitting**.

# %% [markdown] track="tensorflow"
# ## 6. Training and validation curves
#
# Plot the four numbers per epoch. The training loss keeps falling: the network fits the training
# set ever more closely, and on the sample its training accuracy ends near 99 %. After epoch 5 the
# training loss falls to a quarter or less while the validation loss falls by about a tenth (and
# would eventually rise), and the validation accuracy hardly moves: later epochs learn details of
# the training examples that do not carry over to new ones. The gap between the two curves
# measures this **overfitting**.

# %%
epochs = range(1, len(history["loss"]) + 1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(epochs, history["loss"], label="training")
ax1.plot(epochs, history["val_loss"], label="validation")
ax1.axvline(best["epoch"], color="gray", ls=":", label="best epoch")
ax1.set_yscale("log")
ax1.set_xlabel("epoch")
ax1.set_ylabel("cross-entropy")
ax1.legend()
ax2.plot(epochs, history["accuracy"], label="training")
ax2.plot(epochs, history["val_accuracy"], label="validation")
ax2.set_ylim(0.8, 1.0)
ax2.set_xlabel("epoch")
ax2.set_ylabel("accuracy")
ax2.legend()
plt.show()

assert history["loss"][-1] < history["loss"][0] / 10                  # training loss keeps falling
assert history["loss"][-1] < history["val_loss"][-1]                  # and ends below the validation loss
if DATA == "mnist-sample":
    assert history["accuracy"][-1] > 0.98, "expected the training accuracy to end near 99 % on the sample"
assert best["val_loss"] < history["val_loss"][0]
train_ratio = history["loss"][-1] / history["loss"][4]           # epochs 5 -> 15
val_ratio = history["val_loss"][-1] / history["val_loss"][4]
print(f"loss at epoch 15 / epoch 5: training {train_ratio:.2f}, validation {val_ratio:.2f}")
assert train_ratio < 0.3 and val_ratio > 0.8, "expected the training loss to fall far faster after epoch 5"

# %% [markdown] track="pytorch"
# ## Try it
# 1. Section 1: try learning rates 0.01, 0.5 and 1.1. Which converge, which diverge? The largest
#    stable rate is $2 / \lambda_{\max}$ of the Hessian $\frac2n X^\top X$ (with a column of ones): compute it.
# 2. Section 3: train the perceptron on the **unscaled** features with the same learning rate.
#    What happens to the loss, and why does the scale of the inputs matter?
# 3. Section 4: give Adam and RMSprop the learning rate 0.05. How many epochs do they need now?
# 4. Section 5: build `ImageMLP(hidden=(32, 16))`. How many parameters does it have (work it out
#    first), and how accurate is it? Then set `DATA = "fashion-mnist"` (needs the network once):
#    how much lower is the accuracy on clothes?
# 5. Add weight decay to the optimizer (`torch.optim.Adam(..., weight_decay=1e-3)`, an L2 penalty
#    folded into the update) and watch the gap between the curves of section 6.
#
# **Next:** `03-high-level-pytorch.ipynb` trains the same classifier with PyTorch Lightning in a few
# lines. The TensorFlow twin of this notebook is `02-training-by-hand-tensorflow.ipynb`; the labs in
# `labs/` practise both.

# %% [markdown] track="tensorflow"
# ## Try it
# 1. Section 1: try learning rates 0.01, 0.5 and 1.1. Which converge, which diverge? The largest
#    stable rate is $2 / \lambda_{\max}$ of the Hessian $\frac2n X^\top X$ (with a column of ones): compute it.
# 2. Section 3: train the perceptron on the **unscaled** features with the same learning rate.
#    What happens to the loss, and why does the scale of the inputs matter?
# 3. Section 4: give Adam and RMSprop the learning rate 0.05. How many epochs do they need now?
# 4. Section 5: replace the hand-written He initialization by $U(-0.01, 0.01)$. Does the network
#    still learn within 15 epochs? Then set `DATA = "fashion-mnist"` (needs the network once): how
#    much lower is the accuracy on clothes?
# 5. Add an L2 penalty $\lambda \sum W^2$ to the loss inside `train_step` and watch the gap between
#    the curves of section 6.
#
# **Next:** `03-high-level-tensorflow.ipynb` trains the same classifier with Keras in a few lines.
# The PyTorch twin of this notebook is `02-training-by-hand-pytorch.ipynb`; the labs in `labs/`
# practise both.

# %% [markdown]
# ## Review questions
# 1. What are the four steps every training loop repeats, and why must the gradients be reset
#    before each `backward` / tape?
#    <details><summary>Answer</summary>
#
#    Forward, loss, gradients, update. PyTorch adds new gradients
#    into `.grad`, so without `zero_grad()` each step would use the sum of all earlier gradients;
#    a TensorFlow tape computes fresh gradients on each call, and the reset is built in.
#
#    </details>
# 2. Why are the scaler's minimum and maximum taken from the training split only?
#    <details><summary>Answer</summary>
#
#    The test set stands for future data, unknown when we train;
#    statistics that include it would leak information about it into the model and make the test
#    score optimistic.
#
#    </details>
# 3. RMSprop's update is $\eta\, g / \sqrt{s}$ with $s$ a running mean of $g^2$ that starts at 0.
#    How large is its very first step with decay 0.99, and with 0.9?
#    <details><summary>Answer</summary>
#
#    After one step $s = (1 - \alpha) g^2$, so the step is
#    $\eta / \sqrt{1 - \alpha}$: $10\eta$ for $\alpha = 0.99$ (PyTorch's default), $3.2\eta$ for
#    $\rho = 0.9$ (Keras's). Later steps shrink towards $\eta$ as $s$ catches up.
#
#    </details>
# 4. How many parameters does a $784 \to 128 \to 64 \to 10$ network have?
#    <details><summary>Answer</summary>
#
#    $785 \cdot 128 + 129 \cdot 64 + 65 \cdot 10 = 100\,480 +
#    8\,256 + 650 = 109\,386$: each layer has one weight per input and unit, plus a bias per
#    unit.
#
#    </details>
# 5. The training loss keeps falling while the validation loss flattens. What does that mean, and
#    which weights do we keep?
#    <details><summary>Answer</summary>
#
#    The network is learning details of the training images that
#    do not carry over to new ones: it overfits. We keep the weights of the epoch with the lowest
#    validation loss (early stopping) and test those once.
#
#    </details>
