# %% [markdown] track="pytorch"
# # 02·01 · Tensors and autograd in PyTorch
#
# In part 1 you wrote every array operation and every backward pass yourself, in `minifw`.
# PyTorch does the same two jobs for you: it stores numbers in **tensors** that can live on a
# GPU, and it computes gradients **automatically** by recording what you did in a graph.
# This notebook uses PyTorch's low-level API only; PyTorch Lightning comes in notebook 03.
#
# ## Objectives
# After this notebook you can
#
# - make tensors from Python lists, numpy arrays and random generators, and read their
#   `shape`, `dtype` and `device`;
# - give real data the shapes PyTorch expects (a batch axis first, channels first);
# - convert data types, move tensors to a GPU and back (`.to(device)`, `.cpu()`);
# - compute with tensors: element-wise operations, matrix products, reductions and broadcasting;
# - get gradients with `requires_grad`, `backward()` and `.grad`, and explain why `zero_grad` exists;
# - read the graph PyTorch builds while your code runs (`grad_fn`);
# - show that PyTorch's gradients of a small network equal `minifw`'s and `minifw.autograd`'s;
# - explain why `cross_entropy` takes logits: it is `nll_loss` of `log_softmax`, fused for stability;
# - explain what `torch.compile` and `torch.export` change (eager versus graph execution).

# %% [markdown] track="tensorflow"
# # 02·01 · Tensors and autograd in TensorFlow
#
# In part 1 you wrote every array operation and every backward pass yourself, in `minifw`.
# TensorFlow does the same two jobs for you: it stores numbers in **tensors** that can live on
# a GPU, and it computes gradients **automatically** by recording what you did on a *tape*.
# This notebook uses TensorFlow's low-level API only; Keras comes in notebook 03.

# %% [markdown] track="tensorflow"
# ## Objectives
# After this notebook you can
#
# - make tensors from Python lists, numpy arrays and random generators, and read their
#   `shape`, `dtype` and `device`;
# - give real data the shapes TensorFlow expects (a batch axis first, channels last);
# - compute with tensors: element-wise operations, matrix products, reductions and broadcasting;
# - keep trainable state in a `tf.Variable` and change it with `assign` / `assign_add`;
# - get gradients with `tf.GradientTape`, also for constants (`tape.watch`);
# - show that TensorFlow's gradients of a small network equal `minifw`'s hand-written ones;
# - explain why a loss should get logits (`from_logits=True`): it is the negative log-softmax, stable;
# - explain what `@tf.function` changes (eager versus graph execution), and measure it.

# %% track="pytorch"
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import minifw as mf

torch.manual_seed(0)
np.random.seed(0)
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch", torch.__version__, "| device:", device)

# %% track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet

import timeit

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import minifw as mf

keras.utils.set_random_seed(0)  # seeds Python's random, numpy and TensorFlow at once
print("TensorFlow", tf.__version__, "| GPUs:", tf.config.list_physical_devices("GPU"))

# %% [markdown] track="pytorch"
# ## 1. Tensors from lists, arrays and random numbers
#
# A tensor is an $n$-dimensional array of one data type. `torch.tensor` builds one from a Python
# list or a numpy array (copying the numbers); `.numpy()` gives a numpy array back. The number of
# axes is the tensor's *rank* (`.ndim`): a scalar has rank 0, a vector rank 1, a matrix rank 2.

# %% [markdown] track="tensorflow"
# ## 1. Tensors from lists, arrays and random numbers
#
# A tensor is an $n$-dimensional array of one data type. `tf.constant` builds one from a Python
# list or a numpy array; `.numpy()` gives a numpy array back. The number of axes is the tensor's
# *rank*: a scalar has rank 0, a vector rank 1, a matrix rank 2.

# %% track="pytorch"
a = torch.tensor([[1, 2, 3], [4, 5, 6]])           # from a nested list
b = torch.tensor(np.linspace(0.0, 1.0, 5))          # from a numpy array
s = torch.tensor(3.5)                               # a scalar
print(a)
print(b)
print("ranks:", s.ndim, b.ndim, a.ndim)

assert a.shape == (2, 3) and a.dtype == torch.int64   # Python ints become int64
assert b.dtype == torch.float64                       # numpy's float64 is kept
assert s.shape == () and s.dtype == torch.float32     # Python floats become float32
assert np.array_equal(a.numpy(), [[1, 2, 3], [4, 5, 6]])

# %% track="tensorflow"
a = tf.constant([[1, 2, 3], [4, 5, 6]])          # from a nested list
b = tf.constant(np.linspace(0.0, 1.0, 5))          # from a numpy array
s = tf.constant(3.5)                               # a scalar
print(a)
print(b)
print("ranks:", tf.rank(s).numpy(), tf.rank(b).numpy(), tf.rank(a).numpy())

assert a.shape == (2, 3) and a.dtype == tf.int32   # Python ints become int32
assert b.dtype == tf.float64                       # numpy's float64 is kept
assert s.shape == () and s.dtype == tf.float32     # Python floats become float32
assert np.array_equal(a.numpy(), [[1, 2, 3], [4, 5, 6]])

# %% [markdown] track="pytorch"
# Tensors made by a function of their shape: zeros, ones, ranges and random numbers. A
# `torch.Generator` with a fixed seed gives the same numbers on every run, like
# `np.random.default_rng(0)`; `torch.manual_seed(0)` fixes the global generator that everything
# else (layer initialization, shuffling) uses.

# %% [markdown] track="tensorflow"
# Tensors made by a function of their shape: zeros, ones, ranges and random numbers. A
# `tf.random.Generator` made from a seed gives the same numbers on every run, like
# `np.random.default_rng(0)`.

# %% track="pytorch"
zeros, ones = torch.zeros(2, 3), torch.ones(3)
steps = torch.arange(0, 10, 2)
rng = torch.Generator().manual_seed(0)
normal = torch.randn(1000, generator=rng)                   # N(0, 1)
uniform = torch.rand(2, 2, generator=rng) * 2 - 1           # U(-1, 1)
print(steps, "\n", uniform)

assert steps.tolist() == [0, 2, 4, 6, 8]
assert float(zeros.sum()) == 0.0 and float(ones.sum()) == 3.0
assert abs(float(normal.mean())) < 0.1 and abs(float(normal.std()) - 1) < 0.1
assert torch.equal(torch.randn(1000, generator=torch.Generator().manual_seed(0)), normal)  # reproducible

# %% track="tensorflow"
zeros, ones = tf.zeros((2, 3)), tf.ones((3,))
steps = tf.range(0, 10, 2)
rng = tf.random.Generator.from_seed(0)
normal = rng.normal((1000,))                       # N(0, 1)
uniform = rng.uniform((2, 2), minval=-1, maxval=1)  # U(-1, 1)
print(steps.numpy(), "\n", uniform.numpy())

assert steps.numpy().tolist() == [0, 2, 4, 6, 8]
assert float(tf.reduce_sum(zeros)) == 0.0 and float(tf.reduce_sum(ones)) == 3.0
assert abs(float(tf.reduce_mean(normal))) < 0.1 and abs(float(tf.math.reduce_std(normal)) - 1) < 0.1
assert np.array_equal(tf.random.Generator.from_seed(0).normal((1000,)).numpy(), normal.numpy())  # reproducible

# %% [markdown] track="pytorch"
# Unlike TensorFlow's, a PyTorch tensor is **mutable**, like a numpy array: `t[0, 0] = 100` works,
# and methods ending in `_` (`add_`, `zero_`) change a tensor in place. `torch.from_numpy` does not
# copy: the tensor and the array **share memory**, so changing one changes the other.

# %% [markdown] track="tensorflow"
# Unlike a numpy array, a tensor is **immutable**: `t[0] = 5` raises an error. Values that
# change (the weights of a network) live in a `tf.Variable` (section 5).

# %% track="pytorch"
a[0, 0] = 100
shared_array = np.zeros(3)
shared = torch.from_numpy(shared_array)
shared.add_(1)                                      # in place, on the tensor ...
print(a[0], shared_array)

assert int(a[0, 0]) == 100
assert shared_array.tolist() == [1.0, 1.0, 1.0]     # ... and the numpy array changed too

# %% track="tensorflow"
try:
    a[0, 0] = 100
    raised = False
except TypeError as err:
    raised = True
    print("TypeError:", err)
assert raised

# %% [markdown] track="pytorch"
# ## 2. The shapes of real data
#
# The **first axis is the batch**: one row per example. The `digits` data set holds 1797 images
# of $8 \times 8$ pixels, stored as rows of 64 numbers. The same numbers can be *viewed* as
# images of shape $(8, 8)$, or as $(1, 8, 8)$: PyTorch's convolution layers expect
# **channels first**, `(batch, channels, height, width)` (a colour image would have 3 channels).
# `reshape` (or `view`) never changes the numbers, only how they are indexed.

# %% [markdown] track="tensorflow"
# ## 2. The shapes of real data
#
# The **first axis is the batch**: one row per example. The `digits` data set holds 1797 images
# of $8 \times 8$ pixels, stored as rows of 64 numbers. The same numbers can be *viewed* as
# images of shape $(8, 8)$, or as $(8, 8, 1)$: TensorFlow's convolution layers expect
# **channels last**, `(batch, height, width, channels)` (a colour image would have 3 channels).
# `tf.reshape` never copies or changes the numbers, only how they are indexed.

# %% track="pytorch"
X_digits, y_digits = mf.datasets.load_digits()
X_tumours, y_tumours = mf.datasets.make_tumours(seed=0)

flat = torch.tensor(X_digits)                      # (examples, features)
images = flat.reshape(-1, 8, 8)                    # -1: "whatever is left"
channels_first = images.unsqueeze(1)               # add a channel axis after the batch axis
batch = flat[:32]                                  # a mini-batch: the first 32 rows
print("flat", tuple(flat.shape), "| images", tuple(images.shape), "| channels first", tuple(channels_first.shape),
      "| one batch", tuple(batch.shape), "| tumours", X_tumours.shape)

assert flat.shape == (1797, 64) and images.shape == (1797, 8, 8) and channels_first.shape == (1797, 1, 8, 8)
assert batch.shape == (32, 64) and X_tumours.shape == (300, 2)
assert np.array_equal(images[5].numpy().ravel(), X_digits[5])          # same pixels, new view
assert channels_first.squeeze(1).shape == images.shape                 # squeeze removes the length-1 axis

# %% track="tensorflow"
X_digits, y_digits = mf.datasets.load_digits()
X_tumours, y_tumours = mf.datasets.make_tumours(seed=0)

flat = tf.constant(X_digits)                       # (examples, features)
images = tf.reshape(flat, (-1, 8, 8))              # -1: "whatever is left"
channels_last = tf.expand_dims(images, axis=-1)    # add a channel axis
batch = flat[:32]                                  # a mini-batch: the first 32 rows
print("flat", flat.shape, "| images", images.shape, "| channels last", channels_last.shape,
      "| one batch", batch.shape, "| tumours", X_tumours.shape)

assert flat.shape == (1797, 64) and images.shape == (1797, 8, 8) and channels_last.shape == (1797, 8, 8, 1)
assert batch.shape == (32, 64) and X_tumours.shape == (300, 2)
assert np.array_equal(images[5].numpy().ravel(), X_digits[5])          # same pixels, new view
assert tf.squeeze(channels_last, axis=-1).shape == images.shape        # squeeze removes the length-1 axis


# %%
fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, image, label in zip(axes, images[:8], y_digits[:8]):
    ax.imshow(image.numpy(), cmap="gray_r")
    ax.set_title(int(label))
    ax.axis("off")
plt.show()

# %% [markdown] track="pytorch"
# Other data follow the same rule, batch first: a batch of 16 sentences of 20 words, each word a
# vector of 50 numbers, is `(16, 20, 50)`; a batch of 4 RGB photos of $224 \times 224$ pixels is
# `(4, 3, 224, 224)` in PyTorch (TensorFlow puts the channels last: `(4, 224, 224, 3)`).

# %% [markdown] track="tensorflow"
# Other data follow the same rule, batch first: a batch of 16 sentences of 20 words, each word a
# vector of 50 numbers, is `(16, 20, 50)`; a batch of 4 RGB photos of $224 \times 224$ pixels is
# `(4, 224, 224, 3)`.

# %% [markdown] track="pytorch"
# ## 3. Data types and devices
#
# Networks compute in `float32` (half the memory of `float64`, and what GPUs are fast at);
# class labels are integers (`int64`, "long"). PyTorch **promotes** mixed types in arithmetic
# (an `int64` plus a `float32` gives `float32`), but a layer's weights and its input must have
# the same type. Mind data that comes from numpy, which defaults to `float64`: convert it with
# `.float()` or `torch.tensor(..., dtype=torch.float32)`.

# %% [markdown] track="tensorflow"
# ## 3. Data types and devices
#
# Networks compute in `float32` (half the memory of `float64`, and what GPUs are fast at);
# labels are integers. TensorFlow **never converts types silently**: adding an `int32` to a
# `float32` tensor is an error, and `tf.cast` converts explicitly. Mind data that comes from
# numpy, which defaults to `float64`.

# %% track="pytorch"
ints = torch.tensor([1, 2, 3])
floats = torch.tensor([0.5, 0.5, 0.5])
total = ints + floats                               # promoted to float32
layer = torch.nn.Linear(3, 1)                       # float32 weights
from_numpy = torch.tensor(np.ones((2, 3)))          # float64
try:
    layer(from_numpy)
    mixed_ok = True
except RuntimeError as err:
    mixed_ok = False
    print("RuntimeError:", err)
out = layer(from_numpy.float())                     # convert explicitly: works

assert total.dtype == torch.float32 and torch.allclose(total, torch.tensor([1.5, 2.5, 3.5]))
assert not mixed_ok and out.shape == (2, 1) and out.dtype == torch.float32
assert torch.tensor(np.ones(3), dtype=torch.float32).dtype == torch.float32   # ask for float32

# %% track="tensorflow"
ints = tf.constant([1, 2, 3])
floats = tf.constant([0.5, 0.5, 0.5])
try:
    ints + floats
    mixed_ok = True
except (tf.errors.InvalidArgumentError, TypeError) as err:
    mixed_ok = False
    print(type(err).__name__, "-", str(err).splitlines()[0][:100])
total = tf.cast(ints, tf.float32) + floats
print(total)

assert not mixed_ok
assert total.dtype == tf.float32 and np.allclose(total.numpy(), [1.5, 2.5, 3.5])
assert tf.constant(np.zeros(3)).dtype == tf.float64                    # numpy float64 stays float64
assert tf.constant(np.zeros(3), dtype=tf.float32).dtype == tf.float32  # ask for float32

# %% [markdown] track="pytorch"
# Every tensor lives on a **device**: `cpu`, `cuda` (an NVIDIA GPU) or `mps` (Apple silicon).
# PyTorch never moves data by itself: an operation needs all its tensors on the same device,
# `.to(device)` moves a tensor (or a whole network), and `.numpy()` works only on the CPU, so a
# result comes back with `.cpu().numpy()`. The `device` chosen in the first cell is the GPU when
# there is one, so this notebook runs unchanged on both.

# %% [markdown] track="tensorflow"
# Every tensor has a **device**. TensorFlow places operations on a GPU by itself when it sees
# one, and on the CPU otherwise, so the same code runs on both. `with tf.device(...)` forces a
# device; `tensor.device` says where a result lives.

# %% track="pytorch"
on_device = torch.randn(2, 2).to(device) @ torch.ones(2, 2, device=device)
back = on_device.cpu().numpy()                      # .cpu() first: numpy arrays live in CPU memory
print("computed on:", on_device.device, "| back on:", type(back).__name__)

assert on_device.device.type == device and isinstance(back, np.ndarray) and back.shape == (2, 2)

# %% track="tensorflow"
device = "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
with tf.device(device):
    on_default = tf.random.normal((2, 2)) @ tf.ones((2, 2))
with tf.device("/CPU:0"):
    on_cpu = tf.random.normal((2, 2)) @ tf.ones((2, 2))
print("chosen:", device, "->", on_default.device)
print("forced:", on_cpu.device)

assert device[1:] in on_default.device and on_cpu.device.endswith("CPU:0")

# %% [markdown] track="pytorch"
# ## 4. Operations and broadcasting
#
# `+ - * /` act element by element, `@` (or `torch.matmul`) is the matrix product
# $(AB)_{ij} = \sum_k A_{ik} B_{kj}$, and reductions (`sum`, `mean`, `max`, `argmax`) work along
# a dimension `dim` (numpy's `axis`).

# %% [markdown] track="tensorflow"
# ## 4. Operations and broadcasting
#
# `+ - * /` act element by element, `@` (or `tf.matmul`) is the matrix product
# $(AB)_{ij} = \sum_k A_{ik} B_{kj}$, and the `tf.reduce_*` functions sum, average or take the
# maximum along an axis (numpy's `axis=` is TensorFlow's `axis=` too).

# %% track="pytorch"
A = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
B = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
print("A * B =\n", A * B, "\nA @ B =\n", A @ B)
print("row sums", A.sum(dim=1), "| column means", A.mean(dim=0), "| arg-max per row", A.argmax(dim=1))

assert torch.equal(A * B, torch.tensor([[0.0, 2.0], [3.0, 0.0]]))     # element-wise
assert torch.equal(A @ B, torch.tensor([[2.0, 1.0], [4.0, 3.0]]))     # matrix product: swaps the columns
assert A.sum(dim=1).tolist() == [3.0, 7.0]
assert A.mean(dim=0).tolist() == [2.0, 3.0]

# %% track="tensorflow"
A = tf.constant([[1.0, 2.0], [3.0, 4.0]])
B = tf.constant([[0.0, 1.0], [1.0, 0.0]])
print("A * B =\n", (A * B).numpy(), "\nA @ B =\n", (A @ B).numpy())
print("row sums", tf.reduce_sum(A, axis=1).numpy(), "| column means", tf.reduce_mean(A, axis=0).numpy(),
      "| arg-max per row", tf.argmax(A, axis=1).numpy())

assert np.array_equal((A * B).numpy(), [[0, 2], [3, 0]])      # element-wise
assert np.array_equal((A @ B).numpy(), [[2, 1], [4, 3]])      # matrix product: swaps the columns
assert np.array_equal(tf.reduce_sum(A, axis=1).numpy(), [3, 7])
assert np.array_equal(tf.reduce_mean(A, axis=0).numpy(), [2, 3])

# %% [markdown]
# **Broadcasting** follows numpy's rule: align the shapes on the right; two axes fit when they
# are equal or one of them is 1, and an axis of length 1 is stretched. So a column $(3, 1)$ plus
# a row $(1, 4)$ is a $(3, 4)$ table, and subtracting the per-feature minimum `(64,)` from a
# batch `(1797, 64)` subtracts it from every row: exactly what min-max scaling does,
# $x' = (x - \min) / (\max - \min)$.

# %% track="pytorch"
col = torch.tensor([[0.0], [10.0], [20.0]])   # (3, 1)
row = torch.tensor([[1.0, 2.0, 3.0, 4.0]])    # (1, 4)
table = col + row
print(table)

lo, hi = flat.min(dim=0).values, flat.max(dim=0).values               # (64,) each
scaled = (flat - lo) / torch.clamp(hi - lo, min=1.0)                  # (1797, 64); clamp: constant pixels
reference = mf.MinMaxScaler().fit_transform(X_digits)

assert table.shape == (3, 4) and float(table[2, 3]) == 24.0
assert float(scaled.min()) == 0.0 and float(scaled.max()) == 1.0
assert np.allclose(scaled.numpy(), reference, atol=1e-6)              # the same as minifw's scaler

# %% track="tensorflow"
col = tf.constant([[0.0], [10.0], [20.0]])   # (3, 1)
row = tf.constant([[1.0, 2.0, 3.0, 4.0]])    # (1, 4)
table = col + row
print(table.numpy())

lo, hi = tf.reduce_min(flat, axis=0), tf.reduce_max(flat, axis=0)      # (64,) each
scaled = (flat - lo) / tf.maximum(hi - lo, 1.0)                        # (1797, 64); max(., 1): constant pixels
reference = mf.MinMaxScaler().fit_transform(X_digits)

assert table.shape == (3, 4) and float(table[2, 3]) == 24.0
assert float(tf.reduce_min(scaled)) == 0.0 and float(tf.reduce_max(scaled)) == 1.0
assert np.allclose(scaled.numpy(), reference, atol=1e-6)               # the same as minifw's scaler

# %% [markdown] track="pytorch"
# ## 5. Variables and gradients
#
# PyTorch has no separate variable type: any floating-point tensor created with
# `requires_grad=True` is a leaf whose gradient PyTorch will compute. The weights of a network are
# `torch.nn.Parameter`s, tensors with `requires_grad=True` that a module registers as its own. A
# gradient-descent step $w \leftarrow w - \eta\, \partial L / \partial w$ changes a weight in place,
# inside `torch.no_grad()` so that the update itself is not recorded.
#
# `y.backward()` computes $\partial y / \partial x$ for every leaf $x$ that `y` was computed from,
# and stores it in `x.grad`. For $y = x^2 + 2x$ at $x = 3$: $\frac{dy}{dx} = 2x + 2 = 8$. A tensor
# without `requires_grad` gets no gradient.

# %% [markdown] track="tensorflow"
# ## 5. Variables and gradients
#
# A `tf.Variable` is a tensor whose value can change in place; the weights of every network are
# variables. `assign` sets a new value, `assign_add` / `assign_sub` add or subtract one: a
# gradient-descent step $w \leftarrow w - \eta\, \partial L / \partial w$ is one `assign_sub`.

# %% track="pytorch"
x = torch.tensor(3.0, requires_grad=True)
c = torch.tensor(3.0)                              # a constant
y = x**2 + 2 * x + c
y.backward()
print("dy/dx =", x.grad, "| constant:", c.grad)

w = torch.nn.Parameter(torch.tensor(2.0))
with torch.no_grad():
    w -= 0.5 * x.grad                              # one step with learning rate 0.5
print("parameter after one step:", w)

assert float(x.grad) == 8.0 and c.grad is None
assert w.requires_grad and w.item() == -2.0

# %% track="tensorflow"
w = tf.Variable(2.0)
w.assign(5.0)
w.assign_add(1.0)
w.assign_sub(0.5)
print(w)
assert float(w) == 5.5 and w.trainable

# %% [markdown] track="pytorch"
# The gradients of a loss with respect to several tensors come from one `backward()`. For the model
# $\hat y = wx + b$ and the squared error $L = \frac1n \sum_i (\hat y_i - y_i)^2$:
#
# $$\frac{\partial L}{\partial w} = \frac2n \sum_i (\hat y_i - y_i)\, x_i, \qquad
#   \frac{\partial L}{\partial b} = \frac2n \sum_i (\hat y_i - y_i).$$
#
# Only leaves keep their `.grad`; `retain_grad()` asks PyTorch to keep the gradient at an
# intermediate result too.

# %% [markdown] track="tensorflow"
# `tf.GradientTape` records the operations run inside its `with` block and then computes
# gradients of the result backwards through them. For $y = x^2 + 2x$ at $x = 3$:
# $\frac{dy}{dx} = 2x + 2 = 8$. Variables are watched automatically; a constant must be
# watched with `tape.watch`, or its gradient is `None`.

# %% track="pytorch"
xs = torch.tensor([1.0, 2.0, 3.0])
ys = torch.tensor([2.0, 4.0, 7.0])
w, b = torch.tensor(1.0, requires_grad=True), torch.tensor(0.0, requires_grad=True)
pred = w * xs + b
pred.retain_grad()                                 # also keep dL/dpred
loss = ((pred - ys) ** 2).mean()
loss.backward()
dw, db = float(w.grad), float(b.grad)

err = (pred - ys).detach().numpy()                 # detach: the values, without the graph
assert np.isclose(dw, 2 * np.mean(err * xs.numpy())) and np.isclose(db, 2 * np.mean(err))
assert np.allclose(pred.grad.numpy(), 2 * err / 3)
print(f"dL/dw = {dw:.4f}, dL/db = {db:.4f}")

# %% track="tensorflow"
x_var = tf.Variable(3.0)
with tf.GradientTape() as tape:
    y = x_var**2 + 2 * x_var
dy_dx = tape.gradient(y, x_var)

x_const = tf.constant(3.0)
with tf.GradientTape() as tape:
    y = x_const**2 + 2 * x_const
unwatched = tape.gradient(y, x_const)

with tf.GradientTape() as tape:
    tape.watch(x_const)
    y = x_const**2 + 2 * x_const
watched = tape.gradient(y, x_const)
print("variable:", float(dy_dx), "| constant unwatched:", unwatched, "| constant watched:", float(watched))

assert float(dy_dx) == 8.0 and unwatched is None and float(watched) == 8.0

# %% [markdown] track="tensorflow"
# The gradients of a loss with respect to several variables come in one call. For the model
# $\hat y = wx + b$ and the squared error $L = \frac1n \sum_i (\hat y_i - y_i)^2$:
#
# $$\frac{\partial L}{\partial w} = \frac2n \sum_i (\hat y_i - y_i)\, x_i, \qquad
#   \frac{\partial L}{\partial b} = \frac2n \sum_i (\hat y_i - y_i).$$
#
# A tape is used up by one `gradient` call; `persistent=True` keeps it for several.

# %% track="tensorflow"
xs = tf.constant([1.0, 2.0, 3.0])
ys = tf.constant([2.0, 4.0, 7.0])
w, b = tf.Variable(1.0), tf.Variable(0.0)
with tf.GradientTape(persistent=True) as tape:
    pred = w * xs + b
    loss = tf.reduce_mean((pred - ys) ** 2)
dw, db = tape.gradient(loss, [w, b])
dL_dpred = tape.gradient(loss, pred)          # also the gradient at an intermediate result
del tape                                      # free what a persistent tape keeps

err = (w * xs + b - ys).numpy()
assert np.isclose(float(dw), 2 * np.mean(err * xs.numpy())) and np.isclose(float(db), 2 * np.mean(err))
assert np.allclose(dL_dpred.numpy(), 2 * err / 3)
print(f"dL/dw = {float(dw):.4f}, dL/db = {float(db):.4f}")


# %% [markdown] track="pytorch"
# ## 6. The computational graph
#
# While your code runs, PyTorch builds a **computational graph**: every result that depends on a
# tensor with `requires_grad` remembers the operation that made it (`grad_fn`) and, through it, its
# inputs. `backward()` walks this graph from the loss back to the leaves and applies the chain rule
# at every node, exactly what `minifw.autograd` does. Here is the graph of the loss above, walked
# from `loss.grad_fn`, next to the graph `minifw.autograd` records for the same computation:

# %% [markdown] track="tensorflow"
# ## 6. The computational graph
#
# While it runs, the tape builds a **computational graph**: a node for each operation, an edge
# from each input to the result. `tape.gradient` walks it backwards and applies the chain rule
# at every node, exactly what `minifw.autograd` does. `format_graph` prints the graph of the loss
# above computed with `minifw.autograd` (its `mean` is a `sum` times the constant $1/n$, node `%9`):

# %% track="pytorch"
def graph_lines(fn, depth=0):
    """The backward graph below `fn`, one node per line, inputs indented."""
    lines = ["  " * depth + type(fn).__name__]
    for child, _ in fn.next_functions:
        if child is not None:
            lines += graph_lines(child, depth + 1)
    return lines


torch_graph = graph_lines(loss.grad_fn)
print("\n".join(torch_graph))

from minifw.autograd import Tensor, format_graph

w_mf, b_mf = Tensor(1.0, requires_grad=True, name="w"), Tensor(0.0, requires_grad=True, name="b")
loss_mf = ((w_mf * Tensor(xs.numpy(), name="x") + b_mf - Tensor(ys.numpy(), name="y")) ** 2).mean()
loss_mf.backward()
print("\nminifw.autograd:\n" + format_graph(loss_mf))

assert torch_graph[0].strip() == "MeanBackward0"
assert sum(line.strip() == "AccumulateGrad" for line in torch_graph) == 2   # the two leaves w and b
assert np.isclose(w_mf.grad, dw) and np.isclose(b_mf.grad, db)               # same gradients as PyTorch


# %% [markdown] track="pytorch"
# ### A new graph on every run, and why `zero_grad` exists
#
# The graph is recorded **while the Python code runs** (a *dynamic* graph), so ordinary `if` and
# `for` shape it: every run records only the branch it took. Here $f(x) = x^2$ for $x < 1$ and
# $2x - 1$ for $x \ge 1$, so $f'(x) = 2x$, then $2$. Autograd follows the branch point by point:

# %% track="pytorch"
def f(x):
    return x**2 if x < 1 else 2 * x - 1


points = np.linspace(-2, 3, 51).astype(np.float32)
values, slopes = [], []
for p in points:
    x = torch.tensor(p, requires_grad=True)
    y = f(x)
    y.backward()
    values.append(float(y))
    slopes.append(float(x.grad))

assert np.allclose(slopes, np.where(points < 1, 2 * points, 2.0))

plt.figure(figsize=(5, 3))
plt.plot(points, values, label="$f(x)$")
plt.plot(points, slopes, "--", label="$f'(x)$ from autograd")
plt.axvline(1, color="gray", lw=0.5)
plt.legend()
plt.xlabel("$x$")
plt.show()

# %% track="tensorflow"
from minifw.autograd import Tensor, format_graph

w_mf, b_mf = Tensor(1.0, requires_grad=True, name="w"), Tensor(0.0, requires_grad=True, name="b")
loss_mf = ((w_mf * Tensor(xs.numpy(), name="x") + b_mf - Tensor(ys.numpy(), name="y")) ** 2).mean()
loss_mf.backward()
print(format_graph(loss_mf))
assert np.isclose(w_mf.grad, float(dw)) and np.isclose(b_mf.grad, float(db))  # same gradients as the tape

# %% [markdown] track="pytorch"
# After `backward()` PyTorch frees the graph (a second `backward()` through it is an error; pass
# `retain_graph=True` to keep it), and `backward()` **adds** into `.grad` instead of overwriting it,
# as `minifw`'s layers add into `Parameter.grad`. Adding is what a tensor used twice needs (its two
# contributions are summed), but it means the gradients of the previous batch are still there when
# the next batch comes. That is why every training loop calls `optimizer.zero_grad()` (or sets
# `.grad` to `None`) before `backward()`:

# %% [markdown] track="tensorflow"
# The graph is recorded **while the Python code runs**, so ordinary `if` and `for` shape it:
# every run records only the branch it took. Here $f(x) = x^2$ for $x < 1$ and $2x - 1$ for
# $x \ge 1$, so $f'(x) = 2x$, then $2$. The tape follows the branch point by point:

# %% track="pytorch"
x = torch.tensor(3.0, requires_grad=True)
for _ in range(3):
    (x**2 + 2 * x).backward()                      # a new graph each time, same gradient 8
print("after 3 backward calls without zeroing:", x.grad)
accumulated = float(x.grad)
x.grad = None                                      # what optimizer.zero_grad() does
(x**2 + 2 * x).backward()

y = x**2
y.backward(retain_graph=True)                      # keep the graph ...
y.backward()                                       # ... so a second pass works (and adds again)
try:
    y.backward()                                   # the graph is gone now
    freed = False
except RuntimeError:
    freed = True

assert accumulated == 3 * 8.0 and freed
assert float(x.grad) == 8.0 + 2 * 6.0              # 8 after zeroing, then 2 * (2x) = 12 added


# %% track="tensorflow"
def f(x):
    return x**2 if x < 1 else 2 * x - 1


points = np.linspace(-2, 3, 51).astype(np.float32)
values, slopes = [], []
for p in points:
    x = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    values.append(float(y))
    slopes.append(float(tape.gradient(y, x)))

assert np.allclose(slopes, np.where(points < 1, 2 * points, 2.0))

plt.figure(figsize=(5, 3))
plt.plot(points, values, label="$f(x)$")
plt.plot(points, slopes, "--", label="$f'(x)$ from the tape")
plt.axvline(1, color="gray", lw=0.5)
plt.legend()
plt.xlabel("$x$")
plt.show()

# %% [markdown] track="pytorch"
# ## 7. The same gradient as minifw
#
# Now a whole network: `minifw`'s `Linear(4, 5) → ReLU → Linear(5, 3)` with the softmax
# cross-entropy, on a batch of 8 random inputs. `minifw` computes the gradients with its
# hand-written `backward` methods, `minifw.autograd` from the graph it records, and PyTorch from
# its own graph of the same forward pass,
#
# $$z = \mathrm{relu}(xW_1 + b_1)\,W_2 + b_2, \qquad L = -\frac1N \sum_i \log \mathrm{softmax}(z_i)_{y_i},$$
#
# all three with the same weights. In `float64` they agree to at least 12 significant digits (the
# asserts check a relative tolerance of $10^{-12}$). (PyTorch's own
# `nn.Linear` stores $W^\top$, shape `(out, in)`, and computes $xW^\top + b$; here we use plain
# tensors to keep minifw's layout.)

# %% [markdown] track="tensorflow"
# ## 7. The same gradient as minifw
#
# Now a whole network: `minifw`'s `Linear(4, 5) → ReLU → Linear(5, 3)` with the softmax
# cross-entropy, on a batch of 8 random inputs. `minifw` computes the gradients with its
# hand-written `backward` methods, `minifw.autograd` from the graph it records, and TensorFlow
# from the tape of the same forward pass,
#
# $$z = \mathrm{relu}(xW_1 + b_1)\,W_2 + b_2, \qquad L = -\frac1N \sum_i \log \mathrm{softmax}(z_i)_{y_i},$$
#
# all three with the same weights (copied into TensorFlow variables). In `float64` they agree to at least 10 significant
# digits (the asserts check a relative tolerance of $10^{-10}$).

# %%
from minifw.autograd import cross_entropy

rng_np = np.random.default_rng(0)
x_small = rng_np.standard_normal((8, 4))
y_small = rng_np.integers(0, 3, size=8)

# 1. minifw: hand-written backward passes
net = mf.Sequential(mf.Linear(4, 5, seed=0), mf.ReLU(), mf.Linear(5, 3, seed=1)).astype(np.float64)
net.zero_grad()
loss_minifw, grad_logits = mf.CrossEntropy()(net.forward(x_small), y_small)
net.backward(grad_logits)
grads_minifw = {name: p.grad for name, p in net.named_parameters()}   # "0.W", "0.b", "2.W", "2.b"

# 2. minifw.autograd: the same forward pass on Tensors
ag = {name: Tensor(p.data.copy(), requires_grad=True) for name, p in net.named_parameters()}
logits_ag = (Tensor(x_small) @ ag["0.W"] + ag["0.b"]).relu() @ ag["2.W"] + ag["2.b"]
loss_ag = cross_entropy(logits_ag, y_small)
loss_ag.backward()

# %% track="pytorch"
# 3. PyTorch
params = {name: torch.tensor(p.data, requires_grad=True) for name, p in net.named_parameters()}
hidden = torch.relu(torch.tensor(x_small) @ params["0.W"] + params["0.b"])
logits = hidden @ params["2.W"] + params["2.b"]
loss_torch = torch.nn.functional.cross_entropy(logits, torch.tensor(y_small))
loss_torch.backward()

framework, loss_framework = "PyTorch", float(loss_torch)
grads_framework = {name: p.grad.numpy() for name, p in params.items()}
grad_rtol, grad_atol = 1e-12, 1e-14

# %% track="tensorflow"
# 3. TensorFlow: the tape
params = {name: tf.Variable(p.data) for name, p in net.named_parameters()}
with tf.GradientTape() as tape:
    hidden = tf.nn.relu(tf.constant(x_small) @ params["0.W"] + params["0.b"])
    logits = hidden @ params["2.W"] + params["2.b"]
    loss_tf = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_small, logits=logits))
grads_tf = tape.gradient(loss_tf, params)

framework, loss_framework = "TensorFlow", float(loss_tf)
grads_framework = {name: g.numpy() for name, g in grads_tf.items()}
grad_rtol, grad_atol = 1e-10, 1e-12

# %%
print(f"loss: minifw {loss_minifw:.10f}, minifw.autograd {float(loss_ag.data):.10f}, {framework} {loss_framework:.10f}")
np.testing.assert_allclose(float(loss_ag.data), loss_minifw, rtol=1e-12)
np.testing.assert_allclose(loss_framework, loss_minifw, rtol=1e-12)
for name, grad in grads_minifw.items():
    difference = max(np.max(np.abs(grad - ag[name].grad)), np.max(np.abs(grad - grads_framework[name])))
    print(f"{name:>4}: shape {grad.shape}, largest difference {difference:.1e}")
    message = f"{name}: expected the three gradients to agree (after a Try-it change, change all three passes alike)"
    np.testing.assert_allclose(ag[name].grad, grad, rtol=grad_rtol, atol=grad_atol, err_msg=message)
    np.testing.assert_allclose(grads_framework[name], grad, rtol=grad_rtol, atol=grad_atol, err_msg=message)

# %% [markdown] track="pytorch"
# ### Cross-entropy is the negative log-likelihood of the log-softmax
#
# `F.cross_entropy(logits, y)` (the module `nn.CrossEntropyLoss`) takes raw logits. It equals
# `F.nll_loss(F.log_softmax(logits, dim=1), y)` (`nn.NLLLoss` after `nn.LogSoftmax`): the log-softmax
# turns logits into log-probabilities, and the NLL loss picks $-\log p_{n, y_n}$ of the true class and
# averages. Frameworks fuse the two because computing them together is **stable**: the log-softmax
# $z_k - \log\sum_j e^{z_j}$ never forms a probability that underflows to 0, while `log(softmax(z))`
# does for large logits and returns $-\log 0 = \infty$. (The fused gradient is also simply
# $\mathrm{softmax}(z) - \mathrm{onehot}(y)$, the formula of part 1.) So the network's last layer
# stays linear, and the loss gets the logits.

# %% track="pytorch"
import torch.nn.functional as F

logits_ce = torch.tensor(np.random.default_rng(1).normal(size=(5, 4)) * 3, requires_grad=True)
targets_ce = torch.tensor([0, 3, 1, 1, 2])
ce = F.cross_entropy(logits_ce, targets_ce)
nll = F.nll_loss(F.log_softmax(logits_ce, dim=1), targets_ce)
by_hand = -torch.log(torch.softmax(logits_ce, dim=1)[torch.arange(5), targets_ce]).mean()
print(f"cross_entropy {ce.item():.6f}  nll_loss(log_softmax) {nll.item():.6f}  -log(softmax) {by_hand.item():.6f}")
assert torch.allclose(ce, nll) and torch.allclose(ce, by_hand)
assert torch.allclose(torch.nn.CrossEntropyLoss()(logits_ce, targets_ce),
                      torch.nn.NLLLoss()(torch.nn.LogSoftmax(dim=1)(logits_ce), targets_ce))
ce.backward()
assert torch.allclose(logits_ce.grad, (torch.softmax(logits_ce, 1) - F.one_hot(targets_ce, 4)) / 5)

big = torch.tensor([[1000.0, 0.0]])  # a confident, wrong prediction for class 1
unfused, fused = -torch.log(torch.softmax(big, dim=1))[0, 1], F.cross_entropy(big, torch.tensor([1]))
print(f"-log(softmax) = {unfused.item()}, cross_entropy = {fused.item()}")
assert torch.isinf(unfused) and fused.item() == 1000.0

# %% [markdown] track="tensorflow"
# ### Cross-entropy from logits is the negative log-likelihood of the log-softmax
#
# `keras.losses.SparseCategoricalCrossentropy(from_logits=True)` (PyTorch's `CrossEntropyLoss`)
# takes raw logits and integer labels. It equals the mean of $-\log p_{n, y_n}$ with the
# log-probabilities from `tf.nn.log_softmax`, gathered at the true class. Frameworks fuse the two
# because computing them together is **stable**: the log-softmax $z_k - \log\sum_j e^{z_j}$ never forms
# a probability that underflows to 0. Given probabilities instead (`from_logits=False`, after a
# softmax layer), Keras must clip them to $[10^{-7}, 1 - 10^{-7}]$ to avoid $\log 0$, and a confident
# mistake then costs at most $-\log 10^{-7} \approx 16$ instead of its true loss. So the network's last
# layer stays linear, and the loss gets the logits.

# %% track="tensorflow"
logits_ce = tf.constant(np.random.default_rng(1).normal(size=(5, 4)) * 3)
targets_ce = np.array([0, 3, 1, 1, 2])
sparse_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(targets_ce, logits_ce)
gathered = -tf.reduce_mean(tf.gather(tf.nn.log_softmax(logits_ce), targets_ce, batch_dims=1))
print(f"SparseCategoricalCrossentropy {float(sparse_ce):.6f}  -log_softmax gathered {float(gathered):.6f}")
assert np.isclose(float(sparse_ce), float(gathered), rtol=1e-6)   # Keras computes in float32

big = tf.constant([[1000.0, 0.0]])  # a confident, wrong prediction for class 1
from_probs = keras.losses.SparseCategoricalCrossentropy()(np.array([1]), tf.nn.softmax(big))
from_logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([1]), big)
print(f"from probabilities: {float(from_probs):.2f}, from logits: {float(from_logits):.1f}")
assert np.isinf(float(-tf.math.log(tf.nn.softmax(big))[0, 1]))
assert abs(float(from_probs) - (-np.log(1e-7))) < 0.01 and float(from_logits) == 1000.0

# %% [markdown] track="pytorch"
# ## 8. Eager versus graph execution
#
# So far PyTorch ran **eagerly**: each line computes right away, and Python decides what runs
# next. That is easy to debug, but every small operation pays Python's overhead, and no operation
# can be fused with the next. **Graph execution** first captures a whole function as a graph of
# operations, then runs (and optimizes) that graph.
#
# `torch.compile(fn)` does it in two stages: *TorchDynamo* reads the Python function as it runs and
# captures the tensor operations as a graph, and a *backend* turns the graph into fast code (the
# default backend, Inductor, generates C++ or GPU kernels). Generating code makes the first call
# slow (Try it 4 measures it), so below we pass a small backend of our own that
# only **shows** the captured graph and then runs it as it is. Here is a function of 300 small
# operations:

# %% [markdown] track="tensorflow"
# ## 8. Eager versus graph execution
#
# So far TensorFlow ran **eagerly**: each line computes right away, and Python decides what
# runs next. That is easy to debug, but every small operation pays Python's overhead.
# `@tf.function` **traces** a Python function once: it runs it with symbolic tensors, records
# the operations into a graph, and afterwards runs the whole graph in TensorFlow's C++ runtime,
# which can also fuse and reorder operations. Here is a function of 300 small operations:

# %% track="pytorch"
captured = []


def show_graph(graph_module, example_inputs):
    """A torch.compile backend: keep the captured graph, run it unchanged."""
    captured.append(graph_module)
    return graph_module.forward


def many_small_ops(x):
    for _ in range(100):
        x = torch.tanh(x) * 0.9 + 0.1    # a loop unrolled into the graph when captured
    return x


graph_fn = torch.compile(many_small_ops, backend=show_graph)
x = torch.randn(10, 10, device=device)
start = time.perf_counter()
result = graph_fn(x)                     # first call: capture
capture_s = time.perf_counter() - start
nodes = [n for n in captured[0].graph.nodes if n.op == "call_function"]
print(f"captured {len(nodes)} operations in {capture_s:.1f} s; the first ones:", [n.target.__name__ for n in nodes[:3]])

assert torch.allclose(result, many_small_ops(x), atol=1e-6)       # same result
assert len(captured) == 1 and len(nodes) == 300                   # tanh, *, + per iteration


# %% track="tensorflow" tags=["timing"]
def many_small_ops(x):
    for _ in range(100):
        x = tf.tanh(x) * 0.9 + 0.1   # a loop unrolled into the graph when traced
    return x


graph_fn = tf.function(many_small_ops)
x = tf.random.normal((10, 10))
assert np.allclose(many_small_ops(x).numpy(), graph_fn(x).numpy(), atol=1e-5)   # same result


def best_times(functions, arg, number=20, repeat=7):
    """Best time per call of each function on `arg`, in milliseconds. The timings of all functions
    are interleaved, so a burst of load on a shared machine slows each of them alike."""
    best = [np.inf] * len(functions)
    for _ in range(repeat):
        for i, fn in enumerate(functions):
            best[i] = min(best[i], 1e3 * timeit.timeit(lambda: fn(arg).numpy(), number=number) / number)
    return best


eager_ms, graph_ms = best_times([many_small_ops, graph_fn], x)
print(f"eager {eager_ms:.2f} ms, graph {graph_ms:.2f} ms per call: {eager_ms / graph_ms:.0f}x faster as a graph")
assert graph_ms < eager_ms / 2, (   # measured 25-45x on a 2-core CPU; 2x leaves a wide margin
    f"expected the traced graph of 300 small operations to run over 2x faster than eager; got "
    f"{eager_ms / graph_ms:.1f}x (fewer or bigger operations, as in Try it, shrink the gain)")

# %% [markdown] track="pytorch"
# **Capturing runs the Python code only once** per input shape and type; later calls reuse the
# graph. Python decides things the graph cannot contain, so an `if` on a tensor's *value* splits
# the capture into two graphs (a *graph break*): Python runs the `if`, then calls the graph of the
# branch it took.

# %% [markdown] track="tensorflow"
# The speed-up comes from removing Python overhead, so it is large for many *small* operations
# and should shrink when one operation does all the work: compare the two times printed below for
# one $1000 \times 1000$ matrix product (not asserted: timings this close vary on a shared machine).

# %% track="pytorch"
captured.clear()


@torch.compile(backend=show_graph)
def affine(x):
    y = x @ torch.ones(3, 2, device=x.device) + 1.0
    if y.sum() > 0:                      # depends on the data: a graph break
        return 2 * y
    return -y


for _ in range(3):
    affine(torch.ones(4, 3, device=device))
print("graphs after 3 calls:", len(captured))
for graph_module in captured:
    print(graph_module.code.strip())

assert len(captured) == 2, (             # before the `if`, and the branch taken; reused by calls 2 and 3
    f"expected 2 graphs for 3 calls with the same input; got {len(captured)} (new dtypes or shapes from Try it add graphs)")

# %% track="tensorflow"
big = tf.random.normal((1000, 1000))
square = lambda m: m @ m
eager_big_ms, graph_big_ms = best_times([square, tf.function(square)], big, number=3, repeat=3)
print(f"one big matmul: eager {eager_big_ms:.1f} ms, graph {graph_big_ms:.1f} ms")


# %% [markdown] track="pytorch"
# `torch.export` captures a whole model **ahead of time** into one graph of PyTorch's basic
# (`aten`) operations, with no Python left in it, for deployment (mobile, servers, other
# runtimes). It refuses data-dependent Python `if`s instead of breaking the graph.
# (The older TorchScript, `torch.jit.trace` / `torch.jit.script`, did the same job; it is
# deprecated in favour of `torch.compile` and `torch.export`.)

# %% [markdown] track="tensorflow"
# **Tracing runs the Python code only once** per input signature (shape and dtype). Python side
# effects such as `print` or appending to a list happen during tracing only; `tf.print` is an
# operation in the graph and runs on every call. A new input shape triggers a new trace, and the
# traced graph can be inspected:

# %% track="pytorch"
class TwoLayer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden, self.out = torch.nn.Linear(4, 5), torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


model = TwoLayer()
example = torch.randn(8, 4)
exported = torch.export.export(model, (example,))
ops = [str(n.target) for n in exported.graph.nodes if n.op == "call_function"]
print(ops)

assert ops == ["aten.linear.default", "aten.relu.default", "aten.linear.default"]
assert torch.allclose(exported.module()(example), model(example))   # the graph computes the same

# %% track="tensorflow"
traces = []


@tf.function
def affine(x):
    traces.append(x.shape)           # Python: runs while tracing
    return x @ tf.ones((3, 2)) + 1.0


for _ in range(3):
    affine(tf.ones((4, 3)))
affine(tf.ones((5, 3)))              # a new shape: traced again
print("traced for shapes:", traces)
ops = [op.type for op in affine.get_concrete_function(tf.TensorSpec((4, 3))).graph.get_operations()]
print("operations in the graph:", ops)

assert len(traces) == 2, (            # 4 calls, 2 traces
    f"expected 2 traces for 2 input shapes; got {len(traces)} (new dtypes or shapes from Try it add traces)")
assert "MatMul" in ops and "AddV2" in ops

# %% [markdown] track="pytorch"
# In practice: write and debug eagerly; when a model works, try `model = torch.compile(model)` for
# speed (the gain is largest on a GPU), and `torch.export` when you ship a model.
#
# ## Try it
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Make a `(2, 3)` tensor from `np.arange(6)` and from `np.arange(6.0)`: which dtypes do you
#    get, and what does `t.reshape(3, -1)` give? Which of the two shares memory with the array
#    if you use `torch.from_numpy`?
# 2. Compute $\frac{d}{dx}\sin(x)$ on a grid with one `backward()` (hint: `y.sum().backward()`)
#    and check it against $\cos(x)$. Then get the second derivative with
#    `torch.autograd.grad(..., create_graph=True)`.
# 3. In section 7, replace `ReLU` by `Tanh` in `minifw` and `torch.relu` by `torch.tanh` (and
#    `.relu()` by `.tanh()`): do the gradients still agree?
# 4. In section 8, time `many_small_ops(x)` against `torch.compile(many_small_ops)(x)` with the
#    default backend: how long does the first call take, and how fast are the later ones?
# 5. Call `affine` with a `float64` input, and with a shape `(5, 3)`. How many graphs are there now?
#
# **Next:** `02-training-by-hand-pytorch.ipynb` trains models with autograd. The TensorFlow twin of
# this notebook, `01-tensors-autograd-tensorflow.ipynb`, has the same sections; the labs in
# `labs/` practise both.

# %% [markdown] track="tensorflow"
# In practice: write and debug eagerly, then wrap the training step in `@tf.function` (notebook
# 02 does this); Keras does it for you in `model.fit` (notebook 03).

# %% [markdown] track="tensorflow"
# ## Try it
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Make a `(2, 3)` tensor from `np.arange(6)` and from `np.arange(6.0)`: which dtypes do you
#    get, and what does `tf.reshape(t, (3, -1))` give?
# 2. Compute $\frac{d}{dx}\sin(x)$ on a grid with a tape and check it against $\cos(x)$. Then get
#    the second derivative with two nested tapes.
# 3. In section 7, replace `ReLU` by `Tanh` in `minifw` and `tf.nn.relu` by `tf.tanh`: do the
#    gradients still agree?
# 4. In section 8, change the loop to 10 or 1000 iterations and the input to
#    $(1000, 1000)$: when is the graph worth it?
# 5. Call `affine` with a `float64` input. How many traces are there now, and why?
#
# **Next:** `02-training-by-hand-tensorflow.ipynb` trains models with the tape. The PyTorch twin
# of this notebook, `01-tensors-autograd-pytorch.ipynb`, has the same sections; the labs in
# `labs/` practise both.

# %% [markdown] track="pytorch"
# ## Review questions
#
# 1. What is the difference between TensorFlow and PyTorch?
#    <details><summary>Answer</summary>
#
#    Both store data in tensors that can live on a GPU and compute gradients automatically. PyTorch records a graph as the code runs and `loss.backward()` fills `.grad` of tensors with `requires_grad`; TensorFlow records on a `tf.GradientTape` and `tape.gradient` returns the gradients. PyTorch images are channels first, TensorFlow's channels last; for speed, PyTorch captures graphs with `torch.compile`, TensorFlow with `@tf.function`.
#
#    </details>
#
# 2. Why does every training loop call `optimizer.zero_grad()`?
#    <details><summary>Answer</summary>
#
#    `backward()` adds into `.grad` instead of overwriting it (what a tensor used twice needs), so the previous batch's gradients would otherwise be added to the new ones.
#
#    </details>
#
# 3. Why does `F.cross_entropy` take logits, not probabilities?
#    <details><summary>Answer</summary>
#
#    It is `nll_loss` after `log_softmax`, fused: the log-softmax never forms a probability that underflows to 0, so a confident mistake costs its true loss (1000 for logits (1000, 0)) where `-log(softmax)` gives infinity.
#
#    </details>
#
# 4. What is a graph break in `torch.compile`, and what causes one?
#    <details><summary>Answer</summary>
#
#    A point where capture stops and Python takes over, splitting the function into several graphs; an `if` on a tensor's value causes one, because the graph cannot contain Python's decision.
#
#    </details>
#
# 5. How do you know PyTorch's gradients are right?
#    <details><summary>Answer</summary>
#
#    For the same network and weights in `float64` they agree with minifw's hand-written backward passes and with `minifw.autograd` to about 12 digits (asserted in section 7).
#
#    </details>

# %% [markdown] track="tensorflow"
# ## Review questions
#
# 1. What is the difference between TensorFlow and PyTorch?
#    <details><summary>Answer</summary>
#
#    Both store data in tensors that can live on a GPU and compute gradients automatically. TensorFlow records operations on a `tf.GradientTape` and `tape.gradient` returns the gradients; PyTorch records a graph as the code runs and `loss.backward()` fills `.grad`. TensorFlow images are channels last, PyTorch's channels first; for speed, TensorFlow traces graphs with `@tf.function`, PyTorch with `torch.compile`.
#
#    </details>
#
# 2. Why does a tape return `None` for the gradient with respect to a `tf.constant`, and how do you fix it?
#    <details><summary>Answer</summary>
#
#    A tape watches trainable `tf.Variable`s automatically, not constants; call `tape.watch(x)` inside the `with` block to record operations on a constant.
#
#    </details>
#
# 3. Why pass `from_logits=True` to `SparseCategoricalCrossentropy`?
#    <details><summary>Answer</summary>
#
#    The loss then computes the log-softmax of the logits itself, which is stable. From probabilities it must clip them to $[10^{-7}, 1 - 10^{-7}]$, so a confident mistake costs at most about 16 instead of its true loss.
#
#    </details>
#
# 4. When does `@tf.function` trace a function again, and what happens to a Python `print` inside it?
#    <details><summary>Answer</summary>
#
#    For every new input signature (shape and dtype). Python side effects such as `print` run only while tracing; `tf.print` runs on every call.
#
#    </details>
#
# 5. When is a traced graph much faster than eager execution, and when not?
#    <details><summary>Answer</summary>
#
#    For many small operations, where eager execution pays Python's overhead for each one (over 2x faster here, measured 25-45x); hardly for one large operation such as a $1000 \times 1000$ matrix product, where the computation dominates.
#
#    </details>
