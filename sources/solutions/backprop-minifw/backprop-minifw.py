# %% [markdown] nbgrader={"grade": false, "grade_id": "brief", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Lab · Backprop by hand
#
# You will write the forward and backward passes of a small neural network in plain numpy, check
# them against finite differences and against `minifw`'s layers, and then train a two-layer
# network on handwritten digits with nothing but your own functions.
#
# **Objectives.** After this lab you can
# - derive and implement $\partial L/\partial x$, $\partial L/\partial W$, $\partial L/\partial b$ of a fully connected layer;
# - implement ReLU and a numerically stable sigmoid with their derivatives;
# - implement softmax cross-entropy and its gradient $(\mathrm{softmax}(z) - \mathrm{onehot}(y))/N$ without overflow;
# - write one step of SGD with momentum;
# - check a gradient with central differences, and train an MLP from your own parts.
#
# **Grading** (19 points).
#
# | task | what you write | points |
# |---|---|---|
# | 1 · Linear | `linear_forward`, `linear_backward` | 1 + 2 |
# | 2 · ReLU | `relu_forward`, `relu_backward` | 2 |
# | 3 · Sigmoid | `sigmoid_forward`, `sigmoid_backward` | 2 |
# | 4 · Softmax cross-entropy | `softmax_cross_entropy` | 3 |
# | 5 · Written answer | why shift the logits | 3 (graded by hand) |
# | 6 · SGD with momentum | `sgd_momentum_step` | 2 |
# | 7 · Train an MLP on digits | the training step inside `train_mlp` | 4 |
# | **total** | | **19** (16 autograded + 3 by hand) |
#
# **Rules.** Write your code between the lines where it says `YOUR CODE HERE` (replace the
# `raise NotImplementedError(...)` line). Do not rename the functions or change their arguments: the
# grader calls them by name. Each test cell shows some of its tests; more tests, on data you do
# not see, run when the lab is graded. Use numpy only (you may read `minifw`'s code, but do not
# call `minifw` layers, losses or optimizers inside your functions). Before you submit, run
# **Kernel → Restart Kernel and Run All Cells** and check that no cell fails.
#
# **Before you hand in.** Save the notebook and click **Validate** on the notebook's toolbar: it
# runs the whole lab on a fresh kernel and lists every cell that fails. Without JupyterLab:
# `nngrade validate labs/backprop-minifw/backprop-minifw.ipynb`. A written answer: double-click its
# cell to edit it, Shift+Enter to show it.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import matplotlib.pyplot as plt
import numpy as np

import minifw as mf
from minifw.gradcheck import numerical_gradient, rel_error  # the course's gradient check (lesson 01-03)

np.random.seed(0)


# %% [markdown]
# ## How a backward pass works
# A layer maps its input $x$ to an output $y$. The loss $L$ depends on $y$; the layer after this
# one hands us $g = \partial L/\partial y$ (same shape as $y$), called `dout` below. The backward pass
# returns $\partial L/\partial x$ (same shape as $x$) and the gradients of the layer's parameters,
# using the chain rule. Every `*_forward` function returns `(out, cache)`: `cache` holds whatever
# the backward pass needs (you choose what), and `*_backward(dout, cache)` uses it.
#
# You can check any backward pass yourself with `numerical_gradient(f, x)` from
# `minifw.gradcheck` (central differences on the float64 array `x`, which `f()` reads): for a
# fixed random `dout`, the scalar $f(x) = \sum_{ij} y_{ij}\, g_{ij}$ has gradient exactly
# $\partial L/\partial x$ when $g = \partial L/\partial y$. Compare with `rel_error(a, b)`, the
# largest element-wise relative error $\max_i |a_i - b_i| / \max(|a_i| + |b_i|, 10^{-8})$ (the
# CS231n definition, the one minifw's own tests use): below $10^{-6}$ in float64 means the
# gradient is right; two arrays of different shapes are an error.
#
# ## Task 1 · Linear layer (3 points)
# For a batch $x$ of shape $(N, D)$, weights $W$ of shape $(D, M)$ and bias $b$ of shape $(M,)$:
#
# $$y = xW + b, \qquad \frac{\partial L}{\partial x} = g W^\top, \qquad
# \frac{\partial L}{\partial W} = x^\top g, \qquad \frac{\partial L}{\partial b} = \sum_{n=1}^{N} g_{n,:}$$
#
# (the bias is added to every row, so its gradient sums over the batch).

# %% nbgrader={"grade": false, "grade_id": "linear_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def linear_forward(x, W, b):
    """Fully connected layer y = x W + b.

    x: (N, D), W: (D, M), b: (M,).
    Returns (out, cache): out (N, M); cache is whatever linear_backward needs.
    """
    ### BEGIN SOLUTION
    out = x @ W + b
    cache = (x, W)
    return out, cache
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "linear_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def linear_backward(dout, cache):
    """Backward pass of linear_forward.

    dout: (N, M), the gradient of the loss with respect to out; cache: from linear_forward.
    Returns (dx, dW, db) with the shapes of x (N, D), W (D, M) and b (M,).
    """
    ### BEGIN SOLUTION
    x, W = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_linear_forward", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
x = np.array([[1.0, 2.0], [3.0, 4.0]])
W = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
b = np.array([0.1, 0.2, 0.3])
out, _ = linear_forward(x, W, b)
assert out.shape == (2, 3), f"expected out of shape (2, 3), got {np.shape(out)}"
assert np.allclose(out, [[2.1, 4.2, -0.7], [5.1, 8.2, -2.7]]), out
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(101)
for _ in range(3):
    _n, _d, _m = _rng.integers(1, 9, size=3)
    _x = _rng.normal(size=(_n, _d))
    _layer = mf.Linear(_d, _m, dtype=np.float64, seed=int(_rng.integers(1000)))
    _layer.b.data[...] = _rng.normal(size=_m)
    _out, _ = linear_forward(_x.copy(), _layer.W.data.copy(), _layer.b.data.copy())
    assert np.shape(_out) == (_n, _m)
    assert rel_error(_out, _layer.forward(_x)) < 1e-9
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_linear_backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(1)
x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
dout = rng.normal(size=(4, 5))
_, cache = linear_forward(x, W, b)
dx, dW, db = linear_backward(dout, cache)
assert np.shape(dx) == (4, 3) and np.shape(dW) == (3, 5) and np.shape(db) == (5,), "dx, dW, db must have the shapes of x, W, b"
assert rel_error(dx, numerical_gradient(lambda: np.sum(linear_forward(x, W, b)[0] * dout), x)) < 1e-6, "dx is wrong"
assert rel_error(dW, numerical_gradient(lambda: np.sum(linear_forward(x, W, b)[0] * dout), W)) < 1e-6, "dW is wrong"
assert rel_error(db, numerical_gradient(lambda: np.sum(linear_forward(x, W, b)[0] * dout), b)) < 1e-6, "db is wrong"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(102)
for _ in range(3):
    _n, _d, _m = _rng.integers(1, 9, size=3)
    _x, _g = _rng.normal(size=(_n, _d)), _rng.normal(size=(_n, _m))
    _layer = mf.Linear(_d, _m, dtype=np.float64, seed=int(_rng.integers(1000)))
    _layer.b.data[...] = _rng.normal(size=_m)
    _W, _b = _layer.W.data.copy(), _layer.b.data.copy()
    _, _cache = linear_forward(_x.copy(), _W, _b)
    _dx, _dW, _db = linear_backward(_g.copy(), _cache)
    _layer.forward(_x)
    assert rel_error(_dx, _layer.backward(_g)) < 1e-9
    assert rel_error(_dW, _layer.W.grad) < 1e-9
    assert rel_error(_db, _layer.b.grad) < 1e-9
    _f = lambda: np.sum(linear_forward(_x, _W, _b)[0] * _g)
    assert rel_error(_dx, numerical_gradient(_f, _x)) < 1e-6
    assert rel_error(_dW, numerical_gradient(_f, _W)) < 1e-6
    assert rel_error(_db, numerical_gradient(_f, _b)) < 1e-6
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2 · ReLU (2 points)
# $$\mathrm{relu}(x) = \max(0, x), \qquad \frac{\partial L}{\partial x} = g \odot \mathbb 1[x > 0]$$
#
# elementwise, on an array of any shape. At $x = 0$ take the derivative to be $0$ (as PyTorch does).

# %% nbgrader={"grade": false, "grade_id": "relu_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_forward(x):
    """ReLU, elementwise: out = max(0, x). x: any shape. Returns (out, cache), out with the shape of x."""
    ### BEGIN SOLUTION
    mask = x > 0
    return x * mask, mask
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "relu_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_backward(dout, cache):
    """Backward pass of relu_forward. dout: the shape of x. Returns dx, the shape of x."""
    ### BEGIN SOLUTION
    return dout * cache
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.array([[-2.0, 0.0, 3.0]])
out, cache = relu_forward(x)
assert np.array_equal(out, [[0.0, 0.0, 3.0]]), out
dx = relu_backward(np.array([[5.0, 5.0, 5.0]]), cache)
assert np.array_equal(dx, [[0.0, 0.0, 5.0]]), f"expected [[0, 0, 5]] (derivative 0 at x <= 0), got {dx}"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(103)
for _shape in [(5,), (3, 7), (2, 3, 4)]:
    _x, _g = _rng.normal(size=_shape), _rng.normal(size=_shape)
    _out, _cache = relu_forward(_x.copy())
    _dx = relu_backward(_g.copy(), _cache)
    _layer = mf.ReLU()
    assert np.shape(_out) == _shape and np.shape(_dx) == _shape
    assert rel_error(_out, _layer.forward(_x)) < 1e-12
    assert rel_error(_dx, _layer.backward(_g)) < 1e-12
    assert rel_error(_dx, numerical_gradient(lambda: np.sum(relu_forward(_x)[0] * _g), _x)) < 1e-6
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 · A stable sigmoid (2 points)
# $$\sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \frac{\partial L}{\partial x} = g \odot \sigma(x)\,(1 - \sigma(x))$$
#
# Written like that, $e^{-x}$ overflows for $x = -1000$ (numpy warns and returns `inf`). The same
# function can be written with an exponent that is never positive:
# $\sigma(x) = 1/(1 + e^{-x})$ for $x \ge 0$ and $\sigma(x) = e^{x}/(1 + e^{x})$ for $x < 0$.
# Your `sigmoid_forward` must not overflow for any float64 input (the test turns overflow warnings
# into errors). Careful: `np.where(c, a, b)` computes both `a` and `b` everywhere.

# %% nbgrader={"grade": false, "grade_id": "sigmoid_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid_forward(x):
    """Sigmoid, elementwise, without overflow. x: any shape. Returns (out, cache), out in [0, 1] with the shape of x."""
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "sigmoid_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward. dout: the shape of x. Returns dx, the shape of x."""
    ### BEGIN SOLUTION
    s = cache
    return dout * s * (1 - s)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sigmoid", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.array([-1.0, 0.0, 2.0])
out, cache = sigmoid_forward(x)
assert np.allclose(out, [0.26894142, 0.5, 0.88079708]), out
dx = sigmoid_backward(np.ones(3), cache)
assert np.allclose(dx, [0.19661193, 0.25, 0.10499359]), dx
with np.errstate(over="raise", invalid="raise"):
    out, _ = sigmoid_forward(np.array([-1000.0, 1000.0]))
assert np.allclose(out, [0.0, 1.0]), f"expected [0, 1] for x = [-1000, 1000], got {out}"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(104)
for _shape in [(6,), (4, 5), (2, 2, 3)]:
    _x, _g = 3 * _rng.normal(size=_shape), _rng.normal(size=_shape)
    _out, _cache = sigmoid_forward(_x.copy())
    _dx = sigmoid_backward(_g.copy(), _cache)
    _layer = mf.Sigmoid()
    assert np.shape(_out) == _shape and np.shape(_dx) == _shape
    assert rel_error(_out, _layer.forward(_x)) < 1e-9
    assert rel_error(_dx, _layer.backward(_g)) < 1e-9
    assert rel_error(_dx, numerical_gradient(lambda: np.sum(sigmoid_forward(_x)[0] * _g), _x)) < 1e-6
with np.errstate(over="raise", invalid="raise", divide="raise"):
    _x = np.array([[-1e308, -745.0, -50.0], [50.0, 745.0, 1e308]])
    _out, _cache = sigmoid_forward(_x)
    _dx = sigmoid_backward(np.ones_like(_x), _cache)
assert np.all(np.isfinite(_out)) and np.all(np.isfinite(_dx))
assert np.allclose(_out, mf.sigmoid(_x), atol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ## Task 4 · Softmax cross-entropy (3 points)
# A classifier outputs one score (logit) per class, $z$ of shape $(N, C)$; the labels are
# integers $y_n \in \{0, \dots, C-1\}$. Softmax turns the scores into probabilities and the loss is
# the mean negative log-probability of the true class:
#
# $$p_{nc} = \frac{e^{z_{nc}}}{\sum_{k} e^{z_{nk}}}, \qquad
# L = -\frac{1}{N} \sum_{n=1}^{N} \log p_{n, y_n}, \qquad
# \frac{\partial L}{\partial z} = \frac{1}{N}\left(p - \mathrm{onehot}(y)\right).$$
#
# Compute it stably: subtract each row's maximum from the logits first, and compute
# $\log p_{n,c} = z_{nc} - \log \sum_k e^{z_{nk}}$ directly instead of `np.log(p)`.

# %% nbgrader={"grade": false, "grade_id": "softmax_cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy and its gradient.

    logits: (N, C) floats; y: (N,) integer labels in [0, C).
    Returns (loss, dlogits): loss a float (the mean over the batch), dlogits (N, C).
    """
    ### BEGIN SOLUTION
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), y].mean()
    dlogits = np.exp(log_p)
    dlogits[np.arange(n), y] -= 1
    return float(loss), dlogits / n
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax_cross_entropy", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
y = np.array([0, 2])
loss, dlogits = softmax_cross_entropy(logits, y)
assert np.ndim(loss) == 0, f"the loss must be a single number, got shape {np.shape(loss)}"
assert np.isclose(loss, 1.4185398, atol=1e-6), loss
assert np.shape(dlogits) == (2, 3)
assert np.allclose(dlogits.sum(axis=1), 0), "each row of dlogits must sum to 0"
assert rel_error(dlogits, numerical_gradient(lambda: softmax_cross_entropy(logits, y)[0], logits)) < 1e-6
loss, _ = softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))
assert np.isclose(loss, 1000.0), f"huge logits: expected a loss of 1000, got {loss}"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(105)
for _ in range(4):
    _n, _c = _rng.integers(1, 9), _rng.integers(2, 11)
    _z, _y = 2 * _rng.normal(size=(_n, _c)), _rng.integers(0, _c, size=_n)
    _loss, _dz = softmax_cross_entropy(_z.copy(), _y.copy())
    _ref_loss, _ref_dz = mf.CrossEntropy()(_z, _y)
    assert abs(float(_loss) - _ref_loss) < 1e-9 * max(1.0, _ref_loss)
    assert rel_error(_dz, _ref_dz) < 1e-8
    assert rel_error(_dz, numerical_gradient(lambda: softmax_cross_entropy(_z, _y)[0], _z)) < 1e-6
with np.errstate(over="raise", invalid="raise", divide="raise"):
    _z = np.array([[1e4, -1e4, 0.0], [-800.0, 800.0, 799.0]])
    _loss, _dz = softmax_cross_entropy(_z, np.array([1, 2]))
_ref_loss, _ref_dz = mf.CrossEntropy()(_z, np.array([1, 2]))
assert np.isfinite(_loss) and abs(float(_loss) - _ref_loss) < 1e-6 * _ref_loss
assert np.allclose(_dz, _ref_dz, atol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ## Task 5 · Written answer (3 points, graded by hand)
# Your `softmax_cross_entropy` subtracts each row's maximum from the logits before `np.exp`.
# (a) Show with a line of algebra that the shift does not change the softmax.
# (b) What would go wrong without it for the logits $[1000, 0]$ in float64, and what would the
# loss come out as?
# (c) Even with the shift, why is computing `np.log(p)` from the probabilities worse than the
# log-sum-exp form for a logit row like $[0, -800]$ with label 1?
#
# Write your answer in the next cell (a few sentences).

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_softmax_shift", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# (a) For any constant $m$, $\frac{e^{z_c - m}}{\sum_k e^{z_k - m}} = \frac{e^{-m} e^{z_c}}{e^{-m}\sum_k e^{z_k}}
# = \frac{e^{z_c}}{\sum_k e^{z_k}}$: the factor $e^{-m}$ cancels, so choosing $m = \max_k z_k$ changes nothing.
#
# (b) $e^{1000}$ overflows float64 (its largest value is about $1.8 \cdot 10^{308} \approx e^{709.8}$), so the
# numerator and the sum are both `inf` and $p = \infty/\infty$ = `nan`; the loss (and every gradient
# after it) becomes `nan`. With the shift the exponents are $e^{0} = 1$ and $e^{-1000} = 0$ (a harmless
# underflow), and the loss is finite: $-\log p_1 = 1000 + \log(1 + e^{-1000}) \approx 1000$ for label 1,
# $\approx 0$ for label 0.
#
# (c) $p_1 = e^{-800}/(1 + e^{-800})$ underflows to exactly 0 (below the smallest float64, about
# $5 \cdot 10^{-324}$), so `np.log(p)` gives $-\infty$ and the loss is `inf`, although the true value,
# $800$, is perfectly representable. The log-sum-exp form computes $\log p_1 = -800 - \log(1 + e^{-800})
# = -800$ without ever forming the tiny probability.

# %% [markdown]
# ## Task 6 · One step of SGD with momentum (2 points)
# Plain SGD steps along the current gradient. With momentum $\mu$ it steps along a running sum of
# past gradients, the velocity $v$ (PyTorch's convention, with $v$ starting at zero):
#
# $$v \leftarrow \mu\, v + \frac{\partial L}{\partial w}, \qquad w \leftarrow w - \eta\, v.$$
#
# Components of the gradient that keep their sign add up over steps; components that flip sign
# from step to step cancel, so the step grows along a long valley and the zig-zag across it is damped.

# %% nbgrader={"grade": false, "grade_id": "sgd_momentum_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_momentum_step(w, dw, velocity, lr, momentum):
    """One SGD step with momentum (torch.optim.SGD's rule): v = momentum * v + dw; w = w - lr * v.

    w, dw, velocity: arrays of the same shape (the parameter, its gradient, the velocity so far);
    lr, momentum: floats. Returns (w, velocity), the updated parameter and velocity (same shape).
    You may update w and velocity in place or return new arrays; the caller uses the returned ones.
    """
    ### BEGIN SOLUTION
    velocity = momentum * velocity + dw
    w = w - lr * velocity
    return w, velocity
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd_momentum", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
w, v = sgd_momentum_step(np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.zeros(2), lr=0.1, momentum=0.9)
assert np.allclose(v, [0.5, -1.0]) and np.allclose(w, [0.95, 2.1]), (w, v)
w, v = sgd_momentum_step(w, np.array([0.5, 1.0]), v, lr=0.1, momentum=0.9)
assert np.allclose(v, [0.95, 0.1]) and np.allclose(w, [0.855, 2.09]), (w, v)
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(106)
for _shape in [(3,), (4, 2), (2, 3, 2)]:
    _lr, _mu = float(_rng.uniform(0.01, 0.5)), float(_rng.uniform(0.0, 0.99))
    _p = mf.Parameter(_rng.normal(size=_shape))
    _opt = mf.SGD([_p], lr=_lr, momentum=_mu)
    _w, _v = _p.data.copy(), np.zeros(_shape)
    for _step in range(4):
        _g = _rng.normal(size=_shape)
        _p.grad[...] = _g
        _opt.step()
        _w, _v = sgd_momentum_step(_w, _g.copy(), _v, _lr, _mu)
        assert np.shape(_w) == _shape and np.shape(_v) == _shape
        assert rel_error(_w, _p.data) < 1e-9
        assert rel_error(_v, _opt.state[0]["momentum_buffer"]) < 1e-9
_w, _v = sgd_momentum_step(np.zeros(2), np.zeros(2), np.array([1.0, -2.0]), 0.5, 0.5)
assert np.allclose(_v, [0.5, -1.0]) and np.allclose(_w, [-0.25, 0.5])
### END HIDDEN TESTS

# %% [markdown]
# ## Task 7 · Train an MLP on digits with your own parts (4 points)
# The digits data: 1797 images of $8 \times 8$ pixels (64 features, values 0–16), labels 0–9. We split
# it into training, validation and test sets (stratified, 70/15/15 %) and scale the pixels to
# $[0, 1]$ with a `MinMaxScaler` fitted on the training set only.
#
# The network is $\text{Linear}(64, h) \to \text{ReLU} \to \text{Linear}(h, 10)$ with softmax
# cross-entropy. `train_mlp` below sets up the weights (He initialization, zero biases), the
# velocities and the mini-batch loop; you write one training step: forward pass, loss, backward
# pass and a momentum update of the four parameters, using **your** functions from tasks 1–6.
# `predict` (given) runs the forward pass and takes the arg-max.

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false, "task": false}
X, y = mf.datasets.load_digits()
X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=0.15, test_size=0.15, seed=0)
scaler = mf.MinMaxScaler().fit(X_train)
X_train, X_val, X_test = scaler.transform(X_train), scaler.transform(X_val), scaler.transform(X_test)
print("train", X_train.shape, "validation", X_val.shape, "test", X_test.shape)


def predict(params, X):
    """Predicted labels (N,) of the MLP with parameters params = {"W1", "b1", "W2", "b2"} for inputs X (N, 64)."""
    h, _ = linear_forward(X, params["W1"], params["b1"])
    h, _ = relu_forward(h)
    logits, _ = linear_forward(h, params["W2"], params["b2"])
    return np.argmax(np.asarray(logits), axis=1)


# %% nbgrader={"grade": false, "grade_id": "train_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_mlp(X, y, hidden=64, epochs=20, lr=0.05, momentum=0.9, batch_size=32, seed=0):
    """Train Linear(D, hidden) -> ReLU -> Linear(hidden, C) with softmax cross-entropy and SGD with momentum.

    X: (N, D) scaled features; y: (N,) integer labels in [0, C), C = y.max() + 1.
    Returns (params, losses): params = {"W1": (D, hidden), "b1": (hidden,), "W2": (hidden, C), "b2": (C,)},
    losses = the mean training loss of each epoch (a list of `epochs` floats).
    """
    rng = np.random.default_rng(seed)
    d, c = X.shape[1], int(y.max()) + 1
    params = {
        "W1": rng.normal(0.0, np.sqrt(2 / d), size=(d, hidden)), "b1": np.zeros(hidden),
        "W2": rng.normal(0.0, np.sqrt(2 / hidden), size=(hidden, c)), "b2": np.zeros(c),
    }
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    losses = []
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in mf.minibatches(X, y, batch_size=batch_size, rng=rng):
            # One step on the batch (xb, yb): forward, loss, backward, then update every parameter with
            # params[name], velocity[name] = sgd_momentum_step(params[name], grads[name], velocity[name], lr, momentum)
            # and set `loss` to the batch's mean loss.
            ### BEGIN SOLUTION
            h, cache1 = linear_forward(xb, params["W1"], params["b1"])
            a, cache_relu = relu_forward(h)
            logits, cache2 = linear_forward(a, params["W2"], params["b2"])
            loss, dlogits = softmax_cross_entropy(logits, yb)
            da, dW2, db2 = linear_backward(dlogits, cache2)
            dh = relu_backward(da, cache_relu)
            _, dW1, db1 = linear_backward(dh, cache1)
            grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
            for name in params:
                params[name], velocity[name] = sgd_momentum_step(params[name], grads[name], velocity[name], lr, momentum)
            ### END SOLUTION
            total += float(loss) * len(xb)
        losses.append(total / len(X))
    return params, losses


# %% [markdown]
# Train it and look at the loss curve (this cell only prints a note until `train_mlp` works):

# %% nbgrader={"grade": false, "grade_id": "train_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    params, losses = train_mlp(X_train, y_train)
except NotImplementedError:
    print("train_mlp is not finished yet")
else:
    val_accuracy = np.mean(predict(params, X_val) == y_val)
    print(f"final training loss {losses[-1]:.4f}, validation accuracy {val_accuracy:.3f}")
    plt.figure(figsize=(5, 3))
    plt.plot(range(1, len(losses) + 1), losses, marker="o")
    plt.xlabel("epoch")
    plt.ylabel("mean training loss")
    plt.title("Your MLP on digits")
    plt.show()

# %% [markdown]
# The test below retrains the network and requires a **validation accuracy above 0.93**; the
# hidden tests retrain it on another split and check the accuracy on data it has never seen
# (also above 0.93), and that training really used your `linear_backward` and `sgd_momentum_step`.

# %% nbgrader={"grade": true, "grade_id": "test_train_mlp", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
params, losses = train_mlp(X_train, y_train)
assert sorted(params) == ["W1", "W2", "b1", "b2"], sorted(params)
assert params["W1"].shape == (64, 64) and params["W2"].shape == (64, 10), "the parameters changed shape"
assert len(losses) == 20 and all(np.isfinite(losses)), "expected 20 finite epoch losses"
assert losses[-1] < 0.5 * losses[0], f"the training loss should at least halve, got {losses[0]:.3f} -> {losses[-1]:.3f}"
val_accuracy = np.mean(predict(params, X_val) == y_val)
assert val_accuracy > 0.93, f"validation accuracy {val_accuracy:.3f}, expected > 0.93"
### BEGIN HIDDEN TESTS
_calls = {"linear_backward": 0, "sgd_momentum_step": 0}
_linear_backward, _sgd_momentum_step = linear_backward, sgd_momentum_step


def linear_backward(dout, cache):
    _calls["linear_backward"] += 1
    return _linear_backward(dout, cache)


def sgd_momentum_step(w, dw, velocity, lr, momentum):
    _calls["sgd_momentum_step"] += 1
    return _sgd_momentum_step(w, dw, velocity, lr, momentum)


try:
    _X, _y = mf.datasets.load_digits()
    _Xtr, _Xte, _ytr, _yte = mf.train_test_split(_X, _y, test_size=0.25, seed=7)
    _scaler = mf.MinMaxScaler().fit(_Xtr)
    _params, _losses = train_mlp(_scaler.transform(_Xtr), _ytr, hidden=48, epochs=15, seed=3)
finally:
    linear_backward, sgd_momentum_step = _linear_backward, _sgd_momentum_step
assert _calls["linear_backward"] >= 15 and _calls["sgd_momentum_step"] >= 15, _calls
assert _params["W1"].shape == (64, 48) and len(_losses) == 15


def _reference_accuracy(p, X, y):
    """Accuracy of the trained parameters through a forward pass written here (plain float64 arrays)."""
    W1, b1, W2, b2 = (np.array(p[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
    return float(np.mean(np.argmax(np.maximum(X @ W1 + b1, 0) @ W2 + b2, axis=1) == np.asarray(y)))


_accuracy = _reference_accuracy(_params, _scaler.transform(_Xte), _yte)
assert _accuracy > 0.93, _accuracy
assert _reference_accuracy(params, X_test, y_test) > 0.93
### END HIDDEN TESTS

# %% [markdown]
# ## Going further (not graded)
# 1. Set `momentum=0.0` in `train_mlp` and compare the loss curves: how many more epochs does plain
#    SGD need to reach the same loss?
# 2. Replace the ReLU by your sigmoid: does the network still train with `lr=0.05`? Why is it slower?
# 3. Compare your functions with `minifw/layers.py` and `minifw/losses.py`, which write the same
#    math as classes; the lessons in `lessons/` use those layers from here on. The next labs,
#    `classification-pytorch` / `classification-tensorflow`, do the same kind of training with a framework.
