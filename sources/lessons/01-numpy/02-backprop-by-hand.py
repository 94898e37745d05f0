# %% [markdown]
# # 02 · Backpropagation by hand
#
# In lesson 01 we *knew* the weights of the tumour neuron. Now we learn them from data. We
# will write every derivative ourselves, first for one neuron and then for a network with a
# hidden layer, and check the result against brute-force numerical differentiation.
#
# **Learning objectives.** After this notebook you can
#
# 1. run mini-batch stochastic gradient descent (SGD) step by step: forward, loss, gradient,
#    update;
# 2. apply the chain rule to one output neuron, and through a hidden layer (backpropagation);
# 3. explain why the gradient of a batch is a sum (a mean) over its samples, and write it as a
#    matrix product;
# 4. verify hand-written gradients with central differences;
# 5. train a two-layer network with nothing but numpy and your own gradients.

# %%
import matplotlib.pyplot as plt
import numpy as np

import minifw as mf

rng = np.random.default_rng(0)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


# %% [markdown]
# ## 1 · Learning is minimizing a cost
#
# For parameters $\theta$ and $N$ training samples, the **cost** is the mean of the per-sample
# **losses**, $J(\theta) = \frac{1}{N}\sum_{n=1}^N L(\hat y_n, y_n)$. Gradient descent moves
# the parameters a small step against the gradient,
#
# $$\theta \leftarrow \theta - \eta\, \nabla_\theta J(\theta),$$
#
# with learning rate $\eta$. **Mini-batch SGD** estimates $\nabla_\theta J$ on a random batch
# of $B$ samples (say 32) instead of all $N$. Each step is cheaper and a bit noisy, and one
# pass over all the batches is an **epoch**.
#
# To use it we need $\nabla_\theta J$. The rest of this notebook computes it with the chain
# rule.
#
# ## 2 · The chain rule for one output neuron
#
# The tumour neuron of lesson 01 computes, for one patient $x = (x_1, x_2)$ with label
# $y \in \{0, 1\}$,
#
# $$z = w_1 x_1 + w_2 x_2 + b, \qquad \hat y = \sigma(z), \qquad
#   L = -\big[y \log \hat y + (1 - y)\log(1 - \hat y)\big] \quad \text{(binary cross-entropy)}.$$
#
# $L$ depends on $w_1$ only through $z$ and $\hat y$, so the chain rule multiplies the local
# derivatives along that path:
#
# $$\frac{\partial L}{\partial w_1}
#   = \underbrace{\frac{\partial L}{\partial \hat y}}_{\frac{\hat y - y}{\hat y(1 - \hat y)}}\;
#     \underbrace{\frac{\partial \hat y}{\partial z}}_{\hat y(1 - \hat y)}\;
#     \underbrace{\frac{\partial z}{\partial w_1}}_{x_1}
#   = (\hat y - y)\, x_1, \qquad
#   \frac{\partial L}{\partial b} = \hat y - y.$$
#
# The factor $\hat y(1-\hat y)$ cancels. That is why the sigmoid and cross-entropy are used
# together. The signal $\hat y - y$ is the error, and each weight's gradient is the error
# times the input the weight multiplies.
#
# Let us do it with numbers for one patient. The features are standardized first
# (`mf.StandardScaler`: mean 0, standard deviation 1 per feature, fitted on these patients),
# because size in mm and age in years have very different scales.

# %%
X_raw, y = mf.datasets.make_tumours()
scaler = mf.StandardScaler().fit(X_raw.astype(np.float64))
X = scaler.transform(X_raw.astype(np.float64))
x, t = X[0], y[0]
w, b = np.array([0.5, -0.3]), 0.1

z = x @ w + b
y_hat = sigmoid(z)
L = -(t * np.log(y_hat) + (1 - t) * np.log(1 - y_hat))
dL_dyhat = (y_hat - t) / (y_hat * (1 - y_hat))
dyhat_dz = y_hat * (1 - y_hat)
dz_dw = x
dL_dw = dL_dyhat * dyhat_dz * dz_dw
print(f"x = {x.round(3)}, y = {t}: z = {z:.4f}, y_hat = {y_hat:.4f}, L = {L:.4f}")
print(f"dL/dy_hat = {dL_dyhat:.4f}, dy_hat/dz = {dyhat_dz:.4f}, dz/dw = {dz_dw.round(4)}")
print("dL/dw =", dL_dw.round(6), "  (y_hat - y) x =", ((y_hat - t) * x).round(6))
assert np.allclose(dL_dw, (y_hat - t) * x)


# %% [markdown]
# Is it right? The derivative is the limit of a difference quotient, so we can estimate it by
# nudging $w_1$ by $\pm\varepsilon$. The **central difference**
#
# $$\frac{\partial L}{\partial w_1} \approx \frac{L(w_1 + \varepsilon) - L(w_1 - \varepsilon)}{2\varepsilon}$$
#
# has an error of order $\varepsilon^2$.

# %%
def loss_one(w, b):
    y_hat = sigmoid(x @ w + b)
    return -(t * np.log(y_hat) + (1 - t) * np.log(1 - y_hat))


eps = 1e-6
numeric = np.array([(loss_one(w + eps * e, b) - loss_one(w - eps * e, b)) / (2 * eps) for e in np.eye(2)])
print("numerical dL/dw =", numeric.round(6))
assert np.allclose(numeric, dL_dw, rtol=1e-6, atol=1e-9)

# %% [markdown]
# ## 3 · Gradients over a batch are sums
#
# The cost of a batch is a mean, $J = \frac{1}{B}\sum_n L_n$, and the derivative of a sum is
# the sum of the derivatives. So the gradient of the batch is the mean of the per-sample
# gradients:
#
# $$\nabla_w J = \frac{1}{B}\sum_{n=1}^B (\hat y_n - y_n)\, x_n = \frac{1}{B} X^\top(\hat y - y),
#   \qquad \frac{\partial J}{\partial b} = \frac{1}{B}\sum_{n=1}^B (\hat y_n - y_n).$$
#
# The matrix product $X^\top(\hat y - y)$ does the summing: row $i$ of $X^\top$ holds feature
# $i$ of every sample. Dividing by $B$ (a mean rather than a sum) keeps the size of the
# gradient, and so the right learning rate, independent of the batch size.

# %%
xb, yb = X[:32], y[:32]
y_hat_b = sigmoid(xb @ w + b)
per_sample = [(y_hat_b[n] - yb[n]) * xb[n] for n in range(len(xb))]  # one gradient per patient
grad_loop = np.sum(per_sample, axis=0) / len(xb)
grad_matrix = xb.T @ (y_hat_b - yb) / len(xb)
print("loop:", grad_loop.round(6), " matrix:", grad_matrix.round(6))
assert np.allclose(grad_loop, grad_matrix)


# %% [markdown]
# ## 4 · Mini-batch SGD, one step at a time
#
# One SGD step on a batch has four parts:
#
# 1. **forward**: $\hat y = \sigma(Xw + b)$;
# 2. **loss**: $J = \text{mean}(L_n)$;
# 3. **backward**: $\nabla_w J = \frac{1}{B}X^\top(\hat y - y)$, $\partial J/\partial b = \text{mean}(\hat y - y)$;
# 4. **update**: $w \leftarrow w - \eta \nabla_w J$, $b \leftarrow b - \eta\, \partial J / \partial b$.
#
# `mf.minibatches` cuts shuffled batches. We start from $w = 0$, $b = 0$, which predicts 0.5
# for everyone and has cost $\log 2 \approx 0.693$.

# %%
def bce(y_hat, y):
    return float(-np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)))


w, b, lr = np.zeros(2), 0.0, 0.5
xb, yb = next(mf.minibatches(X, y, batch_size=32, rng=0))

y_hat_b = sigmoid(xb @ w + b)  # 1 forward
J_before = bce(y_hat_b, yb)  # 2 loss
grad_w = xb.T @ (y_hat_b - yb) / len(xb)  # 3 backward
grad_b = np.mean(y_hat_b - yb)
w, b = w - lr * grad_w, b - lr * grad_b  # 4 update
J_after = bce(sigmoid(xb @ w + b), yb)
print(f"J before {J_before:.4f}, gradient {grad_w.round(4)}, {grad_b:.4f}, J after {J_after:.4f}")
assert abs(J_before - np.log(2)) < 1e-12
assert J_after < J_before

# %% [markdown]
# The same four lines, repeated for 30 epochs of ten 32-patient batches each (the last batch
# has 12):

# %%
assert [len(xb) for xb, _ in mf.minibatches(X, y, batch_size=32, rng=0)] == [32] * 9 + [12]
w, b = np.zeros(2), 0.0
batch_rng = np.random.default_rng(0)
costs = [bce(sigmoid(X @ w + b), y)]
for epoch in range(30):
    for xb, yb in mf.minibatches(X, y, batch_size=32, rng=batch_rng):
        y_hat_b = sigmoid(xb @ w + b)
        w -= lr * xb.T @ (y_hat_b - yb) / len(xb)
        b -= lr * np.mean(y_hat_b - yb)
    costs.append(bce(sigmoid(X @ w + b), y))
acc = np.mean((sigmoid(X @ w + b) > 0.5) == y)
print(f"cost {costs[0]:.3f} -> {costs[-1]:.3f}, training accuracy {acc:.3f}")
assert costs[-1] < 0.35 and acc > 0.85

plt.figure(figsize=(5, 3))
plt.plot(costs, marker=".")
plt.xlabel("epoch")
plt.ylabel("cost J on all patients")
plt.title("mini-batch SGD on the tumour neuron")
plt.show()

# %% [markdown]
# Our neuron lives in standardized units. Undoing the scaling,
# $z = \sum_i w_i \frac{x_i - \mu_i}{s_i} + b$, gives weights in mm and years that we can
# compare with the neuron that generated the data, $w = (0.2, 0.1)$, $b = -10.5$. From 300
# noisy patients we get within 20 % of them.

# %%
w_units = w / scaler.std_
b_units = b - np.sum(w * scaler.mean_ / scaler.std_)
print(f"learned w = {w_units.round(3)}, b = {b_units:.2f}   (true: [0.2 0.1], -10.5)")
assert np.all(np.abs(w_units / [0.2, 0.1] - 1) < 0.2)
assert abs(b_units / -10.5 - 1) < 0.2


# %% [markdown]
# ## 5 · A hidden layer: backpropagation
#
# One neuron draws a line, and two moons need a curve. We add a hidden layer of $H$ tanh
# units and a softmax output over the two classes. For a batch $X \in \mathbb{R}^{B\times 2}$
# with one-hot labels $Y \in \{0,1\}^{B\times 2}$:
#
# $$X \xrightarrow{\;W_1, b_1\;} Z_1 = XW_1 + b_1 \xrightarrow{\;\tanh\;} A = \tanh(Z_1)
#   \xrightarrow{\;W_2, b_2\;} Z_2 = AW_2 + b_2 \xrightarrow{\;\text{softmax}\;} P
#   \xrightarrow{} J = -\frac{1}{B}\sum_{n} \sum_k Y_{nk} \log P_{nk}$$
#
# **Backward** we walk the chain from right to left, and each step reuses the gradient of the
# step before. We write $\delta_2 = \partial J / \partial Z_2$ and
# $\delta_1 = \partial J / \partial Z_1$.
#
# 1. Softmax with cross-entropy simplifies like sigmoid with BCE: $\delta_2 = \frac{1}{B}(P - Y)$.
# 2. $Z_2 = AW_2 + b_2$ is the layer of section 3:
#    $\;\frac{\partial J}{\partial W_2} = A^\top \delta_2$,
#    $\;\frac{\partial J}{\partial b_2} = \sum_n \delta_{2,n}$.
# 3. **Into the hidden layer.** Hidden unit $j$ feeds *every* output $k$, so its gradient sums
#    over all the paths:
#    $\frac{\partial J}{\partial A_{nj}} = \sum_k \frac{\partial J}{\partial Z_{2,nk}}\,W_{2,jk}$,
#    that is $\frac{\partial J}{\partial A} = \delta_2 W_2^\top$.
# 4. tanh acts element-wise with $\tanh'(z) = 1 - \tanh^2(z)$:
#    $\;\delta_1 = \frac{\partial J}{\partial A} \odot (1 - A^2)$.
# 5. The first layer: $\;\frac{\partial J}{\partial W_1} = X^\top \delta_1$,
#    $\;\frac{\partial J}{\partial b_1} = \sum_n \delta_{1,n}$.
#
# Each gradient has the shape of its parameter, which is a good check while writing it. The
# forward pass keeps $A$ and $P$ because the backward pass needs them.

# %%
def init_params(hidden, seed=0):
    r = np.random.default_rng(seed)
    return {"W1": r.normal(0, 1, (2, hidden)), "b1": np.zeros(hidden),
            "W2": r.normal(0, 1 / np.sqrt(hidden), (hidden, 2)), "b2": np.zeros(2)}


def forward(params, X):
    A = np.tanh(X @ params["W1"] + params["b1"])
    Z2 = A @ params["W2"] + params["b2"]
    return A, Z2


def cost(params, X, y):
    _, Z2 = forward(params, X)
    return float(-np.mean(mf.log_softmax(Z2)[np.arange(len(y)), y]))  # -mean log P[n, y_n]


def gradients(params, X, y):
    A, Z2 = forward(params, X)
    Y = np.eye(2)[y]  # one-hot labels (B, 2)
    delta2 = (mf.softmax(Z2) - Y) / len(X)  # dJ/dZ2   (B, 2)
    dA = delta2 @ params["W2"].T  # dJ/dA    (B, H)
    delta1 = dA * (1 - A ** 2)  # dJ/dZ1   (B, H)
    return {"W1": X.T @ delta1, "b1": delta1.sum(axis=0),
            "W2": A.T @ delta2, "b2": delta2.sum(axis=0)}


X_moons, y_moons = mf.datasets.make_moons(500, noise=0.2, seed=0)
X_moons = X_moons.astype(np.float64)
params = init_params(hidden=16)
grads = gradients(params, X_moons[:32], y_moons[:32])
for name in params:
    print(f"{name}: parameter {params[name].shape}, gradient {grads[name].shape}")
    assert grads[name].shape == params[name].shape


# %% [markdown]
# ## 6 · Checking the gradients numerically
#
# A backward pass can be wrong and still produce a loss that goes down, only more slowly.
# So every hand-written gradient gets checked. We nudge every single parameter entry by
# $\pm\varepsilon$ and compare the central differences with our formulas, using the
# **relative error**
#
# $$\text{rel.err} = \frac{\lVert g_\text{backprop} - g_\text{numeric}\rVert}
#                         {\lVert g_\text{backprop}\rVert + \lVert g_\text{numeric}\rVert}.$$
#
# In `float64` with $\varepsilon = 10^{-6}$ a correct gradient stays far below $10^{-6}$,
# at $10^{-8}$ or less.

# %%
def numerical_gradients(params, X, y, eps=1e-6):
    numeric = {}
    for name, p in params.items():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = cost(params, X, y)
            p[i] = old - eps
            down = cost(params, X, y)
            p[i] = old
            g[i] = (up - down) / (2 * eps)
        numeric[name] = g
    return numeric


def relative_error(a, b):
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


xb, yb = X_moons[:32], y_moons[:32]
grads = gradients(params, xb, yb)
numeric = numerical_gradients(params, xb, yb)
for name in params:
    err = relative_error(grads[name], numeric[name])
    print(f"{name}: relative error {err:.1e}")
    assert params[name].dtype == np.float64
    assert err < 1e-8, (f"{name}: expected a relative error below 1e-8 for a correct gradient; got {err:.1e} "
                        f"(after a change from Try it, the gradient or the check no longer matches)")

# %% [markdown]
# Why float64? A `float32` number keeps only about 7 significant digits. $J(\theta+\varepsilon)$
# and $J(\theta-\varepsilon)$ agree in most of them, so their difference keeps only a few
# digits even with a larger $\varepsilon = 10^{-3}$. The same correct gradients then fail
# the $10^{-6}$ test by orders of magnitude:

# %%
params32 = {name: p.astype(np.float32) for name, p in params.items()}
numeric32 = numerical_gradients(params32, xb.astype(np.float32), yb, eps=1e-3)
err32 = max(relative_error(grads[name], numeric32[name]) for name in params)
print(f"float32: largest relative error {err32:.1e}")
assert err32 > 1e-4


# %% [markdown]
# The check catches real mistakes. Forgetting the tanh derivative in step 4 is a classic one.
# The gradients of the second layer stay right, and those of the first go wrong:

# %%
def gradients_buggy(params, X, y):
    A, Z2 = forward(params, X)
    delta2 = (mf.softmax(Z2) - np.eye(2)[y]) / len(X)
    delta1 = delta2 @ params["W2"].T  # BUG: missing * (1 - A**2)
    return {"W1": X.T @ delta1, "b1": delta1.sum(axis=0), "W2": A.T @ delta2, "b2": delta2.sum(axis=0)}


buggy = gradients_buggy(params, xb, yb)
errors = {name: relative_error(buggy[name], numeric[name]) for name in params}
print({name: f"{e:.1e}" for name, e in errors.items()})
assert errors["W2"] < 1e-6 and errors["b2"] < 1e-6, f"expected the second layer's gradients to stay right; got {errors}"
assert errors["W1"] > 1e-2 and errors["b1"] > 1e-2, f"expected the first layer's gradients to be wrong; got {errors}"

# %% [markdown]
# ## 7 · Training the two-layer network
#
# With gradients we trust, training is the SGD loop of section 4 with four parameters instead
# of two. We hold out 30 % of the moons as a test set (`mf.train_test_split`) and train 16
# hidden units for 100 epochs with batches of 32.

# %%
X_train, X_test, y_train, y_test = mf.train_test_split(X_moons, y_moons, test_size=0.3, seed=0)
params = init_params(hidden=16, seed=0)
lr, batch_rng = 0.5, np.random.default_rng(0)
history = {"train": [cost(params, X_train, y_train)], "test": [cost(params, X_test, y_test)]}
for epoch in range(100):
    for xb, yb in mf.minibatches(X_train, y_train, batch_size=32, rng=batch_rng):
        grads = gradients(params, xb, yb)
        for name in params:
            params[name] -= lr * grads[name]
    history["train"].append(cost(params, X_train, y_train))
    history["test"].append(cost(params, X_test, y_test))


def accuracy(params, X, y):
    return float(np.mean(forward(params, X)[1].argmax(axis=1) == y))


train_acc, test_acc = accuracy(params, X_train, y_train), accuracy(params, X_test, y_test)
print(f"cost {history['train'][0]:.3f} -> {history['train'][-1]:.3f}; "
      f"accuracy: train {train_acc:.3f}, test {test_acc:.3f}")
hint = "the text describes lr = 0.5 and 16 hidden units; a setting changed in Try it can break this"
assert history["train"][-1] < 0.15, f"expected a training cost below 0.15; got {history['train'][-1]:.3f} ({hint})"
assert train_acc > 0.95 and test_acc > 0.95, (
    f"expected train and test accuracy above 0.95; got {train_acc:.3f}, {test_acc:.3f} ({hint})")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
ax1.plot(history["train"], label="train")
ax1.plot(history["test"], label="test")
ax1.set(xlabel="epoch", ylabel="cross-entropy cost", title="learning curves")
ax1.legend()

g1, g2 = np.meshgrid(np.linspace(-2, 3, 200), np.linspace(-1.5, 2, 200))
grid = np.stack([g1.ravel(), g2.ravel()], axis=1)
p1 = mf.softmax(forward(params, grid)[1])[:, 1].reshape(g1.shape)
ax2.contourf(g1, g2, p1, levels=20, cmap="RdBu_r", alpha=0.6)
ax2.contour(g1, g2, p1, levels=[0.5], colors="k")
ax2.scatter(*X_train.T, c=y_train, cmap="bwr", s=10, edgecolors="none", label="train")
ax2.scatter(*X_test.T, c=y_test, cmap="bwr", s=25, marker="x", label="test")
ax2.set(title="16 tanh units: a curved decision boundary", xlabel="$x_1$", ylabel="$x_2$")
ax2.legend(loc="lower right")
plt.show()

# %% [markdown]
# ## Summary
#
# - Mini-batch SGD repeats four steps: forward, loss, backward, update.
# - The chain rule multiplies local derivatives along the path from the loss to a parameter.
#   Sigmoid with BCE and softmax with cross-entropy both give the error signal $\hat y - y$.
# - Through a hidden layer the gradient is sent back with $W^\top$ and multiplied by the
#   activation's derivative. Where one unit feeds several others, the paths are summed.
# - The gradient of a batch is the mean of the per-sample gradients, and $X^\top\delta$
#   computes it in one matrix product.
# - Central differences in float64 confirm a backward pass to a relative error of about
#   $10^{-9}$ and expose a missing factor at once.
#
# We wrote `forward`, `gradients` and the update for one fixed architecture. Changing it (a
# third layer, ReLU instead of tanh) means rewriting `gradients`. Lesson **03 · Building
# minifw** packs each piece (layer, activation, loss, optimizer) into a reusable module with
# its own backward, so that networks can be put together like Lego.
#
# ## Try it
#
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Set `lr` to 0.05 and to 5 in section 7. What happens to the learning curves?
# 2. Replace tanh by ReLU: change `forward` and the derivative in `gradients`
#    ($\text{relu}'(z) = 1[z > 0]$), then run the gradient check again.
# 3. Make the check fail on purpose in another way: drop the `/ len(X)`. Which relative
#    errors change, and by how much?
# 4. Train with `hidden=2` and `hidden=64`. Plot both decision boundaries.

# %% [markdown]
# ## Review questions
#
# 1. What are the four parts of one mini-batch SGD step?
#    <details><summary>Answer</summary>
#
#    Forward (predictions), loss (the batch cost), backward (its gradient with respect to every parameter), update (each parameter moves by $-\eta$ times its gradient).
#
#    </details>
#
# 2. Why does the factor $\hat y(1 - \hat y)$ disappear from the gradient of sigmoid with binary cross-entropy?
#    <details><summary>Answer</summary>
#
#    $\partial L / \partial \hat y = (\hat y - y) / (\hat y(1 - \hat y))$ and $\partial \hat y / \partial z = \hat y(1 - \hat y)$; their product is $\hat y - y$. The gradient stays large when the neuron is confidently wrong.
#
#    </details>
#
# 3. Why is the gradient of a batch a mean of per-sample gradients, and how is it written as one matrix product?
#    <details><summary>Answer</summary>
#
#    The cost is a mean of losses and the derivative of a sum is the sum of the derivatives. For a linear layer, $\nabla_W J = X^\top \delta$, where row $n$ of $\delta$ is sample $n$'s error signal (divided by $B$).
#
#    </details>
#
# 4. How do you check a hand-written gradient, and why in `float64`?
#    <details><summary>Answer</summary>
#
#    Compare it with central differences $(J(\theta + \varepsilon) - J(\theta - \varepsilon)) / 2\varepsilon$ for every entry, using the relative error. In `float32` (about 7 digits) the difference of two nearly equal costs loses most digits, so even correct gradients fail the test.
#
#    </details>
#
# 5. Forgetting $\tanh'$ in the hidden layer: which gradients go wrong, and why not the others?
#    <details><summary>Answer</summary>
#
#    Those of the first layer ($W_1$, $b_1$): the missing factor sits on the path into the hidden layer. The second layer's gradients only use $A$ and $\delta_2$, which are right.
#
#    </details>
