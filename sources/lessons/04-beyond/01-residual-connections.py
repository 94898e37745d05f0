# %% [markdown] track="pytorch"
# # 04·01 · Residual connections in PyTorch
#
# Lesson 01-numpy/05 showed why deep networks are hard to train: the gradient is a product of
# one factor per layer, and with saturating activations that product vanishes. Residual
# connections (He et al., 2015) are the fix that made networks of dozens and hundreds of layers
# trainable. This notebook builds a 24-layer network twice, without and with them, as an
# `nn.Module`, and measures what changes.

# %% [markdown] track="tensorflow"
# # 04·01 · Residual connections in Keras
#
# Lesson 01-numpy/05 showed why deep networks are hard to train: the gradient is a product of
# one factor per layer, and with saturating activations that product vanishes. Residual
# connections (He et al., 2015) are the fix that made networks of dozens and hundreds of layers
# trainable. This notebook builds a 24-layer network twice, without and with them, with the
# Keras Functional API (`layers.Add`), and measures what changes.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - write a residual block $y = x + f(x)$ and explain, from the chain rule, why the skip path
#   carries the gradient undamped;
# - measure the gradient norm of every layer of a deep network at initialization;
# - show that a deep plain network trains slowly or not at all where the same depth with
#   residual connections trains;
# - read a residual block as "keep the input, learn a correction".

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
# ## 1. Why a skip path keeps the gradient
#
# A residual block adds its input to what its layers compute: $y = x + f(x)$. By the chain rule
# the gradient that reaches its input is
#
# $$\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}\left(I + \frac{\partial f}{\partial x}\right)
#   = \underbrace{\frac{\partial L}{\partial y}}_{\text{skip path}} + \frac{\partial L}{\partial y}\frac{\partial f}{\partial x}.$$
#
# The sum is linear, so the gradient of the block's output passes to its input **unchanged**,
# plus whatever the layers add. Through $n$ plain layers the gradient is a product of $n$
# Jacobians and can shrink like $(1/4)^n$ with sigmoids; through $n$ residual blocks the product
# $\prod (I + J_k)$ always contains the term $I$, a path on which nothing shrinks. (minifw has the
# same block, `mf.Residual(block)`, whose backward is exactly `grad + block.backward(grad)`.)
#
# The data: 3000 training and 1000 validation images of the 28×28 MNIST sample.

# %%
X, y = mf.datasets.load_mnist_sample()
X_tr, X_val, _, y_tr, y_val, _ = mf.train_val_test_split(X, y, val_size=1000, test_size=1000, seed=0)
print("train", X_tr.shape, "validation", X_val.shape)
assert X_tr.shape == (3000, 784)
DEPTH, WIDTH = 24, 64


# %% [markdown]
# ## 2. The same depth, plain and residual
#
# Both networks project the 784 pixels to 64 units, apply 24 blocks $f(x) = \sigma(xW + b)$ of
# 64 sigmoid units, and end in a 10-unit output layer. The plain network chains the blocks,
# $x \leftarrow f(x)$; the residual one adds the skip, $x \leftarrow x + f(x)$. Everything else,
# including the initial weights, is identical.

# %% track="pytorch"
class Block(nn.Module):
    """One sigmoid layer, with or without a skip connection: (batch, width) -> (batch, width)."""

    def __init__(self, width: int, residual: bool):
        super().__init__()
        self.linear, self.residual = nn.Linear(width, width), residual

    def forward(self, x):
        fx = torch.sigmoid(self.linear(x))
        return x + fx if self.residual else fx


def deep_net(residual: bool, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)  # the same initial weights for both kinds
    return nn.Sequential(nn.Linear(784, WIDTH), *[Block(WIDTH, residual) for _ in range(DEPTH)],
                         nn.Linear(WIDTH, 10)).to(device)


X_tr_t, y_tr_t = torch.tensor(X_tr).to(device), torch.tensor(y_tr).to(device)
X_val_t, y_val_t = torch.tensor(X_val).to(device), torch.tensor(y_val).to(device)


def block_grad_norms(model) -> np.ndarray:
    """The gradient norm of each block's weight matrix for one batch of 256 images, at the current weights."""
    model.zero_grad()
    nn.functional.cross_entropy(model(X_tr_t[:256]), y_tr_t[:256]).backward()
    return np.array([block.linear.weight.grad.norm().item() for block in model[1:-1]])


nets = {"plain": deep_net(residual=False), "residual": deep_net(residual=True)}
print(nets["residual"][1])


# %% track="tensorflow"
def deep_net(residual: bool, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)  # the same initial weights for both kinds
    inputs = keras.Input((784,))
    x = layers.Dense(WIDTH)(inputs)
    for i in range(DEPTH):
        fx = layers.Dense(WIDTH, activation="sigmoid", name=f"block{i}")(x)
        x = layers.Add()([x, fx]) if residual else fx
    return keras.Model(inputs, layers.Dense(10)(x))


cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def block_grad_norms(model) -> np.ndarray:
    """The gradient norm of each block's weight matrix for one batch of 256 images, at the current weights."""
    kernels = [model.get_layer(f"block{i}").kernel for i in range(DEPTH)]
    with tf.GradientTape() as tape:
        loss = cross_entropy(y_tr[:256], model(X_tr[:256], training=True))
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])


nets = {"plain": deep_net(residual=False), "residual": deep_net(residual=True)}
print([layer.__class__.__name__ for layer in nets["residual"].layers[1:5]])

# %% [markdown]
# ## 3. Gradient norms at initialization
#
# Before any training, compute the gradient of the loss for one batch and look at its norm in
# each of the 24 blocks, from the first (next to the input) to the last.

# %%
norms = {name: block_grad_norms(net) for name, net in nets.items()}
for name, g in norms.items():
    print(f"{name:>8}: first block {g[0]:.2e}, last block {g[-1]:.2e}, first/last {g[0] / g[-1]:.1e}")
plt.figure(figsize=(6.5, 3.2))
for name, g in norms.items():
    plt.semilogy(np.arange(1, DEPTH + 1), g, "o-", label=name)
plt.xlabel("block (1 = next to the input)")
plt.ylabel("gradient norm")
plt.legend()
plt.show()
assert norms["plain"][0] / norms["plain"][-1] < 1e-6, "expected the plain network's gradient to vanish towards the input"
assert norms["residual"][0] / norms["residual"][-1] > 1e-2, "expected the residual network's gradient to reach the first block"


# %% [markdown]
# In the plain network the gradient shrinks by a factor of about four per block (the sigmoid's
# slope is at most 1/4), so the first blocks get essentially nothing: more than a million times
# less than the last. In the residual network the first block's gradient is within a factor of
# 100 of the last one's: smaller (the blocks' outputs add up, so later blocks see larger inputs),
# but nowhere near vanishing.
#
# ## 4. Training both
#
# Three epochs of Adam ($\eta = 10^{-3}$, batches of 64) for each network:

# %% track="pytorch"
def train(model, epochs: int = 3) -> list[float]:
    """Train with Adam; returns the validation accuracy after each epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    accuracies = []
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(X_tr_t), generator=generator).split(64):
            loss = nn.functional.cross_entropy(model(X_tr_t[idx]), y_tr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            accuracies.append((model(X_val_t).argmax(1) == y_val_t).float().mean().item())
    return accuracies


# %% track="tensorflow"
train_ds = tf.data.Dataset.from_tensor_slices((X_tr, y_tr)).shuffle(3000, seed=0).batch(64)


def train(model, epochs: int = 3) -> list[float]:
    """Train with Adam; returns the validation accuracy after each epoch."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=cross_entropy, metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)  # its slots now: fit then traces its step once, not twice
    history = model.fit(train_ds, epochs=epochs, validation_data=(X_val, y_val), verbose=0, shuffle=False)
    return history.history["val_accuracy"]


# %%
curves = {name: train(net) for name, net in nets.items()}
for name, acc in curves.items():
    print(f"{name:>8}: validation accuracy per epoch", np.round(acc, 3))
plt.figure(figsize=(5, 3))
for name, acc in curves.items():
    plt.plot(range(1, len(acc) + 1), acc, "o-", label=name)
plt.xlabel("epoch")
plt.ylabel("validation accuracy")
plt.legend()
plt.show()
assert curves["plain"][-1] < 0.5, "expected the 24-layer plain sigmoid network to learn little in 3 epochs"
assert curves["residual"][-1] > 0.8, "expected the residual network to reach > 80 % in 3 epochs"


# %% [markdown]
# Same depth, same initial weights, same optimizer: the plain network does not move from chance
# level (10 %) in three epochs, while the residual network learns.
#
# ## 5. A block learns a correction
#
# The other reading of $y = x + f(x)$: the block *remembers* its input and only learns what to
# add to it. If the best thing a block can do is nothing, it only has to make $f(x) \approx 0$,
# which is easy, instead of learning the identity through a sigmoid layer, which is hard. After
# training, compare the size of each block's correction $f(x)$ with the size of its input $x$:

# %% track="pytorch"
@torch.no_grad()
def correction_ratios(model) -> np.ndarray:
    """||f(x)|| / ||x|| for each residual block, on the validation images."""
    x, ratios = model[0](X_val_t), []
    for block in model[1:-1]:
        fx = torch.sigmoid(block.linear(x))
        ratios.append((fx.norm() / x.norm()).item())
        x = x + fx
    return np.array(ratios)


# %% track="tensorflow"
def correction_ratios(model) -> np.ndarray:
    """||f(x)|| / ||x|| for each residual block, on the validation images."""
    x, ratios = model.layers[1](X_val), []
    for i in range(DEPTH):
        fx = model.get_layer(f"block{i}")(x)
        ratios.append(float(tf.norm(fx) / tf.norm(x)))
        x = x + fx
    return np.array(ratios)


# %%
ratios = correction_ratios(nets["residual"])
print("||f(x)|| / ||x|| per block:", np.round(ratios, 2))
assert np.all(ratios[DEPTH // 2:] < ratios[0]), "expected the later blocks to add smaller corrections than the first"
assert ratios[-1] < 0.3, "expected the last block's correction to be small next to its input"

# %% [markdown]
# The first block changes its input substantially; the later ones add corrections that are small
# next to what they receive. Each block refines the representation instead of replacing it, which
# is also why a residual network degrades gracefully when blocks are added: an unneeded block can
# stay close to "do nothing".
#
# ## Try it
#
# 1. Lower `DEPTH` to 6. Does the plain network still fail? At which depth does it start to?
# 2. Replace the sigmoid by ReLU in the blocks. How do the gradient norms at initialization change
#    for the plain network?
# 3. Add batch normalization inside the plain blocks (lesson 03-overfitting/05). Does it rescue the
#    plain network as the skip connection does?
# 4. Train for 10 epochs. Does the plain network eventually learn?
#
# Changing a setting can make an `assert` above fail: its message says what was expected for
# the settings in this notebook.

# %% [markdown]
# ## Review questions
#
# 1. Write the gradient of $y = x + f(x)$ with respect to $x$. Which term keeps it from vanishing?
#    <details><summary>Answer</summary>
#
#    $\partial L/\partial x = \partial L/\partial y\,(I + \partial f/\partial x)$;
#    the identity term passes $\partial L/\partial y$ through unchanged.
#
#    </details>
# 2. Why does the gradient shrink through a plain stack of sigmoid layers?
#    <details><summary>Answer</summary>
#
#    It is multiplied by one Jacobian per layer, each containing
#    the sigmoid's slope, which is at most 1/4; the product of many such factors goes to zero.
#
#    </details>
# 3. What does "the block learns a correction" mean, and why is that easier?
#    <details><summary>Answer</summary>
#
#    The block's output is its input plus $f(x)$; to leave the
#    representation as it is, $f$ only has to output about zero, instead of reproducing its input.
#
#    </details>
# 4. In this notebook, what differed between the plain and the residual network?
#    <details><summary>Answer</summary>
#
#    Only the skip additions: the same layers, widths, initial
#    weights, data and optimizer.
#
#    </details>
