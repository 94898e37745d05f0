# %% [markdown]
# # 04 · What a network can represent
#
# A network with one hidden layer computes $\hat f(x) = \sum_j v_j\, g(w_j x + b_j) + c$, a
# weighted sum of shifted and stretched copies of one activation function $g$. Is that
# flexible enough to draw *any* curve? In this notebook we build the answer by hand. We set
# the weights ourselves, without any training, and watch the approximation improve as units
# are added.
#
# **Learning objectives.** After this notebook you can
#
# 1. turn one sigmoid unit into a step, and a pair of them into a pulse;
# 2. build the same pulse from four ReLU units;
# 3. approximate an arbitrary 1-D function with a sum of pulses, which is a one-hidden-layer
#    network whose weights you can write down, and measure how the error shrinks with the
#    number of units;
# 4. state what the universal approximation theorem promises and what it does not
#    (how many units, whether training finds them, what happens outside the data).

# %%
import matplotlib.pyplot as plt
import numpy as np

import minifw as mf


def f(x):
    """The function to approximate (from M. Nielsen, Neural Networks and Deep Learning, ch. 4)."""
    return 0.2 + 0.4 * x**2 + 0.3 * x * np.sin(15 * x) + 0.05 * np.cos(50 * x)


x = np.linspace(0, 1, 2001)  # where we measure errors: the interval [0, 1]
x_wide = np.linspace(-0.3, 1.3, 1601)  # for plots, a little beyond it

plt.figure(figsize=(6, 3))
plt.plot(x, f(x))
plt.title(r"$f(x) = 0.2 + 0.4x^2 + 0.3x\sin(15x) + 0.05\cos(50x)$")
plt.xlabel("$x$")
plt.show()

# %% [markdown]
# ## 1 · A steep sigmoid is a step
#
# The unit $\sigma(w(x - s)) = \sigma(wx + b)$ with $b = -ws$ rises from 0 to 1 around
# $x = s$. The larger the weight $w$, the steeper the rise: most of it happens within
# $\pm 4/w$ of $s$. With a large $w$ the unit is practically a step function at $s$.

# %%
s = 0.4
plt.figure(figsize=(6, 3))
for w in [5, 20, 100, 1000]:
    plt.plot(x, mf.sigmoid(w * (x - s)), label=f"w = {w}")
plt.axvline(s, color="gray", ls=":")
plt.legend()
plt.title(r"$\sigma(w(x - 0.4))$")
plt.show()

assert mf.sigmoid(np.array(4.0)) > 0.98 and mf.sigmoid(np.array(-4.0)) < 0.02  # the rise within +-4/w
step = mf.sigmoid(1000 * (x - s))
far = np.abs(x - s) >= 0.01  # more than 0.01 away from the step
assert np.all(np.abs(step[far] - (x[far] > s)) < 1e-4)

# %% [markdown]
# ## 2 · Two sigmoids make a pulse
#
# A step up at $a$ minus a step up at $b > a$ is 1 between $a$ and $b$ and 0 elsewhere. Scaled
# by a height $h$:
#
# $$\text{pulse}(x) = h\,\big[\sigma(w(x - a)) - \sigma(w(x - b))\big].$$
#
# That is two hidden units with the same input weight $w$ and biases $-wa$ and $-wb$, and
# output weights $+h$ and $-h$.

# %%
a, b, h, w = 0.3, 0.6, 0.8, 500
up, down = h * mf.sigmoid(w * (x_wide - a)), h * mf.sigmoid(w * (x_wide - b))
pulse = up - down

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3), sharey=True)
ax1.plot(x_wide, up, label=r"$h\,\sigma(w(x-a))$")
ax1.plot(x_wide, down, label=r"$h\,\sigma(w(x-b))$")
ax1.legend()
ax1.set_title("two sigmoid units")
ax2.plot(x_wide, pulse, color="k")
ax2.set_title("their difference: a pulse of height h on [a, b]")
plt.show()

inside, outside = (x_wide > a + 0.02) & (x_wide < b - 0.02), (x_wide < a - 0.02) | (x_wide > b + 0.02)
assert np.allclose(pulse[inside], h, atol=1e-3)
assert np.allclose(pulse[outside], 0, atol=1e-3)


# %% [markdown]
# ## 3 · A sum of pulses approximates $f$
#
# Cut $[0, 1]$ into $n$ intervals $[a_i, b_i]$ of width $1/n$ and put on each a pulse as high
# as $f$ at the interval's centre $m_i$:
#
# $$\hat f(x) = \sum_{i=1}^{n} f(m_i)\,\big[\sigma(w(x - a_i)) - \sigma(w(x - b_i))\big].$$
#
# This is exactly a network $1 \to 2n \to 1$ with sigmoid hidden units:
#
# - hidden layer: input weights all $w$, biases $-wa_i$ and $-wb_i$;
# - output layer: weights $+f(m_i)$ and $-f(m_i)$, bias 0.
#
# We choose $w = 50n$, so each step is much narrower than its interval. We also widen the two
# outermost pulses to start at $-0.1$ and end at $1.1$. Otherwise $\hat f$ would drop to half
# height exactly at $x = 0$ and $x = 1$.
#
# We write these weights into a `minifw` network. `Linear` computes $xW + b$ with `W` of shape
# `(in, out)`, as in lesson 03.

# %%
def pulse_grid(n):
    """Edges of n equal intervals on [0, 1] (outer edges widened to -0.1 and 1.1) and heights f(centre)."""
    edges = np.linspace(0, 1, n + 1)
    heights = f((edges[:-1] + edges[1:]) / 2)
    edges[0], edges[-1] = -0.1, 1.1
    return edges[:-1], edges[1:], heights


def sigmoid_network(n):
    """1 -> 2n sigmoid -> 1: unit 2i steps up at a_i, unit 2i+1 at b_i; output weights +h_i, -h_i."""
    starts, ends, heights = pulse_grid(n)
    w = 50 * n
    net = mf.Sequential(mf.Linear(1, 2 * n, dtype=np.float64), mf.Sigmoid(), mf.Linear(2 * n, 1, dtype=np.float64))
    net[0].W.data[0] = w
    net[0].b.data[0::2], net[0].b.data[1::2] = -w * starts, -w * ends
    net[2].W.data[0::2, 0], net[2].W.data[1::2, 0] = heights, -heights
    net[2].b.data[:] = 0
    return net


def sup_error(net):
    """The largest |f_hat(x) - f(x)| on [0, 1]."""
    return float(np.max(np.abs(net(x[:, None])[:, 0] - f(x))))


net5 = sigmoid_network(5)
starts, ends, heights = pulse_grid(5)
by_hand = sum(hi * (mf.sigmoid(250 * (x - ai)) - mf.sigmoid(250 * (x - bi))) for ai, bi, hi in zip(starts, ends, heights))
assert np.allclose(net5(x[:, None])[:, 0], by_hand)  # the network is the sum of pulses
assert net5.num_parameters() == (1 * 10 + 10) + (10 * 1 + 1)

# %%
ns = [5, 10, 20, 50, 100]
sig_errors = {n: sup_error(sigmoid_network(n)) for n in ns}

fig, axes = plt.subplots(1, 4, figsize=(15, 3.2), sharey=True)
for ax, n in zip(axes, ns):
    ax.plot(x_wide, f(x_wide), color="gray", lw=3, alpha=0.5, label="f")
    ax.plot(x_wide, sigmoid_network(n)(x_wide[:, None]), color="C0", label=r"$\hat f$")
    ax.set_title(f"n = {n} pulses = {2 * n} sigmoid units\nmax error {sig_errors[n]:.3f}")
axes[0].legend()
plt.show()

max_slope = np.max(np.abs(np.gradient(f(x), x)))  # max |f'| on [0, 1], from the 2001-point grid
for n, err in sig_errors.items():
    print(f"{2 * n:4d} sigmoid units: max error on [0, 1] = {err:.4f}   n * error = {n * err:.2f}"
          f"   bound max|f'|/n = {max_slope / n:.4f}")
assert all(sig_errors[m] > sig_errors[n] for m, n in zip(ns, ns[1:])), (
    f"expected the error to shrink as pulses are added; got {sig_errors} (a changed f or w can break this)")
assert all(1.5 < n * err < 4 for n, err in sig_errors.items()), (
    f"expected n * error between 1.5 and 4 (error roughly proportional to 1/n) for this f and w = 50n; "
    f"got {[round(n * e, 2) for n, e in sig_errors.items()]}")
assert 6.5 < max_slope < 7.5
assert all(err <= max_slope / n for n, err in sig_errors.items()), (
    f"expected every error below max|f'|/n = {max_slope:.2f}/n; got {sig_errors}")
assert sig_errors[100] < 0.05, f"expected an error below 0.05 with 100 pulses; got {sig_errors[100]:.3f}"


# %% [markdown]
# More pulses, better fit: the largest error falls roughly like $1/n$. Each pulse is flat at
# $f(m_i)$, and no point of an interval of width $1/n$ is farther than $\frac{1}{2n}$ from its
# centre $m_i$, so there $|f(x) - f(m_i)| \le \max|f'| \cdot \frac{1}{2n}$; the smooth steps between
# pulses add a little, and the measured error stays below $\max|f'| / n$ (here $\max|f'| \approx 7$).
# Nothing in the construction depends on *this* $f$: any continuous function on $[0, 1]$ can
# be approximated this way, to any accuracy, by taking $n$ large enough.
#
# ## 4 · Four ReLUs make a pulse too
#
# A ReLU is not a step, but the difference of two ReLUs is a ramp:
# $\frac{1}{\delta}\big[\text{relu}(x - c) - \text{relu}(x - c - \delta)\big]$ is 0 left of
# $c$, climbs to 1 over the width $\delta$, and stays at 1. A ramp up at $a$ minus a ramp up
# at $b$ is a pulse with sloped sides, a trapezoid, built from **four** ReLU units:
#
# $$\text{pulse}(x) = \frac{h}{\delta}\big[\text{relu}(x - a) - \text{relu}(x - a - \delta)
#   - \text{relu}(x - b) + \text{relu}(x - b - \delta)\big].$$
#
# Unlike the sigmoid pulse, this one is exact: exactly 0 outside $[a, b + \delta]$ and exactly
# $h$ on $[a + \delta, b]$.

# %%
def relu(z):
    return np.maximum(z, 0)


a, b, h, delta = 0.3, 0.6, 0.8, 0.05
units = [relu(x_wide - a), -relu(x_wide - a - delta), -relu(x_wide - b), relu(x_wide - b - delta)]
pulse = h / delta * sum(units)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3))
for u, label in zip(units, ["relu(x-a)", "-relu(x-a-δ)", "-relu(x-b)", "relu(x-b-δ)"]):
    ax1.plot(x_wide, u, label=label)
ax1.legend(fontsize=8)
ax1.set_title("four ReLU units")
ax2.plot(x_wide, pulse, color="k")
ax2.set_title("their weighted sum: a pulse")
plt.show()

plateau = (x_wide >= a + delta) & (x_wide <= b)
zero = (x_wide <= a) | (x_wide >= b + delta)
assert np.allclose(pulse[plateau], h, atol=1e-12) and np.allclose(pulse[zero], 0, atol=1e-12)


# %% [markdown]
# The network is $1 \to 4n \to 1$ with ReLU units: input weights 1, biases $-a_i$,
# $-a_i - \delta$, $-b_i$, $-b_i - \delta$, output weights $\frac{h_i}{\delta}(+1, -1, -1, +1)$.
# We centre each ramp on the interval edge (it runs from $a_i - \delta/2$ to $a_i + \delta/2$)
# and take $\delta$ a tenth of the interval width.

# %%
def relu_network(n):
    starts, ends, heights = pulse_grid(n)
    delta = 0.1 / n
    corners = np.stack([starts - delta / 2, starts + delta / 2, ends - delta / 2, ends + delta / 2], axis=1)
    signs = np.array([1, -1, -1, 1])
    net = mf.Sequential(mf.Linear(1, 4 * n, dtype=np.float64), mf.ReLU(), mf.Linear(4 * n, 1, dtype=np.float64))
    net[0].W.data[0] = 1
    net[0].b.data[:] = -corners.ravel()
    net[2].W.data[:, 0] = (heights[:, None] / delta * signs).ravel()
    net[2].b.data[:] = 0
    return net


relu_errors = {n: sup_error(relu_network(n)) for n in ns}
for n in ns:
    print(f"{4 * n:4d} ReLU units: max error {relu_errors[n]:.4f}")
assert all(relu_errors[m] > relu_errors[n] for m, n in zip(ns, ns[1:])), (
    f"expected the error to shrink as pulses are added; got {relu_errors} (a changed f can break this)")
assert relu_errors[100] < 0.05, f"expected an error below 0.05 with 400 ReLU units; got {relu_errors[100]:.3f}"

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.5))
ax1.plot(x_wide, f(x_wide), color="gray", lw=3, alpha=0.5, label="f")
ax1.plot(x_wide, relu_network(10)(x_wide[:, None]), label=r"$\hat f$, 40 ReLU units")
ax1.legend()
ax1.set_title("10 trapezoid pulses")
ax2.loglog([2 * n for n in ns], list(sig_errors.values()), "o-", label="sigmoid pulses (2 units each)")
ax2.loglog([4 * n for n in ns], list(relu_errors.values()), "s-", label="ReLU pulses (4 units each)")
ax2.set(xlabel="hidden units", ylabel="max error on [0, 1]", title="more units, better fit")
ax2.legend()
plt.show()

# %% [markdown]
# ## 5 · What the construction does not give you
#
# **Nothing outside the data.** Look at the plots beyond $x = 1.1$: every pulse has ended, so
# $\hat f = 0$ there, whatever $f$ does. A network represents a function on the region it was
# built (or trained) for, and it says nothing reliable outside it.

# %%
x_out = np.array([[-0.5], [1.5]])
print("f:", f(x_out[:, 0]).round(3), " sigmoid net:", sigmoid_network(50)(x_out)[:, 0].round(6),
      " ReLU net:", relu_network(50)(x_out)[:, 0].round(6))
assert np.allclose(sigmoid_network(50)(x_out), 0, atol=1e-6)
assert np.allclose(relu_network(50)(x_out), 0, atol=1e-12)
assert np.all(np.abs(f(x_out)) > 0.3)


# %% [markdown]
# **No promise that training finds the weights.** We wrote the weights down. Gradient descent
# has to find them from data, starting from random ones. Below, ReLU networks of 2, 8 and 128
# hidden units are trained with Adam for 1000 epochs on 200 samples of $f$, minimizing the
# mean squared error. We therefore compare root-mean-square (RMS) errors here. The input is
# rescaled to $[-1, 1]$, and the first-layer biases are drawn at random so that the ReLU
# kinks start spread over the interval: minifw's default zero bias would put every kink at
# $x = 0$.
#
# Two units are far too few (RMS error above 0.1). More units help, but even 128 units stay
# above 0.03. That is about the size of the fast wiggle $0.05\cos(50x)$, whose own RMS is
# $0.05/\sqrt 2 \approx 0.035$, and more than the error of our hand-built network with the
# same 128 units. In the plot the trained curves get the broad shape of $f$ and its fast
# wiggle only in part (about half of it). (Gradient descent is known to fit the slow variations of a function before
# its fast oscillations, the *spectral bias* of neural networks, Rahaman et al. 2019; this small
# experiment is too short to show that order, so we do not claim it here.)

# %%
def rms_error(predict):
    """Root-mean-square of f_hat(x) - f(x) on [0, 1]; predict maps x (m, 1) to f_hat (m, 1)."""
    return float(np.sqrt(np.mean((predict(x[:, None])[:, 0] - f(x)) ** 2)))


X_train = np.linspace(0, 1, 200, dtype=np.float32)[:, None]
Y_train = f(X_train)
trained_errors, trained = {}, {}
for hidden in [2, 8, 128]:
    net = mf.Sequential(mf.Linear(1, hidden, seed=0), mf.ReLU(), mf.Linear(hidden, 1, seed=100))
    net[0].b.data[:] = np.random.default_rng(0).uniform(-1, 1, hidden) * np.abs(net[0].W.data[0])
    model = mf.Model(net, mf.MSE(), mf.Adam(net.parameters(), lr=1e-2), metrics=())
    model.fit(2 * X_train - 1, Y_train, epochs=1000, batch_size=50, progress=False)
    predict = lambda xs, model=model: model.predict(2 * xs.astype(np.float32) - 1)  # noqa: E731
    trained[hidden] = predict(x_wide[:, None])[:, 0]
    trained_errors[hidden] = rms_error(predict)
    print(f"trained, {hidden:3d} ReLU units: RMS error {trained_errors[hidden]:.3f}")

built_128 = rms_error(relu_network(32))
print(f"built,   128 ReLU units: RMS error {built_128:.3f}")
wiggle = 0.05 * np.cos(50 * x)
error_128 = predict(x[:, None])[:, 0] - f(x)                   # `predict` is the last one: 128 units
missed = -np.dot(error_128, wiggle) / np.dot(wiggle, wiggle)  # 1: the wiggle is missed entirely, 0: fitted
print(f"trained, 128 ReLU units: misses {missed:.0%} of the wiggle")
hint = "(more epochs, other units or another f in Try it can change this)"
assert abs(np.sqrt(np.mean(wiggle**2)) - 0.035) < 0.001
assert trained_errors[2] > 0.1, f"expected 2 units to leave an RMS error above 0.1; got {trained_errors[2]:.3f} {hint}"
assert trained_errors[128] < 0.7 * trained_errors[2], f"expected 128 units to beat 2 clearly; got {trained_errors} {hint}"
assert trained_errors[128] > 0.03, f"expected 128 trained units to stay above 0.03; got {trained_errors[128]:.3f} {hint}"
assert 0.1 < missed < 0.9, f"expected 128 trained units to fit the wiggle in part; missed {missed:.0%} {hint}"
assert built_128 < trained_errors[128], f"expected the hand-built network to win; got {built_128:.3f} {hint}"

plt.figure(figsize=(7, 3.5))
plt.plot(x_wide, f(x_wide), color="gray", lw=3, alpha=0.5, label="f")
for hidden, y_hat in trained.items():
    plt.plot(x_wide, y_hat, label=f"trained, {hidden} units")
plt.axvspan(0, 1, color="C2", alpha=0.07, label="training data")
plt.ylim(-0.5, 1.5)
plt.legend(fontsize=8)
plt.show()


# %% [markdown]
# ## The universal approximation theorem
#
# What we built is the idea behind a theorem (Cybenko 1989 for sigmoids; Hornik 1991;
# Leshno et al. 1993 for every activation that is not a polynomial, ReLU included): *a network
# with one hidden layer and enough units can approximate any continuous function on a closed
# bounded region to any accuracy.* The same towers-of-pulses idea works in more dimensions.
#
# Read it carefully:
#
# - it says such weights **exist**, not that gradient descent finds them (section 5);
# - "enough units" can be a great many: our pulses need about $1/\varepsilon$ units for
#   accuracy $\varepsilon$ in 1-D, and pulses on a grid in $d$ dimensions need about
#   $(1/\varepsilon)^d$;
# - it says nothing about **generalization**, how well the network does on inputs it was not
#   trained on, or about extrapolation outside the region.
#
# **Depth can replace many units.** A one-hidden-layer ReLU network on a line with $m$ units is
# piecewise linear with at most $m + 1$ pieces (each unit adds one kink). The *tent*
# $t(x) = 2\,\text{relu}(x) - 4\,\text{relu}(x - \tfrac12)$ maps $[0, 1]$ onto itself, up and
# down, with two units; stacking it $k$ times, $t(t(\dots t(x)))$, a network of $k$ hidden layers
# of 2 units, draws a sawtooth with $2^k$ pieces (Telgarsky, 2016). One hidden layer would need
# at least $2^k - 1$ units for it:

# %%
def tent_stack(k):
    """k hidden layers of 2 ReLU units, each computing the tent t(x) = 2 relu(x) - 4 relu(x - 1/2)."""
    layers = []
    for i in range(k):
        # both units get t of the layer below (x itself for the first layer): the tent's output
        # weights (2, -4) fold into the next layer's input weights
        layer = mf.Linear(1 if i == 0 else 2, 2, dtype=np.float64)
        layer.W.data[:] = 1.0 if i == 0 else [[2.0, 2.0], [-4.0, -4.0]]
        layer.b.data[:] = [0.0, -0.5]
        layers += [layer, mf.ReLU()]
    out = mf.Linear(2, 1, dtype=np.float64)
    out.W.data[:, 0], out.b.data[:] = [2.0, -4.0], 0.0
    return mf.Sequential(*layers, out)


def linear_pieces(values, grid):
    """The number of linear pieces of a piecewise-linear function sampled on a fine grid."""
    slopes = np.round(np.diff(values) / np.diff(grid), 3)
    return int(np.sum(slopes[1:] != slopes[:-1]) + 1)


grid = np.linspace(0, 1, 3 * 2**12 + 1)  # the kinks, at multiples of 2^-6, are grid points
k = 6
deep = tent_stack(k)
sawtooth = deep(grid[:, None])[:, 0]
pieces = linear_pieces(sawtooth, grid)
hidden_units = sum(layer.W.data.shape[1] for layer in deep.layers[:-1] if isinstance(layer, mf.Linear))
print(f"{k} hidden layers, {hidden_units} ReLU units: {pieces} linear pieces; "
      f"one hidden layer needs at least {pieces - 1} units for that")

plt.figure(figsize=(7, 2.5))
plt.plot(grid, sawtooth)
plt.title(f"{k} stacked tents: {pieces} linear pieces from {hidden_units} units")
plt.show()

assert pieces == 2**k and hidden_units == 2 * k
assert np.allclose(sawtooth[:: len(grid) // 2**k], np.arange(2**k + 1) % 2)  # 0, 1, 0, 1, ... at the corners

# %% [markdown]
# Depth buys such savings only for some functions, and whether training finds such weights is
# again another matter: that, and training deep networks well, is what the rest of the course
# is about.
#
# ## Summary
#
# - A steep sigmoid is a step, two of them make a pulse, and four ReLUs make an exact
#   trapezoid pulse.
# - A sum of $n$ pulses is a one-hidden-layer network with weights we can write down. On
#   $[0, 1]$ its largest error falls roughly like $1/n$: more units, better fit.
# - Representable does not mean learnable, nor reliable outside the data.
#
# Next: lesson **05 · Activations and initialization** looks at why the choice of $g$ and of
# the starting weights decides whether training works at all.
#
# ## Try it
#
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Change `f` to a function of your own (`np.abs(x - 0.5)`, a step, `np.sin(30 * x)`). Which
#    one needs the most pulses?
# 2. In `sigmoid_network` use `w = 5 * n` instead of `50 * n`. What happens to the fit, and why?
# 3. ReLU networks can do better than pulses: $\hat f(x) = f(0) + \sum_k c_k\,\text{relu}(x - k/n)$
#    with one unit per knot draws the piecewise-linear interpolation of $f$. Choose the $c_k$
#    (the change of slope at each knot) and compare the error for $n$ units with section 4.
#    It falls like $1/n^2$.
# 4. Train the 128-unit network for 2000 epochs, or with tanh units. How close does it get to
#    the hand-built one?

# %% [markdown]
# ## Review questions
#
# 1. How do two sigmoid units make a pulse of height $h$ on $[a, b]$?
#    <details><summary>Answer</summary>
#
#    Both get a large input weight $w$, biases $-wa$ and $-wb$ (steps up at $a$ and at $b$); the output weights $+h$ and $-h$ subtract the second step from the first.
#
#    </details>
#
# 2. How does the largest error of the sum-of-pulses network depend on the number of pulses $n$, and why?
#    <details><summary>Answer</summary>
#
#    It falls roughly like $1/n$: each pulse is flat at $f$ of its interval's centre, and no point is farther than $1/(2n)$ from that centre, so the error is about $\max|f'| / (2n)$, plus a little from the smooth steps.
#
#    </details>
#
# 3. What does the universal approximation theorem promise, and what does it not?
#    <details><summary>Answer</summary>
#
#    That one hidden layer with enough units can approximate any continuous function on a closed bounded region to any accuracy. Not how many units (possibly very many), not that training finds the weights, and nothing about generalization or about inputs outside the region.
#
#    </details>
#
# 4. What does the hand-built network predict far outside $[0, 1]$, and what is the lesson?
#    <details><summary>Answer</summary>
#
#    0: every pulse has ended. A network is reliable only on the region it was built or trained for; outside it, its output says nothing about $f$.
#
#    </details>
#
# 5. How can depth save units? Give the example of the notebook.
#    <details><summary>Answer</summary>
#
#    One hidden ReLU layer with $m$ units draws at most $m + 1$ linear pieces. Stacking the 2-unit tent $k$ times draws a sawtooth of $2^k$ pieces with $2k$ units; one hidden layer needs at least $2^k - 1$ units for it.
#
#    </details>
