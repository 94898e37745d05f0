# %% [markdown]
# # 03 · Building minifw
#
# In lesson 02 the whole network lived in one `gradients` function. Adding a layer or swapping
# tanh for ReLU meant rewriting it. Frameworks split the network into **modules**. Each module
# knows its own forward pass and its own backward pass, and the chain rule connects them.
# `minifw`, the numpy framework of this course, is built that way. In this notebook we read its
# real source, piece by piece, and then train with it.
#
# **Learning objectives.** After this notebook you can
#
# 1. explain the module contract: `forward` keeps a cache, `backward` turns $\partial J/\partial\,
#    \text{output}$ into $\partial J/\partial\, \text{input}$ and adds parameter gradients;
# 2. read minifw's `Linear`, activations, softmax cross-entropy, `Sequential`, optimizer and
#    training loop, and recognize the formulas of lesson 02 in them;
# 3. check any minifw network's gradients numerically;
# 4. train and evaluate a classifier with `mf.Model.fit`: a decision boundary on two moons,
#    and accuracy, confusion matrix and mistakes on handwritten digits.

# %%
import inspect
import time

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import minifw as mf

rng = np.random.default_rng(0)
show = mf.source.show  # displays the installed source of minifw's classes, functions and methods

# %% [markdown]
# `show` prints what `inspect.getsource` reads from the installed files, so what you see below
# is exactly the code that runs. Open `minifw/` in JupyterLab's file browser to read the rest.
#
# ## 1 · Parameters and modules
#
# A `Parameter` is an array together with its gradient, of the same shape, and its **role**:
# "weight", "bias" or "norm_scale". Regularizers pick the parameters they penalize by role
# (lesson 03-03), so a layer you write yourself is treated right whatever you name its arrays.
# Backward passes add into the gradient with `accumulate`. `zero_grad()` is lazy: it only marks
# the gradient as zero, and the next `accumulate` overwrites the array instead of adding to it.
# That saves one pass over every weight matrix per training step (reading `.grad` in between
# still gives zeros).

# %%
show(mf.Parameter)

# %% [markdown]
# Every layer subclasses `Module` and fills in two methods:
#
# - `forward(x)` computes the output and keeps in `self.cache` what the backward pass will
#   need (the input, a mask, an activation);
# - `backward(grad_out)` receives $G = \partial J / \partial\, \text{out}$ and returns
#   $\partial J / \partial x$. Along the way it **adds** $\partial J / \partial \theta$ into
#   every parameter's `.grad`. Adding rather than overwriting lets a parameter that is used
#   twice collect both contributions, and it is why every training step starts with
#   `zero_grad()`.
#
# `Module` also finds parameters by name, recursively through sub-modules:

# %%
show(mf.Module.forward, mf.Module.backward, mf.Module.__call__, mf.Module.named_parameters, mf.Module.zero_grad)

# %% [markdown]
# ## 2 · `Linear`: the dense layer
#
# Here are the formulas of lesson 02 in their final form. For $y = xW + b$ with
# $G = \partial J/\partial y$:
#
# $$\frac{\partial J}{\partial W} = x^\top G, \qquad \frac{\partial J}{\partial b} = \sum_n G_n,
# \qquad \frac{\partial J}{\partial x} = G W^\top.$$

# %%
show(mf.Linear)

# %% [markdown]
# Let us drive it by hand: a forward pass, a backward pass with some upstream gradient $G$, and
# a comparison with the formulas. Then a second backward pass without `zero_grad()` shows the
# gradients adding up.

# %%
layer = mf.Linear(4, 3, seed=0)
x = rng.normal(size=(5, 4)).astype(np.float32)
out = layer(x)
G = rng.normal(size=(5, 3)).astype(np.float32)
grad_x = layer.backward(G)
print("W", layer.W.shape, " out", out.shape, " dJ/dx", grad_x.shape, " dtype", out.dtype)
assert out.shape == (5, 3) and grad_x.shape == x.shape and out.dtype == np.float32
assert np.allclose(out, x @ layer.W.data + layer.b.data)
assert np.allclose(layer.W.grad, x.T @ G, atol=1e-5)
assert np.allclose(layer.b.grad, G.sum(axis=0), atol=1e-5)
assert np.allclose(grad_x, G @ layer.W.data.T, atol=1e-5)

layer.backward(G)  # again, without zero_grad(): the gradients add up
assert np.allclose(layer.W.grad, 2 * x.T @ G, atol=1e-5)
layer.zero_grad()
assert not layer.W.grad.any()

# %% [markdown]
# ## 3 · Activations
#
# An activation has no parameters. Its backward multiplies $G$ element-wise by its derivative,
# read from the cache: a mask $1[x > 0]$ for ReLU, and for the sigmoid and tanh their own
# outputs, since $\sigma' = \sigma(1-\sigma)$ and $\tanh' = 1 - \tanh^2$.

# %%
show(mf.ReLU, mf.Sigmoid, mf.Tanh)

# %%
z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
ones = np.ones_like(z)
relu, tanh, sig = mf.ReLU(), mf.Tanh(), mf.Sigmoid()
relu(z), tanh(z), sig(z)
print("relu'", relu.backward(ones), "\ntanh'", tanh.backward(ones).round(3), "\nsigm'", sig.backward(ones).round(3))
assert np.array_equal(relu.backward(ones), [[0, 0, 0, 1, 1]])
assert np.allclose(tanh.backward(ones), 1 - np.tanh(z) ** 2)
assert np.isclose(sig.backward(ones)[0, 2], 0.25)  # the sigmoid's slope is largest at 0: 1/4

# %% [markdown]
# ## 4 · Softmax and cross-entropy
#
# A classifier's last `Linear` outputs **logits** $z \in \mathbb{R}^C$, one per class. Softmax
# turns them into probabilities, and cross-entropy penalizes a small probability for the true
# class:
#
# $$\text{softmax}(z)_c = \frac{e^{z_c}}{\sum_j e^{z_j}}, \qquad
#   \ell = -\log \text{softmax}(z)_y = -z_y + \log\sum_j e^{z_j}.$$
#
# With large logits $e^{z}$ overflows. Subtracting $\max_j z_j$ from every logit changes
# nothing mathematically (it cancels between numerator and denominator) and keeps every
# exponent $\le 0$:

# %%
show(mf.softmax, mf.log_softmax)

# %%
big = np.array([[1000.0, 0.0]])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(big) / np.exp(big).sum()
print("naive:", naive, "  minifw:", mf.softmax(big), "  log:", mf.log_softmax(big))
assert np.isnan(naive).any()
assert np.allclose(mf.softmax(big), [[1, 0]]) and np.allclose(mf.log_softmax(big), [[0, -1000]])

# %% [markdown]
# minifw's losses take the network output and the targets and return **both** the mean loss
# and its gradient, $\partial J / \partial z = (\text{softmax}(z) - \text{onehot}(y)) / N$,
# which starts the backward pass. That is $\delta_2$ of lesson 02. (The optional label
# smoothing comes in lesson 05.)

# %%
show(mf.CrossEntropy.__call__)

# %%
logits = rng.normal(size=(4, 3))
labels = np.array([0, 2, 1, 2])
loss, grad = mf.CrossEntropy()(logits, labels)
print(f"loss {loss:.4f}")
assert np.isclose(loss, -np.mean(mf.log_softmax(logits)[np.arange(4), labels]))
assert np.allclose(grad, (mf.softmax(logits) - mf.one_hot(labels, 3)) / 4)

# %% [markdown]
# ## 5 · `Sequential`: the chain rule as a loop
#
# A network is a list of modules. Forward runs them in order, and backward runs them in
# reverse, handing each one the gradient that the next one returned. That loop is
# backpropagation.
#
# `forward` also keeps each layer's cache in its own `cache`, and `backward` hands it back
# before calling the layer: a layer used twice in one network (weight tying) then gets the
# right input for each use, and its gradient is the sum of both, as in PyTorch.
#
# One detail: the gradient with respect to the network's *input* (the data) is never needed
# for training. `Model` tells the network so once, with `set_input_grad(False)`; `Sequential`
# passes that on to its first layer, and a `Linear` there skips the product $GW^\top$ and
# returns `None`. Every module keeps the one signature `backward(grad_out)`.

# %% [markdown]
# ![A network drawn as neurons and layers: 4 inputs, 5 hidden units, 3 outputs; the 4 weights into one hidden unit are highlighted](../../site/figures/mlp.svg)
#
# `Sequential(Linear(4, 5), ReLU(), Linear(5, 3))` drawn as neurons and layers: each line is one
# weight, and each hidden unit adds up all four inputs times its weights (one column of $W_1$),
# adds its bias and applies ReLU. Forward goes left to right, backward right to left.

# %%
show(mf.Sequential.__init__, mf.Sequential.forward, mf.Sequential.backward, mf.Sequential.set_input_grad)
assert "reversed(" in inspect.getsource(mf.Sequential.backward)

# %% [markdown]
# The network of lesson 02 (2 → 16 tanh → 2) is now one line. Its parameters are named by
# position, and nobody has to write its `gradients` function. We still check it the way we
# checked ours, with central differences in float64 (`astype` converts the parameters). The
# check lives in `minifw.gradcheck`, the one the course and minifw's own tests use:
# `numerical_gradient` is lesson 02's central difference, and `rel_error` is CS231n's relative
# error, taken element by element, $\max_i |a_i - b_i| / \max(|a_i| + |b_i|, 10^{-8})$: below
# $10^{-6}$ in float64 means the backward pass is right. `check_module` applies both to the
# input gradient and to every parameter of a module.

# %%
net = mf.Sequential(mf.Linear(2, 16, seed=0), mf.Tanh(), mf.Linear(16, 2, seed=1)).astype(np.float64)
print(net)
print([(name, p.shape) for name, p in net.named_parameters()])
assert [name for name, _ in net.named_parameters()] == ["0.W", "0.b", "2.W", "2.b"]
assert net.num_parameters() == 2 * 16 + 16 + 16 * 2 + 2

X_moons, y_moons = mf.datasets.make_moons(500, noise=0.2, seed=0)
xb, yb = X_moons[:32].astype(np.float64), y_moons[:32]
loss_fn = mf.CrossEntropy()

show(mf.gradcheck.rel_error, mf.gradcheck.numerical_gradient)

errors = mf.gradcheck.check_module(net, xb, loss=lambda out: loss_fn(out, yb))
for name, err in errors.items():
    print(f"{name}: relative error {err:.1e}")
assert set(errors) == {"x", "0.W", "0.b", "2.W", "2.b"}
assert max(errors.values()) < 1e-6, errors

# %% [markdown]
# ## 6 · The optimizer and the training loop
#
# An optimizer holds the list of parameters. `step()` reads each `.grad` and updates `.data`
# in place. Plain SGD is $\theta \leftarrow \theta - \eta g$ (momentum and the other
# optimizers come in lesson 06).

# %%
show(mf.Optimizer.zero_grad, mf.Optimizer.step, mf.SGD.update)

# %% [markdown]
# Now a complete training loop is five lines per batch. This is the loop of lesson 02 with
# every piece swapped for a module:

# %%
X_train, X_test, y_train, y_test = mf.train_test_split(X_moons, y_moons, test_size=0.3, seed=0)
net = mf.Sequential(mf.Linear(2, 16, seed=0), mf.Tanh(), mf.Linear(16, 2, seed=1))
optimizer = mf.SGD(net.parameters(), lr=0.5)
batch_rng = np.random.default_rng(0)
for epoch in range(100):
    for xb, yb in mf.minibatches(X_train, y_train, batch_size=32, rng=batch_rng):
        optimizer.zero_grad()  # 1 clear the old gradients
        output = net(xb)  # 2 forward
        loss, grad = loss_fn(output, yb)  # 3 loss and dJ/d(output)
        net.backward(grad)  # 4 backward: fills every p.grad
        optimizer.step()  # 5 update
test_acc = mf.accuracy(net(X_test), y_test)
print(f"test accuracy {test_acc:.3f}")
assert test_acc > 0.95

# %% [markdown]
# `mf.Model` wraps that loop and splits it the way PyTorch Lightning does. `training_step(batch)`
# is steps 2 and 3: it computes the loss of one batch (and, since minifw has no autograd, the
# loss's gradient with respect to the output, as minifw's losses return it) and logs the
# metrics with `self.log`. `fit` owns the rest of the step: `zero_grad`, `backward`, an
# optional weight penalty and `optimizer.step()`. It runs that over epochs and mini-batches,
# averages the loss and metrics, evaluates on validation data and calls callbacks such as
# early stopping. The names are those of Keras (`fit`, `evaluate`, `predict`, `History`) and of
# Lightning (`training_step`, `configure_optimizers`, `log`), which come later in the course:
# to change what the loss of a batch is you override `training_step`, in minifw as in Lightning.

# %%
show(mf.Model.training_step, mf.Model.fit)
step_code = inspect.getsource(mf.Model.training_step).split('"""')[-1]  # the code after the docstring
assert ".step()" not in step_code and "backward" not in step_code, "fit does the backward pass and the step"

# %% [markdown]
# ## 7 · Two moons with `Model.fit`

# %%
net = mf.Sequential(mf.Linear(2, 16, seed=0), mf.Tanh(), mf.Linear(16, 2, seed=1))
model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.5))
history = model.fit(X_train, y_train, epochs=100, batch_size=32, validation_data=(X_test, y_test), progress=False)
print(history, f"\nfinal: val_loss {history['val_loss'][-1]:.3f}, val_accuracy {history['val_accuracy'][-1]:.3f}")
assert history["val_accuracy"][-1] > 0.95
assert history["loss"][-1] < history["loss"][0] / 3


def plot_boundary(model, X, y, ax, title):
    g1, g2 = np.meshgrid(np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 200),
                         np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 200))
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)
    p1 = mf.softmax(model.predict(grid))[:, 1].reshape(g1.shape)
    ax.contourf(g1, g2, p1, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(g1, g2, p1, levels=[0.5], colors="k")
    ax.scatter(*X.T, c=y, cmap="bwr", s=12, edgecolors="k", linewidths=0.3)
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
ax1.plot(history["loss"], label="train")
ax1.plot(history["val_loss"], label="validation")
ax1.set(xlabel="epoch", ylabel="cross-entropy", title="History: loss per epoch")
ax1.legend()
plot_boundary(model, X_test, y_test, ax2, "decision boundary (test points)")
plt.show()

# %% [markdown]
# ## 8 · Handwritten digits
#
# `mf.datasets.load_digits()` holds 1797 images of 8 × 8 pixels with grey levels 0 to 16,
# already flattened to 64 features. We split them into training, validation and test sets,
# stratified by class, and scale the pixels to $[0, 1]$ with a `MinMaxScaler` fitted **on the
# training set only**. The network is 64 → 64 ReLU → 10 logits, trained with Adam. Early
# stopping watches the validation loss, stops after 5 epochs without improvement, and puts
# back the best weights.

# %%
X_digits, y_digits = mf.datasets.load_digits()
X_tr, X_val, X_te, y_tr, y_val, y_te = mf.train_val_test_split(X_digits, y_digits, val_size=0.15,
                                                               test_size=0.15, seed=0)
scaler = mf.MinMaxScaler().fit(X_tr)
X_tr, X_val, X_te = scaler.transform(X_tr), scaler.transform(X_val), scaler.transform(X_te)
print("train", X_tr.shape, " validation", X_val.shape, " test", X_te.shape)
assert X_digits.shape == (1797, 64) and X_digits.min() == 0 and X_digits.max() == 16
assert len(X_tr) + len(X_val) + len(X_te) == 1797
assert X_tr.min() == 0 and X_tr.max() == 1

fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for digit, ax in enumerate(axes):
    ax.imshow(X_tr[y_tr == digit][0].reshape(8, 8), cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
plt.show()

# %%
net = mf.Sequential(mf.Linear(64, 64, seed=0), mf.ReLU(), mf.Linear(64, 10, seed=10))
model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=1e-3))
stopper = mf.EarlyStopping(monitor="val_loss", patience=5)
history = model.fit(X_tr, y_tr, epochs=100, batch_size=32, validation_data=(X_val, y_val),
                    callbacks=[stopper], progress=False)
test = model.evaluate(X_te, y_te)
print(f"stopped after {len(history['loss'])} epochs, best epoch {stopper.best_epoch}; "
      f"test loss {test['loss']:.3f}, test accuracy {test['accuracy']:.3f}")
assert len(history["loss"]) < 100  # early stopping ended the training
assert test["accuracy"] > 0.95

plt.figure(figsize=(5, 3))
plt.plot(history["loss"], label="train")
plt.plot(history["val_loss"], label="validation")
plt.axvline(stopper.best_epoch, color="gray", ls="--", label="best epoch (restored)")
plt.xlabel("epoch")
plt.ylabel("cross-entropy")
plt.legend()
plt.show()

# %% [markdown]
# Above 95 % of the test digits are right. The **confusion matrix** shows which are wrong. Row
# $i$, column $j$ counts the test images of digit $i$ that the network called $j$, so the
# diagonal holds the correct answers and the rest are mistakes.

# %%
pred = model.predict(X_te).argmax(axis=1)
cm = mf.confusion_matrix(pred, y_te, num_classes=10)
assert cm.sum() == len(y_te)
assert np.isclose(np.trace(cm) / cm.sum(), test["accuracy"])
assert np.array_equal(cm.sum(axis=1), np.bincount(y_te, minlength=10))  # rows: the true classes

fig, ax = plt.subplots(figsize=(5.5, 5))
ax.imshow(cm, cmap="Blues")
for i in range(10):
    for j in range(10):
        if cm[i, j]:
            ax.text(j, i, cm[i, j], ha="center", va="center", color="white" if cm[i, j] > 10 else "k")
ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true", title="confusion matrix (test set)")
plt.show()

# %% [markdown]
# The mistakes themselves, with the probability the network gave its wrong answer. Which
# of them would you have got right?

# %%
wrong = np.flatnonzero(pred != y_te)
print(f"{len(wrong)} of {len(y_te)} test digits misclassified")
assert len(wrong) == cm.sum() - np.trace(cm)

probs = mf.softmax(model.predict(X_te[wrong]))
fig, axes = plt.subplots(1, min(len(wrong), 10), figsize=(12, 1.9), squeeze=False)
for ax, i, p in zip(axes[0], wrong, probs):
    ax.imshow(X_te[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"true {y_te[i]}\npred {pred[i]} ({p.max():.0%})", fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 9 · From 8×8 to 28×28: the network of the lectures
#
# This lesson used scikit-learn's 8×8 digits (64 pixels) because every step above then runs in
# milliseconds and a whole image fits in a small plot. Real image data is larger: the MNIST
# digits are 28×28 = 784 pixels. minifw ships 5000 of them, 500 per digit, with no download
# (`mf.datasets.load_mnist_sample()`, pixels already in $[0, 1]$). Nothing in minifw changes
# but the input size of the first layer. We train the network that the PyTorch and Keras
# lessons build, 784 → 512 → ReLU → 512 → ReLU → 10, with RMSprop ($\eta = 0.001$) and the
# cross-entropy with label smoothing 0.01, on 3000 training images for 3 epochs.
#
# Both minifw and PyTorch spend almost all their time in the same matrix products (BLAS). On a
# busy machine, several BLAS threads per process fight over the cores, so in this section numpy
# uses one thread (`threadpool_limits`), as `torch.set_num_threads(1)` does for PyTorch.

# %%
X28, y28 = mf.datasets.load_mnist_sample()
X28_tr, X28_val, X28_te, y28_tr, y28_val, y28_te = mf.train_val_test_split(
    X28, y28, val_size=0.2, test_size=0.2, seed=0)
print("images", X28.shape, X28.dtype, "| train", X28_tr.shape, "validation", X28_val.shape, "test", X28_te.shape)
assert X28.shape == (5000, 784) and 0 <= X28.min() and X28.max() <= 1
assert (len(X28_tr), len(X28_val), len(X28_te)) == (3000, 1000, 1000)

fig, axes = plt.subplots(2, 10, figsize=(12, 2.8))
for ax, image, label in zip(axes.flat, X28_tr, y28_tr):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(str(label), fontsize=10)
    ax.axis("off")
plt.show()

# %% [markdown]
# The parameters, layer by layer: a dense layer from $n_\text{in}$ to $n_\text{out}$ units has
# $(n_\text{in} + 1)\,n_\text{out}$ of them, so
# $785 \cdot 512 + 513 \cdot 512 + 513 \cdot 10 = 401\,920 + 262\,656 + 5\,130 = 669\,706$,
# 39 times the 17 226 of the 8×8 network above.

# %%
net28 = mf.Sequential(mf.Linear(784, 512, seed=0), mf.ReLU(), mf.Linear(512, 512, seed=1), mf.ReLU(),
                      mf.Linear(512, 10, seed=2))
per_layer = [sum(p.data.size for p in layer.parameters()) for layer in net28.layers]
print("parameters per layer:", per_layer, "| total", net28.num_parameters())
assert per_layer == [401_920, 0, 262_656, 0, 5_130]
assert net28.num_parameters() == 785 * 512 + 513 * 512 + 513 * 10 == 669_706

model28 = mf.Model(net28, mf.CrossEntropy(label_smoothing=0.01), mf.RMSprop(net28.parameters(), lr=1e-3))
with threadpool_limits(limits=1, user_api="blas"):
    history28 = model28.fit(X28_tr, y28_tr, epochs=3, batch_size=64, validation_data=(X28_val, y28_val),
                            progress=False)
    test28 = model28.evaluate(X28_te, y28_te)
for epoch in range(3):
    print(f"epoch {epoch + 1}: loss {history28['loss'][epoch]:.3f}, accuracy {history28['accuracy'][epoch]:.3f}, "
          f"val_loss {history28['val_loss'][epoch]:.3f}, val_accuracy {history28['val_accuracy'][epoch]:.3f}")
print(f"test accuracy {test28['accuracy']:.3f}")
assert history28["loss"][-1] < history28["loss"][0]
assert test28["accuracy"] > 0.9, "expected > 90 % of the 1000 test digits right after 3 epochs"

# %% [markdown]
# How fast is minifw next to PyTorch? We give PyTorch the same network with the same starting
# weights (PyTorch stores each weight matrix transposed, `(out, in)`), the same optimizer and
# loss, and take the same 30 batches of 64 images in both. First a check that it is the same
# computation: the first steps give the same losses. Then the time per step, the best of three
# runs (the fastest run is the one least disturbed by other programs).

# %% tags=["timing"]
import torch
from torch import nn

torch.set_num_threads(1)
net_a = mf.Sequential(mf.Linear(784, 512, seed=0), mf.ReLU(), mf.Linear(512, 512, seed=1), mf.ReLU(),
                      mf.Linear(512, 10, seed=2))
net_t = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
with torch.no_grad():
    for layer_t, layer_m in zip(net_t[::2], net_a.layers[::2]):
        layer_t.weight.copy_(torch.from_numpy(layer_m.W.data.T))
        layer_t.bias.copy_(torch.from_numpy(layer_m.b.data))
model_a = mf.Model(net_a, mf.CrossEntropy(label_smoothing=0.01))
opt_m = mf.RMSprop(net_a.parameters(), lr=1e-3)
loss_t, opt_t = nn.CrossEntropyLoss(label_smoothing=0.01), torch.optim.RMSprop(net_t.parameters(), lr=1e-3)
batches = [(X28_tr[i:i + 64], y28_tr[i:i + 64]) for i in range(0, 30 * 64, 64)]
batches_t = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches]


def steps_minifw():
    """The steps Model.fit takes: zero_grad, training_step (forward and loss), backward, RMSprop update."""
    losses = []
    for xb, yb in batches:
        opt_m.zero_grad()
        loss, grad = model_a.training_step((xb, yb))
        net_a.backward(grad)
        opt_m.step()
        losses.append(loss)
    return losses


def steps_torch():
    losses = []
    for xb, yb in batches_t:
        opt_t.zero_grad()
        loss = loss_t(net_t(xb), yb)
        loss.backward()
        opt_t.step()
        losses.append(loss.item())
    return losses


def best_of_3(steps):
    times = []
    for _ in range(3):
        start = time.perf_counter()
        steps()
        times.append(time.perf_counter() - start)
    return min(times) / len(batches)


with threadpool_limits(limits=1, user_api="blas"):
    same_start = np.allclose(steps_minifw()[:5], steps_torch()[:5], rtol=1e-4)
    ms_minifw, ms_torch = 1000 * best_of_3(steps_minifw), 1000 * best_of_3(steps_torch)
print("the first 5 losses agree:", same_start)
print(f"one step of 64 images: minifw {ms_minifw:.1f} ms, PyTorch {ms_torch:.1f} ms "
      f"(minifw / PyTorch = {ms_minifw / ms_torch:.2f})")
assert same_start, "expected minifw and PyTorch to take the same first steps from the same weights"
assert ms_minifw < 10 * ms_torch, "expected minifw within 10x of PyTorch on one CPU thread (best of 3)"

# %% [markdown]
# On one CPU thread minifw is about as fast as PyTorch for this network (the ratio printed above
# is near 1 on a quiet machine): a dense layer is two or three matrix products, and numpy and
# PyTorch call the same kind of BLAS routine for them. PyTorch pulls ahead when the work is not
# one large matrix product (many small operations, convolutions) and, above all, on a GPU,
# which minifw cannot use. The PyTorch and Keras lessons train this network on the GPU when
# there is one.

# %% [markdown]
# ## Summary
#
# - A module is a forward with a cache and a backward that maps $\partial J/\partial\,\text{out}$
#   to $\partial J/\partial\,\text{in}$, adding parameter gradients into `.grad`.
# - `Linear.backward` is $x^\top G$, $\sum_n G_n$, $GW^\top$. Activations multiply by their
#   derivative. `CrossEntropy` returns $(\text{softmax}(z) - \text{onehot}(y))/N$, computed
#   stably.
# - `Sequential.backward` runs the layers in reverse: that loop *is* backpropagation, and
#   central differences confirm it for any stack of layers.
# - A training step is always zero_grad, forward, loss, backward, step. `Model.fit` adds
#   epochs, batches, validation and callbacks around it.
#
# Every layer still needs a hand-written `backward`. Lesson **07** shows how automatic
# differentiation (`minifw.autograd`, then PyTorch and TensorFlow) writes them for us. First,
# lesson **04** asks what such networks can represent at all.
#
# ## Try it
#
# 1. Add a hidden layer to the digit network (`64 → 64 → 32 → 10`). Does the test accuracy
#    change? Does early stopping stop at a different epoch?
# 2. Fit the `MinMaxScaler` on *all* digits instead of the training set. Why is that
#    cheating, even though the numbers barely move here?
# 3. Write a layer `Square` with `forward(x) = x ** 2` and its `backward`, put it into a
#    `Sequential`, and check it with `mf.gradcheck.check_module` (in float64).
# 4. Read `mf.Dropout` and `mf.BatchNorm1d` with `show(...)`. What do they keep in `self.cache`?

# %% [markdown]
# ## Review questions
#
# 1. Why does `backward` *add* parameter gradients into `.grad` instead of overwriting them?
#    <details><summary>Answer</summary>
#
#    A parameter used more than once (a layer used twice,
#    weight tying) must collect the contribution of every use. The price is that each training
#    step must start with <code>zero_grad()</code>.
#
#    </details>
# 2. What does `Linear.backward` return for $\partial J/\partial x$, and when does it return
#    `None`?
#    <details><summary>Answer</summary>
#
#    $G W^\top$. It returns `None` when it
#    was told with `set_input_grad(False)` that nothing upstream needs it: it is the
#    first layer and its input is the data, which `Model` tells the network once.
#
#    </details>
# 3. Which parts of a training step does `Model.training_step` do, and which does `fit` do?
#    <details><summary>Answer</summary>
#
#    <code>training_step</code> does the forward pass and the
#    loss (returning the loss and its gradient with respect to the output) and logs metrics;
#    <code>fit</code> does <code>zero_grad</code>, <code>backward</code>, the penalty and
#    <code>optimizer.step()</code>, as Lightning's Trainer does.
#
#    </details>
# 4. Why do we check gradients in float64 rather than float32?
#    <details><summary>Answer</summary>
#
#    A central difference divides a difference of two nearly
#    equal losses by $2h$; in float32 (about 7 digits) that difference is mostly rounding error
#    for $h = 10^{-6}$, so the check would fail for a correct backward pass.
#
#    </details>
# 5. Why does subtracting $\max_j z_j$ in softmax not change the result?
#    <details><summary>Answer</summary>
#
#    The factor $e^{-\max_j z_j}$ appears in the numerator
#    and in every term of the denominator, so it cancels; it only keeps every exponent
#    $\le 0$, so nothing overflows.
#
#    </details>
