# %% [markdown]
# # 05 · Activations and initialization
#
# A network is a stack of linear maps and non-linear *activations*. Which activation you pick and how you
# set the first weights decide whether a gradient can travel from the loss back to the first layer at all.
# In this notebook you measure that, layer by layer, with `minifw`.
#
# **After this notebook you can**
#
# - write down sigmoid, tanh, ReLU and leaky ReLU with their derivatives, and say which of them saturate;
# - explain *vanishing gradients* from the chain rule and measure them in a deep sigmoid stack;
# - recognise *dead* ReLU units and say how they arise;
# - explain why all-zero weights never work and why too-small or too-large random weights fail in deep nets;
# - derive the Glorot/Xavier and He scales from a variance argument, and check them per layer;
# - choose the output layer and loss for binary, multi-class and regression tasks;
# - say what label smoothing changes in the targets and in the trained network.

# %%
import inspect
from functools import partial

import matplotlib.pyplot as plt
import numpy as np

import minifw as mf

np.random.seed(0)  # minifw takes explicit seeds; this fixes anything else that draws from numpy
plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 1. Four activations and their derivatives
#
# | name | $f(z)$ | $f'(z)$ |
# |---|---|---|
# | sigmoid | $\sigma(z) = \dfrac{1}{1 + e^{-z}}$ | $\sigma(z)\,(1 - \sigma(z)) \le \tfrac14$ |
# | tanh | $\tanh z = 2\sigma(2z) - 1$ | $1 - \tanh^2 z \le 1$ |
# | ReLU | $\max(0, z)$ | $1$ if $z > 0$, else $0$ |
# | leaky ReLU | $z$ if $z > 0$, else $\alpha z$ | $1$ if $z > 0$, else $\alpha$ |
#
# Every minifw activation computes its derivative in `backward`: feeding it `grad_out = 1` returns
# $f'(z)$ itself. We check each one against a central difference $\frac{f(z+h) - f(z-h)}{2h}$.

# %%
z = np.linspace(-6, 6, 601)  # float64, so the finite differences are accurate
activations = {"sigmoid": mf.Sigmoid(), "tanh": mf.Tanh(), "ReLU": mf.ReLU(), "leaky ReLU (α=0.1)": mf.LeakyReLU(0.1)}

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
derivatives = {}
for name, layer in activations.items():
    f = layer(z)
    df = layer.backward(np.ones_like(z))  # f'(z), from the hand-written backward pass
    h = 1e-6
    numeric = (layer.forward(z + h) - layer.forward(z - h)) / (2 * h)
    kink = np.abs(z) < 2 * h  # ReLUs have no derivative at 0
    np.testing.assert_allclose(df[~kink], numeric[~kink], atol=1e-6)
    derivatives[name] = df
    axes[0].plot(z, f, label=name)
    axes[1].plot(z, df, label=name)
axes[0].set(title="activation f(z)", xlabel="z", ylim=(-1.5, 3))
axes[1].set(title="derivative f'(z)", xlabel="z")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend()
plt.show()

print("largest sigmoid derivative:", derivatives["sigmoid"].max())
print("sigmoid derivative at |z| = 6:", derivatives["sigmoid"][0])
assert np.isclose(derivatives["sigmoid"].max(), 0.25)               # at z = 0
assert np.isclose(derivatives["tanh"].max(), 1.0)                   # at z = 0
assert derivatives["sigmoid"][0] < 0.003 and derivatives["tanh"][0] < 3e-5  # saturated at |z| = 6
assert set(np.unique(derivatives["ReLU"])) == {0.0, 1.0}
assert set(np.unique(derivatives["leaky ReLU (α=0.1)"])) == {0.1, 1.0}

# %% [markdown]
# Sigmoid and tanh **saturate**: for large $|z|$ the curve is flat and the derivative is almost 0
# (below 0.003 for the sigmoid at $|z| = 6$). Even at its best, at $z = 0$, the sigmoid passes on only
# a quarter of the gradient. ReLU's derivative is exactly 1 for every positive input and exactly 0 for
# every negative one. Keep these two facts in mind for the next sections.

# %% [markdown]
# ## 2. Vanishing gradients, measured layer by layer
#
# Take a deep stack $h_\ell = f(z_\ell)$, $z_\ell = h_{\ell-1} W_\ell + b_\ell$. The chain rule gives the
# gradient arriving at layer $\ell$ as a product over all layers above it:
#
# $$\frac{\partial L}{\partial h_{\ell}} = \frac{\partial L}{\partial h_{\ell+1}}\,
#   \mathrm{diag}\!\big(f'(z_{\ell+1})\big)\, W_{\ell+1}^\top
#   = \dots = \frac{\partial L}{\partial h_{L}} \prod_{k=L}^{\ell+1} \mathrm{diag}\!\big(f'(z_k)\big)\, W_k^\top .$$
#
# With the sigmoid every factor $f'(z_k) \le \frac14$, so the ten activation factors together are at
# most $4^{-10} \approx 10^{-6}$: through the activations alone, ten sigmoid layers shrink the gradient
# by *at least* that factor (large weights $W_k$ could make up for it; Glorot's scale does not, as
# measured below). With ReLU the factor is 0 or 1, and a suitable scale of $W$ (section 5) keeps
# the product near 1. Let's build a 10-layer stack of width 32 on the digits, run one forward and one
# backward pass, and look at $\lVert \partial L / \partial W_\ell \rVert$ for every layer.

# %%
X_digits, y_digits = mf.datasets.load_digits()
X_digits = X_digits / 16.0  # pixels from [0, 16] to [0, 1]


def deep_stack(activation, init, depth=10, width=32, n_in=64, n_out=10, seed=0):
    """`depth` blocks Linear -> activation, then a Linear output layer."""
    rng = np.random.default_rng(seed)
    layers, d = [], n_in
    for _ in range(depth):
        layers += [mf.Linear(d, width, init=init, seed=rng), activation()]
        d = width
    layers.append(mf.Linear(d, n_out, init=init, seed=rng))
    return mf.Sequential(*layers)


def weight_grad_norms(net, X, y):
    """||dL/dW|| for every Linear layer after one forward and backward pass on (X, y)."""
    net.zero_grad()
    loss, grad = mf.CrossEntropy()(net(X), y)
    net.backward(grad)
    return np.array([np.linalg.norm(layer.W.grad) for layer in net.layers if isinstance(layer, mf.Linear)])


batch = slice(0, 256)
grad_norms = {
    "sigmoid (Glorot init)": weight_grad_norms(deep_stack(mf.Sigmoid, "xavier_normal"), X_digits[batch], y_digits[batch]),
    "ReLU (He init)": weight_grad_norms(deep_stack(mf.ReLU, "he_normal"), X_digits[batch], y_digits[batch]),
}
for name, norms in grad_norms.items():
    plt.semilogy(range(1, len(norms) + 1), norms, "o-", label=name)
plt.xlabel("layer (1 = next to the input, 11 = output)")
plt.ylabel("‖∂L/∂W‖")
plt.title("gradient norm per layer, one backward pass")
plt.grid(alpha=0.3, which="both")
plt.legend()
plt.show()

sig, relu = grad_norms["sigmoid (Glorot init)"], grad_norms["ReLU (He init)"]
print(f"sigmoid: first layer / last layer = {sig[0] / sig[-1]:.1e}")
print(f"ReLU:    first layer / last layer = {relu[0] / relu[-1]:.1e}")
hint = "(a setting changed in Try it can break this)"
# at least four orders of magnitude smaller, and four orders below ReLU's first layer
assert sig[0] / sig[-1] < 1e-4, f"expected sigmoid first/last below 1e-4; got {sig[0] / sig[-1]:.1e} {hint}"
assert sig[0] < 1e-4 * relu[0], f"expected sigmoid's first layer 1e4 below ReLU's; got {sig[0]:.1e}, {relu[0]:.1e} {hint}"
assert np.all(np.diff(np.log10(sig)) > 0), f"expected the sigmoid gradient to shrink with every layer; got {sig} {hint}"
assert 0.1 < relu[0] / relu[-1] < 10, f"expected ReLU first/last within 10x; got {relu[0] / relu[-1]:.2g} {hint}"

# the largest sigmoid derivative in each of the ten layers, from one forward pass: their product is
# the most the activations can pass on, and it is at most 4^-10
h, largest = X_digits[batch], []
for layer in deep_stack(mf.Sigmoid, "xavier_normal").layers[:-1]:
    h = layer(h)
    if isinstance(layer, mf.Sigmoid):
        largest.append(float((h * (1 - h)).max()))
print(f"product of the ten largest sigmoid derivatives: {np.prod(largest):.1e} (4^-10 = {4.0**-10:.1e})")
assert len(largest) == 10 and np.prod(largest) <= 4.0**-10

# %% [markdown]
# In the sigmoid stack the first layer's gradient is more than four orders of magnitude smaller than
# the last one's, and it shrinks with every layer we go down; in the ReLU stack all layers get
# gradients of the same order. What does that do to training? Ten epochs of plain SGD, same learning rate:

# %%
histories = {}
for name, activation, init in [("sigmoid", mf.Sigmoid, "xavier_normal"), ("ReLU", mf.ReLU, "he_normal")]:
    net = deep_stack(activation, init)
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.05))
    histories[name] = model.fit(X_digits, y_digits, epochs=10, batch_size=32, progress=False)
    plt.plot(histories[name]["loss"], "o-", label=f"10-layer {name}")
plt.axhline(np.log(10), color="grey", ls="--", label="ln 10: guessing uniformly")
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.legend()
plt.show()

print({name: round(h["loss"][-1], 3) for name, h in histories.items()})
assert histories["sigmoid"]["loss"][-1] > 2.2, (   # still at chance level, ln 10 ≈ 2.30
    f"expected the sigmoid stack at chance level (loss > 2.2) with SGD; got {histories['sigmoid']['loss'][-1]:.3f} {hint}")
assert histories["ReLU"]["loss"][-1] < 1.2, f"expected the ReLU stack to learn (loss < 1.2); got {histories['ReLU']['loss'][-1]:.3f} {hint}"

# %% [markdown]
# The deep sigmoid network does not learn at all in ten epochs: its loss stays at $\ln 10$, the loss of
# a uniform guess over ten classes. This is why ReLU (and its relatives) replaced the sigmoid in hidden
# layers.
#
# ### Residual connections: a path on which the gradient does not shrink
#
# The other cure keeps the sigmoid and changes the wiring. A **residual block** adds its input to
# what its layer computes, $y = x + f(x)$, so by the chain rule
#
# $$\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} + \frac{\partial L}{\partial y}\,\frac{\partial f}{\partial x}.$$
#
# The sum is linear: the gradient of the block's output reaches its input **undamped**, and the
# layer's own (shrinking) factor is only added to it. minifw's `mf.Residual(block)` is exactly
# this; its backward is `grad + block.backward(grad)`:

# %%
print(inspect.getsource(mf.Residual.backward))


def residual_stack(depth=10, width=32, n_in=64, n_out=10, seed=0):
    """An input projection, `depth` residual blocks x + sigmoid(x W + b), and a Linear output layer."""
    rng = np.random.default_rng(seed)
    blocks = [mf.Residual(mf.Sequential(mf.Linear(width, width, init="xavier_normal", seed=rng), mf.Sigmoid()))
              for _ in range(depth)]
    return mf.Sequential(mf.Linear(n_in, width, init="xavier_normal", seed=rng), *blocks,
                         mf.Linear(width, n_out, init="xavier_normal", seed=rng))


def block_grad_norms(net, X, y):
    """||dL/dW|| of each residual block's weight matrix after one backward pass."""
    net.zero_grad()
    loss, grad = mf.CrossEntropy()(net(X), y)
    net.backward(grad)
    return np.array([np.linalg.norm(layer.block.layers[0].W.grad) for layer in net.layers
                     if isinstance(layer, mf.Residual)])


res = block_grad_norms(residual_stack(), X_digits[batch], y_digits[batch])
print(f"10 residual sigmoid blocks: first block / last block = {res[0] / res[-1]:.2f}")
net = residual_stack()
model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.05))
residual_loss = model.fit(X_digits, y_digits, epochs=10, batch_size=32, progress=False)["loss"][-1]
print(f"training loss after 10 epochs: residual sigmoid stack {residual_loss:.3f}, "
      f"plain sigmoid stack {histories['sigmoid']['loss'][-1]:.3f}")
assert res[0] / res[-1] > 0.1, f"expected the first residual block's gradient within 10x of the last; got {res[0] / res[-1]:.2g} {hint}"
assert residual_loss < 1.0, f"expected the residual sigmoid stack to learn (loss < 1.0); got {residual_loss:.3f} {hint}"

# %% [markdown]
# Same activation, same depth, same initialization and optimizer: with skip connections the first
# block's gradient is of the same order as the last one's, and the network learns. Lesson
# 04-beyond/01 does the same in PyTorch and Keras with 24 layers.

# %% [markdown]
# ## 3. Dying ReLU
#
# ReLU's derivative is exactly 0 for $z \le 0$. If a unit's pre-activation $z = xw + b$ is negative for
# **every** training example, the unit outputs 0, its weights get zero gradient, and nothing will ever
# move them again: the unit is *dead*. A large update can push a unit there, for instance one step with
# a big learning rate that drives its bias strongly negative.
#
# We train a 2-64-2 network on two moons with a reasonable and with a far too large learning rate and
# count the hidden units whose pre-activation is $\le 0$ on every training point.

# %%
X_moons, y_moons = mf.datasets.make_moons(400, noise=0.15, seed=0)


def moons_net(activation, seed=0):
    return mf.Sequential(mf.Linear(2, 64, seed=seed), activation, mf.Linear(64, 2, seed=seed + 1))


def dead_units(net, X):
    """Boolean mask of hidden units with pre-activation <= 0 on every row of X."""
    return np.all(net[0](X) <= 0, axis=0)


dead = {}
for lr in [0.5, 5.0]:
    net = moons_net(mf.ReLU())
    mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=lr)).fit(
        X_moons, y_moons, epochs=30, batch_size=32, progress=False)
    dead[lr] = (net, dead_units(net, X_moons))
    print(f"lr = {lr}: {dead[lr][1].sum()} of 64 hidden units are dead")
assert dead[0.5][1].sum() == 0, f"expected no dead unit at lr = 0.5; got {dead[0.5][1].sum()}"
assert dead[5.0][1].mean() > 0.3, (
    f"expected over 30 % dead units at lr = 5; got {dead[5.0][1].mean():.0%} (a changed rate or seed can break this)")

net, mask = dead[5.0]
plt.bar(np.arange(64), net[0](X_moons).max(axis=0), color=np.where(mask, "tab:red", "tab:blue"))
plt.xlabel("hidden unit")
plt.ylabel("largest pre-activation over the data")
plt.title("lr = 5: red units never fire")
plt.show()

# %% [markdown]
# A dead unit's weight column gets exactly zero gradient, so more training, even with a sensible
# learning rate, cannot bring it back:

# %%
net, mask = dead[5.0]
net.zero_grad()
net.backward(mf.CrossEntropy()(net(X_moons), y_moons)[1])
assert np.all(net[0].W.grad[:, mask] == 0) and np.all(net[0].b.grad[mask] == 0)

mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.05)).fit(
    X_moons, y_moons, epochs=20, batch_size=32, progress=False)
assert np.array_equal(dead_units(net, X_moons), mask)  # the same units, still dead
print("still dead after 20 more epochs:", dead_units(net, X_moons).sum())

# %% [markdown]
# **Leaky ReLU** keeps a small slope $\alpha$ for $z < 0$, so a unit that is negative everywhere still
# receives gradient $\alpha \cdot \partial L/\partial h$ and can recover. Same learning rate of 5:

# %%
net = moons_net(mf.LeakyReLU(0.1))
mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=5.0)).fit(
    X_moons, y_moons, epochs=30, batch_size=32, progress=False)
net.zero_grad()
net.backward(mf.CrossEntropy()(net(X_moons), y_moons)[1])
silent = dead_units(net, X_moons)
no_gradient = np.all(net[0].W.grad == 0, axis=0)
print(f"leaky ReLU: {silent.sum()} units negative everywhere, {no_gradient.sum()} units without gradient")
assert no_gradient.sum() == 0


# %% [markdown]
# ## 4. ReLU vs tanh: the shape of the decision boundary
#
# A ReLU network is a *piecewise linear* function of its input: each unit splits the plane along a line
# where it switches on, so the decision boundary is a polygon. A tanh network is smooth, and so is its
# boundary. Both fit the moons.

# %%
def decision_boundary(ax, net, X, y, title):
    """Shade the predicted class over a grid and draw the data on top."""
    xx, yy = np.meshgrid(np.linspace(-1.6, 2.6, 300), np.linspace(-1.2, 1.7, 300))
    grid = np.c_[xx.ravel(), yy.ravel()].astype(np.float32)
    p1 = mf.softmax(net(grid))[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, p1, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, p1, levels=[0.5], colors="k")
    ax.scatter(*X.T, c=y, cmap="RdBu_r", edgecolor="k", s=12)
    ax.set_title(title)


fig, axes = plt.subplots(1, 2, figsize=(11, 4))
boundary_accuracy, kinks = {}, {}
segment = np.c_[np.linspace(-1.5, 2.5, 4001), np.full(4001, 0.25)]   # a horizontal line across the moons
for ax, (name, activation) in zip(axes, [("ReLU", mf.ReLU()), ("tanh", mf.Tanh())]):
    net = mf.Sequential(mf.Linear(2, 16, seed=0), activation, mf.Linear(16, 2, seed=1))
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.02))
    model.fit(X_moons, y_moons, epochs=60, batch_size=32, progress=False)
    boundary_accuracy[name] = model.evaluate(X_moons, y_moons)["accuracy"]
    decision_boundary(ax, net, X_moons, y_moons, f"{name}: accuracy {boundary_accuracy[name]:.3f}")
    # along the line, where does the slope of the logit difference change? (a second difference != 0)
    logit_gap = np.diff(net.astype(np.float64)(segment), axis=1)[:, 0]
    kinks[name] = int(np.sum(np.abs(np.diff(logit_gap, 2)) > 1e-9))
plt.show()
print("points of 3999 where the output's slope changes along y = 0.25:", kinks)
assert all(acc > 0.95 for acc in boundary_accuracy.values())
assert kinks["ReLU"] <= 2 * 16 and kinks["tanh"] > 3900   # ReLU: at most 16 kinks (2 points each); tanh: curved everywhere

# %% [markdown]
# Look at the black line: straight segments with corners for ReLU, a smooth curve for tanh. Along a line
# across the plane, the ReLU network's output changes slope only where one of its 16 units switches
# (at most 16 kinks), the tanh network's output curves everywhere.

# %% [markdown]
# ## 5. Initialization
#
# ### Zero (or constant) weights: symmetry is never broken
#
# If every weight starts at the same value, every hidden unit computes the same output, receives the
# same gradient and takes the same step, forever: $n$ hidden units behave like one. (With tanh or ReLU
# and all-zero weights it is even worse: $h = 0$, so no weight gradient reaches the hidden layer at
# all.) We train a 2-16-2 sigmoid network from all-zero weights and compare it with a network that has
# a **single** hidden unit and with a randomly initialized 2-16-2 network.

# %%
symmetry = {}
for name, init, hidden in [("16 units, zero init", "zeros", 16), ("1 unit, Glorot init", "xavier_normal", 1),
                           ("16 units, Glorot init", "xavier_normal", 16)]:
    net = mf.Sequential(mf.Linear(2, hidden, init=init, seed=0), mf.Sigmoid(), mf.Linear(hidden, 2, init=init, seed=1))
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.05))
    model.fit(X_moons, y_moons, epochs=40, batch_size=32, progress=False)
    symmetry[name] = (net, model.evaluate(X_moons, y_moons))
    print(f"{name:>22}: loss {symmetry[name][1]['loss']:.3f}, accuracy {symmetry[name][1]['accuracy']:.3f}")

net = symmetry["16 units, zero init"][0]
W1, b1, W2 = net[0].W.data, net[0].b.data, net[2].W.data
print("first-layer weights of the zero-init net (one column per hidden unit):\n", W1.round(3))
# every hidden unit has exactly the same incoming and outgoing weights after training
assert np.all(W1 == W1[:, :1]) and np.all(b1 == b1[0]) and np.all(W2 == W2[:1, :])
assert np.abs(W1).max() > 0.1  # the weights did move, just all in lockstep
loss = {name: result["loss"] for name, (_, result) in symmetry.items()}
assert abs(loss["16 units, zero init"] - loss["1 unit, Glorot init"]) < 0.05   # 16 units ≈ 1 unit
assert loss["16 units, Glorot init"] < 0.5 * loss["16 units, zero init"]

# tanh with all-zero weights: h = tanh(0) = 0, so neither weight matrix gets any gradient
net = mf.Sequential(mf.Linear(2, 16, init="zeros"), mf.Tanh(), mf.Linear(16, 2, init="zeros"))
net.backward(mf.CrossEntropy()(net(X_moons), y_moons)[1])
assert np.all(net[0].W.grad == 0) and np.all(net[2].W.grad == 0)

# %% [markdown]
# All sixteen columns are identical: the zero-initialized network trained, but as a one-unit network,
# with the loss of the network that really has one unit. Random initialization *breaks the symmetry*.
#
# ### How large should the random weights be?
#
# For $z_j = \sum_{i=1}^{n_{in}} x_i W_{ij}$ with independent, zero-mean $x_i$ and $W_{ij}$,
#
# $$\mathrm{Var}(z_j) = n_{in}\,\mathrm{Var}(W)\,\mathbb{E}[x^2].$$
#
# - $\mathrm{Var}(W)$ too small: every layer multiplies the signal by a factor below 1, and after ten layers
#   the activations (and the gradients) are practically zero.
# - too large: $|z|$ is large, tanh and sigmoid saturate at $\pm 1$ and their derivative vanishes.
# - **Glorot/Xavier** (for tanh, sigmoid): keep the variance of activations in the forward pass *and* of
#   gradients in the backward pass, compromising between $n_{in}$ and $n_{out}$:
#   $\mathrm{Var}(W) = \dfrac{2}{n_{in} + n_{out}}$.
# - **He/Kaiming** (for ReLU): ReLU zeroes half of its inputs, so $\mathbb{E}[h^2] = \frac12 \mathrm{Var}(z)$;
#   doubling the variance compensates: $\mathrm{Var}(W) = \dfrac{2}{n_{in}}$.
#
# Let's measure the standard deviation of the activations and of the weight gradients in every layer
# of a 10-layer, width-256 network on a batch of 512 standardized digits.

# %%
X_std = mf.StandardScaler().fit_transform(X_digits)[:512]
y_std = y_digits[:512]


def layer_statistics(activation, init):
    """Per hidden layer: std of the activations, std of dL/dW, fraction of |tanh| > 0.99."""
    net = deep_stack(activation, init, width=256)
    h, acts = X_std, []
    for layer in net.layers:
        h = layer(h)
        if not isinstance(layer, mf.Linear):
            acts.append(h)
    net.backward(mf.CrossEntropy()(h, y_std)[1])
    grads = [layer.W.grad.std() for layer in net.layers if isinstance(layer, mf.Linear)][:-1]
    return np.array([a.std() for a in acts]), np.array(grads), np.array([np.mean(np.abs(a) > 0.99) for a in acts])


setups = {
    "tanh, N(0, 0.01²)": (mf.Tanh, partial(mf.init.normal, std=0.01)),
    "tanh, N(0, 1)": (mf.Tanh, partial(mf.init.normal, std=1.0)),
    "tanh, Glorot": (mf.Tanh, "xavier_normal"),
    "ReLU, Glorot": (mf.ReLU, "xavier_normal"),
    "ReLU, He": (mf.ReLU, "he_normal"),
}
stats = {name: layer_statistics(*setup) for name, setup in setups.items()}

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
layers = np.arange(1, 11)
for name, (act_std, grad_std, _) in stats.items():
    axes[0].semilogy(layers, act_std, "o-", label=name)
    axes[1].semilogy(layers, grad_std, "o-", label=name)
axes[0].axhspan(0.1, 1.2, color="green", alpha=0.1)
axes[0].set(title="std of the activations", xlabel="hidden layer", ylim=(1e-8, 5))
axes[1].set(title="std of ∂L/∂W", xlabel="hidden layer")
for ax in axes:
    ax.grid(alpha=0.3, which="both")
axes[0].legend(fontsize=8)
plt.show()

for name, (act_std, grad_std, saturated) in stats.items():
    line = f"{name:>18}: activation std, layer 1 -> 10: {act_std[0]:.2g} -> {act_std[-1]:.2g}"
    print(line + (f", |h| > 0.99 for {saturated[-1]:.0%} of the last layer" if name.startswith("tanh") else ""))

small, large, glorot = stats["tanh, N(0, 0.01²)"], stats["tanh, N(0, 1)"], stats["tanh, Glorot"]
relu_glorot, relu_he = stats["ReLU, Glorot"], stats["ReLU, He"]
assert small[0][-1] < 1e-6                                   # too small: the signal dies out
assert large[2][-1] > 0.5 and large[0][-1] > 0.9             # too large: most units saturated at ±1
assert np.all((glorot[0] > 0.1) & (glorot[0] < 1.2))         # Glorot + tanh: in the band
assert np.all((relu_he[0] > 0.1) & (relu_he[0] < 1.2))       # He + ReLU: in the band
assert relu_glorot[0][-1] < 0.05                             # Glorot + ReLU: shrinks layer by layer ...
shrink = np.exp(np.mean(np.log(relu_glorot[0][1:] / relu_glorot[0][:-1])))   # geometric mean per layer
assert abs(shrink - 1 / np.sqrt(2)) < 0.1, f"expected Glorot + ReLU to shrink by about 1/sqrt(2) per layer; got {shrink:.2f}"
assert glorot[1].max() / glorot[1].min() < 3                 # gradients of the same size in every layer
assert large[1][0] > 1e3 * large[1][-1]                      # N(0, 1): gradients explode towards the input
assert small[1].max() < 1e-8                                 # N(0, 0.01²): no gradient anywhere

# %% [markdown]
# The green band holds the two matched pairs, tanh with Glorot and ReLU with He: their activations keep
# a healthy spread through all ten layers. Weights of std 0.01 make the signal vanish (the curve falls
# out of the plot) and leaves almost no gradient to learn from. Std 1 saturates most tanh units at $\pm 1$,
# and its gradients grow by more than three orders of magnitude from the last hidden layer to the first:
# *exploding* gradients, the mirror image of vanishing ones. Glorot's scale, meant for tanh, is too small
# for ReLU by the factor $\sqrt 2$ per layer. `mf.Linear` uses He uniform by default, because
# ReLU is the default hidden activation.

# %%
assert inspect.signature(mf.Linear).parameters["init"].default == "he_uniform"

# %% [markdown]
# ## 6. Output layers
#
# The last layer's activation must produce what the target is:
#
# | task | output layer | loss in minifw |
# |---|---|---|
# | binary (0/1) | 1 unit, sigmoid: $p = \sigma(z) \in (0, 1)$ | `BCEWithLogits` (takes $z$, applies $\sigma$ inside) |
# | $C$ classes | $C$ units, softmax: $p_c = e^{z_c} / \sum_k e^{z_k}$ | `CrossEntropy` (takes $z$, applies log-softmax inside) |
# | regression | no activation: $\hat y = z \in \mathbb{R}$ | `MSE` or `MAE` |
#
# The losses take the raw *logits* $z$ and apply sigmoid or softmax themselves, because
# $\log \sigma$ and $\log \mathrm{softmax}$ computed in one step are numerically stable. The activation is
# applied explicitly only when you want probabilities, after training.
#
# What goes wrong with the wrong output layer? The regression targets $\sin x$ lie in $[-1, 1]$, but a
# sigmoid output lies in $(0, 1)$ and a ReLU output in $[0, \infty)$: neither can predict a negative value.

# %%
X_reg, y_reg = mf.datasets.make_regression_1d(200, noise=0.1, seed=0)
order = np.argsort(X_reg[:, 0])
regression_loss = {}
for name, output in [("none", []), ("sigmoid", [mf.Sigmoid()]), ("ReLU", [mf.ReLU()])]:
    net = mf.Sequential(mf.Linear(1, 32, seed=0), mf.Tanh(), mf.Linear(32, 1, init="xavier_normal", seed=1), *output)
    model = mf.Model(net, mf.MSE(), mf.Adam(net.parameters(), lr=0.01), metrics=())
    regression_loss[name] = model.fit(X_reg, y_reg, epochs=100, batch_size=32, progress=False)["loss"][-1]
    plt.plot(X_reg[order], model.predict(X_reg)[order], lw=2, label=f"output: {name} (MSE {regression_loss[name]:.3f})")
plt.scatter(X_reg, y_reg, s=8, color="grey")
plt.legend()
plt.title("regression needs an unbounded output")
plt.show()
assert regression_loss["none"] < 0.03
assert min(regression_loss["sigmoid"], regression_loss["ReLU"]) > 5 * regression_loss["none"]

# %% [markdown]
# For classification the two output activations give valid probabilities: sigmoid outputs lie in
# $(0, 1)$, softmax rows are positive and sum to 1.

# %%
logits = np.random.default_rng(0).normal(0, 3, size=(5, 4))
print("sigmoid:", mf.sigmoid(logits[:, 0]).round(3))
print("softmax rows:\n", mf.softmax(logits).round(3))
assert np.all((mf.sigmoid(logits) > 0) & (mf.sigmoid(logits) < 1))
assert np.allclose(mf.softmax(logits).sum(axis=1), 1.0) and np.all(mf.softmax(logits) > 0)

# %% [markdown]
# ## 7. Label smoothing
#
# Cross-entropy with a one-hot target is smallest when $p_y \to 1$, which needs $z_y - z_c \to \infty$:
# a network trained long enough keeps growing its logits and becomes over-confident. **Label smoothing**
# replaces the one-hot target by
#
# $$q = (1 - \varepsilon)\,\mathrm{onehot}(y) + \frac{\varepsilon}{C},$$
#
# so with $\varepsilon = 0.1$ and $C = 10$ the true class gets $0.91$ and every other class $0.01$. The
# loss $-\sum_c q_c \log p_c$ is now smallest at $p = q$, with finite logits, and it can never go below
# the entropy $H(q) = -\sum_c q_c \log q_c$. In minifw: `mf.CrossEntropy(label_smoothing=0.1)`.

# %%
eps, C = 0.1, 10
q = np.full(C, eps / C)
q[3] += 1 - eps  # target for a "3"
H_q = -(q * np.log(q)).sum()
loss_at_q, _ = mf.CrossEntropy(label_smoothing=eps)(np.log(q)[None, :], np.array([3]))
print("smoothed target:", q, f"  H(q) = {H_q:.3f}")
assert np.isclose(q[3], 0.91) and np.isclose(q[0], 0.01), f"expected the target 0.91 / 0.01 of ε = 0.1; got {q[3]:.2f} / {q[0]:.2f}"
assert np.isclose(loss_at_q, H_q)  # logits log q give p = q, where the loss reaches its minimum H(q)

# %%
X_tr, X_te, y_tr, y_te = mf.train_test_split(X_digits, y_digits, test_size=0.25, seed=0)
scaler = mf.StandardScaler().fit(X_tr)
X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)

smoothing = {}
for eps in [0.0, 0.1]:
    net = mf.Sequential(mf.Linear(64, 64, seed=0), mf.ReLU(), mf.Linear(64, 10, seed=1))
    model = mf.Model(net, mf.CrossEntropy(label_smoothing=eps), mf.Adam(net.parameters(), lr=0.01))
    history = model.fit(X_tr, y_tr, epochs=30, batch_size=64, progress=False)
    p_test = mf.softmax(model.predict(X_te))
    wrong = p_test.argmax(axis=1) != y_te
    smoothing[eps] = {
        "test accuracy": model.evaluate(X_te, y_te)["accuracy"],
        "final training loss": history["loss"][-1],
        "mean confidence (train)": mf.softmax(model.predict(X_tr)).max(axis=1).mean(),
        "confidence when wrong (test)": p_test.max(axis=1)[wrong].mean(),
        "largest |logit| (train)": np.abs(model.predict(X_tr)).max(),
    }
for key in smoothing[0.0]:
    print(f"{key:>30}: ε = 0: {smoothing[0.0][key]:7.3f}   ε = 0.1: {smoothing[0.1][key]:7.3f}")

plain, smooth = smoothing[0.0], smoothing[0.1]
hint = "(expected for ε = 0.1; another ε from Try it can break this)"
assert plain["test accuracy"] > 0.96 and smooth["test accuracy"] > 0.96, f"expected both above 0.96 {hint}"
assert plain["mean confidence (train)"] > 0.98 and 0.85 < smooth["mean confidence (train)"] < 0.93, (
    f"expected confidence > 0.98 without smoothing and near the target's 0.91 with it {hint}")
assert smooth["final training loss"] >= H_q - 1e-3          # never below the entropy of the target
assert smooth["largest |logit| (train)"] < 0.6 * plain["largest |logit| (train)"], f"expected smaller logits {hint}"
assert smooth["confidence when wrong (test)"] < plain["confidence when wrong (test)"] - 0.2, (
    f"expected mistakes with at least 0.2 less confidence {hint}")

# %% [markdown]
# Both networks classify the test digits about equally well, but the plain one is almost certain about
# every training digit and still very confident on the test digits it gets *wrong*. With label smoothing
# the confidence stays near the 0.91 of the target, the logits stay smaller, and mistakes come with
# visibly lower confidence. The training loss cannot fall below $H(q)$, so do not compare loss values
# between the two settings, compare accuracies.

# %% [markdown]
# ## Try it
#
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Train the 10-layer sigmoid stack of section 2 with `mf.Adam(..., lr=0.003)` instead of SGD. Does
#    Adam's per-parameter step size rescue it? Plot the gradient norms per layer after training.
# 2. Replace the ReLUs of section 2 by `mf.Tanh()` with Glorot initialization. Where between sigmoid and
#    ReLU do the gradient norms land, and why (hint: $\tanh'(0) = 1$)?
# 3. In section 3, lower the learning rate step by step from 5. At which value do the dead units disappear?
# 4. Add `"ReLU, N(0, 0.01²)"` and `"tanh, He"` to the `setups` of section 5 and predict the curves before
#    you run the cell.
# 5. Try `label_smoothing=0.3`: what is the new lower bound $H(q)$ of the training loss, and what happens
#    to the test accuracy?
#
# **Next:** `06-losses-optimizers.ipynb`: the losses in more detail, data normalization, learning-rate
# schedules and the optimizers that use these gradients.

# %% [markdown]
# ## Review questions
#
# 1. Why do gradients vanish in a deep sigmoid network?
#    <details><summary>Answer</summary>
#
#    The gradient reaching a layer is a product of one factor $\mathrm{diag}(\sigma'(z_k)) W_k^\top$ per layer above it, and $\sigma' \le 1/4$: ten activation factors give at most $4^{-10} \approx 10^{-6}$, unless large weights make up for it.
#
#    </details>
#
# 2. What is a dead ReLU unit, and how does one arise?
#    <details><summary>Answer</summary>
#
#    A unit whose pre-activation is $\le 0$ for every training example: it outputs 0, gets zero gradient and never recovers. A too-large update (a big learning rate) can push its bias far negative.
#
#    </details>
#
# 3. What goes wrong if all weights start at zero?
#    <details><summary>Answer</summary>
#
#    All hidden units compute the same thing and get the same gradient, so they stay identical forever: 16 units behave like one (with tanh and all-zero weights, $h = \tanh(0) = 0$ and no weight gets any gradient at all).
#
#    </details>
#
# 4. Which initialization goes with tanh and which with ReLU, and why do they differ?
#    <details><summary>Answer</summary>
#
#    Glorot/Xavier, $\mathrm{Var}(W) = 2/(n_{in} + n_{out})$, for tanh and sigmoid; He/Kaiming, $\mathrm{Var}(W) = 2/n_{in}$, for ReLU, which zeroes half its inputs and so needs twice the variance to keep the signal's size.
#
#    </details>
#
# 5. What does label smoothing change, and what can you no longer compare?
#    <details><summary>Answer</summary>
#
#    The target becomes $1 - \varepsilon + \varepsilon/C$ for the true class and $\varepsilon/C$ for the others: the network stays less confident, with smaller logits. The training loss can no longer fall below the entropy $H(q)$, so compare accuracies, not losses, across settings.
#
#    </details>
