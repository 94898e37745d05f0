# %% [markdown]
# # 01 · Tensors and the forward pass
#
# A neural network is a function that takes arrays of numbers and returns arrays of numbers.
# This notebook is about those arrays, the **tensors**, and about the one operation a dense
# network is built from: $\sigma(XW + b)$.
#
# **Learning objectives.** After this notebook you can
#
# 1. say what the rank, shape and dtype of a tensor are, and give the shapes of images, image
#    batches and videos;
# 2. predict the result of element-wise operations and of **broadcasting**, and the shape it gives;
# 3. write a dense layer $\sigma(XW + b)$ as a tensor dot product, for a whole batch at once;
# 4. read logistic regression as a single neuron and compute its forward pass.
#
# Everything here is plain numpy; `minifw` (the framework of this course) appears only to
# confirm that its `Linear` layer computes the same thing.

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

import minifw as mf

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1 · Tensors are n-dimensional arrays
#
# A tensor is a grid of numbers of one type. Its **rank** (`ndim`) is the number of axes,
# its **shape** the length of each axis, its **dtype** the type of every entry.
#
# | rank | name | example | shape |
# |---|---|---|---|
# | 0 | scalar | a loss value | `()` |
# | 1 | vector | the 64 pixels of a flattened digit | `(64,)` |
# | 2 | matrix | a batch of 32 such digits | `(32, 64)` |
# | 3+ | tensor | images, batches of images, videos | see below |

# %%
scalar = np.array(3.5)
vector = np.arange(64, dtype=np.float32)
matrix = np.zeros((32, 64), dtype=np.float32)
for t in (scalar, vector, matrix):
    print(f"ndim={t.ndim}  shape={str(t.shape):10} dtype={t.dtype}  size={t.size}")
assert (scalar.ndim, vector.ndim, matrix.ndim) == (0, 1, 2)
assert matrix.size == 32 * 64

# %% [markdown]
# ### Real data has real shapes
#
# scikit-learn ships a 427 × 640 colour photograph. We cut a 400 × 400 square out of it. A colour
# image is a rank-3 tensor **height × width × channels** (red, green, blue), one byte
# (`uint8`, 0 to 255) per number. This "channels last" layout is what matplotlib and
# TensorFlow use; PyTorch puts the channels first, `(3, 400, 400)`.

# %%
photo = load_sample_image("china.jpg")
colour = photo[27:427, 40:440]  # rows 27..426, columns 40..439: a 400 x 400 crop
print("photo ", photo.shape, photo.dtype)
print("colour", colour.shape, colour.dtype)
assert photo.shape == (427, 640, 3)
assert colour.shape == (400, 400, 3) and colour.dtype == np.uint8

# %% [markdown]
# A grey image has one number per pixel, so it is a rank-2 tensor. The usual conversion weighs
# the channels by how bright they look to us,
# $\text{grey} = 0.299\,R + 0.587\,G + 0.114\,B$. That is a dot product over the last axis:
# `colour @ weights` with `weights` of shape `(3,)` maps `(400, 400, 3)` to `(400, 400)`.
# Keep this in mind. In section 4 a dense layer turns out to be the same operation.

# %%
luminance = np.array([0.299, 0.587, 0.114], dtype=np.float32)
grey = colour.astype(np.float32) @ luminance
print("grey", grey.shape, grey.dtype, f"values in [{grey.min():.0f}, {grey.max():.0f}]")
assert grey.shape == (400, 400)
assert 0 <= grey.min() and grey.max() <= 255

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
axes[0].imshow(colour)
axes[0].set_title("colour (400, 400, 3)")
axes[1].imshow(grey, cmap="gray")
axes[1].set_title("grey (400, 400)")
for ax, c, name in [(axes[2], 0, "red"), (axes[3], 2, "blue")]:
    ax.imshow(colour[:, :, c], cmap="gray")  # bright = much of this colour
    ax.set_title(f"colour[:, :, {c}] ({name})")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# Networks never look at one image at a time: they take a **minibatch**, and the batch adds a
# leading axis. A batch of 16 colour images is a rank-4 tensor `(16, 400, 400, 3)`. We build
# one from 16 random 400 × 400 crops of the photograph.

# %%
tops = rng.integers(0, 427 - 400 + 1, size=16)
lefts = rng.integers(0, 640 - 400 + 1, size=16)
batch = np.stack([photo[t:t + 400, l:l + 400] for t, l in zip(tops, lefts)])
print("batch", batch.shape, f"{batch.nbytes / 1e6:.1f} MB")
assert batch.shape == (16, 400, 400, 3)
assert batch.nbytes == 16 * 400 * 400 * 3  # one byte per uint8 number

fig, axes = plt.subplots(2, 8, figsize=(13, 3.4))
for image, ax in zip(batch, axes.ravel()):
    ax.imshow(image)
    ax.axis("off")
fig.suptitle("batch[0] ... batch[15]: one rank-4 tensor")
plt.show()

# %% [markdown]
# A video is a sequence of frames. One second at 25 frames per second is a rank-4 tensor
# **frames × height × width × channels**, `(25, 400, 400, 3)`. Our "video" is a camera panning
# 10 pixels to the right per frame across the photograph. A minibatch of 8 videos adds the
# batch axis, `(8, 25, 400, 400, 3)`, a rank-5 tensor. Here the 8 videos start on 8 different
# rows.

# %%
video = np.stack([photo[:400, 10 * f:10 * f + 400] for f in range(25)])
videos = np.stack([np.stack([photo[r:r + 400, 10 * f:10 * f + 400] for f in range(25)])
                   for r in range(0, 24, 3)])
print("video ", video.shape, f"{video.nbytes / 1e6:.0f} MB")
print("videos", videos.shape, f"{videos.nbytes / 1e6:.0f} MB as uint8, "
      f"{videos.size * 4 / 1e6:.0f} MB as float32")
assert video.shape == (25, 400, 400, 3)
assert videos.shape == (8, 25, 400, 400, 3) and videos.ndim == 5
assert videos.size == 96_000_000  # 8 * 25 * 400 * 400 * 3 numbers

fig, axes = plt.subplots(1, 5, figsize=(13, 2.8))
for ax, f in zip(axes, [0, 6, 12, 18, 24]):
    ax.imshow(video[f])
    ax.set_title(f"video[{f}]")
    ax.axis("off")
plt.show()

# %% [markdown]
# Ninety-six million numbers for eight one-second clips at 400 × 400: 384 MB once they are
# converted to `float32` for a network. This is why video models work on small frames and
# small batches.
#
# **Indexing picks sub-tensors.** `videos[3]` is one video `(25, 400, 400, 3)`, `videos[3, 0]`
# its first frame, `videos[:, :, :, :, 0]` the red channel of everything. An integer index
# removes an axis and a slice `:` keeps it.

# %%
assert videos[3].shape == (25, 400, 400, 3)
assert videos[3, 0].shape == (400, 400, 3)
assert videos[:, :, :, :, 0].shape == (8, 25, 400, 400)
assert np.array_equal(videos[0], video)  # the first video starts on row 0, like `video`
del videos  # free the 96 MB

# %% [markdown]
# ## 2 · Element-wise operations
#
# `+`, `-`, `*`, `/`, `**` and functions such as `np.exp` act on each entry separately. The
# result has the shape of the inputs. Note that `a * b` is the element-wise (Hadamard)
# product $a \odot b$. The matrix product is `a @ b`.

# %%
a = np.array([[1, 2], [3, 4]])
b = np.array([[10, 20], [30, 40]])
print("a + b =\n", a + b)
print("a * b =\n", a * b)
print("a @ b =\n", a @ b)
assert np.array_equal(a + b, [[11, 22], [33, 44]])
assert np.array_equal(a * b, [[10, 40], [90, 160]])
assert np.array_equal(a @ b, [[1 * 10 + 2 * 30, 1 * 20 + 2 * 40], [3 * 10 + 4 * 30, 3 * 20 + 4 * 40]])
assert np.array_equal(a @ b, [[70, 100], [150, 220]])
assert np.allclose(np.exp(np.log(a)), a)

# %% [markdown]
# ## 3 · Broadcasting
#
# What should `[[1, 2], [3, 4]] + [10, 20]` be? The shapes `(2, 2)` and `(2,)` differ, yet
# numpy adds them. It **broadcasts**: the row `[10, 20]` is reused for every row of the matrix,
# without being copied in memory.
#
# $$\begin{pmatrix}1 & 2\\ 3 & 4\end{pmatrix} + \begin{pmatrix}10 & 20\end{pmatrix}
#   = \begin{pmatrix}1 + 10 & 2 + 20\\ 3 + 10 & 4 + 20\end{pmatrix}
#   = \begin{pmatrix}11 & 22\\ 13 & 24\end{pmatrix}$$

# %%
m = np.array([[1, 2], [3, 4]])
row = np.array([10, 20])
print(m + row)
assert np.array_equal(m + row, [[11, 22], [13, 24]])
assert (m + row).shape == (2, 2)

# %% [markdown]
# **The rule.** Line the shapes up from the right. Two axes are compatible if their lengths
# are equal or one of them is 1, and a missing axis counts as 1. An axis of length 1 is
# stretched to match the other.
#
# | shapes | aligned | result |
# |---|---|---|
# | `(2, 2)` and `(2,)` | `(2, 2)` / `(1, 2)` | `(2, 2)`: the row is repeated down |
# | `(2, 2)` and `(2, 1)` | `(2, 2)` / `(2, 1)` | `(2, 2)`: the column is repeated across |
# | `(16, 400, 400, 3)` and `(3,)` | … / `(1, 1, 1, 3)` | one value per colour channel |
# | `(5,)` and `(5, 1)` | `(1, 5)` / `(5, 1)` | `(5, 5)`: often a bug! |
# | `(2, 2)` and `(3,)` | `2` vs `3` | error |

# %%
column = np.array([[10], [20]])  # shape (2, 1)
print(m + column)
assert np.array_equal(m + column, [[11, 12], [23, 24]])

pred, target = np.zeros(5), np.ones((5, 1))  # a prediction vector and a target column
assert (pred - target).shape == (5, 5)  # 25 differences instead of 5: check shapes before a loss!

try:
    m + np.array([1, 2, 3])
    raise AssertionError("expected a broadcasting error")
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# Broadcasting is how data gets normalized. To give each colour channel of the image batch
# mean 0 and standard deviation 1 we need 3 means and 3 standard deviations, both of shape
# `(3,)`, taken over every axis except the last. Then `(batch - mean) / std` broadcasts them
# over the `(16, 400, 400, 3)` tensor:
#
# $$x'_{n,h,w,c} = \frac{x_{n,h,w,c} - \mu_c}{\sigma_c}$$
#
# (Each statistic sums 2.56 million `float32` numbers. `dtype=np.float64` makes numpy add them
# in double precision, else the mean is off in the fourth digit.)

# %%
x = batch.astype(np.float32) / 255
mean = x.mean(axis=(0, 1, 2), dtype=np.float64).astype(np.float32)
std = x.std(axis=(0, 1, 2), dtype=np.float64).astype(np.float32)
print("per-channel mean", mean.round(3), " std", std.round(3))
x_norm = (x - mean) / std
assert mean.shape == std.shape == (3,) and x_norm.shape == (16, 400, 400, 3)
assert np.allclose(x_norm.mean(axis=(0, 1, 2), dtype=np.float64), 0, atol=1e-4)
assert np.allclose(x_norm.std(axis=(0, 1, 2), dtype=np.float64), 1, atol=1e-4)
float32_error = np.abs(x.mean(axis=(0, 1, 2)) - mean).max()  # the same mean, added up in float32
print(f"float32 sums: the mean is off by {float32_error:.1e}")
assert 1e-4 < float32_error < 1e-2  # wrong in the fourth digit
del x, x_norm

# %% [markdown]
# ## 4 · The dense layer is a tensor dot product
#
# A dense (fully connected) layer with $d$ inputs and $k$ outputs holds a weight matrix
# $W \in \mathbb{R}^{d \times k}$ and a bias $b \in \mathbb{R}^{k}$. For a batch
# $X \in \mathbb{R}^{N \times d}$ (one sample per row) it computes
#
# $$Z = XW + b, \qquad z_{nj} = \sum_{i=1}^{d} x_{ni}\, w_{ij} + b_j, \qquad A = \sigma(Z),
# \qquad \sigma(z) = \frac{1}{1 + e^{-z}}.$$
#
# The sum over $i$ contracts the last axis of $X$ with the first axis of $W$: a **tensor dot
# product** (`X @ W`, `np.tensordot(X, W, axes=1)` or `np.einsum("ni,ij->nj", X, W)`). Adding
# $b$ of shape `(k,)` to $XW$ of shape `(N, k)` is the broadcasting of section 3, and
# $\sigma$ acts element-wise. Let us check that the three ways and the explicit sum agree.

# %%
N, d, k = 5, 4, 3
X = rng.normal(size=(N, d))
W = rng.normal(size=(d, k))
b = rng.normal(size=k)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


Z = X @ W + b
Z_loops = np.array([[sum(X[n, i] * W[i, j] for i in range(d)) + b[j] for j in range(k)] for n in range(N)])
A = sigmoid(Z)
print("X", X.shape, "@ W", W.shape, "+ b", b.shape, "->", Z.shape)
assert Z.shape == A.shape == (N, k)
assert np.allclose(Z, Z_loops)
assert np.allclose(Z, np.tensordot(X, W, axes=1) + b)
assert np.allclose(Z, np.einsum("ni,ij->nj", X, W) + b)
assert np.all((0 < A) & (A < 1))

# %% [markdown]
# `minifw.Linear(d, k)` stores `W` with shape `(d, k)` and computes exactly `x @ W + b`. We copy
# our weights into a minifw network and compare. (Lesson 03 reads its source.)

# %%
layer = mf.Sequential(mf.Linear(d, k, dtype=np.float64), mf.Sigmoid())
layer[0].W.data[...] = W
layer[0].b.data[...] = b
assert np.allclose(layer(X), A)
print(layer)

# %% [markdown]
# Because `@` contracts the *last* axis, the same layer applies to any number of leading
# axes. The greyscale conversion of section 1 **is** a dense layer with 3 inputs, 1 output,
# weights $(0.299, 0.587, 0.114)$ and no bias, applied to every pixel of every image of the
# batch at once:

# %%
W_grey = luminance.reshape(3, 1)  # (in=3, out=1)
grey_batch = batch.astype(np.float32) @ W_grey  # (16, 400, 400, 3) @ (3, 1)
print(grey_batch.shape)
assert grey_batch.shape == (16, 400, 400, 1)
assert np.allclose(grey_batch[0, :, :, 0], batch[0].astype(np.float32) @ luminance)


# %% [markdown]
# ## 5 · Logistic regression is one neuron
#
# Take the smallest dense layer: $d$ inputs, **one** output, a sigmoid. That is logistic
# regression, drawn as a neuron. It weighs its inputs, adds a bias and squashes the sum into
# a probability:
#
# $$\hat y = P(y = 1 \mid x) = \sigma(z), \qquad z = w_1 x_1 + w_2 x_2 + b = x^\top w + b.$$
#
# `minifw.datasets.make_tumours` generates patients with a tumour size $x_1$ (mm) and an age
# $x_2$ (years), labelled malignant with probability
# $\sigma(0.2(x_1 - 25) + 0.1(x_2 - 55))$. Multiplied out, that is a neuron with
# $w = (0.2, 0.1)$ and $b = -0.2 \cdot 25 - 0.1 \cdot 55 = -10.5$.

# %%
def draw_neuron(ax, w, b, names):
    """Inputs on the left, a weighted sum and a sigmoid in the neuron, the probability on the right."""
    ys = np.linspace(0.8, 0.2, len(names) + 1)
    for (y, name, wi) in zip(ys, [*names, "1"], [*w, b]):
        ax.add_patch(plt.Circle((0.1, y), 0.06, fc="lightblue", ec="k"))
        ax.text(0.1, y, name, ha="center", va="center")
        ax.annotate("", xy=(0.5, 0.5), xytext=(0.16, y), arrowprops=dict(arrowstyle="->"))
        ax.text(0.24, y + (0.5 - y) * 0.2 + (0.03 if y >= 0.5 else -0.07), f"{'b' if name == '1' else 'w'} = {wi:g}", fontsize=9)
    ax.add_patch(plt.Circle((0.6, 0.5), 0.1, fc="moccasin", ec="k"))
    ax.text(0.6, 0.5, r"$\sigma(\Sigma)$", ha="center", va="center", fontsize=13)
    ax.annotate("", xy=(0.9, 0.5), xytext=(0.7, 0.5), arrowprops=dict(arrowstyle="->"))
    ax.text(0.92, 0.5, r"$\hat y$", va="center", fontsize=14)
    ax.set_xlim(0, 1)
    ax.set_ylim(0.05, 0.95)
    ax.set_aspect("equal")
    ax.axis("off")


w_true, b_true = np.array([0.2, 0.1]), -10.5
fig, ax = plt.subplots(figsize=(6, 4))
draw_neuron(ax, w_true, b_true, ["size", "age"])
ax.set_title("logistic regression: one neuron")
plt.show()

# %% [markdown]
# The forward pass for all 300 patients is one line, the dense layer of section 4 with
# $k = 1$. Predicting "malignant" when $\hat y > 0.5$ (that is, when $z > 0$) classifies
# 88 % of the patients correctly. The rest are unlucky draws that even the true model
# cannot predict.

# %%
X_t, y_t = mf.datasets.make_tumours()
X_t = X_t.astype(np.float64)
p = sigmoid(X_t @ w_true + b_true)
acc = np.mean((p > 0.5) == y_t)
print("X", X_t.shape, "-> p", p.shape, f"  accuracy {acc:.3f}")
assert X_t.shape == (300, 2) and p.shape == (300,)
assert abs(acc - 0.88) < 0.01, f"expected 88 % of the patients classified correctly by w = (0.2, 0.1); got {acc:.1%}"

neuron = mf.Linear(2, 1, dtype=np.float64)
neuron.W.data[:, 0], neuron.b.data[0] = w_true, b_true
assert np.allclose(mf.sigmoid(neuron(X_t))[:, 0], p)

# %% [markdown]
# The set where $z = 0$ ($\hat y = 0.5$) is a straight line,
# $0.2\,x_1 + 0.1\,x_2 = 10.5$. A single neuron always separates the plane with a line: the
# **decision boundary**. The colours show $\hat y$ everywhere.

# %%
s, g = np.meshgrid(np.linspace(0, 52, 200), np.linspace(15, 95, 200))
grid = np.stack([s.ravel(), g.ravel()], axis=1)
fig, ax = plt.subplots(figsize=(6.5, 4.5))
cs = ax.contourf(s, g, sigmoid(grid @ w_true + b_true).reshape(s.shape), levels=20, cmap="RdBu_r", alpha=0.6)
fig.colorbar(cs, label=r"$\hat y$ = P(malignant)")
ax.plot(s[0], (10.5 - 0.2 * s[0]) / 0.1, "k--", label=r"$z = 0$: decision boundary")
ax.scatter(*X_t[y_t == 0].T, c="tab:blue", s=12, label="benign")
ax.scatter(*X_t[y_t == 1].T, c="tab:red", s=12, label="malignant")
ax.set(xlabel="tumour size (mm)", ylabel="age (years)", xlim=(0, 52), ylim=(15, 95))
ax.legend(loc="lower left", fontsize=8)
plt.show()

# %% [markdown]
# ## Summary
#
# - A tensor has a rank, a shape and a dtype. Images are `(H, W, 3)`, batches add a leading
#   axis, videos add a time axis: `(8, 25, 400, 400, 3)` is already 96 million numbers.
# - Element-wise operations work entry by entry. Broadcasting stretches axes of length 1,
#   lined up from the right: `[[1, 2], [3, 4]] + [10, 20] = [[11, 22], [13, 24]]`.
# - A dense layer is $\sigma(XW + b)$: a tensor dot product over the features, a broadcast bias
#   and an element-wise activation, for a whole batch at once.
# - Logistic regression is one neuron, and its decision boundary is a line.
#
# Here we knew the weights. Lesson **02 · Backpropagation by hand** learns them from the data.
#
# ## Try it
#
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Predict the shapes and check: `np.ones((3, 1)) + np.ones(4)`, `np.ones((2, 3)) @ np.ones(3)`,
#    `batch.transpose(0, 3, 1, 2).shape` (PyTorch's channels-first layout).
# 2. Make the image batch brighter in the red channel only, with one broadcast multiplication.
# 3. Replace $w = (0.2, 0.1)$ by $(0.2, 0)$: which patients change class? Draw the new boundary.
# 4. A layer with 64 inputs and 10 outputs: how many parameters does it have? Check with
#    `mf.Linear(64, 10).num_parameters()`.

# %% [markdown]
# ## Review questions
#
# 1. What are the rank, shape and dtype of a batch of 16 colour images of 400 × 400 pixels, as matplotlib and TensorFlow store them?
#    <details><summary>Answer</summary>
#
#    Rank 4, shape `(16, 400, 400, 3)` (batch, height, width, channels), dtype `uint8` as loaded (usually converted to `float32` for a network). PyTorch puts the channels first: `(16, 3, 400, 400)`.
#
#    </details>
#
# 2. What shape does `np.ones((5,)) + np.ones((5, 1))` have, and why is it often a bug?
#    <details><summary>Answer</summary>
#
#    `(5, 5)`: lined up from the right, `(5,)` becomes `(1, 5)` and both axes of length 1 are stretched. You usually meant an element-wise sum of two vectors of 5, which needs equal shapes.
#
#    </details>
#
# 3. Why is a dense layer on a batch one matrix product, `X @ W + b`, and not a loop over the samples?
#    <details><summary>Answer</summary>
#
#    Row $n$ of $XW$ is $x_n W$, the layer applied to sample $n$; the product computes all rows at once (and much faster), and the bias of shape `(k,)` broadcasts over the rows.
#
#    </details>
#
# 4. Why is the decision boundary of a single sigmoid neuron a straight line?
#    <details><summary>Answer</summary>
#
#    $\hat y > 0.5$ exactly when $z = x^\top w + b > 0$, and $x^\top w + b = 0$ is a line in the plane (a hyperplane in more dimensions).
#
#    </details>
#
# 5. How many parameters does a dense layer with 64 inputs and 10 outputs have?
#    <details><summary>Answer</summary>
#
#    $64 \cdot 10$ weights plus 10 biases: 650.
#
#    </details>
