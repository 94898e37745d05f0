# %% [markdown] nbgrader={"grade": false, "grade_id": "brief", "locked": true, "schema_version": 3, "solution": false, "task": false} track="pytorch"
# # Lab · Classification with PyTorch
#
# You build and train the smallest networks that classify: one linear layer for a yes/no
# decision (malignant or benign tumour), one linear layer for ten classes (handwritten digits),
# then a network with a hidden layer, and you compare the last two. The lab has a twin,
# `classification-tensorflow`, with the same tasks in Keras.
#
# ## Objectives
# After this lab you can
#
# - standardize features with statistics of the **training split only**, and say why;
# - pick the output activation and the loss of a binary classifier so that they fit together
#   (logits with `BCEWithLogitsLoss`, or a sigmoid with `BCELoss`);
# - write a mini-batch training loop with `DataLoader` and `torch.optim.Adam`, and predict labels;
# - build softmax regression and a multi-layer perceptron for ten classes, train both and
#   compare them, and explain when more layers help.
#
# ## Grading
# | task | what you write | points |
# |---|---|---|
# | 1 | `standardize` | 2 |
# | 2 | `make_binary_classifier`, `predict_binary` | 3 (2 + 1) |
# | 3 | `train_binary` | 3 |
# | 4 | `make_softmax_regression` | 2 |
# | 5 | `make_mlp` | 2 |
# | 6 | `train_classifier`, `predict_classes` | 3 (2 + 1) |
# | 7 | `compare_models` | 2 |
# | 8 | written answer: when do more layers help? (graded by hand) | 3 |
# | | **total** | **20** |
#
# Tasks 1–7 are graded automatically: each test cell checks your functions on the data you see
# **and** on data you do not see (other splits, other shapes), so make your functions general,
# not tuned to the numbers printed here. Each test cell calls your functions itself, so a task you
# skip costs only its own points (task 7 uses your functions of tasks 4–6).
#
# Rules: replace the lines `# YOUR CODE HERE` and `raise NotImplementedError()` with your code; keep
# the names and signatures of the functions; do not delete or edit the test cells. The whole
# notebook runs in well under a minute on a laptop CPU.
#
# **Before you hand in.** Run **Kernel → Restart Kernel and Run All Cells** and check that every
# test cell passes. Then click **Validate** in JupyterLab's notebook toolbar, or run
# `nngrade validate labs/classification-pytorch/classification-pytorch.ipynb` in a terminal: it runs
# the notebook as the grader will and exits with an error when a test fails. Write the answer of
# task 8 in the cell under its question: double-click that cell to edit it, then run it
# (Shift+Enter) to show the text.

# %% [markdown] nbgrader={"grade": false, "grade_id": "brief", "locked": true, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
# # Lab · Classification with TensorFlow / Keras
#
# You build and train the smallest networks that classify: one linear layer for a yes/no
# decision (malignant or benign tumour), one linear layer for ten classes (handwritten digits),
# then a network with a hidden layer, and you compare the last two. The lab has a twin,
# `classification-pytorch`, with the same tasks in PyTorch.
#
# ## Objectives
# After this lab you can
#
# - standardize features with statistics of the **training split only**, and say why;
# - pick the output activation and the loss of a binary classifier so that they fit together
#   (logits with `BinaryCrossentropy(from_logits=True)`, or a sigmoid with `from_logits=False`);
# - train a Keras model with `compile` and `fit` (Adam, mini-batches) and predict labels;
# - build softmax regression and a multi-layer perceptron for ten classes, train both and
#   compare them, and explain when more layers help.
#
# ## Grading
# | task | what you write | points |
# |---|---|---|
# | 1 | `standardize` | 2 |
# | 2 | `make_binary_classifier`, `predict_binary` | 3 (2 + 1) |
# | 3 | `train_binary` | 3 |
# | 4 | `make_softmax_regression` | 2 |
# | 5 | `make_mlp` | 2 |
# | 6 | `train_classifier`, `predict_classes` | 3 (2 + 1) |
# | 7 | `compare_models` | 2 |
# | 8 | written answer: when do more layers help? (graded by hand) | 3 |
# | | **total** | **20** |
#
# Tasks 1–7 are graded automatically: each test cell checks your functions on the data you see
# **and** on data you do not see (other splits, other shapes), so make your functions general,
# not tuned to the numbers printed here. Each test cell calls your functions itself, so a task you
# skip costs only its own points (task 7 uses your functions of tasks 4–6).
#
# Rules: replace the lines `# YOUR CODE HERE` and `raise NotImplementedError()` with your code; keep
# the names and signatures of the functions; do not delete or edit the test cells. The whole
# notebook runs in well under a minute on a laptop CPU.
#
# **Before you hand in.** Run **Kernel → Restart Kernel and Run All Cells** and check that every
# test cell passes. Then click **Validate** in JupyterLab's notebook toolbar, or run
# `nngrade validate labs/classification-tensorflow/classification-tensorflow.ipynb` in a terminal: it runs
# the notebook as the grader will and exits with an error when a test fails. Write the answer of
# task 8 in the cell under its question: double-click that cell to edit it, then run it
# (Shift+Enter) to show the text.

# %% [markdown] track="pytorch"
# ## Setup
#
# The data ship with scikit-learn and are read by `minifw.datasets` (no download). Both splits
# are stratified and seeded, so everyone gets the same ones. The seeds of PyTorch and numpy are
# fixed, and your functions take a `seed` argument: the same code gives the same numbers on every
# run, which is what makes automatic grading fair.

# %% [markdown] track="tensorflow"
# ## Setup
#
# The data ship with scikit-learn and are read by `minifw.datasets` (no download). Both splits
# are stratified and seeded, so everyone gets the same ones. `keras.utils.set_random_seed` fixes
# the seeds of Python, numpy and TensorFlow, and your functions take a `seed` argument: the same
# code gives the same numbers on every run, which is what makes automatic grading fair.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false} track="pytorch"
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import minifw as mf

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)  # the networks are tiny: one CPU thread is fastest and never waits for another
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
print("TensorFlow", tf.__version__, "| GPUs:", tf.config.list_physical_devices("GPU"))

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Part A: 569 tumours, 30 measured features, label 0 = malignant, 1 = benign
Xb, yb = mf.datasets.load_breast_cancer()
Xb_train, Xb_test, yb_train, yb_test = mf.train_test_split(Xb, yb, test_size=0.25, seed=0)
# Part B: 5000 MNIST digits of 28x28 = 784 pixels in [0, 1] (shipped with minifw, no download); labels 0..9
Xd, yd = mf.datasets.load_mnist_sample()
Xd_train, Xd_test, yd_train, yd_test = mf.train_test_split(Xd, yd, test_size=0.25, seed=0)
print("breast cancer:", Xb_train.shape, Xb_test.shape, "| digits:", Xd_train.shape, Xd_test.shape)

# %% [markdown]
# ## Part A · Breast cancer with a single layer
#
# Each tumour is described by 30 measurements (radius, texture, area, ...) in their natural
# units. The plot shows how differently they are scaled: the mean of the largest feature is more
# than a thousand times that of the smallest.

# %%
feature_means = Xb_train.mean(axis=0)
plt.figure(figsize=(8, 2.5))
plt.bar(range(30), feature_means)
plt.yscale("log")
plt.xlabel("feature")
plt.ylabel("training mean (log scale)")
plt.title("breast-cancer features have very different scales")
plt.show()
ratio = feature_means.max() / feature_means.min()
print(f"largest / smallest feature mean: {ratio:.0f}")
assert ratio > 1000


# %% [markdown] track="pytorch"
# ### Task 1 · Standardize with training statistics only (2 points)
#
# Gradient descent on features of such different scales is slow: one learning rate is too large
# for the big features and too small for the small ones. Standardizing gives every feature mean 0
# and standard deviation 1:
#
# $$x'_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j}, \qquad
#   \mu_j = \frac1{n}\sum_{i \in \text{train}} x_{ij}, \qquad
#   \sigma_j = \sqrt{\frac1{n}\sum_{i \in \text{train}} (x_{ij} - \mu_j)^2}.$$
#
# $\mu$ and $\sigma$ come from the **training rows only** and are then applied, unchanged, to the
# test rows. The test set stands in for patients the model has not met; computing statistics on
# it would let information about them leak into training, and the test score would be too
# optimistic. (`mf.StandardScaler` does exactly this with `fit` and `transform`; numpy alone
# takes three lines.)

# %% [markdown] track="tensorflow"
# ### Task 1 · Standardize with training statistics only (2 points)
#
# Gradient descent on features of such different scales is slow: one learning rate is too large
# for the big features and too small for the small ones. Standardizing gives every feature mean 0
# and standard deviation 1:
#
# $$x'_{ij} = \frac{x_{ij} - \mu_j}{\sigma_j}, \qquad
#   \mu_j = \frac1{n}\sum_{i \in \text{train}} x_{ij}, \qquad
#   \sigma_j = \sqrt{\frac1{n}\sum_{i \in \text{train}} (x_{ij} - \mu_j)^2}.$$
#
# $\mu$ and $\sigma$ come from the **training rows only** and are then applied, unchanged, to the
# test rows. The test set stands in for patients the model has not met; computing statistics on
# it would let information about them leak into training, and the test score would be too
# optimistic. (`mf.StandardScaler` does exactly this with `fit` and `transform`, and so does a
# `keras.layers.Normalization` layer after `adapt(X_train)`; numpy alone takes three lines.)

# %% nbgrader={"grade": false, "grade_id": "standardize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def standardize(X_train, X_test):
    """Standardize both splits with the per-feature mean and standard deviation of X_train.

    X_train: (n_train, d) and X_test: (n_test, d) numpy arrays; neither is modified.
    Returns (mean, std, X_train_std, X_test_std):
      mean, std: (d,) arrays, the mean and the (population, ddof=0) standard deviation of
                 each column of X_train;
      X_train_std: (n_train, d), X_test_std: (n_test, d) float32 arrays, $x' = (x - mean) / std$.
    You may assume that no feature is constant on the training split.
    """
    ### BEGIN SOLUTION
    scaler = mf.StandardScaler().fit(X_train)
    return (scaler.mean_, scaler.std_,
            scaler.transform(X_train).astype(np.float32), scaler.transform(X_test).astype(np.float32))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_standardize", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
mean, std, Xs_train, Xs_test = standardize(Xb_train, Xb_test)
assert np.shape(mean) == (30,) and np.shape(std) == (30,), "mean and std must have one value per feature"
assert Xs_train.shape == Xb_train.shape and Xs_test.shape == Xb_test.shape, "the splits keep their shapes"
assert Xs_train.dtype == np.float32 and Xs_test.dtype == np.float32, "return float32 arrays"
assert np.allclose(Xs_train.mean(axis=0), 0, atol=1e-3), "the standardized training features must have mean 0"
assert np.allclose(Xs_train.std(axis=0), 1, atol=5e-3), "the standardized training features must have std 1"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(101)
_A = _rng.normal(3.0, 2.0, size=(40, 5)).astype(np.float32)   # training split
_B = _rng.normal(-4.0, 6.0, size=(25, 5)).astype(np.float32)  # test split, from another distribution
_A0, _B0 = _A.copy(), _B.copy()
_mean, _std, _As, _Bs = standardize(_A, _B)
assert np.array_equal(_A, _A0) and np.array_equal(_B, _B0), "standardize must not modify its inputs"
_mu = _A.astype(np.float64).mean(axis=0)
_all = np.concatenate([_A, _B]).astype(np.float64)
assert not np.allclose(np.asarray(_mean, dtype=np.float64), _all.mean(axis=0), atol=0.1), \
    "the mean was computed on training and test rows together: use the training split only"
assert np.allclose(np.asarray(_mean, dtype=np.float64), _mu, atol=1e-4), "mean must be the training mean"
_sd0, _sd1 = _A.astype(np.float64).std(axis=0), _A.astype(np.float64).std(axis=0, ddof=1)
_std = np.asarray(_std, dtype=np.float64)
assert np.allclose(_std, _sd0, rtol=1e-4) or np.allclose(_std, _sd1, rtol=1e-4), "std must be the training std"
assert np.allclose(_As, (_A - _mu) / _std, atol=1e-4), "the training split must be (x - mean) / std"
assert np.allclose(_Bs, (_B - _mu) / _std, atol=1e-4), "the test split must use the training mean and std"
### END HIDDEN TESTS

# %% [markdown] track="pytorch"
# ### Task 2 · Output activation and loss (3 points)
#
# A single layer maps the 30 features of tumour $i$ to one number, the **logit**
# $z_i = x_i w + b$. The sigmoid turns it into the probability of class 1 (benign),
# $p_i = \sigma(z_i) = 1/(1 + e^{-z_i})$, and the binary cross-entropy
#
# $$L = -\frac1n \sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big]$$
#
# punishes confident mistakes. PyTorch offers two consistent ways to write this:
#
# - the model outputs the logit $z$ (no activation) and the loss is `nn.BCEWithLogitsLoss()`, which
#   applies the sigmoid inside, in a numerically stable form
#   ($\max(z, 0) - zy + \log(1 + e^{-|z|})$); **this is the recommended way**;
# - the model ends with `nn.Sigmoid()` and the loss is `nn.BCELoss()`, which expects probabilities.
#
# Mixing them (a sigmoid *and* `BCEWithLogitsLoss`, or logits with `BCELoss`) trains a wrong
# model or crashes. `predict_binary` must then turn the model's output into labels:
# $p > 0.5$ is the same as $z > 0$.
#
# Note: `nn.Linear(d, 1)` stores its weight as a $(1, d)$ matrix and computes $x W^\top + b$
# (minifw stores $W$ as $(d, 1)$ and computes $xW + b$; same function).

# %% [markdown] track="tensorflow"
# ### Task 2 · Output activation and loss (3 points)
#
# A single layer maps the 30 features of tumour $i$ to one number, the **logit**
# $z_i = x_i w + b$. The sigmoid turns it into the probability of class 1 (benign),
# $p_i = \sigma(z_i) = 1/(1 + e^{-z_i})$, and the binary cross-entropy
#
# $$L = -\frac1n \sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big]$$
#
# punishes confident mistakes. Keras offers two consistent ways to write this:
#
# - the model outputs the logit $z$ (a `Dense(1)` without activation) and the loss is
#   `keras.losses.BinaryCrossentropy(from_logits=True)`, which applies the sigmoid inside, in a
#   numerically stable form ($\max(z, 0) - zy + \log(1 + e^{-|z|})$); **this is the recommended way**;
# - the model ends with a sigmoid (`Dense(1, activation="sigmoid")`) and the loss is
#   `BinaryCrossentropy(from_logits=False)` (the default), which expects probabilities.
#
# Mixing them (a sigmoid *and* `from_logits=True`, or logits with `from_logits=False`) trains a
# wrong model. `predict_binary` must then turn the model's output into labels: $p > 0.5$ is the
# same as $z > 0$.
#
# Note: `Dense(1)` stores its kernel as a $(d, 1)$ matrix and computes $xW + b$, like minifw's
# `Linear`.

# %% nbgrader={"grade": false, "grade_id": "binary_classifier", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def make_binary_classifier(n_features, seed=0):
    """A single-layer binary classifier and the loss to train it with.

    Call torch.manual_seed(seed) first, so that the initial weights are reproducible.
    Returns (model, loss_fn):
      model: an nn.Module with exactly one nn.Linear(n_features, 1), optionally followed by an
             output activation; it maps a float32 tensor (n, n_features) to (n, 1);
      loss_fn: a torch.nn loss object that fits the model's output: loss_fn(model(x), y) with
             y a float tensor (n, 1) of 0s and 1s.
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(n_features, 1))  # outputs the logit z
    return model, nn.BCEWithLogitsLoss()             # sigmoid + binary cross-entropy, stable
    ### END SOLUTION


def predict_binary(model, X):
    """Labels 0/1 for the rows of X, for a model made by make_binary_classifier.

    X: numpy array (n, n_features). Runs the model on the device of its parameters, without
    gradients, and returns a numpy int64 array of shape (n,).
    """
    ### BEGIN SOLUTION
    model_device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        z = model(torch.as_tensor(X, dtype=torch.float32, device=model_device))
    return (z.reshape(-1) > 0).long().cpu().numpy()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "binary_classifier", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def make_binary_classifier(n_features, seed=0):
    """A single-layer binary classifier and the loss to train it with.

    Call keras.utils.set_random_seed(seed) first, so that the initial weights are reproducible.
    Returns (model, loss_fn):
      model: a keras.Sequential starting with keras.Input((n_features,)) and holding exactly one
             Dense layer with 1 unit (with or without an output activation); it maps
             (n, n_features) to (n, 1);
      loss_fn: a keras.losses.BinaryCrossentropy whose from_logits fits the model's output.
    """
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(1)])  # outputs the logit z
    return model, keras.losses.BinaryCrossentropy(from_logits=True)               # sigmoid + BCE, stable
    ### END SOLUTION


def predict_binary(model, X):
    """Labels 0/1 for the rows of X, for a model made by make_binary_classifier.

    X: numpy array (n, n_features). Returns a numpy int64 array of shape (n,).
    """
    ### BEGIN SOLUTION
    z = keras.ops.convert_to_numpy(model(np.asarray(X, dtype=np.float32), training=False))
    return (z.reshape(-1) > 0).astype(np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_binary_model", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="pytorch"
model, loss_fn = make_binary_classifier(30, seed=0)
assert isinstance(model, nn.Module), "model must be an nn.Module"
assert isinstance(loss_fn, (nn.BCEWithLogitsLoss, nn.BCELoss)), \
    f"a binary classifier is trained with BCEWithLogitsLoss (or BCELoss), got {type(loss_fn).__name__}"
_linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
assert len(_linears) == 1, f"a single-layer network has one nn.Linear, found {len(_linears)}"
assert (_linears[0].in_features, _linears[0].out_features) == (30, 1), "the layer maps 30 features to 1 output"
with torch.no_grad():
    _out = model(torch.zeros(4, 30, device=next(model.parameters()).device))
assert tuple(_out.shape) == (4, 1), f"the model must map (n, 30) to (n, 1), got {tuple(_out.shape)}"
### BEGIN HIDDEN TESTS
# output and loss fit together: set the weights so that z = x[:, 0], then look at the output
_model, _loss = make_binary_classifier(7, seed=3)
(_layer,) = [m for m in _model.modules() if isinstance(m, nn.Linear)]
assert (_layer.in_features, _layer.out_features) == (7, 1)
with torch.no_grad():
    _layer.weight.zero_()
    _layer.weight[0, 0] = 1.0
    _layer.bias.zero_()
_z = torch.tensor([-6.0, -1.0, 0.0, 0.5, 4.0])
_x = torch.zeros(5, 7)
_x[:, 0] = _z
_model.eval()
with torch.no_grad():
    _out = _model(_x.to(next(_model.parameters()).device)).float().cpu().reshape(-1)
if isinstance(_loss, nn.BCEWithLogitsLoss):
    assert torch.allclose(_out, _z, atol=1e-5), \
        "BCEWithLogitsLoss applies the sigmoid itself: the model must output logits (no activation)"
else:
    assert isinstance(_loss, nn.BCELoss)
    assert torch.allclose(_out, torch.sigmoid(_z), atol=1e-5), \
        "BCELoss expects probabilities: the model must end with a sigmoid"
# the seed makes the initial weights reproducible
_m1, _ = make_binary_classifier(7, seed=5)
_m2, _ = make_binary_classifier(7, seed=5)
assert all(torch.equal(p.cpu(), q.cpu()) for p, q in zip(_m1.parameters(), _m2.parameters())), \
    "call torch.manual_seed(seed) before creating the layer"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_binary_model", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
model, loss_fn = make_binary_classifier(30, seed=0)
assert isinstance(model, keras.Model), "model must be a Keras model"
assert isinstance(loss_fn, keras.losses.BinaryCrossentropy), \
    f"a binary classifier is trained with keras.losses.BinaryCrossentropy, got {type(loss_fn).__name__}"
_dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
assert len(_dense) == 1, f"a single-layer network has one Dense layer, found {len(_dense)}"
assert tuple(_dense[0].kernel.shape) == (30, 1), "the layer maps 30 features to 1 output"
_out = keras.ops.convert_to_numpy(model(np.zeros((4, 30), dtype=np.float32)))
assert _out.shape == (4, 1), f"the model must map (n, 30) to (n, 1), got {_out.shape}"
### BEGIN HIDDEN TESTS
# output and loss fit together: set the weights so that z = x[:, 0], then look at the output
_model, _loss = make_binary_classifier(7, seed=3)
(_layer,) = [layer for layer in _model.layers if isinstance(layer, keras.layers.Dense)]
_W = np.zeros((7, 1), dtype=np.float32)
_W[0, 0] = 1.0
_layer.set_weights([_W, np.zeros(1, dtype=np.float32)])
_z = np.array([-6.0, -1.0, 0.0, 0.5, 4.0], dtype=np.float32)
_x = np.zeros((5, 7), dtype=np.float32)
_x[:, 0] = _z
_out = keras.ops.convert_to_numpy(_model(_x, training=False)).reshape(-1)
if _loss.get_config()["from_logits"]:
    assert np.allclose(_out, _z, atol=1e-5), \
        "from_logits=True: the loss applies the sigmoid itself, so the model must output logits (no activation)"
else:
    assert np.allclose(_out, 1 / (1 + np.exp(-_z)), atol=1e-5), \
        "from_logits=False: the loss expects probabilities, so the model must end with a sigmoid"
# the seed makes the initial weights reproducible
_m1, _ = make_binary_classifier(7, seed=5)
_m2, _ = make_binary_classifier(7, seed=5)
assert all(np.array_equal(p, q) for p, q in zip(_m1.get_weights(), _m2.get_weights())), \
    "call keras.utils.set_random_seed(seed) before creating the model"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_predict_binary", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false} track="pytorch"
model, _ = make_binary_classifier(2, seed=0)
(_layer,) = [m for m in model.modules() if isinstance(m, nn.Linear)]
with torch.no_grad():  # z = x0 - x1
    _layer.weight.copy_(torch.tensor([[1.0, -1.0]]))
    _layer.bias.zero_()
_pred = predict_binary(model, np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 0.5], [-3.0, -4.0]], dtype=np.float32))
assert isinstance(_pred, np.ndarray) and _pred.shape == (4,), "predict_binary returns a numpy array (n,)"
assert np.issubdtype(_pred.dtype, np.integer), f"labels are integers, got dtype {_pred.dtype}"
assert _pred.tolist() == [1, 0, 1, 1], f"expected [1, 0, 1, 1], got {_pred.tolist()}"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(202)
_model, _ = make_binary_classifier(6, seed=1)
(_layer,) = [m for m in _model.modules() if isinstance(m, nn.Linear)]
_w, _b = _rng.normal(size=(1, 6)), _rng.normal()
with torch.no_grad():
    _layer.weight.copy_(torch.tensor(_w, dtype=torch.float32))
    _layer.bias.fill_(_b)
_X = _rng.normal(size=(300, 6)).astype(np.float32)
_z = _X.astype(np.float64) @ _w[0] + _b
_keep = np.abs(_z) > 1e-3
_pred = predict_binary(_model, _X)
assert _pred.shape == (300,) and set(np.unique(_pred)) <= {0, 1}
assert np.array_equal(_pred[_keep], (_z[_keep] > 0).astype(int)), "predict 1 exactly where p > 0.5 (z > 0)"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_predict_binary", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
model, _ = make_binary_classifier(2, seed=0)
(_layer,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
_layer.set_weights([np.array([[1.0], [-1.0]], dtype=np.float32), np.zeros(1, dtype=np.float32)])  # z = x0 - x1
_pred = predict_binary(model, np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 0.5], [-3.0, -4.0]], dtype=np.float32))
assert isinstance(_pred, np.ndarray) and _pred.shape == (4,), "predict_binary returns a numpy array (n,)"
assert np.issubdtype(_pred.dtype, np.integer), f"labels are integers, got dtype {_pred.dtype}"
assert _pred.tolist() == [1, 0, 1, 1], f"expected [1, 0, 1, 1], got {_pred.tolist()}"
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(202)
_model, _ = make_binary_classifier(6, seed=1)
(_layer,) = [layer for layer in _model.layers if isinstance(layer, keras.layers.Dense)]
_w, _b = _rng.normal(size=(6, 1)), _rng.normal()
_layer.set_weights([_w.astype(np.float32), np.array([_b], dtype=np.float32)])
_X = _rng.normal(size=(300, 6)).astype(np.float32)
_z = _X.astype(np.float64) @ _w[:, 0] + _b
_keep = np.abs(_z) > 1e-3
_pred = predict_binary(_model, _X)
assert _pred.shape == (300,) and set(np.unique(_pred)) <= {0, 1}
assert np.array_equal(_pred[_keep], (_z[_keep] > 0).astype(int)), "predict 1 exactly where p > 0.5 (z > 0)"
### END HIDDEN TESTS

# %% [markdown] track="pytorch"
# ### Task 3 · Training (3 points)
#
# Training repeats, for every mini-batch $B$ of a shuffled pass over the data (an **epoch**):
# forward, loss, gradients, update. Adam keeps running averages of the gradient $g$ and of
# $g^2$ and steps each weight by about $\eta\, \hat m / \sqrt{\hat v}$, so one learning rate
# $\eta$ suits most problems. Use a `DataLoader` over a `TensorDataset`, shuffled with a
# `torch.Generator` seeded with `seed`, move each batch to `device`, and record the mean
# training loss of every epoch (the batch losses weighted by the batch sizes).
#
# The test passes `train_binary` a model and a loss of its own (a logit model with
# `BCEWithLogitsLoss`), trains it on a split you do not see, and expects at least 92 % accuracy
# on the held-out part.

# %% [markdown] track="tensorflow"
# ### Task 3 · Training (3 points)
#
# Training repeats, for every mini-batch $B$ of a shuffled pass over the data (an **epoch**):
# forward, loss, gradients, update. Adam keeps running averages of the gradient $g$ and of
# $g^2$ and steps each weight by about $\eta\, \hat m / \sqrt{\hat v}$, so one learning rate
# $\eta$ suits most problems. In Keras, `compile` fixes the optimizer and the loss, and `fit` runs
# the epochs (shuffling the samples before each one) and returns a `History` whose
# `history["loss"]` holds the mean training loss of every epoch.
#
# The test passes `train_binary` a model and a loss of its own (a logit model with
# `from_logits=True`), trains it on a split you do not see, and expects at least 92 % accuracy on
# the held-out part.

# %% nbgrader={"grade": false, "grade_id": "train_binary", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def train_binary(model, loss_fn, X_train, y_train, epochs=10, lr=0.01, batch_size=16, seed=0):
    """Train model in place with Adam on shuffled mini-batches; return the loss of every epoch.

    model, loss_fn: as made by make_binary_classifier (model maps (n, d) to (n, 1)).
    X_train: numpy (n, d) float; y_train: numpy (n,) of 0/1 labels (give the loss a float
    tensor of shape (n, 1)). Call torch.manual_seed(seed), move the model to `device`, and
    shuffle with a torch.Generator seeded with seed.
    Returns a list of `epochs` floats: the mean training loss over the samples of each epoch.
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    model.to(device)
    data = TensorDataset(torch.as_tensor(X_train, dtype=torch.float32),
                         torch.as_tensor(y_train, dtype=torch.float32).reshape(-1, 1))
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        losses.append(total / len(data))
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_binary", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def train_binary(model, loss_fn, X_train, y_train, epochs=10, lr=0.01, batch_size=16, seed=0):
    """Train model in place with Adam on shuffled mini-batches; return the loss of every epoch.

    model, loss_fn: as made by make_binary_classifier (model maps (n, d) to (n, 1)).
    X_train: numpy (n, d) float; y_train: numpy (n,) of 0/1 labels. Call
    keras.utils.set_random_seed(seed), compile the model with keras.optimizers.Adam(lr) and
    loss_fn, and fit it silently (verbose=0).
    Returns a list of `epochs` floats: the mean training loss over the samples of each epoch.
    """
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=loss_fn)
    model.optimizer.build(model.trainable_variables)  # Adam's variables exist before fit traces its step: traced once, not twice
    history = model.fit(np.asarray(X_train, dtype=np.float32), np.asarray(y_train, dtype=np.float32).reshape(-1, 1),
                        epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return [float(v) for v in history.history["loss"]]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_binary", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false} track="pytorch"
# the test's own data (standardized with minifw) and its own single-layer logit model
_scaler = mf.StandardScaler().fit(Xb_train)
torch.manual_seed(0)
_model = nn.Linear(30, 1)
_losses = train_binary(_model, nn.BCEWithLogitsLoss(), _scaler.transform(Xb_train[:120]), yb_train[:120],
                       epochs=4, lr=0.01, batch_size=16, seed=0)
_losses = np.asarray(_losses, dtype=np.float64)
assert _losses.shape == (4,), f"expected one loss per epoch (4), got {len(_losses)}"
assert np.all(np.isfinite(_losses)) and _losses[-1] < _losses[0], f"the loss should go down, got {_losses}"
### BEGIN HIDDEN TESTS
_Xa, _Xh, _ya, _yh = mf.train_test_split(Xb, yb, test_size=0.25, seed=2718)
_scaler = mf.StandardScaler().fit(_Xa)
torch.manual_seed(1)
_model = nn.Linear(30, 1)
_losses = train_binary(_model, nn.BCEWithLogitsLoss(), _scaler.transform(_Xa), _ya,
                       epochs=10, lr=0.01, batch_size=16, seed=1)
assert len(_losses) == 10 and _losses[-1] < 0.2, f"the training loss should fall below 0.2, got {_losses}"
_model.eval()
with torch.no_grad():
    _z = _model(torch.as_tensor(_scaler.transform(_Xh), device=next(_model.parameters()).device))
_acc = float(np.mean((_z.cpu().numpy().reshape(-1) > 0) == _yh))
print(f"held-out accuracy on a hidden split: {_acc:.3f}")
assert _acc >= 0.92, f"expected at least 92 % held-out accuracy, got {_acc:.3f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_binary", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
# the test's own data (standardized with minifw) and its own single-layer logit model
_scaler = mf.StandardScaler().fit(Xb_train)
keras.utils.set_random_seed(0)
_model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(1)])
_losses = train_binary(_model, keras.losses.BinaryCrossentropy(from_logits=True),
                       _scaler.transform(Xb_train[:120]), yb_train[:120], epochs=4, lr=0.01, batch_size=16, seed=0)
_losses = np.asarray(_losses, dtype=np.float64)
assert _losses.shape == (4,), f"expected one loss per epoch (4), got {len(_losses)}"
assert np.all(np.isfinite(_losses)) and _losses[-1] < _losses[0], f"the loss should go down, got {_losses}"
### BEGIN HIDDEN TESTS
_Xa, _Xh, _ya, _yh = mf.train_test_split(Xb, yb, test_size=0.25, seed=2718)
_scaler = mf.StandardScaler().fit(_Xa)
keras.utils.set_random_seed(1)
_model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(1)])
_losses = train_binary(_model, keras.losses.BinaryCrossentropy(from_logits=True), _scaler.transform(_Xa), _ya,
                       epochs=10, lr=0.01, batch_size=16, seed=1)
assert len(_losses) == 10 and _losses[-1] < 0.2, f"the training loss should fall below 0.2, got {_losses}"
_z = keras.ops.convert_to_numpy(_model(_scaler.transform(_Xh), training=False))
_acc = float(np.mean((_z.reshape(-1) > 0) == _yh))
print(f"held-out accuracy on a hidden split: {_acc:.3f}")
assert _acc >= 0.92, f"expected at least 92 % held-out accuracy, got {_acc:.3f}"
### END HIDDEN TESTS

# %% [markdown]
# ### Part A end to end (no points)
#
# Your three functions together: standardize, build, train, predict. The curve shows the mean
# training loss per epoch. With correct functions the test accuracy passes 92 %; the cell checks it.

# %%
mean, std, Xs_train, Xs_test = standardize(Xb_train, Xb_test)
binary_model, binary_loss = make_binary_classifier(30, seed=0)
binary_losses = train_binary(binary_model, binary_loss, Xs_train, yb_train, epochs=10, lr=0.01, batch_size=16, seed=0)
binary_acc = float(np.mean(predict_binary(binary_model, Xs_test) == yb_test))
print(f"test accuracy: {binary_acc:.3f}")

plt.figure(figsize=(4, 3))
plt.plot(range(1, len(binary_losses) + 1), binary_losses, marker="o")
plt.xlabel("epoch")
plt.ylabel("training loss (BCE)")
plt.title("breast cancer, one layer")
plt.show()
assert binary_acc > 0.92, "below 92 %: check tasks 1-3"

# %% [markdown]
# ## Part B · Digits: softmax regression and a multi-layer network
#
# Each digit is a 28×28 image of MNIST, flattened row after row into 784 pixel values in $[0, 1]$;
# the label is 0..9. The course ships 5000 of them (500 per digit); 3750 are for training here,
# 1250 for testing.

# %%
fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for digit, ax in enumerate(axes):
    ax.imshow(Xd_train[yd_train == digit][0].reshape(28, 28), cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
plt.show()


# %% [markdown] track="pytorch"
# ### Task 4 · Softmax regression (2 points)
#
# One linear layer gives ten logits $z = xW^\top + b$ (one per class); the softmax turns them into
# probabilities and the cross-entropy takes the log-probability of the true class $y$:
#
# $$p_k = \frac{e^{z_k}}{\sum_{j} e^{z_j}}, \qquad
#   \ell = -\log p_y = -z_y + \log \sum_j e^{z_j}.$$
#
# `nn.CrossEntropyLoss` takes the **logits** and integer labels and computes the right-hand form
# (stably). So the model ends with the linear layer, without a softmax. (The other consistent
# choice is an `nn.LogSoftmax(dim=1)` output with `nn.NLLLoss()`. A softmax output with
# `CrossEntropyLoss` applies the softmax twice.)

# %% [markdown] track="tensorflow"
# ### Task 4 · Softmax regression (2 points)
#
# One linear layer gives ten logits $z = xW + b$ (one per class); the softmax turns them into
# probabilities and the cross-entropy takes the log-probability of the true class $y$:
#
# $$p_k = \frac{e^{z_k}}{\sum_{j} e^{z_j}}, \qquad
#   \ell = -\log p_y = -z_y + \log \sum_j e^{z_j}.$$
#
# The labels are integers 0..9, so the loss is `keras.losses.SparseCategoricalCrossentropy`
# ("sparse": integer labels instead of one-hot rows). With `from_logits=True` it takes the
# **logits** and computes the right-hand form (stably), so the model ends with a `Dense(10)` without
# activation. (The other consistent choice is `Dense(10, activation="softmax")` with
# `from_logits=False`. A softmax output with `from_logits=True` applies the softmax twice.)

# %% nbgrader={"grade": false, "grade_id": "softmax_regression", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def make_softmax_regression(n_features, n_classes, seed=0):
    """Softmax regression: one nn.Linear(n_features, n_classes), and its loss.

    Call torch.manual_seed(seed) first. Returns (model, loss_fn): the model maps a float32 tensor
    (n, n_features) to (n, n_classes); loss_fn(model(x), y) takes y as int64 class labels (n,).
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_features, n_classes)), nn.CrossEntropyLoss()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "softmax_regression", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def make_softmax_regression(n_features, n_classes, seed=0):
    """Softmax regression: keras.Input((n_features,)) and one Dense(n_classes), and its loss.

    Call keras.utils.set_random_seed(seed) first. Returns (model, loss_fn): the model maps
    (n, n_features) to (n, n_classes); loss_fn is a keras.losses.SparseCategoricalCrossentropy
    (integer labels (n,)) whose from_logits fits the model's output.
    """
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(n_classes)])
    return model, keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax_regression", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="pytorch"
model, loss_fn = make_softmax_regression(784, 10, seed=0)
assert isinstance(model, nn.Module), "model must be an nn.Module"
assert isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)), \
    f"train a multiclass classifier with CrossEntropyLoss (or NLLLoss), got {type(loss_fn).__name__}"
_linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
assert len(_linears) == 1, f"softmax regression has one nn.Linear, found {len(_linears)}"
assert (_linears[0].in_features, _linears[0].out_features) == (784, 10)
with torch.no_grad():
    _out = model(torch.zeros(5, 784, device=next(model.parameters()).device))
assert tuple(_out.shape) == (5, 10), f"the model must map (n, 784) to (n, 10), got {tuple(_out.shape)}"
### BEGIN HIDDEN TESTS
_model, _loss = make_softmax_regression(12, 4, seed=2)
(_layer,) = [m for m in _model.modules() if isinstance(m, nn.Linear)]
assert (_layer.in_features, _layer.out_features) == (12, 4)
with torch.no_grad():  # z = x[:, :4]
    _layer.weight.zero_()
    _layer.weight[:, :4] = torch.eye(4)
    _layer.bias.zero_()
_z = torch.tensor(np.random.default_rng(303).normal(scale=3.0, size=(6, 4)), dtype=torch.float32)
_x = torch.zeros(6, 12)
_x[:, :4] = _z
_model.eval()
with torch.no_grad():
    _out = _model(_x.to(next(_model.parameters()).device)).float().cpu()
if isinstance(_loss, nn.CrossEntropyLoss):
    assert torch.allclose(_out, _z, atol=1e-5), \
        "CrossEntropyLoss applies the softmax itself: the model must output logits (no softmax)"
else:
    assert torch.allclose(_out, torch.log_softmax(_z, dim=1), atol=1e-5), \
        "NLLLoss expects log-probabilities: end the model with nn.LogSoftmax(dim=1)"
_m1, _ = make_softmax_regression(12, 4, seed=7)
_m2, _ = make_softmax_regression(12, 4, seed=7)
assert all(torch.equal(p.cpu(), q.cpu()) for p, q in zip(_m1.parameters(), _m2.parameters())), \
    "call torch.manual_seed(seed) before creating the layer"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_softmax_regression", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
model, loss_fn = make_softmax_regression(784, 10, seed=0)
assert isinstance(model, keras.Model), "model must be a Keras model"
assert isinstance(loss_fn, keras.losses.SparseCategoricalCrossentropy), \
    f"integer labels: train with SparseCategoricalCrossentropy, got {type(loss_fn).__name__}"
_dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
assert len(_dense) == 1, f"softmax regression has one Dense layer, found {len(_dense)}"
assert tuple(_dense[0].kernel.shape) == (784, 10)
_out = keras.ops.convert_to_numpy(model(np.zeros((5, 784), dtype=np.float32)))
assert _out.shape == (5, 10), f"the model must map (n, 784) to (n, 10), got {_out.shape}"
### BEGIN HIDDEN TESTS
_model, _loss = make_softmax_regression(12, 4, seed=2)
(_layer,) = [layer for layer in _model.layers if isinstance(layer, keras.layers.Dense)]
assert tuple(_layer.kernel.shape) == (12, 4)
_W = np.zeros((12, 4), dtype=np.float32)
_W[:4] = np.eye(4)  # z = x[:, :4]
_layer.set_weights([_W, np.zeros(4, dtype=np.float32)])
_z = np.random.default_rng(303).normal(scale=3.0, size=(6, 4)).astype(np.float32)
_x = np.zeros((6, 12), dtype=np.float32)
_x[:, :4] = _z
_out = keras.ops.convert_to_numpy(_model(_x, training=False))
if _loss.get_config()["from_logits"]:
    assert np.allclose(_out, _z, atol=1e-5), \
        "from_logits=True: the loss applies the softmax itself, so the model must output logits (no activation)"
else:
    _p = np.exp(_z - _z.max(axis=1, keepdims=True))
    assert np.allclose(_out, _p / _p.sum(axis=1, keepdims=True), atol=1e-5), \
        "from_logits=False: the loss expects probabilities, so the model must end with a softmax"
_m1, _ = make_softmax_regression(12, 4, seed=7)
_m2, _ = make_softmax_regression(12, 4, seed=7)
assert all(np.array_equal(p, q) for p, q in zip(_m1.get_weights(), _m2.get_weights())), \
    "call keras.utils.set_random_seed(seed) before creating the model"
### END HIDDEN TESTS

# %% [markdown] track="pytorch"
# ### Task 5 · A multi-layer network (2 points)
#
# A hidden layer with a non-linear activation lets the network build its own features before
# the final linear layer classifies them. With one hidden layer of width $h$:
#
# $$a = \mathrm{ReLU}(xW_1^\top + b_1) \in \mathbb{R}^{h}, \qquad z = aW_2^\top + b_2 \in \mathbb{R}^{10}.$$
#
# Without the activation the two layers collapse into one linear map
# ($xW_1^\top W_2^\top + \dots$): no more expressive than softmax regression. `hidden` lists the
# widths of the hidden layers, so `hidden=(128,)` is one hidden layer of 128 units and
# `hidden=(32, 16)` two hidden layers. Use the same output and loss convention as in task 4.

# %% [markdown] track="tensorflow"
# ### Task 5 · A multi-layer network (2 points)
#
# A hidden layer with a non-linear activation lets the network build its own features before
# the final linear layer classifies them. With one hidden layer of width $h$:
#
# $$a = \mathrm{ReLU}(xW_1 + b_1) \in \mathbb{R}^{h}, \qquad z = aW_2 + b_2 \in \mathbb{R}^{10}.$$
#
# Without the activation the two layers collapse into one linear map
# ($xW_1W_2 + \dots$): no more expressive than softmax regression. `hidden` lists the
# widths of the hidden layers, so `hidden=(128,)` is one hidden layer of 128 units and
# `hidden=(32, 16)` two hidden layers. Use the same output and loss convention as in task 4.

# %% nbgrader={"grade": false, "grade_id": "mlp", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def make_mlp(n_features, n_classes, hidden=(128,), seed=0):
    """A fully connected network: Linear + ReLU for every width in hidden, then Linear to n_classes.

    Call torch.manual_seed(seed) first. Returns (model, loss_fn) like make_softmax_regression:
    the model maps (n, n_features) to (n, n_classes), loss_fn takes int64 labels (n,).
    E.g. make_mlp(784, 10, hidden=(32, 16)) has the layers 784 -> 32 -> 16 -> 10.
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    layers, width = [], n_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers), nn.CrossEntropyLoss()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "mlp", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def make_mlp(n_features, n_classes, hidden=(128,), seed=0):
    """A fully connected network: Dense + ReLU for every width in hidden, then Dense(n_classes).

    Call keras.utils.set_random_seed(seed) first. Returns (model, loss_fn) like
    make_softmax_regression: a keras.Sequential starting with keras.Input((n_features,)) that maps
    (n, n_features) to (n, n_classes), and a SparseCategoricalCrossentropy that fits its output.
    E.g. make_mlp(784, 10, hidden=(32, 16)) has the layers 784 -> 32 -> 16 -> 10.
    """
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((n_features,))]
    layers += [keras.layers.Dense(h, activation="relu") for h in hidden]
    layers.append(keras.layers.Dense(n_classes))
    return keras.Sequential(layers), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mlp", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="pytorch"
model, loss_fn = make_mlp(784, 10, seed=0)
assert isinstance(model, nn.Module), "model must be an nn.Module"
assert isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)), \
    f"train a multiclass classifier with CrossEntropyLoss (or NLLLoss), got {type(loss_fn).__name__}"
_shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
assert _shapes == [(784, 128), (128, 10)], f"expected the layers 784 -> 128 -> 10, got {_shapes}"
with torch.no_grad():
    _out = model(torch.zeros(5, 784, device=next(model.parameters()).device))
assert tuple(_out.shape) == (5, 10), f"the model must map (n, 784) to (n, 10), got {tuple(_out.shape)}"
### BEGIN HIDDEN TESTS
_model, _loss = make_mlp(12, 4, hidden=(16, 8), seed=4)
_shapes = [(m.in_features, m.out_features) for m in _model.modules() if isinstance(m, nn.Linear)]
assert _shapes == [(12, 16), (16, 8), (8, 4)], f"hidden=(16, 8): expected 12 -> 16 -> 8 -> 4, got {_shapes}"
_dev = next(_model.parameters()).device
_rng = np.random.default_rng(404)
_x1, _x2 = (torch.tensor(_rng.normal(size=(50, 12)), dtype=torch.float32, device=_dev) for _ in range(2))
_model.eval()
with torch.no_grad():
    _f = lambda x: _model(x).double()
    _gap = (_f(_x1) + _f(_x2) - _f(torch.zeros_like(_x1)) - _f(_x1 + _x2)).abs().max().item()
    _out = _model(_x1).double().cpu()
assert _gap > 1e-3, "the network is linear: put a non-linear activation (ReLU) after every hidden layer"
_rows = _out.exp().sum(dim=1)
if isinstance(_loss, nn.CrossEntropyLoss):
    assert not torch.allclose(_out.sum(dim=1), torch.ones(50, dtype=torch.float64), atol=1e-3), \
        "CrossEntropyLoss applies the softmax itself: the model must output logits (no softmax)"
else:
    assert torch.allclose(_rows, torch.ones(50, dtype=torch.float64), atol=1e-4), \
        "NLLLoss expects log-probabilities: end the model with nn.LogSoftmax(dim=1)"
_m1, _ = make_mlp(12, 4, hidden=(16, 8), seed=9)
_m2, _ = make_mlp(12, 4, hidden=(16, 8), seed=9)
assert all(torch.equal(p.cpu(), q.cpu()) for p, q in zip(_m1.parameters(), _m2.parameters())), \
    "call torch.manual_seed(seed) before creating the layers"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_mlp", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
model, loss_fn = make_mlp(784, 10, seed=0)
assert isinstance(model, keras.Model), "model must be a Keras model"
assert isinstance(loss_fn, keras.losses.SparseCategoricalCrossentropy), \
    f"integer labels: train with SparseCategoricalCrossentropy, got {type(loss_fn).__name__}"
_shapes = [tuple(layer.kernel.shape) for layer in model.layers if isinstance(layer, keras.layers.Dense)]
assert _shapes == [(784, 128), (128, 10)], f"expected the layers 784 -> 128 -> 10, got {_shapes}"
_out = keras.ops.convert_to_numpy(model(np.zeros((5, 784), dtype=np.float32)))
assert _out.shape == (5, 10), f"the model must map (n, 784) to (n, 10), got {_out.shape}"
### BEGIN HIDDEN TESTS
_model, _loss = make_mlp(12, 4, hidden=(16, 8), seed=4)
_shapes = [tuple(layer.kernel.shape) for layer in _model.layers if isinstance(layer, keras.layers.Dense)]
assert _shapes == [(12, 16), (16, 8), (8, 4)], f"hidden=(16, 8): expected 12 -> 16 -> 8 -> 4, got {_shapes}"
_rng = np.random.default_rng(404)
_x1, _x2 = (_rng.normal(size=(50, 12)).astype(np.float32) for _ in range(2))
_f = lambda x: keras.ops.convert_to_numpy(_model(x, training=False)).astype(np.float64)
_gap = np.abs(_f(_x1) + _f(_x2) - _f(np.zeros_like(_x1)) - _f(_x1 + _x2)).max()
assert _gap > 1e-3, "the network is linear: put a non-linear activation (ReLU) after every hidden layer"
_out = _f(_x1)
if _loss.get_config()["from_logits"]:
    assert not np.allclose(_out.sum(axis=1), 1.0, atol=1e-3), \
        "from_logits=True: the loss applies the softmax itself, so the model must output logits (no softmax)"
else:
    assert np.all(_out >= 0) and np.allclose(_out.sum(axis=1), 1.0, atol=1e-4), \
        "from_logits=False: the loss expects probabilities, so the model must end with a softmax"
_m1, _ = make_mlp(12, 4, hidden=(16, 8), seed=9)
_m2, _ = make_mlp(12, 4, hidden=(16, 8), seed=9)
assert all(np.array_equal(p, q) for p, q in zip(_m1.get_weights(), _m2.get_weights())), \
    "call keras.utils.set_random_seed(seed) before creating the model"
### END HIDDEN TESTS

# %% [markdown] track="pytorch"
# ### Task 6 · Train and predict (3 points)
#
# `train_classifier` is `train_binary` for class labels: the targets are an int64 tensor of shape
# $(n,)$. `predict_classes` returns the class with the largest output,
# $\hat y_i = \arg\max_k z_{ik}$: the same class whether the model outputs logits,
# log-probabilities or probabilities, since softmax and log keep the order.
#
# The test trains a softmax-regression model of its own with your `train_classifier` on a split
# you do not see and expects at least 87 % held-out accuracy.

# %% [markdown] track="tensorflow"
# ### Task 6 · Train and predict (3 points)
#
# `train_classifier` is `train_binary` for class labels: the targets are integers of shape
# $(n,)$. `predict_classes` returns the class with the largest output,
# $\hat y_i = \arg\max_k z_{ik}$: the same class whether the model outputs logits or
# probabilities, since the softmax keeps the order.
#
# The test trains a softmax-regression model of its own with your `train_classifier` on a split
# you do not see and expects at least 87 % held-out accuracy.

# %% nbgrader={"grade": false, "grade_id": "train_classifier", "locked": false, "schema_version": 3, "solution": true, "task": false} track="pytorch"
def train_classifier(model, loss_fn, X_train, y_train, epochs=10, lr=0.01, batch_size=128, seed=0):
    """Train a multiclass model in place with Adam on shuffled mini-batches; return the epoch losses.

    model: maps (n, d) to (n, n_classes); loss_fn(model(x), y) with y int64 labels (n,).
    X_train: numpy (n, d) float; y_train: numpy (n,) integer labels. Call torch.manual_seed(seed),
    move the model to `device`, shuffle with a torch.Generator seeded with seed.
    Returns a list of `epochs` floats: the mean training loss over the samples of each epoch.
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    model.to(device)
    data = TensorDataset(torch.as_tensor(X_train, dtype=torch.float32), torch.as_tensor(y_train, dtype=torch.long))
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        losses.append(total / len(data))
    return losses
    ### END SOLUTION


def predict_classes(model, X):
    """The predicted class of every row of X: numpy (n, d) -> numpy int64 (n,).

    Runs the model on the device of its parameters, in eval mode, without gradients.
    """
    ### BEGIN SOLUTION
    model_device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        z = model(torch.as_tensor(X, dtype=torch.float32, device=model_device))
    return z.argmax(dim=1).cpu().numpy()
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_classifier", "locked": false, "schema_version": 3, "solution": true, "task": false} track="tensorflow"
def train_classifier(model, loss_fn, X_train, y_train, epochs=10, lr=0.01, batch_size=128, seed=0):
    """Train a multiclass model in place with Adam on shuffled mini-batches; return the epoch losses.

    model: maps (n, d) to (n, n_classes); loss_fn: a SparseCategoricalCrossentropy that fits it.
    X_train: numpy (n, d) float; y_train: numpy (n,) integer labels. Call
    keras.utils.set_random_seed(seed), compile with keras.optimizers.Adam(lr) and loss_fn, fit silently.
    Returns a list of `epochs` floats: the mean training loss over the samples of each epoch.
    """
    ### BEGIN SOLUTION
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=loss_fn)
    model.optimizer.build(model.trainable_variables)  # Adam's variables exist before fit traces its step: traced once, not twice
    history = model.fit(np.asarray(X_train, dtype=np.float32), np.asarray(y_train),
                        epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return [float(v) for v in history.history["loss"]]
    ### END SOLUTION


def predict_classes(model, X):
    """The predicted class of every row of X: numpy (n, d) -> numpy int64 (n,)."""
    ### BEGIN SOLUTION
    z = keras.ops.convert_to_numpy(model(np.asarray(X, dtype=np.float32), training=False))
    return z.argmax(axis=1).astype(np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_classifier", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="pytorch"
torch.manual_seed(0)
_model = nn.Linear(784, 10)
_losses = train_classifier(_model, nn.CrossEntropyLoss(), Xd_train[:200], yd_train[:200],
                           epochs=3, lr=0.01, batch_size=32, seed=0)
_losses = np.asarray(_losses, dtype=np.float64)
assert _losses.shape == (3,), f"expected one loss per epoch (3), got {len(_losses)}"
assert np.all(np.isfinite(_losses)) and _losses[-1] < _losses[0], f"the loss should go down, got {_losses}"
### BEGIN HIDDEN TESTS
_Xa, _Xh, _ya, _yh = mf.train_test_split(Xd, yd, test_size=0.25, seed=1618)
torch.manual_seed(1)
_model = nn.Linear(784, 10)
_losses = train_classifier(_model, nn.CrossEntropyLoss(), _Xa, _ya, epochs=5, lr=0.01, batch_size=128, seed=1)
print("training losses on a hidden split:", np.round(_losses, 3))
assert len(_losses) == 5 and _losses[-1] < 0.5, f"the training loss should fall below 0.5, got {_losses}"
_model.eval()
with torch.no_grad():
    _z = _model(torch.as_tensor(_Xh, device=next(_model.parameters()).device))
_acc = float(np.mean(_z.argmax(dim=1).cpu().numpy() == _yh))
print(f"held-out accuracy on a hidden split: {_acc:.3f}")
assert _acc >= 0.87, f"expected at least 87 % held-out accuracy, got {_acc:.3f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_classifier", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
keras.utils.set_random_seed(0)
_model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
_losses = train_classifier(_model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                           Xd_train[:200], yd_train[:200], epochs=3, lr=0.01, batch_size=32, seed=0)
_losses = np.asarray(_losses, dtype=np.float64)
assert _losses.shape == (3,), f"expected one loss per epoch (3), got {len(_losses)}"
assert np.all(np.isfinite(_losses)) and _losses[-1] < _losses[0], f"the loss should go down, got {_losses}"
### BEGIN HIDDEN TESTS
_Xa, _Xh, _ya, _yh = mf.train_test_split(Xd, yd, test_size=0.25, seed=1618)
keras.utils.set_random_seed(1)
_model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
_losses = train_classifier(_model, keras.losses.SparseCategoricalCrossentropy(from_logits=True), _Xa, _ya,
                           epochs=5, lr=0.01, batch_size=128, seed=1)
print("training losses on a hidden split:", np.round(_losses, 3))
assert len(_losses) == 5 and _losses[-1] < 0.5, f"the training loss should fall below 0.5, got {_losses}"
_z = keras.ops.convert_to_numpy(_model(_Xh, training=False))
_acc = float(np.mean(_z.argmax(axis=1) == _yh))
print(f"held-out accuracy on a hidden split: {_acc:.3f}")
assert _acc >= 0.87, f"expected at least 87 % held-out accuracy, got {_acc:.3f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_predict_classes", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false} track="pytorch"
_model = nn.Linear(3, 4)
with torch.no_grad():  # z = [x0, x1, x2, 0]
    _model.weight.copy_(torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0, 0, 0]]))
    _model.bias.zero_()
_pred = predict_classes(_model, np.array([[3.0, 1, 2], [0, 5, 1], [-1, -2, 4], [-1, -2, -3]], dtype=np.float32))
assert isinstance(_pred, np.ndarray) and _pred.shape == (4,), "predict_classes returns a numpy array (n,)"
assert np.issubdtype(_pred.dtype, np.integer), f"classes are integers, got dtype {_pred.dtype}"
assert _pred.tolist() == [0, 1, 2, 3], f"expected [0, 1, 2, 3], got {_pred.tolist()}"
### BEGIN HIDDEN TESTS
torch.manual_seed(5)
_model = nn.Sequential(nn.Linear(5, 6), nn.LogSoftmax(dim=1))
_X = np.random.default_rng(505).normal(size=(200, 5)).astype(np.float32)
with torch.no_grad():
    _expected = _model(torch.as_tensor(_X)).argmax(dim=1).numpy()
assert np.array_equal(predict_classes(_model, _X), _expected), "predict the arg-max of the model's output"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_predict_classes", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
_model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
_model.layers[0].set_weights([np.eye(3, 4, dtype=np.float32), np.zeros(4, dtype=np.float32)])  # z = [x0, x1, x2, 0]
_pred = predict_classes(_model, np.array([[3.0, 1, 2], [0, 5, 1], [-1, -2, 4], [-1, -2, -3]], dtype=np.float32))
assert isinstance(_pred, np.ndarray) and _pred.shape == (4,), "predict_classes returns a numpy array (n,)"
assert np.issubdtype(_pred.dtype, np.integer), f"classes are integers, got dtype {_pred.dtype}"
assert _pred.tolist() == [0, 1, 2, 3], f"expected [0, 1, 2, 3], got {_pred.tolist()}"
### BEGIN HIDDEN TESTS
keras.utils.set_random_seed(5)
_model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="softmax")])
_X = np.random.default_rng(505).normal(size=(200, 5)).astype(np.float32)
_expected = keras.ops.convert_to_numpy(_model(_X)).argmax(axis=1)
assert np.array_equal(predict_classes(_model, _X), _expected), "predict the arg-max of the model's output"
### END HIDDEN TESTS

# %% [markdown]
# ### Task 7 · Compare the two networks (2 points)
#
# Put tasks 4–6 together: build softmax regression and the MLP (default `hidden`) with the same
# seed, train each with `train_classifier` (your defaults for `lr` and `batch_size`), and
# measure their accuracy on the test split. The test runs your function on a split you do not
# see (1500 of its images, 5 epochs), and expects at least 84 % for softmax regression, at least
# 86 % for the MLP, and a lower final training loss for the MLP.

# %% nbgrader={"grade": false, "grade_id": "compare_models", "locked": false, "schema_version": 3, "solution": true, "task": false}
def compare_models(X_train, y_train, X_test, y_test, epochs=10, seed=0):
    """Train softmax regression and an MLP on the same data and measure both.

    X_*: numpy (n, d) float, y_*: numpy (n,) labels 0..n_classes-1 (n_classes = max label + 1 of
    y_train). Both models are built with `seed` and trained with train_classifier(..., epochs=epochs,
    seed=seed). Returns
      {"softmax": {"accuracy": float, "losses": list}, "mlp": {"accuracy": float, "losses": list}}
    with the test accuracy and the epoch losses returned by train_classifier.
    """
    ### BEGIN SOLUTION
    n_features, n_classes = X_train.shape[1], int(y_train.max()) + 1
    results = {}
    for name, make in [("softmax", make_softmax_regression), ("mlp", make_mlp)]:
        model, loss_fn = make(n_features, n_classes, seed=seed)
        losses = train_classifier(model, loss_fn, X_train, y_train, epochs=epochs, seed=seed)
        accuracy = float(np.mean(predict_classes(model, X_test) == y_test))
        results[name] = {"accuracy": accuracy, "losses": losses}
    return results
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_compare_models", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="pytorch"
_res = compare_models(Xd_train[:300], yd_train[:300], Xd_test[:100], yd_test[:100], epochs=2, seed=0)
assert isinstance(_res, dict) and set(_res) == {"softmax", "mlp"}, "return a dict with the keys 'softmax' and 'mlp'"
for _name, _r in _res.items():
    assert 0.0 <= float(_r["accuracy"]) <= 1.0, f"{_name}: accuracy must be a fraction, got {_r['accuracy']}"
    assert len(_r["losses"]) == 2, f"{_name}: expected one loss per epoch (2), got {len(_r['losses'])}"
### BEGIN HIDDEN TESTS
_Xa, _Xh, _ya, _yh = mf.train_test_split(Xd, yd, test_size=0.25, seed=1618)
_trained, _train_classifier = [], train_classifier


def train_classifier(model, *args, **kwargs):  # records the models compare_models trains and their losses
    _losses = _train_classifier(model, *args, **kwargs)
    _trained.append((model, _losses))
    return _losses


try:
    _res = compare_models(_Xa[:1500], _ya[:1500], _Xh, _yh, epochs=5, seed=1)
finally:
    train_classifier = _train_classifier
print({name: (round(float(r["accuracy"]), 3), round(float(r["losses"][-1]), 4)) for name, r in _res.items()})
assert len(_trained) == 2, f"compare_models must train its two models with train_classifier, it trained {len(_trained)}"
# the accuracies and losses returned must be those of the models trained (computed here, not by predict_classes)
_kinds = []
for _model, _losses in _trained:
    _model.eval()
    with torch.no_grad():
        _z = _model(torch.as_tensor(_Xh, dtype=torch.float32, device=next(_model.parameters()).device)).cpu().numpy()
    _name = "softmax" if sum(isinstance(_m, nn.Linear) for _m in _model.modules()) == 1 else "mlp"
    _kinds.append(_name)
    _acc = float(np.mean(_z.argmax(axis=1) == _yh))
    assert abs(float(_res[_name]["accuracy"]) - _acc) <= 2 / len(_yh), \
        f"{_name}: compare_models returned accuracy {float(_res[_name]['accuracy']):.4f}, its trained model has {_acc:.4f}"
    assert np.allclose(np.asarray(_res[_name]["losses"], dtype=np.float64), np.asarray(_losses, dtype=np.float64)), \
        f"{_name}: the losses returned are not those train_classifier returned"
assert sorted(_kinds) == ["mlp", "softmax"], f"expected one softmax regression and one MLP, trained {_kinds}"
assert _res["softmax"]["accuracy"] >= 0.84, f"softmax regression: expected >= 0.84, got {_res['softmax']['accuracy']:.3f}"
assert _res["mlp"]["accuracy"] >= 0.86, f"MLP: expected >= 0.86, got {_res['mlp']['accuracy']:.3f}"
assert _res["mlp"]["losses"][-1] < _res["softmax"]["losses"][-1], "the MLP should fit the training data better"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_compare_models", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} track="tensorflow"
_res = compare_models(Xd_train[:300], yd_train[:300], Xd_test[:100], yd_test[:100], epochs=2, seed=0)
assert isinstance(_res, dict) and set(_res) == {"softmax", "mlp"}, "return a dict with the keys 'softmax' and 'mlp'"
for _name, _r in _res.items():
    assert 0.0 <= float(_r["accuracy"]) <= 1.0, f"{_name}: accuracy must be a fraction, got {_r['accuracy']}"
    assert len(_r["losses"]) == 2, f"{_name}: expected one loss per epoch (2), got {len(_r['losses'])}"
### BEGIN HIDDEN TESTS
_Xa, _Xh, _ya, _yh = mf.train_test_split(Xd, yd, test_size=0.25, seed=1618)
_trained, _train_classifier = [], train_classifier


def train_classifier(model, *args, **kwargs):  # records the models compare_models trains and their losses
    _losses = _train_classifier(model, *args, **kwargs)
    _trained.append((model, _losses))
    return _losses


try:
    _res = compare_models(_Xa[:1500], _ya[:1500], _Xh, _yh, epochs=5, seed=1)
finally:
    train_classifier = _train_classifier
print({name: (round(float(r["accuracy"]), 3), round(float(r["losses"][-1]), 4)) for name, r in _res.items()})
assert len(_trained) == 2, f"compare_models must train its two models with train_classifier, it trained {len(_trained)}"
# the accuracies and losses returned must be those of the models trained (computed here, not by predict_classes)
_kinds = []
for _model, _losses in _trained:
    _z = keras.ops.convert_to_numpy(_model(np.asarray(_Xh, dtype=np.float32), training=False))
    _name = "softmax" if sum(isinstance(_l, keras.layers.Dense) for _l in _model.layers) == 1 else "mlp"
    _kinds.append(_name)
    _acc = float(np.mean(_z.argmax(axis=1) == _yh))
    assert abs(float(_res[_name]["accuracy"]) - _acc) <= 2 / len(_yh), \
        f"{_name}: compare_models returned accuracy {float(_res[_name]['accuracy']):.4f}, its trained model has {_acc:.4f}"
    assert np.allclose(np.asarray(_res[_name]["losses"], dtype=np.float64), np.asarray(_losses, dtype=np.float64)), \
        f"{_name}: the losses returned are not those train_classifier returned"
assert sorted(_kinds) == ["mlp", "softmax"], f"expected one softmax regression and one MLP, trained {_kinds}"
assert _res["softmax"]["accuracy"] >= 0.84, f"softmax regression: expected >= 0.84, got {_res['softmax']['accuracy']:.3f}"
assert _res["mlp"]["accuracy"] >= 0.86, f"MLP: expected >= 0.86, got {_res['mlp']['accuracy']:.3f}"
assert _res["mlp"]["losses"][-1] < _res["softmax"]["losses"][-1], "the MLP should fit the training data better"
### END HIDDEN TESTS

# %% [markdown]
# Now run the comparison on the digits split of this notebook (no points), for 5 epochs. The left
# plot shows the training loss of both models (log scale), the right one their test accuracy.
# With correct functions softmax regression passes 87 % and the MLP 90 %, and the MLP ends with a
# lower training loss and a higher test accuracy; the cell checks all of it.

# %%
results = compare_models(Xd_train, yd_train, Xd_test, yd_test, epochs=5, seed=0)
for name, r in results.items():
    print(f"{name:>8}: test accuracy {r['accuracy']:.3f}, final training loss {r['losses'][-1]:.4f}")

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3))
for name, r in results.items():
    ax_loss.plot(range(1, len(r["losses"]) + 1), r["losses"], marker="o", label=name)
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("training loss (cross-entropy)")
ax_loss.legend()
ax_acc.bar(list(results), [r["accuracy"] for r in results.values()], color=["C0", "C1"])
ax_acc.set_ylim(0.8, 1.0)
ax_acc.set_ylabel("test accuracy")
plt.tight_layout()
plt.show()
acc_softmax, acc_mlp = results["softmax"]["accuracy"], results["mlp"]["accuracy"]
assert acc_softmax > 0.87 and acc_mlp > 0.90, "an accuracy is below 87 % / 90 %: check tasks 4-7"
assert results["mlp"]["losses"][-1] < results["softmax"]["losses"][-1], "the MLP should fit the training data better"
assert acc_mlp > acc_softmax, "the MLP should also be more accurate on these 28x28 images: check tasks 5-7"

# %% [markdown] nbgrader={"grade": false, "grade_id": "question_layers", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Written answer
#
# **Task 8 (3 points, graded by hand).** In the cell below, in 5–10 sentences:
#
# 1. report your two test accuracies and final training losses from the comparison above, and
#    what they say about the two models (fit to the training data vs. accuracy on new data);
# 2. explain **when more layers help** and when they do not. Think about whether the classes can
#    be separated by a linear function of the inputs (Part A vs. Part B), how much training data
#    there is, and what a hidden layer with a non-linear activation can represent that one linear
#    layer cannot.

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_layers", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# *Reference answer (for the grader; students write their own).* In the reference runs softmax
# regression reaches about 0.90 test accuracy and the MLP 0.92 to 0.94, and the MLP ends with a
# training loss about four times lower: on 28×28 digits the hidden layer both fits the training images better
# and is more accurate on new ones (by 2 to 4 points here; the exact numbers move with the seed and
# the framework). A hidden layer with a non-linear activation lets the network combine pixels
# into its own features (strokes, loops) and draw non-linear boundaries between classes; without
# the activation, stacked linear layers are still one linear map. More layers therefore help when
# the classes are **not linearly separable** in the given inputs (raw pixels: one linear score
# per digit cannot cover all the ways people write it) and there is **enough data** to learn the
# extra parameters (3750 images for about 100 000 weights here). They do not help when a linear
# boundary already separates the classes well, as in Part A, where one layer on standardized
# features passes 92 %: the extra capacity then mostly fits the training set more closely, and
# with little data it overfits (training loss keeps falling while held-out accuracy stalls); more
# layers also cost training time and need regularization and validation to pay off.

# %% [markdown] track="pytorch"
# ## Try it
#
# Not graded; for you to explore after the tests pass.
#
# 1. Train Part A on the raw, unstandardized features (`Xb_train`, `Xb_test`) with the same
#    settings. What happens to the loss curve and the accuracy? Why?
# 2. Make the binary model end with `nn.Sigmoid()` while keeping `nn.BCEWithLogitsLoss()`. Does it
#    still train? What does the loss see?
# 3. Call `compare_models` on only the first 150 training digits. Which model loses more accuracy?
# 4. Try `make_mlp(784, 10, hidden=(16,))` and `hidden=(256, 128)`: how do the training loss and
#    the test accuracy change?
#
# Next: the same lab in Keras is `classification-tensorflow`; the lab `overfitting-pytorch` takes
# up question 3. The lesson `lessons/02-frameworks/02-training-by-hand-pytorch.ipynb` covers the
# training loop in more depth.

# %% [markdown] track="tensorflow"
# ## Try it
#
# Not graded; for you to explore after the tests pass.
#
# 1. Train Part A on the raw, unstandardized features (`Xb_train`, `Xb_test`) with the same
#    settings. What happens to the loss curve and the accuracy? Why?
# 2. Give the binary model a sigmoid output (`Dense(1, activation="sigmoid")`) while keeping
#    `from_logits=True`. Does it still train? What does the loss see?
# 3. Call `compare_models` on only the first 150 training digits. Which model loses more accuracy?
# 4. Try `make_mlp(784, 10, hidden=(16,))` and `hidden=(256, 128)`: how do the training loss and
#    the test accuracy change?
#
# Next: the same lab in PyTorch is `classification-pytorch`; the lab `overfitting-tensorflow` takes
# up question 3. The lesson `lessons/02-frameworks/02-training-by-hand-tensorflow.ipynb` covers the
# training loop in more depth.

# %% [markdown]
# ## Review questions
# 1. Why must `standardize` use the mean and standard deviation of the training split only?
#    <details><summary>Answer</summary>The test split stands for new data that the model has not
#    seen; statistics that include it leak information about it into training and make the test
#    accuracy optimistic.</details>
# 2. Which output and loss go together for a binary classifier in PyTorch and in Keras?
#    <details><summary>Answer</summary>Logits with `BCEWithLogitsLoss` (Keras: `Dense(1)` with
#    `BinaryCrossentropy(from_logits=True)`), or a sigmoid output with `BCELoss` (Keras:
#    `Dense(1, activation="sigmoid")` with `BinaryCrossentropy()`). A sigmoid before a loss that
#    expects logits applies it twice.</details>
# 3. How many parameters do softmax regression and `make_mlp(784, 10)` have on 28×28 images?
#    <details><summary>Answer</summary>$785 \cdot 10 = 7\,850$, and
#    $785 \cdot 128 + 129 \cdot 10 = 101\,770$.</details>
# 4. Why is a stack of `Linear` layers without activations no better than one `Linear` layer?
#    <details><summary>Answer</summary>A product of linear maps is a linear map: $W_2(W_1 x + b_1) + b_2
#    = (W_2 W_1) x + (W_2 b_1 + b_2)$. Only a non-linear activation between them adds what one
#    layer cannot represent.</details>
# 5. The MLP reaches a much lower training loss than softmax regression, but only a few points
#    more test accuracy. What does that tell you?
#    <details><summary>Answer</summary>Much of the MLP's extra capacity goes into fitting the
#    training images more closely (overfitting), not into new images; a lower training loss is
#    not the goal, the held-out accuracy is.</details>
