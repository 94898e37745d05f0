# %% [markdown] nbgrader={"grade": false, "grade_id": "brief", "locked": true, "schema_version": 3, "solution": false, "task": false} track="pytorch"
# # Lab · Overfitting and regularization (PyTorch)
#
# A model that fits its training data better and better can get *worse* on data it has not
# seen. You will watch this happen twice: with polynomials fitted in numpy, and with a wide
# network trained on a small set of handwritten digits. Then you will find the epoch where the
# validation loss turns up, and use early stopping, an L2 penalty and dropout to close the gap
# between training and validation loss without losing validation accuracy.
# (The same lab with TensorFlow/Keras is `overfitting-tensorflow`.)
#
# **Objectives.** After this lab you can
# - measure training and validation error as a function of model capacity, and pick the capacity with the validation set;
# - write a PyTorch training loop that records per-epoch training and validation loss and accuracy;
# - locate the epoch where the validation loss turns up, and implement early stopping that restores the best weights;
# - add an L2 penalty to the loss and dropout to the network, and measure what each one does to the train–validation gap.
#
# **Grading** (25 points).
#
# | task | what you write | points |
# |---|---|---|
# | 1 · Errors per degree | `polynomial_errors` | 3 |
# | 2 · Pick the degree | `best_degree` | 2 |
# | 3 · Written answer | choosing the degree | 2 (graded by hand) |
# | 4 · The network | `build_mlp` | 2 |
# | 5 · The L2 penalty | `l2_penalty` | 1 |
# | 6 · The training loop | `train_mlp` (without early stopping) | 4 |
# | 7 · The turning point | `turning_epoch` | 2 |
# | 8 · Early stopping | the `patience` part of `train_mlp` | 3 |
# | 9 · Regularize | `regularization_settings` | 3 |
# | 10 · Written answer | what each technique does | 3 (graded by hand) |
# | **total** | | **25** (20 autograded + 5 by hand) |
#
# **Rules.** Write your code where it says `YOUR CODE HERE` (replace the `raise NotImplementedError(...)` line).
# Do not rename the functions or change their arguments: the grader calls them by name. Each test
# cell shows some of its tests; more tests, on data you do not see, run when the lab is graded.
# Tasks 6, 8 and 9 train networks made by your `build_mlp` and `l2_penalty`, so do tasks 4 and 5 first.
# The whole notebook runs in about a minute on a laptop.
#
# **Before you hand in.** Run **Kernel → Restart Kernel and Run All Cells** and check that no cell
# fails. Then click **Validate** in JupyterLab's notebook toolbar, or run
# `nngrade validate labs/overfitting-pytorch/overfitting-pytorch.ipynb` in a terminal: it runs the
# notebook as the grader will and exits with an error when a test fails. The written answers
# (tasks 3 and 10) go into the cells under their questions: double-click such a cell to edit it,
# then run it (Shift+Enter) to show the text.

# %% [markdown] nbgrader={"grade": false, "grade_id": "brief", "locked": true, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
# # Lab · Overfitting and regularization (TensorFlow)
#
# A model that fits its training data better and better can get *worse* on data it has not
# seen. You will watch this happen twice: with polynomials fitted in numpy, and with a wide
# network trained on a small set of handwritten digits. Then you will find the epoch where the
# validation loss turns up, and use early stopping, an L2 penalty and dropout to close the gap
# between training and validation loss without losing validation accuracy.
# (The same lab with PyTorch is `overfitting-pytorch`.)
#
# **Objectives.** After this lab you can
# - measure training and validation error as a function of model capacity, and pick the capacity with the validation set;
# - write a TensorFlow training loop (`tf.GradientTape`, Keras layers and optimizer) that records per-epoch training and validation loss and accuracy;
# - locate the epoch where the validation loss turns up, and implement early stopping that restores the best weights;
# - add an L2 penalty to the loss and dropout to the network, and measure what each one does to the train–validation gap.
#
# **Grading** (25 points).
#
# | task | what you write | points |
# |---|---|---|
# | 1 · Errors per degree | `polynomial_errors` | 3 |
# | 2 · Pick the degree | `best_degree` | 2 |
# | 3 · Written answer | choosing the degree | 2 (graded by hand) |
# | 4 · The network | `build_mlp` | 2 |
# | 5 · The L2 penalty | `l2_penalty` | 1 |
# | 6 · The training loop | `train_mlp` (without early stopping) | 4 |
# | 7 · The turning point | `turning_epoch` | 2 |
# | 8 · Early stopping | the `patience` part of `train_mlp` | 3 |
# | 9 · Regularize | `regularization_settings` | 3 |
# | 10 · Written answer | what each technique does | 3 (graded by hand) |
# | **total** | | **25** (20 autograded + 5 by hand) |
#
# **Rules.** Write your code where it says `YOUR CODE HERE` (replace the `raise NotImplementedError(...)` line).
# Do not rename the functions or change their arguments: the grader calls them by name. Each test
# cell shows some of its tests; more tests, on data you do not see, run when the lab is graded.
# Tasks 6, 8 and 9 train networks made by your `build_mlp` and `l2_penalty`, so do tasks 4 and 5 first.
# The whole notebook runs in about a minute on a laptop.
#
# **Before you hand in.** Run **Kernel → Restart Kernel and Run All Cells** and check that no cell
# fails. Then click **Validate** in JupyterLab's notebook toolbar, or run
# `nngrade validate labs/overfitting-tensorflow/overfitting-tensorflow.ipynb` in a terminal: it runs the
# notebook as the grader will and exits with an error when a test fails. The written answers
# (tasks 3 and 10) go into the cells under their questions: double-click such a cell to edit it,
# then run it (Shift+Enter) to show the text.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false} track="pytorch"
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import minifw as mf

torch.set_num_threads(1)  # the networks are tiny: one CPU thread is fastest and never waits for another
np.random.seed(0)
torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch", torch.__version__, "| device:", device)

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import minifw as mf

# the networks are tiny: one CPU thread is fastest and never waits for another
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
keras.utils.set_random_seed(0)  # Python, numpy and TensorFlow seeds
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| GPUs:", tf.config.list_physical_devices("GPU"))

# %% [markdown]
# ## Part A · Polynomial fits of increasing degree
# Twenty noisy samples of $y = \sin(x) + \varepsilon$, $\varepsilon \sim \mathcal N(0, 0.3^2)$, are the
# training set; sixty more samples of the same kind are the validation set. A polynomial of degree $d$,
#
# $$\hat y(x) = w_0 + w_1 x + w_2 x^2 + \dots + w_d x^d,$$
#
# is fitted to the training set by least squares: the weights minimize the training mean squared error
#
# $$\mathrm{MSE}_\text{train}(d) = \frac{1}{n} \sum_{i=1}^{n} \left(\hat y(x_i) - y_i\right)^2 ,$$
#
# and the same fitted polynomial is then scored on the validation samples, $\mathrm{MSE}_\text{val}(d)$.
# A degree-$d$ polynomial has $d + 1$ weights: degree 0 is a constant, degree 19 would pass through
# all twenty training points.

# %% nbgrader={"grade": false, "grade_id": "poly_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
x_all, y_all = mf.datasets.make_regression_1d(n=80, noise=0.3, seed=1)
x_all, y_all = x_all.ravel().astype(np.float64), y_all.ravel().astype(np.float64)  # 1-D float64 arrays
x_train, y_train, x_val, y_val = x_all[:20], y_all[:20], x_all[20:], y_all[20:]
degrees = list(range(13))  # 0, 1, ..., 12

plt.figure(figsize=(5, 3))
plt.scatter(x_train, y_train, label="training (20)")
plt.scatter(x_val, y_val, s=10, alpha=0.5, label="validation (60)")
plt.xlabel("x")
plt.ylabel("y")
plt.legend()
plt.show()


# %% [markdown]
# ## Task 1 · Training and validation error per degree (3 points)
# Write `polynomial_errors`: for every degree in `degrees`, fit a polynomial to the training data and
# return the training and validation MSE of that fit. `np.polynomial.Polynomial.fit(x, y, deg)`
# returns a polynomial `p` that you can call, `p(x)`; it rescales $x$ to $[-1, 1]$ internally, which
# keeps high degrees numerically well behaved (`np.polyfit` with `np.polyval` gives the same numbers here).

# %% nbgrader={"grade": false, "grade_id": "polynomial_errors", "locked": false, "schema_version": 3, "solution": true, "task": false}
def polynomial_errors(x_train, y_train, x_val, y_val, degrees):
    """Least-squares polynomial fits of each degree, scored on the training and validation data.

    x_train, y_train: (n,) float arrays; x_val, y_val: (m,) float arrays;
    degrees: a list of non-negative ints (any order).
    Returns (train_mse, val_mse): two float arrays of shape (len(degrees),); entry i belongs to degrees[i].
    """
    ### BEGIN SOLUTION
    train_mse, val_mse = [], []
    for degree in degrees:
        p = np.polynomial.Polynomial.fit(x_train, y_train, degree)
        train_mse.append(np.mean((p(x_train) - y_train) ** 2))
        val_mse.append(np.mean((p(x_val) - y_val) ** 2))
    return np.array(train_mse), np.array(val_mse)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_polynomial_errors", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
train_mse, val_mse = polynomial_errors(x_train, y_train, x_val, y_val, degrees)
assert np.shape(train_mse) == (13,) and np.shape(val_mse) == (13,), "expected one error per degree"
assert np.isclose(train_mse[0], np.var(y_train)), "degree 0 fits the mean: its training MSE is the variance of y_train"
assert np.all(np.diff(train_mse) <= 1e-12), "a higher degree can always fit the training data at least as well"
assert np.isclose(train_mse[1], 0.2613, atol=1e-4) and np.isclose(val_mse[1], 0.2657, atol=1e-4), (train_mse[1], val_mse[1])
### BEGIN HIDDEN TESTS
def _reference_errors(xt, yt, xv, yv, degs):
    _tr, _va = [], []
    for _d in degs:
        _p = np.polynomial.Polynomial.fit(xt, yt, _d)
        _tr.append(np.mean((_p(xt) - yt) ** 2))
        _va.append(np.mean((_p(xv) - yv) ** 2))
    return np.array(_tr), np.array(_va)


assert np.allclose(train_mse, _reference_errors(x_train, y_train, x_val, y_val, degrees)[0], rtol=1e-6, atol=1e-12)
assert np.allclose(val_mse, _reference_errors(x_train, y_train, x_val, y_val, degrees)[1], rtol=1e-6, atol=1e-12)
_rng = np.random.default_rng(2024)
for _n, _m, _degs in [(30, 100, list(range(10))), (25, 40, [6, 2, 9, 4, 0]), (8, 5, [3, 1])]:
    _x = _rng.uniform(-2, 2, size=_n + _m)
    _y = 1 - 2 * _x + 0.5 * _x ** 3 + 0.5 * _rng.normal(size=_n + _m)
    _tr, _va = polynomial_errors(_x[:_n].copy(), _y[:_n].copy(), _x[_n:].copy(), _y[_n:].copy(), list(_degs))
    _rtr, _rva = _reference_errors(_x[:_n], _y[:_n], _x[_n:], _y[_n:], _degs)
    assert np.shape(_tr) == (len(_degs),) and np.shape(_va) == (len(_degs),)
    assert np.allclose(_tr, _rtr, rtol=1e-6, atol=1e-12) and np.allclose(_va, _rva, rtol=1e-6, atol=1e-12)
# the facts that the model answer of task 3 states
_rtr, _rva = _reference_errors(x_train, y_train, x_val, y_val, degrees)
assert np.argmin(_rva) == 5 and _rtr[12] < 0.3 ** 2 and _rva[12] > 100 * _rva.min()
### END HIDDEN TESTS

# %% [markdown]
# The two curves, and three of the fits (this cell only prints a note until `polynomial_errors` works):

# %% nbgrader={"grade": false, "grade_id": "poly_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    train_mse, val_mse = polynomial_errors(x_train, y_train, x_val, y_val, degrees)
except NotImplementedError:
    print("polynomial_errors is not finished yet")
else:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.semilogy(degrees, train_mse, marker="o", label="training")
    ax1.semilogy(degrees, val_mse, marker="o", label="validation")
    ax1.set_xlabel("degree")
    ax1.set_ylabel("MSE (log scale)")
    ax1.legend()
    grid = np.linspace(x_all.min(), x_all.max(), 300)
    ax2.scatter(x_train, y_train, color="k", zorder=3, label="training")
    for degree in (1, int(np.argmin(val_mse)), 12):
        p = np.polynomial.Polynomial.fit(x_train, y_train, degree)
        ax2.plot(grid, p(grid), label=f"degree {degree}")
    ax2.set_ylim(-2, 2)
    ax2.set_xlabel("x")
    ax2.legend(fontsize=8)
    plt.show()


# %% [markdown]
# ## Task 2 · Pick the degree (2 points)
# Write `best_degree`: the degree (an element of `degrees`, not its position) whose fit has the lowest
# **validation** error (on a tie, the first of them in `degrees`). Use your `polynomial_errors`.

# %% nbgrader={"grade": false, "grade_id": "best_degree", "locked": false, "schema_version": 3, "solution": true, "task": false}
def best_degree(x_train, y_train, x_val, y_val, degrees):
    """The degree with the lowest validation MSE, as an int (on a tie, the first such degree in `degrees`).

    Arguments as in polynomial_errors; the result is one of the values in degrees.
    """
    ### BEGIN SOLUTION
    _, val_mse = polynomial_errors(x_train, y_train, x_val, y_val, degrees)
    return int(degrees[int(np.argmin(val_mse))])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_best_degree", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
chosen = best_degree(x_train, y_train, x_val, y_val, degrees)
print("best degree:", chosen)
assert isinstance(chosen, (int, np.integer)) and chosen in degrees, chosen
assert best_degree(x_train, y_train, x_val, y_val, [12, 1, 0]) == 1, "return the degree itself, not its position"
### BEGIN HIDDEN TESTS
def _reference_errors(xt, yt, xv, yv, degs):
    _tr, _va = [], []
    for _d in degs:
        _p = np.polynomial.Polynomial.fit(xt, yt, _d)
        _tr.append(np.mean((_p(xt) - yt) ** 2))
        _va.append(np.mean((_p(xv) - yv) ** 2))
    return np.array(_tr), np.array(_va)


_student_polynomial_errors = polynomial_errors


def polynomial_errors(x_train, y_train, x_val, y_val, degrees):  # the reference, so that task 2 is graded on its own
    return _reference_errors(x_train, y_train, x_val, y_val, degrees)


try:
    assert best_degree(x_train, y_train, x_val, y_val, degrees) == 5
    _rng = np.random.default_rng(7)
    for _n, _m, _degs in [(30, 100, list(range(10))), (25, 60, [8, 2, 6, 3, 0, 1]), (40, 200, [4, 3, 5])]:
        _x = _rng.uniform(-2, 2, size=_n + _m)
        _y = 1 - 2 * _x + 0.5 * _x ** 3 + 0.5 * _rng.normal(size=_n + _m)
        _va = _reference_errors(_x[:_n], _y[:_n], _x[_n:], _y[_n:], _degs)[1]
        assert best_degree(_x[:_n], _y[:_n], _x[_n:], _y[_n:], list(_degs)) == _degs[int(np.argmin(_va))]
finally:
    polynomial_errors = _student_polynomial_errors
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3 · Written answer: choosing the degree (2 points, graded by hand)
# Look at the two curves above. (a) Why can the training error never go up when the degree grows?
# (b) What happens to the validation error at high degrees, and what do the fitted curves do there?
# (c) Why must the degree be chosen with the validation set and not the test set that reports the
# final result? Answer in a few sentences in the next cell.

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_degree", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# (a) The polynomials of degree $d$ are among those of degree $d + 1$ (set $w_{d+1} = 0$), so the
# least-squares fit of degree $d + 1$ is at least as good on the training data: the minimum over a
# larger set cannot be higher. Here degree 12 reaches a training MSE far below the noise level $0.3^2 = 0.09$.
#
# (b) Up to degree 5 the validation error falls with the training error (the fit captures the shape of
# $\sin x$; degrees 3 to 6 are almost equal); beyond that it rises, more than a hundredfold at degree 12. The high-degree fits pass close
# to the training points by oscillating between them and shoot off near the ends of the range, where the
# validation points that fall between or beyond the training points pay for it: the model fits the noise.
#
# (c) Whatever is used to choose the model is no longer independent of it: picking the degree with the
# lowest test error picks the degree that happens to suit those particular test points, so the test error
# of the winner is optimistically biased. The validation set is spent on choosing; the test set is looked
# at once, at the end, to report an unbiased estimate.

# %% [markdown] track="pytorch"
# ## Part B · A network that overfits
# The MNIST sample that comes with the course has 5000 handwritten digits of $28 \times 28$ pixels,
# already scaled to $[0, 1]$ and flattened into 784 numbers. We train on only **150** of them (15 per
# digit), validate on 400, and leave the rest aside. The network is much bigger than 150 examples need:
#
# $$784 \;\to\; \text{Linear}(784, 128) \to \text{ReLU} \to \text{Dropout}(p) \to \text{Linear}(128, 128) \to \text{ReLU} \to \text{Dropout}(p) \to \text{Linear}(128, 10)$$
#
# 118 282 parameters for 150 images. It outputs logits; the loss is the mean softmax cross-entropy
# (`F.cross_entropy`). Every run in this lab uses Adam with learning rate $10^{-2}$, mini-batches of 32
# and at most 60 epochs.
#
# `evaluate(model, X, y)` (given) returns the mean cross-entropy and the accuracy of the model on a
# whole data set, in evaluation mode (dropout off, no gradients) and without any penalty. These are the
# numbers to record after every epoch, for the training set and for the validation set. The
# **generalization gap** of a model is
#
# $$\text{gap} = L_\text{val} - L_\text{train},$$
#
# both measured with `evaluate`.

# %% [markdown] track="tensorflow"
# ## Part B · A network that overfits
# The MNIST sample that comes with the course has 5000 handwritten digits of $28 \times 28$ pixels,
# already scaled to $[0, 1]$ and flattened into 784 numbers. We train on only **150** of them (15 per
# digit), validate on 400, and leave the rest aside. The network is much bigger than 150 examples need:
#
# $$784 \;\to\; \text{Linear}(784, 128) \to \text{ReLU} \to \text{Dropout}(p) \to \text{Linear}(128, 128) \to \text{ReLU} \to \text{Dropout}(p) \to \text{Linear}(128, 10)$$
#
# (the linear layers are `Dense` layers in Keras): 118 282 parameters for 150 images. It outputs logits; the
# loss is the mean softmax cross-entropy (`keras.losses.sparse_categorical_crossentropy` with `from_logits=True`). Every run
# in this lab uses Adam with learning rate $10^{-2}$, mini-batches of 32 and at most 60 epochs.
#
# `evaluate(model, X, y)` (given) returns the mean cross-entropy and the accuracy of the model on a
# whole data set, in inference mode (`training=False`: dropout off) and without any penalty. These are the
# numbers to record after every epoch, for the training set and for the validation set. The
# **generalization gap** of a model is
#
# $$\text{gap} = L_\text{val} - L_\text{train},$$
#
# both measured with `evaluate`.

# %% nbgrader={"grade": false, "grade_id": "digits_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
def digits_split(seed):
    """150 training and 400 validation digits (stratified) of the MNIST sample: (N, 784) pixels in [0, 1]."""
    X, y = mf.datasets.load_mnist_sample()
    X_tr, X_va, _, y_tr, y_va, _ = mf.train_val_test_split(X, y, val_size=400, test_size=len(X) - 550, seed=seed)
    return X_tr, y_tr, X_va, y_va


X_train, y_train, X_val, y_val = digits_split(seed=0)
HIDDEN, EPOCHS, LR = 128, 60, 1e-2
print("training", X_train.shape, "validation", X_val.shape, "| labels per class in training:", np.bincount(y_train))


# %% nbgrader={"grade": false, "grade_id": "evaluate", "locked": true, "schema_version": 3, "solution": false, "task": false} track="pytorch"
@torch.no_grad()
def evaluate(model, X, y):
    """(mean cross-entropy, accuracy) of `model` on the numpy arrays X (N, 784) and y (N,), as floats.

    Runs in evaluation mode (dropout off) without gradients, on the model's device, and leaves the
    model in evaluation mode: call model.train() before the next training step.
    """
    model.eval()
    model_device = next(model.parameters()).device
    logits = model(torch.as_tensor(X, device=model_device))
    labels = torch.as_tensor(y, device=model_device)
    return F.cross_entropy(logits, labels).item(), (logits.argmax(dim=1) == labels).float().mean().item()


# %% nbgrader={"grade": false, "grade_id": "evaluate", "locked": true, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
_inference = {}  # model -> its forward pass with training=False, as a tf.function


def evaluate(model, X, y):
    """(mean cross-entropy, accuracy) of `model` on the numpy arrays X (N, 784) and y (N,), as floats.

    Calls the model with training=False (dropout off) inside a tf.function traced once per model (an
    eager call after every epoch would be several times slower); no penalty is added.
    """
    if model not in _inference:
        _inference[model] = tf.function(lambda x: model(x, training=False),
                                        input_signature=[tf.TensorSpec([None, X.shape[1]], tf.float32)])
    logits = _inference[model](X).numpy()
    loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
    return float(tf.reduce_mean(loss)), float(np.mean(np.argmax(logits, axis=1) == y))


# %% [markdown] track="pytorch"
# ## Task 4 · The network (2 points)
# Write `build_mlp`: the network above as an `nn.Sequential`, with `nn.Dropout(dropout)` after each of the
# two ReLUs (with `dropout=0.0` you may leave the dropout layers out), moved to `device`. Call
# `torch.manual_seed(seed)` first so that the same seed gives the same initial weights.
#
# Dropout, during training, sets each hidden activation to 0 with probability $p$ and multiplies the
# others by $1/(1-p)$, so the expected activation is unchanged; in evaluation mode it does nothing. A
# different random half of the network is trained at every step, so no unit can rely on one particular
# other unit being there.

# %% [markdown] track="tensorflow"
# ## Task 4 · The network (2 points)
# Write `build_mlp`: the network above as a `keras.Sequential` that starts with `keras.Input((n_features,))`,
# with `keras.layers.Dropout(dropout)` after each of the two ReLUs (with `dropout=0.0` you may leave the
# dropout layers out). Call `keras.utils.set_random_seed(seed)` first so that the same seed gives the same
# initial weights (and the same dropout masks).
#
# Dropout, during training, sets each hidden activation to 0 with probability $p$ and multiplies the
# others by $1/(1-p)$, so the expected activation is unchanged; called with `training=False` it does
# nothing. A different random half of the network is trained at every step, so no unit can rely on one
# particular other unit being there.

# %% nbgrader={"grade": false, "grade_id": "build_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def build_mlp(n_features=784, n_classes=10, hidden=128, dropout=0.0, seed=0):
    """Linear(n_features, hidden) -> ReLU -> Dropout -> Linear(hidden, hidden) -> ReLU -> Dropout -> Linear(hidden, n_classes).

    Input (N, n_features) float32, output (N, n_classes) logits. dropout: the probability p of the
    two nn.Dropout layers. Returns an nn.Sequential on `device`, initialized after torch.manual_seed(seed).
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(n_features, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, n_classes),
    )
    return model.to(device)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "build_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def build_mlp(n_features=784, n_classes=10, hidden=128, dropout=0.0, seed=0):
    """Dense(hidden, relu) -> Dropout -> Dense(hidden, relu) -> Dropout -> Dense(n_classes), on inputs of n_features.

    Input (N, n_features) float32, output (N, n_classes) logits. dropout: the rate p of the two
    keras.layers.Dropout layers. Returns a keras.Sequential, built after keras.utils.set_random_seed(seed).
    """
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((n_features,)),
        keras.layers.Dense(hidden, activation="relu"), keras.layers.Dropout(dropout),
        keras.layers.Dense(hidden, activation="relu"), keras.layers.Dropout(dropout),
        keras.layers.Dense(n_classes),
    ])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_build_mlp", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="pytorch"
model = build_mlp(784, 10, hidden=128, dropout=0.5, seed=0)
n_parameters = sum(p.numel() for p in model.parameters())
assert n_parameters == 118_282, f"expected 785 * 128 + 129 * 128 + 129 * 10 = 118282 parameters, got {n_parameters}"
x = torch.as_tensor(X_train[:8], device=device)
model.eval()
out = model(x)
assert out.shape == (8, 10), f"expected logits of shape (8, 10), got {tuple(out.shape)}"
assert torch.equal(out, model(x)), "in evaluation mode the output must be deterministic"
model.train()
assert not torch.equal(model(x), model(x)), "dropout=0.5 must change the output in training mode"
assert next(model.parameters()).device.type == torch.device(device).type, "move the model to `device`"
### BEGIN HIDDEN TESTS
_a, _b = build_mlp(784, 10, hidden=32, dropout=0.0, seed=3), build_mlp(784, 10, hidden=32, dropout=0.0, seed=3)
assert all(torch.equal(_p, _q) for _p, _q in zip(_a.parameters(), _b.parameters())), "same seed, same weights"
_c = build_mlp(784, 10, hidden=32, dropout=0.0, seed=4)
assert not all(torch.equal(_p, _q) for _p, _q in zip(_a.parameters(), _c.parameters()))
_a.train()
assert torch.equal(_a(x), _a(x)), "dropout=0 must not change the output"
_linears = [_m for _m in _a.modules() if isinstance(_m, nn.Linear)]
assert [tuple(_m.weight.shape) for _m in _linears] == [(32, 784), (32, 32), (10, 32)]
_d = build_mlp(20, 3, hidden=7, dropout=0.3, seed=0)
assert [tuple(_m.weight.shape) for _m in _d.modules() if isinstance(_m, nn.Linear)] == [(7, 20), (7, 7), (3, 7)]
_drops = [_m for _m in _d.modules() if isinstance(_m, nn.Dropout)]
assert len(_drops) == 2 and all(abs(_m.p - 0.3) < 1e-12 for _m in _drops)
_d.eval()
_z = torch.rand(5, 20, device=device)
assert _d(_z).shape == (5, 3) and bool((_d(_z) < 0).any() or (_d(-_z) < 0).any()), "output logits, not probabilities"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_build_mlp", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
model = build_mlp(784, 10, hidden=128, dropout=0.5, seed=0)
n_parameters = model.count_params()
assert n_parameters == 118_282, f"expected 785 * 128 + 129 * 128 + 129 * 10 = 118282 parameters, got {n_parameters}"
x = X_train[:8]
out = model(x, training=False)
assert tuple(out.shape) == (8, 10), f"expected logits of shape (8, 10), got {tuple(out.shape)}"
assert np.array_equal(out, model(x, training=False)), "with training=False the output must be deterministic"
assert not np.array_equal(model(x, training=True), model(x, training=True)), "dropout=0.5 must change the output in training"
### BEGIN HIDDEN TESTS
_a, _b = build_mlp(784, 10, hidden=32, dropout=0.0, seed=3), build_mlp(784, 10, hidden=32, dropout=0.0, seed=3)
assert all(np.array_equal(_p, _q) for _p, _q in zip(_a.get_weights(), _b.get_weights())), "same seed, same weights"
_c = build_mlp(784, 10, hidden=32, dropout=0.0, seed=4)
assert not all(np.array_equal(_p, _q) for _p, _q in zip(_a.get_weights(), _c.get_weights()))
assert np.array_equal(_a(x, training=True), _a(x, training=True)), "dropout=0 must not change the output"
_denses = [_l for _l in _a.layers if isinstance(_l, keras.layers.Dense)]
assert [tuple(_l.kernel.shape) for _l in _denses] == [(784, 32), (32, 32), (32, 10)]
_d = build_mlp(20, 3, hidden=7, dropout=0.3, seed=0)
assert [tuple(_l.kernel.shape) for _l in _d.layers if isinstance(_l, keras.layers.Dense)] == [(20, 7), (7, 7), (7, 3)]
_drops = [_l for _l in _d.layers if isinstance(_l, keras.layers.Dropout)]
assert len(_drops) == 2 and all(abs(_l.rate - 0.3) < 1e-12 for _l in _drops)
_z = np.random.default_rng(0).random((5, 20)).astype(np.float32)
assert tuple(_d(_z).shape) == (5, 3)
assert bool(np.any(_d(_z, training=False) < 0) or np.any(_d(-_z, training=False) < 0)), "output logits, not probabilities"
### END HIDDEN TESTS

# %% [markdown] track="pytorch"
# ## Task 5 · The L2 penalty (1 point)
# L2 regularization adds the squared size of the weights to the loss,
#
# $$\mathcal L(\theta) = \frac{1}{B} \sum_{n=1}^{B} \mathrm{CE}(f_\theta(x_n), y_n) \;+\; \lambda \sum_{\ell} \lVert W_\ell \rVert^2,
# \qquad \lVert W \rVert^2 = \sum_{ij} W_{ij}^2,$$
#
# over the weight matrices of the three linear layers (not the biases). Its gradient, $2\lambda W$, pulls
# every weight towards 0 at every step ("weight decay"); large weights survive only where the data keeps
# asking for them. Write `l2_penalty(model)`, the sum $\sum_\ell \lVert W_\ell \rVert^2$ as a tensor that
# gradients flow through; `train_mlp` multiplies it by $\lambda$ = `l2`.

# %% [markdown] track="tensorflow"
# ## Task 5 · The L2 penalty (1 point)
# L2 regularization adds the squared size of the weights to the loss,
#
# $$\mathcal L(\theta) = \frac{1}{B} \sum_{n=1}^{B} \mathrm{CE}(f_\theta(x_n), y_n) \;+\; \lambda \sum_{\ell} \lVert W_\ell \rVert^2,
# \qquad \lVert W \rVert^2 = \sum_{ij} W_{ij}^2,$$
#
# over the weight matrices of the three linear layers (not the biases). Its gradient, $2\lambda W$, pulls
# every weight towards 0 at every step ("weight decay"); large weights survive only where the data keeps
# asking for them. Write `l2_penalty(model)`, the sum $\sum_\ell \lVert W_\ell \rVert^2$ over the `kernel`s of the
# `Dense` layers, as a tensor that `tf.GradientTape` can differentiate; `train_mlp` multiplies it by $\lambda$ = `l2`.
# (Keras can also add the penalty for you, `Dense(..., kernel_regularizer=keras.regularizers.L2(l2))`; here
# you write it out, so that you see where it enters the loss.)

# %% nbgrader={"grade": false, "grade_id": "l2_penalty", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def l2_penalty(model):
    """Sum of the squared entries of the weight matrices of all nn.Linear layers of `model` (biases excluded).

    Returns a 0-dimensional tensor that gradients flow through.
    """
    ### BEGIN SOLUTION
    return sum((m.weight ** 2).sum() for m in model.modules() if isinstance(m, nn.Linear))
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "l2_penalty", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def l2_penalty(model):
    """Sum of the squared entries of the kernels (weight matrices) of all Dense layers of `model` (biases excluded).

    Returns a scalar tf.Tensor that tf.GradientTape can differentiate.
    """
    ### BEGIN SOLUTION
    return tf.add_n([tf.reduce_sum(tf.square(layer.kernel)) for layer in model.layers
                     if isinstance(layer, keras.layers.Dense)])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_l2_penalty", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false} track="pytorch"
tiny = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).to(device)
with torch.no_grad():
    tiny[0].weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tiny[2].weight.copy_(torch.tensor([[0.5, -0.5]]))
    tiny[0].bias.fill_(10.0)
penalty = l2_penalty(tiny)
assert torch.is_tensor(penalty) and penalty.ndim == 0, "return a 0-dimensional tensor"
assert abs(penalty.item() - 30.5) < 1e-5, f"expected 1 + 4 + 9 + 16 + 0.25 + 0.25 = 30.5 (biases excluded), got {penalty.item()}"
penalty.backward()
assert torch.allclose(tiny[2].weight.grad, 2 * tiny[2].weight.detach()), "the gradient of ||W||^2 is 2 W"
### BEGIN HIDDEN TESTS
_m = build_mlp(64, 10, hidden=16, dropout=0.5, seed=1)
_expected = sum(float((_l.weight.detach().cpu().double() ** 2).sum()) for _l in _m.modules() if isinstance(_l, nn.Linear))
assert abs(l2_penalty(_m).item() - _expected) < 1e-4 * _expected
assert tiny[0].bias.grad is None or float(tiny[0].bias.grad.abs().sum()) == 0.0
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_l2_penalty", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
tiny = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="relu"), keras.layers.Dense(1)])
tiny.layers[0].kernel.assign([[1.0, 3.0], [2.0, 4.0]])
tiny.layers[1].kernel.assign([[0.5], [-0.5]])
tiny.layers[0].bias.assign([10.0, 10.0])
with tf.GradientTape() as tape:
    penalty = l2_penalty(tiny)
assert tf.is_tensor(penalty) and penalty.shape.rank == 0, "return a scalar tensor"
assert abs(float(penalty) - 30.5) < 1e-5, f"expected 1 + 4 + 9 + 16 + 0.25 + 0.25 = 30.5 (biases excluded), got {float(penalty)}"
grads = tape.gradient(penalty, [tiny.layers[1].kernel, tiny.layers[0].bias])
assert np.allclose(grads[0], 2 * tiny.layers[1].kernel.numpy()), "the gradient of ||W||^2 is 2 W"
### BEGIN HIDDEN TESTS
assert grads[1] is None or float(tf.reduce_sum(tf.abs(grads[1]))) == 0.0
_m = build_mlp(64, 10, hidden=16, dropout=0.5, seed=1)
_expected = sum(float(np.sum(_l.kernel.numpy().astype(np.float64) ** 2)) for _l in _m.layers if isinstance(_l, keras.layers.Dense))
assert abs(float(l2_penalty(_m)) - _expected) < 1e-4 * _expected
### END HIDDEN TESTS

# %% [markdown] track="pytorch"
# ## Task 6 · The training loop (4 points)
# Write `train_mlp`. It trains `model` in place for `epochs` epochs with `torch.optim.Adam(model.parameters(), lr=lr)`
# on mini-batches of `batch_size` samples, shuffled anew every epoch, minimizing the cross-entropy plus
# `l2 * l2_penalty(model)`. After every epoch it records, with `evaluate`, the training loss and accuracy
# and the validation loss and accuracy. It returns the history, a dict of four lists of floats (one entry
# per epoch run) and the index of the epoch whose weights the model holds at the end:
#
# ```python
# {"train_loss": [...], "train_acc": [...], "val_loss": [...], "val_acc": [...], "best_epoch": int}
# ```
#
# For this task ignore `patience` (it is `None` here): the model ends with the weights of the last epoch,
# so `best_epoch` is the last index. Task 8 adds early stopping. Remember that `evaluate` leaves the model
# in evaluation mode: switch back with `model.train()` before training, or dropout never acts. Call
# `torch.manual_seed(seed)` at the start so that shuffling and dropout repeat from run to run.

# %% [markdown] track="tensorflow"
# ## Task 6 · The training loop (4 points)
# Write `train_mlp`. It trains `model` in place for `epochs` epochs with `keras.optimizers.Adam(learning_rate=lr)`
# on mini-batches of `batch_size` samples, shuffled anew every epoch, minimizing the cross-entropy plus
# `l2 * l2_penalty(model)` (compute both inside a `tf.GradientTape`, then `optimizer.apply_gradients`).
# After every epoch it records, with `evaluate`, the training loss and accuracy and the validation loss
# and accuracy. It returns the history, a dict of four lists of floats (one entry per epoch run) and the
# index of the epoch whose weights the model holds at the end:
#
# ```python
# {"train_loss": [...], "train_acc": [...], "val_loss": [...], "val_acc": [...], "best_epoch": int}
# ```
#
# For this task ignore `patience` (it is `None` here): the model ends with the weights of the last epoch,
# so `best_epoch` is the last index. Task 8 adds early stopping. Call the model with `training=True` in the
# training step, or dropout never acts. Call `keras.utils.set_random_seed(seed)` at the start and shuffle
# with `np.random.default_rng(seed)`, so that shuffling and dropout repeat from run to run. Wrapping the
# training step in `@tf.function` makes it several times faster; call `optimizer.build(model.trainable_variables)`
# before the first step, so that the optimizer's variables exist and the step is traced once, not twice.

# %% nbgrader={"grade": false, "grade_id": "train_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def train_mlp(model, X_train, y_train, X_val, y_val, epochs=60, lr=1e-2, l2=0.0, patience=None, batch_size=32, seed=0):
    """Train `model` in place with Adam on cross-entropy + l2 * l2_penalty(model); return its history.

    X_train (N, 784) float32, y_train (N,) int64, X_val (M, 784), y_val (M,): numpy arrays.
    epochs: the most epochs to run; lr: Adam's learning rate; l2: the penalty weight lambda (0: none);
    patience: None (no early stopping) or an int >= 1 (task 8); batch_size: samples per step; seed: for
    torch.manual_seed. Returns {"train_loss", "train_acc", "val_loss", "val_acc": lists of floats, one per
    epoch run, measured with evaluate() after the epoch; "best_epoch": index of the epoch whose weights the
    model holds at the end}.
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    model_device = next(model.parameters()).device
    X = torch.as_tensor(X_train, device=model_device)
    y = torch.as_tensor(y_train, device=model_device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best_loss, best_epoch, best_state = float("inf"), 0, None
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(X)).to(model_device)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(X[idx]), y[idx]) + l2 * l2_penalty(model)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        train_loss, train_acc = evaluate(model, X_train, y_train)
        val_loss, val_acc = evaluate(model, X_val, y_val)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if patience is None:
            best_epoch = epoch
        elif val_loss < best_loss:  # early stopping: remember the best weights so far
            best_loss, best_epoch, best_state = val_loss, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:  # no improvement for `patience` epochs
            break
    if patience is not None:
        model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def train_mlp(model, X_train, y_train, X_val, y_val, epochs=60, lr=1e-2, l2=0.0, patience=None, batch_size=32, seed=0):
    """Train `model` in place with Adam on cross-entropy + l2 * l2_penalty(model); return its history.

    X_train (N, 784) float32, y_train (N,) int64, X_val (M, 784), y_val (M,): numpy arrays.
    epochs: the most epochs to run; lr: Adam's learning rate; l2: the penalty weight lambda (0: none);
    patience: None (no early stopping) or an int >= 1 (task 8); batch_size: samples per step; seed: for
    keras.utils.set_random_seed and the shuffling. Returns {"train_loss", "train_acc", "val_loss", "val_acc":
    lists of floats, one per epoch run, measured with evaluate() after the epoch; "best_epoch": index of the
    epoch whose weights the model holds at the end}.
    """
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    optimizer.build(model.trainable_variables)  # its moment variables exist before tracing: traced once, not twice
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(input_signature=[tf.TensorSpec([None, X_train.shape[1]], tf.float32), tf.TensorSpec([None], tf.int64)])
    def train_step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True)) + l2 * l2_penalty(model)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best_loss, best_epoch, best_weights = float("inf"), 0, None
    for epoch in range(epochs):
        order = rng.permutation(len(X_train))
        for start in range(0, len(X_train), batch_size):
            idx = order[start:start + batch_size]
            train_step(tf.constant(X_train[idx], tf.float32), tf.constant(y_train[idx], tf.int64))
        train_loss, train_acc = evaluate(model, X_train, y_train)
        val_loss, val_acc = evaluate(model, X_val, y_val)
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        if patience is None:
            best_epoch = epoch
        elif val_loss < best_loss:  # early stopping: remember the best weights so far
            best_loss, best_epoch, best_weights = val_loss, epoch, model.get_weights()
        elif epoch - best_epoch >= patience:  # no improvement for `patience` epochs
            break
    if patience is not None:
        model.set_weights(best_weights)
    history["best_epoch"] = best_epoch
    return history
    ### END SOLUTION


# %% [markdown]
# `run` (given) builds a fresh network with your `build_mlp` and trains it with your `train_mlp` on the
# training split above (`split=0`; the hidden tests use other splits). It remembers its results for as
# long as you do not change the three functions, so the tests below reuse the runs of the plots instead
# of training again. Train the baseline, without any regularization, and look at its curves:

# %% nbgrader={"grade": false, "grade_id": "run_helper", "locked": true, "schema_version": 3, "solution": false, "task": false}
_runs = {}


def run(dropout=0.0, l2=0.0, patience=None, split=0, seed=0):
    """(model, history): build_mlp(784, 10, HIDDEN, dropout, seed) trained by train_mlp(model, *digits_split(split),
    epochs=EPOCHS, lr=LR, l2=l2, patience=patience, seed=seed). Split 0 is (X_train, y_train, X_val, y_val)."""
    key = (build_mlp, train_mlp, l2_penalty, dropout, l2, patience, split, seed)
    if key not in _runs:
        data = (X_train, y_train, X_val, y_val) if split == 0 else digits_split(split)
        model = build_mlp(784, 10, hidden=HIDDEN, dropout=dropout, seed=seed)
        history = train_mlp(model, *data, epochs=EPOCHS, lr=LR, l2=l2, patience=patience, seed=seed)
        _runs[key] = model, history
    return _runs[key]


def gap(history):
    """Validation loss minus training loss at the epoch whose weights the model holds."""
    best = history["best_epoch"]
    return history["val_loss"][best] - history["train_loss"][best]


def plot_history(history, title):
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    ax1.plot(epochs, history["train_loss"], label="training")
    ax1.plot(epochs, history["val_loss"], label="validation")
    ax1.axvline(history["best_epoch"] + 1, color="gray", linestyle=":", label="weights kept")
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy (log scale)")
    ax1.legend()
    ax2.plot(epochs, history["train_acc"], label="training")
    ax2.plot(epochs, history["val_acc"], label="validation")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0.5, 1.01)
    ax2.legend()
    fig.suptitle(title)
    plt.show()


# %% nbgrader={"grade": false, "grade_id": "baseline_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    baseline_model, baseline = run()
except NotImplementedError:
    print("build_mlp, l2_penalty or train_mlp is not finished yet")
else:
    print(f"final: training loss {baseline['train_loss'][-1]:.4f}, validation loss {baseline['val_loss'][-1]:.3f}, "
          f"validation accuracy {baseline['val_acc'][-1]:.3f}, gap {gap(baseline):.3f}")
    print(f"lowest validation loss {min(baseline['val_loss']):.3f} after epoch {int(np.argmin(baseline['val_loss'])) + 1}")
    plot_history(baseline, "no regularization")

# %% [markdown]
# The test below checks the history and that the baseline overfits: it learns the 150 training images
# perfectly (training accuracy 1, training loss below 0.01), while its validation loss reaches its minimum
# in the first half of the run and ends above that minimum. The hidden tests repeat this on another split
# of the digits, and check that `l2` really shrinks the weights and that dropout is on during the training
# steps and off in `evaluate`.

# %% nbgrader={"grade": false, "grade_id": "baseline_checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
def check_baseline(model, history, X, y, split):
    """The checks of task 6 on a run without patience: the form of the history, evaluate() of the final
    model on X, y equal to the last entries of `split` ("train" or "val"), and the signs of overfitting."""
    keys = ("train_loss", "train_acc", "val_loss", "val_acc")
    assert set(history) == {*keys, "best_epoch"}, sorted(history)
    assert all(len(history[k]) == EPOCHS for k in keys), "one entry per epoch"
    assert all(np.isfinite(history[k]).all() for k in keys)
    assert history["best_epoch"] == EPOCHS - 1, "without patience the model keeps the last epoch's weights"
    assert np.allclose(evaluate(model, X, y), (history[f"{split}_loss"][-1], history[f"{split}_acc"][-1]), rtol=1e-4), \
        "the last entries must be evaluate() of the final model"
    assert history["train_loss"][-1] < 0.01 and history["train_acc"][-1] == 1.0, "the baseline should fit the training set"
    assert np.argmin(history["val_loss"]) < EPOCHS // 2, "the validation loss should reach its minimum early"
    assert history["val_loss"][-1] > min(history["val_loss"]), "the validation loss should turn up"


# %% nbgrader={"grade": true, "grade_id": "test_train_mlp", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false} track="pytorch"
model, history = run()
check_baseline(model, history, X_val, y_val, split="val")
### BEGIN HIDDEN TESTS
_data = digits_split(seed=11)
_model, _h = run(split=11, seed=1)
check_baseline(_model, _h, _data[0], _data[1], split="train")
# l2 shrinks the weights: the baseline against the L2 run of the reference settings (cell reference_settings
# trains it anyway, so this check trains nothing extra; its norm is ~0.1 of the baseline's on every split tried)
_norms = [float(sum((_l.weight.detach() ** 2).sum() for _l in run(l2=_lam)[0].modules() if isinstance(_l, nn.Linear)))
          for _lam in (0.0, 3e-3)]
assert _norms[1] < 0.5 * _norms[0], f"l2=3e-3 should shrink the weights: squared norms {_norms}"
# dropout acts in the training steps (gradients on, training mode) and not in evaluate (no gradients)
_modes = []
_m = build_mlp(784, 10, hidden=16, dropout=0.5, seed=0)
_hook = _m.register_forward_hook(lambda module, inputs, output: _modes.append((torch.is_grad_enabled(), module.training)))
try:
    train_mlp(_m, X_train, y_train, X_val, y_val, epochs=3, lr=LR, seed=0)
finally:
    _hook.remove()
assert any(_g for _g, _t in _modes), "no training step ran"
assert all(_t for _g, _t in _modes if _g), "every training step must run in training mode (model.train())"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_mlp", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
model, history = run()
check_baseline(model, history, X_val, y_val, split="val")
### BEGIN HIDDEN TESTS
_data = digits_split(seed=11)
_model, _h = run(split=11, seed=1)
check_baseline(_model, _h, _data[0], _data[1], split="train")
# l2 shrinks the weights: the baseline against the L2 run of the reference settings (cell reference_settings
# trains it anyway, so this check trains nothing extra; its norm is ~0.1 of the baseline's on every split tried)
_norms = [sum(float(np.sum(_l.kernel.numpy() ** 2)) for _l in run(l2=_lam)[0].layers if isinstance(_l, keras.layers.Dense))
          for _lam in (0.0, 3e-3)]
assert _norms[1] < 0.5 * _norms[0], f"l2=3e-3 should shrink the weights: squared norms {_norms}"
# dropout acts in the training steps (training=True) and not in evaluate (training=False)
_modes = []
_dropout_call = keras.layers.Dropout.call


def _spy_call(self, inputs, training=False):
    _modes.append(bool(training))
    return _dropout_call(self, inputs, training=training)


keras.layers.Dropout.call = _spy_call
try:
    _m = build_mlp(784, 10, hidden=16, dropout=0.5, seed=0)
    train_mlp(_m, X_train, y_train, X_val, y_val, epochs=3, lr=LR, seed=0)
finally:
    keras.layers.Dropout.call = _dropout_call
assert True in _modes, "call the model with training=True in the training step, so that dropout acts"
### END HIDDEN TESTS

# %% [markdown]
# ## Task 7 · Where does the validation loss turn up? (2 points)
# A validation curve is noisy, so "the first epoch where the loss goes up" would fire at the first
# wiggle. Define the **turning epoch** with a patience $P$: the first epoch $t$ (an index into the list)
# that is followed by $P$ epochs none of which is lower,
#
# $$t^\star = \min\{\, t : t + P < T \text{ and } L_\text{val}[t + k] \ge L_\text{val}[t] \text{ for } k = 1, \dots, P \,\},$$
#
# where $T$ is the number of epochs recorded. If no epoch qualifies (the loss never stays up for $P$
# epochs), return the index of the lowest validation loss (the first one on ties). At $t^\star$ the
# validation loss is lower than at every earlier epoch, so it is exactly the epoch whose weights early
# stopping with patience $P$ keeps (task 8).

# %% nbgrader={"grade": false, "grade_id": "turning_epoch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def turning_epoch(val_loss, patience=5):
    """The first index t with t + patience < len(val_loss) and val_loss[t + k] >= val_loss[t] for k = 1..patience;
    if there is none, the index of the minimum of val_loss (the first one on ties). Returns an int.

    val_loss: a sequence of floats (one per epoch); patience: an int >= 1.
    """
    ### BEGIN SOLUTION
    val_loss = np.asarray(val_loss, dtype=float)
    for t in range(len(val_loss) - patience):
        if np.all(val_loss[t + 1:t + patience + 1] >= val_loss[t]):
            return t
    return int(np.argmin(val_loss))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_turning_epoch", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
curve = [1.0, 0.8, 0.6, 0.65, 0.55, 0.5, 0.52, 0.53, 0.6, 0.7]
assert turning_epoch(curve, patience=1) == 2, "0.6 is followed by 0.65: with patience 1 that is enough"
assert turning_epoch(curve, patience=2) == 5, "0.6 is followed by 0.55 within 2 epochs; 0.5 stays the lowest for 4"
assert turning_epoch(curve, patience=5) == 5 and isinstance(turning_epoch(curve, patience=5), (int, np.integer))
assert turning_epoch([3.0, 2.0, 1.0, 0.5], patience=2) == 3, "still going down: the index of the minimum"
### BEGIN HIDDEN TESTS
def _reference_turning(losses, patience):
    losses = list(losses)
    for _t in range(len(losses) - patience):
        if all(losses[_t + _k] >= losses[_t] for _k in range(1, patience + 1)):
            return _t
    return int(np.argmin(losses))


assert turning_epoch([0.5, 0.5, 0.5], patience=2) == 0, "equal is not lower"
assert turning_epoch([2.0, 1.0, 1.5, 0.9], patience=3) == 3
assert turning_epoch([1.0, 0.9, 0.8, 0.9, 0.7, 1.0], patience=2) == 4
assert turning_epoch(np.array([1.0, 0.5, 0.7, 0.6]), patience=2) == 1
_rng = np.random.default_rng(5)
for _ in range(200):
    _T = int(_rng.integers(1, 40))
    _c = np.cumsum(_rng.normal(-0.05, 0.2, size=_T)).round(1)  # rounding makes ties
    _p = int(_rng.integers(1, 8))
    assert turning_epoch(list(_c), patience=_p) == _reference_turning(_c, _p), (list(_c), _p)
### END HIDDEN TESTS

# %% [markdown]
# The baseline's turning epoch with patience 10:

# %% nbgrader={"grade": false, "grade_id": "turning_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    baseline_model, baseline = run()
    t_star = turning_epoch(baseline["val_loss"], patience=10)
except NotImplementedError:
    print("a function is not finished yet")
else:
    print(f"turning epoch: index {t_star} (epoch {t_star + 1}), validation loss {baseline['val_loss'][t_star]:.3f}; "
          f"after {EPOCHS} epochs {baseline['val_loss'][-1]:.3f}")
    plt.figure(figsize=(5, 3))
    plt.plot(np.arange(1, EPOCHS + 1), baseline["val_loss"], label="validation loss")
    plt.axvline(t_star + 1, color="gray", linestyle=":", label="turning epoch")
    plt.xlabel("epoch")
    plt.legend()
    plt.show()

# %% [markdown] track="pytorch"
# ## Task 8 · Early stopping (3 points)
# Now complete the `patience` part of `train_mlp` (edit the cell of task 6). With `patience` an int,
# after each epoch compare the validation loss with the lowest one so far: if it is lower, remember this
# epoch and a copy of the weights (`copy.deepcopy(model.state_dict())`); if it has not been lower for
# `patience` epochs, stop. Whether it stopped or ran all `epochs`, the model must end with the weights of
# the best epoch (`model.load_state_dict(...)`), and `best_epoch` is that epoch's index. So with
# patience $P$ the history has $t^\star + P + 1$ entries when training stopped, and `best_epoch` $= t^\star$.

# %% [markdown] track="tensorflow"
# ## Task 8 · Early stopping (3 points)
# Now complete the `patience` part of `train_mlp` (edit the cell of task 6). With `patience` an int,
# after each epoch compare the validation loss with the lowest one so far: if it is lower, remember this
# epoch and a copy of the weights (`model.get_weights()`, a list of numpy arrays); if it has not been lower
# for `patience` epochs, stop. Whether it stopped or ran all `epochs`, the model must end with the weights of
# the best epoch (`model.set_weights(...)`), and `best_epoch` is that epoch's index. So with
# patience $P$ the history has $t^\star + P + 1$ entries when training stopped, and `best_epoch` $= t^\star$.

# %% nbgrader={"grade": false, "grade_id": "early_stopping_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    stopped_model, stopped = run(patience=10)
except NotImplementedError:
    print("train_mlp is not finished yet")
else:
    print(f"stopped after {len(stopped['val_loss'])} epochs, kept epoch {stopped['best_epoch'] + 1}: "
          f"validation loss {stopped['val_loss'][stopped['best_epoch']]:.3f}, gap {gap(stopped):.3f}")
    plot_history(stopped, "early stopping, patience 10")

# %% nbgrader={"grade": true, "grade_id": "test_early_stopping", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
model, history = run(patience=10)
n_run, best = len(history["val_loss"]), history["best_epoch"]
assert n_run < EPOCHS, "the baseline turns up early: training should stop before the last epoch"
assert best == int(np.argmin(history["val_loss"])), "keep the epoch with the lowest validation loss"
assert n_run == best + 10 + 1, f"stop 10 epochs after the best one: best index {best}, {n_run} epochs run"
assert np.allclose(evaluate(model, X_val, y_val), (history["val_loss"][best], history["val_acc"][best]), rtol=1e-4), \
    "the model must end with the weights of the best epoch"
assert gap(history) < gap(run()[1]), "the model early stopping keeps should have a smaller gap than the baseline"
### BEGIN HIDDEN TESTS
def _reference_turning(losses, patience):
    losses = list(losses)
    for _t in range(len(losses) - patience):
        if all(losses[_t + _k] >= losses[_t] for _k in range(1, patience + 1)):
            return _t
    return int(np.argmin(losses))


_data = digits_split(seed=11)
_model, _h = run(patience=4, split=11, seed=1)
_b, _n = _h["best_epoch"], len(_h["val_loss"])
assert _b == _reference_turning(_h["val_loss"], 4) and _n == _b + 4 + 1
assert np.allclose(evaluate(_model, _data[0], _data[1]), (_h["train_loss"][_b], _h["train_acc"][_b]), rtol=1e-4)
# training that ends without stopping still ends with the best weights
_model = build_mlp(784, 10, hidden=32, seed=2)
_h = train_mlp(_model, *_data, epochs=8, lr=1e-3, patience=50, seed=2)
assert len(_h["val_loss"]) == 8 and _h["best_epoch"] == int(np.argmin(_h["val_loss"]))
assert np.allclose(evaluate(_model, _data[2], _data[3]), (_h["val_loss"][_h["best_epoch"]], _h["val_acc"][_h["best_epoch"]]), rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ## Task 9 · Regularize (3 points)
# Choose a dropout probability, an L2 weight $\lambda$ and a patience, and use **all three at once**
# (`regularization_settings` returns your choice). The goal, compared with the baseline (both measured on
# the model that each run ends with, at its `best_epoch`):
#
# - the generalization gap at least **30% smaller**: $\text{gap}_\text{reg} \le 0.7\, \text{gap}_\text{base}$;
# - the validation accuracy **at most 2 points lower** than the baseline's: $\text{acc}_\text{reg} \ge \text{acc}_\text{base} - 0.02$.
#
# Try a few values with `run(dropout=..., l2=..., patience=...)` in a cell of your own (dropout between
# 0.2 and 0.5, $\lambda$ between $10^{-4}$ and $10^{-2}$ and patience 5–15 are reasonable places to start).
# The hidden tests train with your settings on another split of the digits and check the same two claims,
# with some slack for the new data (gap at least 20% smaller, accuracy at most 5 points lower).

# %% nbgrader={"grade": false, "grade_id": "regularization_settings", "locked": false, "schema_version": 3, "solution": true, "task": false}
def regularization_settings():
    """Your choice: {"dropout": p with 0 < p < 1, "l2": lambda > 0, "patience": an int >= 1}."""
    ### BEGIN SOLUTION
    return {"dropout": 0.5, "l2": 3e-3, "patience": 10}
    ### END SOLUTION


# %% [markdown]
# What each technique does on its own, and all three together:

# %% nbgrader={"grade": false, "grade_id": "compare_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    s = regularization_settings()
    variants = {
        "baseline": run(),
        f"early stopping (patience {s['patience']})": run(patience=s["patience"]),
        f"L2 (lambda {s['l2']:g})": run(l2=s["l2"]),
        f"dropout (p {s['dropout']:g})": run(dropout=s["dropout"]),
        "all three": run(dropout=s["dropout"], l2=s["l2"], patience=s["patience"]),
    }
except NotImplementedError:
    print("a function is not finished yet")
else:
    print(f"{'':28s} {'train loss':>10s} {'val loss':>9s} {'gap':>7s} {'val acc':>8s}")
    for name, (_, h) in variants.items():
        b = h["best_epoch"]
        print(f"{name:28s} {h['train_loss'][b]:10.4f} {h['val_loss'][b]:9.3f} {gap(h):7.3f} {h['val_acc'][b]:8.3f}")
    fig, ax = plt.subplots(figsize=(7, 3))
    for name, (_, h) in variants.items():
        ax.plot(np.arange(1, len(h["val_loss"]) + 1), h["val_loss"], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=8)
    plt.show()

# %% nbgrader={"grade": true, "grade_id": "test_regularization", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
s = regularization_settings()
assert set(s) == {"dropout", "l2", "patience"}, sorted(s)
assert 0 < s["dropout"] < 1 and s["l2"] > 0, "use dropout and L2"
assert isinstance(s["patience"], (int, np.integer)) and s["patience"] >= 1, "use early stopping"
_, base = run()
_, reg = run(dropout=s["dropout"], l2=s["l2"], patience=s["patience"])
print(f"gap {gap(base):.3f} -> {gap(reg):.3f} ({1 - gap(reg) / gap(base):.0%} smaller); "
      f"validation accuracy {base['val_acc'][-1]:.3f} -> {reg['val_acc'][reg['best_epoch']]:.3f}")
assert gap(reg) <= 0.7 * gap(base), "the gap should be at least 30% smaller"
assert reg["val_acc"][reg["best_epoch"]] >= base["val_acc"][-1] - 0.02, "the validation accuracy should hold"
### BEGIN HIDDEN TESTS
_, _base = run(split=11, seed=1)
_, _reg = run(dropout=s["dropout"], l2=s["l2"], patience=s["patience"], split=11, seed=1)
assert gap(_reg) <= 0.8 * gap(_base), (gap(_reg), gap(_base))
assert _reg["val_acc"][_reg["best_epoch"]] >= _base["val_acc"][-1] - 0.05
### END HIDDEN TESTS

# %% [markdown]
# The written answer below discusses the reference settings, dropout 0.5, $\lambda = 3 \cdot 10^{-3}$
# and patience 10, each on its own. This cell measures them (runs you already made are reused):

# %% nbgrader={"grade": false, "grade_id": "reference_settings", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    reference_gaps = {"baseline": gap(run()[1]), "early stopping": gap(run(patience=10)[1]),
                      "L2": gap(run(l2=3e-3)[1]), "dropout": gap(run(dropout=0.5)[1])}
except NotImplementedError:
    print("a function is not finished yet")
else:
    print({name: round(g, 3) for name, g in reference_gaps.items()})
    assert reference_gaps["dropout"] > max(reference_gaps["L2"], reference_gaps["early stopping"]), \
        "expected dropout alone to narrow the gap the least in this setting (lr 1e-2, 60 epochs, last epoch)"

# %% [markdown]
# ## Task 10 · Written answer: what each technique does (3 points, graded by hand)
# Use the table and the curves above. (a) How does each of the three techniques change the training
# loss, the validation loss and the gap on its own, and why, in terms of what it does to the weights or
# to training? (b) Early stopping chooses an epoch with the validation set: what does that mean for the
# validation loss it reports as an estimate of the error on new data? (c) Which would you keep for this
# problem, and what would you try next if there were 1500 training images instead of 150?

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_regularization", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# (a) *Early stopping* keeps the weights of the epoch with the lowest validation loss, before the validation
# loss climbs: the training loss of the kept model is higher than at the end of the run and its validation
# loss is the bottom of the curve instead of the end of its rise, so the gap shrinks.
# *L2* adds $2\lambda W$ to every gradient, so weights that the data does not keep asking for decay towards 0;
# the logits stay smaller, the network cannot become extremely confident, and the training loss stays clearly
# above zero while the validation loss rises much less. *Dropout* trains a different thinned network at every
# step, so units cannot co-adapt to memorize single images; but measured with dropout off, the full network
# still fits the 150 images almost perfectly, and after 60 epochs it is overconfident on the validation set
# too, so in this lab's setting it does the least for the gap on its own (the cell above checks it; in the
# PyTorch reference run its gap is even a little wider than the baseline's, in the TensorFlow one a little
# narrower). That depends on the setting: in lesson
# 03-overfitting/03 (Adam with a learning rate of $2 \cdot 10^{-3}$ instead of $10^{-2}$, 200 images of
# 8×8 digits, batches of 50) dropout narrows the loss gap at every seed. Combined, the three cut the
# baseline's gap about in half while the validation accuracy stays within two points (task 9's test checks
# at least 30% and two points): early stopping picks the epoch, L2 and dropout make the network at that
# epoch smoother. They do not always beat each technique alone: early stopping on its own can come close
# on the gap (the table above shows how close on this split).
#
# (b) The kept epoch is the one whose validation loss happens to be lowest, so that number is optimistically
# biased (it was selected on the same data); an unbiased estimate needs the test set that was left aside.
#
# (c) All three are cheap here; early stopping also saves training time. With ten times more data the
# network overfits much less (the gap itself shrinks), so the penalties should be weaker; I would re-tune
# $\lambda$ and $p$ on the validation set, or make the network wider now that the data can support it.

# %% [markdown] track="pytorch"
# ## Going further (not graded)
# 1. Replace the L2 penalty by `torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=...)`. AdamW
#    decays the weights directly instead of adding $2\lambda W$ to the gradient that Adam then rescales: do
#    you need a different value to get the same gap?
# 2. Train the baseline on 600 images instead of 150 (make the split yourself with `mf.train_val_test_split`,
#    as `digits_split` does). How do the turning epoch and the gap change?
# 3. Repeat part A with 200 training points instead of 20: which degree wins now?
# 4. Compare with the TensorFlow twin, `overfitting-tensorflow`, where the same loop is written with
#    `tf.GradientTape` and Keras layers. The lessons in `lessons/03-overfitting/` show more tools against overfitting.

# %% [markdown] track="tensorflow"
# ## Going further (not graded)
# 1. Replace the L2 penalty by `keras.optimizers.AdamW(learning_rate=lr, weight_decay=...)`. AdamW decays
#    the weights directly instead of adding $2\lambda W$ to the gradient that Adam then rescales: do you need
#    a different value to get the same gap? Then let Keras do the whole job: `kernel_regularizer`, `Dropout`,
#    `model.fit(..., callbacks=[keras.callbacks.EarlyStopping(patience=..., restore_best_weights=True)])`.
# 2. Train the baseline on 600 images instead of 150 (make the split yourself with `mf.train_val_test_split`,
#    as `digits_split` does). How do the turning epoch and the gap change?
# 3. Repeat part A with 200 training points instead of 20: which degree wins now?
# 4. Compare with the PyTorch twin, `overfitting-pytorch`, where the same loop is written with `torch`.
#    The lessons in `lessons/03-overfitting/` show more tools against overfitting.

# %% [markdown]
# ## Review questions
# 1. Why does the training error keep falling with the polynomial degree while the validation
#    error turns up?
#    <details><summary>Answer</summary>A higher degree can follow the training points ever more
#    closely, noise included; what it learns about the noise does not carry over to new points,
#    so past some degree the validation error grows.</details>
# 2. What is the generalization gap in this lab, and why is it measured with `evaluate` (dropout
#    off, no penalty)?
#    <details><summary>Answer</summary>$L_\text{val} - L_\text{train}$. Both losses must be measured
#    the same way, on the network as it is used for predictions; the training loss logged during
#    the steps includes dropout noise and the penalty.</details>
# 3. Why does early stopping need a patience instead of stopping at the first epoch where the
#    validation loss goes up?
#    <details><summary>Answer</summary>The validation curve is noisy; one bad epoch is often followed
#    by a lower one. Patience waits for $P$ epochs without a new minimum before it stops.</details>
# 4. Why is the validation loss of the epoch early stopping keeps an optimistic estimate of the
#    error on new data?
#    <details><summary>Answer</summary>That epoch was chosen because its validation loss was the
#    lowest, on the same data; an unbiased estimate needs data not used for any choice, the test
#    set.</details>
# 5. What does the L2 penalty add to each weight's gradient, and what does that do over many steps?
#    <details><summary>Answer</summary>$2\lambda W$ (for $\lambda \lVert W \rVert^2$): a pull towards
#    0 proportional to the weight, so weights the data does not keep asking for decay, the logits
#    stay smaller and the network cannot become extremely confident.</details>
