# %% [markdown]
# # 03·01 · Overfitting and the bias–variance trade-off
#
# A model is trained to do well on its training data, but it is *used* on data it has never
# seen. When the two part ways, when the training error keeps falling while the error on new
# data does not, the model **overfits**: it has learned the noise of its particular training
# set instead of the pattern behind it. This notebook shows overfitting in its simplest form,
# polynomials fitted to a few noisy points, then in a small network trained with minifw, and
# explains it with the **bias–variance trade-off**.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - explain why a model with as many parameters as data points fits them exactly, and why that
#   is bad news for new data;
# - name the three ingredients of overfitting: too little data, too powerful a model, noisy
#   data, and show that removing any one of them helps;
# - read training and validation curves, and spot the epoch where the validation error turns up;
# - split the expected error of a model into bias², variance and noise, and say how each changes
#   with the model's capacity;
# - show with a learning curve that more data is the most reliable cure.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: for these small matrices one thread
os.environ.setdefault("OMP_NUM_THREADS", "1")       # is faster than several that wait for each other

import matplotlib.pyplot as plt
import numpy as np

import minifw as mf


# %% [markdown]
# ## 1. Five points, a line and a polynomial
#
# Five points lie on the line $y = 0.5x + 1$, each with Gaussian noise of standard deviation 0.3
# added. Another 200 points from the same process, which the models never see during fitting,
# form the **validation set**. We fit two polynomials by least squares,
#
# $$\hat y(x) = \sum_{k=0}^{d} w_k x^k, \qquad \hat w = \arg\min_w \sum_{i} \big(\hat y(x_i) - y_i\big)^2 ,$$
#
# a line ($d = 1$, **2 parameters**) and a polynomial of degree 6 (**7 parameters**). In matrix
# form $\hat y = Xw$, where column $k$ of $X$ holds $x^k$ (we divide $x$ by 3 first, which keeps
# the powers of order 1 and the arithmetic accurate). With 7 unknowns and only 5 equations there
# are infinitely many polynomials through the 5 points; `np.linalg.lstsq` returns the one with
# the smallest coefficients. We measure both fits by the mean squared error (MSE).

# %%
def design(x, degree):
    """The matrix X with columns (x/3)^0, (x/3)^1, ..., (x/3)^degree, one row per point."""
    return np.vander(np.ravel(x).astype(np.float64) / 3, degree + 1, increasing=True)


def fit(x, y, degree):
    """Least-squares coefficients; y may hold several columns (one fit per column)."""
    w, *_ = np.linalg.lstsq(design(x, degree), np.asarray(y, dtype=np.float64), rcond=None)
    return w


def predict(w, x):
    return design(x, len(w) - 1) @ w


def mse(pred, target):
    return float(np.mean((np.ravel(pred) - np.ravel(target)) ** 2))


def line(x):
    return 0.5 * x + 1


rng = np.random.default_rng(4)
x5 = np.arange(5.0)                                   # x = 0, 1, 2, 3, 4
y5 = line(x5) + 0.3 * rng.standard_normal(5)
x_val5 = rng.uniform(0, 4, 200)
y_val5 = line(x_val5) + 0.3 * rng.standard_normal(200)

errors = {}
for name, degree in [("line", 1), ("polynomial", 6)]:
    w = fit(x5, y5, degree)
    errors[name] = (mse(predict(w, x5), y5), mse(predict(w, x_val5), y_val5))
    print(f"{name:>10} ({degree + 1} parameters): training MSE {errors[name][0]:.2e}, validation MSE {errors[name][1]:.3f}")

grid = np.linspace(-0.3, 4.3, 300)
plt.figure(figsize=(6, 3.5))
plt.scatter(x_val5, y_val5, s=8, color="gray", alpha=0.4, label="validation points")
plt.scatter(x5, y5, s=50, color="k", zorder=3, label="the 5 training points")
plt.plot(grid, predict(fit(x5, y5, 1), grid), label="line, 2 parameters")
plt.plot(grid, predict(fit(x5, y5, 6), grid), label="polynomial, 7 parameters")
plt.ylim(-0.5, 4.5)
plt.xlabel("$x$")
plt.ylabel("$y$")
plt.legend(fontsize=8)
plt.show()

(line_train, line_val), (poly_train, poly_val) = errors["line"], errors["polynomial"]
assert abs(line_train - line_val) < 0.25 * line_val   # the line: training and validation errors close,
assert abs(line_train - 0.09) < 0.03 and abs(line_val - 0.09) < 0.03  # both near the noise variance
assert poly_train < 1e-6                              # the polynomial: training error 0 (up to rounding) ...
assert poly_val > 2 * line_val, (                      # ... and a validation error more than twice the line's
    f"expected the degree-6 polynomial over twice the line's validation error; got {poly_val:.3f} vs {line_val:.3f} "
    f"(another degree from Try it can break this)")


# %% [markdown]
# The line cannot pass through all five points; its training error is close to its validation
# error, and both are close to the noise variance $0.3^2 = 0.09$, the error of the true line
# itself. The polynomial passes exactly through every training point, training error 0, and
# is worse than the line on new points: to hit the five noisy values it had to bend, and the
# bends are not in the data-generating process. A zero training error is not a sign of a good
# model; here it only says that the model has at least as many parameters as there are points.

# %% [markdown]
# ## 2. A sine curve and a polynomial of degree 9
#
# A less trivial pattern: `mf.datasets.make_regression_1d` draws $x$ uniformly in $[-3, 3]$ and
# $y = \sin x + \varepsilon$ with noise $\varepsilon \sim \mathcal N(0, 0.2^2)$. We fit 10 training
# points with polynomials of degree 1, 3 and 9 (2, 4 and 10 parameters), and measure the
# root-mean-square error (RMSE, in the units of $y$) on 200 validation points. The noise alone
# gives an RMSE of about 0.2; no model can do better on average.

# %%
def rmse(pred, target):
    return np.sqrt(mse(pred, target))


x10, y10 = mf.datasets.make_regression_1d(10, noise=0.2, seed=1)
x_val, y_val = mf.datasets.make_regression_1d(200, noise=0.2, seed=100)
sine_grid = np.linspace(-3, 3, 400)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
sine_errors = {}
for ax, degree in zip(axes, [1, 3, 9]):
    w = fit(x10, y10, degree)
    sine_errors[degree] = (rmse(predict(w, x10), y10), rmse(predict(w, x_val), y_val))
    ax.plot(sine_grid, np.sin(sine_grid), "k--", lw=1, label=r"$\sin x$")
    ax.plot(sine_grid, predict(w, sine_grid), label=f"degree {degree}")
    ax.scatter(x10, y10, color="k", zorder=3)
    ax.set_ylim(-2, 2)
    ax.set_title(f"degree {degree}: train RMSE {sine_errors[degree][0]:.2g}, validation {sine_errors[degree][1]:.2g}",
                 fontsize=9)
    ax.set_xlabel("$x$")
plt.show()

(train1, val1), (train3, val3), (train9, val9) = sine_errors[1], sine_errors[3], sine_errors[9]
hint = "(expected for noise 0.2; another noise level from Try it can break this)"
assert train1 > 0.3 and val1 > 0.4, f"expected degree 1 bad on both sets; got {train1:.3f}, {val1:.3f} {hint}"
assert train3 < 0.1 and val3 < 0.25, f"expected degree 3 near the noise level; got {train3:.3f}, {val3:.3f} {hint}"
assert train9 < 1e-6 and val9 > 5, f"expected degree 9 exact on training, RMSE > 5 elsewhere; got {train9:.1e}, {val9:.2f} {hint}"

# %% [markdown]
# Degree 1 **underfits**: a line cannot follow a sine, so it is bad on the training points and
# on new ones alike. Degree 3 follows the curve, with a validation RMSE near the noise level.
# Degree 9 has 10 coefficients for 10 points: it goes through every one of them (training
# error 0) and swings wildly between and beyond them, off the plot, with a validation RMSE more
# than 25 times the noise.

# %% [markdown]
# ## 3. Why overfitting happens
#
# The degree-9 fit failed because of three things at once:
#
# 1. **too little data**: 10 points pin down 10 coefficients exactly, with nothing left over
#    to average the noise away;
# 2. **too powerful a model**: degree 9 can follow any 10 values, signal or noise;
# 3. **noisy data**: the model's freedom is spent on reproducing the noise.
#
# Remove any one of them and the problem disappears. Below, the same model fitted to 10
# noise-free points, then to 100 noisy points, and the weaker model (degree 3) on the same 10
# noisy points.

# %%
cases = {
    "degree 9, 10 noisy points": (x10, y10, 9),
    "degree 9, 10 noise-free points": (x10, np.sin(x10), 9),
    "degree 9, 100 noisy points": (*mf.datasets.make_regression_1d(100, noise=0.2, seed=1), 9),
    "degree 3, 10 noisy points": (x10, y10, 3),
}
causes = {}
for name, (x, y_, degree) in cases.items():
    causes[name] = rmse(predict(fit(x, y_, degree), x_val), y_val)
    print(f"{name:>32}: validation RMSE {causes[name]:.3f}")

overfit = causes["degree 9, 10 noisy points"]
cures = [value for name, value in causes.items() if name != "degree 9, 10 noisy points"]
assert max(cures) < 0.3 and overfit > 20 * max(cures)  # each cure brings the error near the noise level


# %% [markdown]
# Each cure brings the validation RMSE down to about the noise level, 0.2. In practice you
# rarely can remove the noise, but you can often get more data, and you can always limit what
# the model does with its freedom: that is **regularization**, the subject of notebooks 02
# and 03.

# %% [markdown]
# ## 4. How overfitting shows in the curves
#
# A neural network has no "degree" to read off, and it is trained step by step. Its capacity to
# overfit grows *during* training: at first it learns the broad shape, later the details of the
# individual points. We train a minifw network, 1 → 64 → tanh → 64 → tanh → 1 (4 353
# parameters), on 20 noisy points of the sine ($\sigma = 0.3$) with full-batch Adam, and evaluate
# the MSE on 200 validation points after every epoch. A small callback also keeps the network's
# curve after every epoch, to draw it at two moments. The 2000 epochs take a few seconds: minifw's
# progress bar under the cell counts them and shows the last training and validation loss.

# %%
class KeepCurves(mf.Callback):
    """After every epoch, store the network's predictions on a grid of x."""

    def __init__(self, x):
        self.x, self.curves = x, []

    def on_epoch_end(self, epoch, logs):
        self.curves.append(self.model.predict(self.x).ravel())


x_net, y_net = mf.datasets.make_regression_1d(20, noise=0.3, seed=1)
x_net_val, y_net_val = mf.datasets.make_regression_1d(200, noise=0.3, seed=100)
net_rng = np.random.default_rng(0)
net = mf.Sequential(mf.Linear(1, 64, init="xavier_uniform", seed=net_rng), mf.Tanh(),
                    mf.Linear(64, 64, init="xavier_uniform", seed=net_rng), mf.Tanh(),
                    mf.Linear(64, 1, init="xavier_uniform", seed=net_rng))
keep = KeepCurves(sine_grid[:, None].astype(np.float32))
history = mf.Model(net, mf.MSE(), mf.Adam(net.parameters(), lr=0.003), metrics=()).fit(
    x_net, y_net, epochs=2000, batch_size=20, validation_data=(x_net_val, y_net_val), callbacks=[keep])

train_curve, val_curve = np.array(history["loss"]), np.array(history["val_loss"])
best = int(np.argmin(val_curve))
print(f"parameters: {net.num_parameters()}")
print(f"best epoch {best + 1}: training MSE {train_curve[best]:.3f}, validation MSE {val_curve[best]:.3f}")
print(f"epoch 2000:  training MSE {train_curve[-1]:.3f}, validation MSE {val_curve[-1]:.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
ax1.plot(np.arange(1, 2001), train_curve, label="training")
ax1.plot(np.arange(1, 2001), val_curve, label="validation")
ax1.axvline(best + 1, color="gray", ls="--", label=f"lowest validation error (epoch {best + 1})")
ax1.set_xscale("log")
ax1.set_yscale("log")
ax1.set_xlabel("epoch")
ax1.set_ylabel("MSE")
ax1.legend(fontsize=8)
ax2.scatter(x_net, y_net, color="k", zorder=3, label="training points")
ax2.plot(sine_grid, np.sin(sine_grid), "k--", lw=1, label=r"$\sin x$")
ax2.plot(sine_grid, keep.curves[best], label=f"network after epoch {best + 1}")
ax2.plot(sine_grid, keep.curves[-1], label="network after epoch 2000")
ax2.set_ylim(-2, 2)
ax2.legend(fontsize=8)
plt.show()

assert net.num_parameters() == 4_353
hint = "(expected for 20 training points; more points, as in Try it, can break this)"
assert train_curve[-1] < train_curve[best] / 2, f"expected the training error to keep falling {hint}"   # ...
assert val_curve[-1] > 2 * val_curve[best], (    # ... while the validation error turns up and doubles
    f"expected the validation error to double after its minimum; got {val_curve[best]:.3f} -> {val_curve[-1]:.3f} {hint}")
assert best < 200, f"expected the best epoch within the first 10 %; got {best} {hint}"

# %% [markdown]
# The two curves tell the story of every overfitting network:
#
# - at first both errors fall together: the network learns the shape of the sine;
# - then the validation error reaches its lowest point (the dashed line) and **turns up**,
#   while the training error keeps falling: from here on, the network learns the noise of its 20
#   points, and its curve (right) bends to pass near each of them.
#
# The epoch of the lowest validation error is the best network this training run produces.
# Stopping there is **early stopping** (notebook 02); the log scale shows how early it comes.

# %% [markdown]
# ## 5. Bias and variance
#
# Why is there a best capacity? Imagine repeating the whole experiment many times: each time a
# new training set (the same $x$, new noise), a new fit $\hat f$. At a point $x$, the expected
# squared error of the prediction against a new noisy target $y = f(x) + \varepsilon$ splits into
# three parts:
#
# $$\mathbb E\big[(\hat f(x) - y)^2\big] =
#   \underbrace{\big(\mathbb E[\hat f(x)] - f(x)\big)^2}_{\text{bias}^2}
#   + \underbrace{\mathbb E\big[(\hat f(x) - \mathbb E[\hat f(x)])^2\big]}_{\text{variance}}
#   + \underbrace{\sigma^2}_{\text{noise}} .$$
#
# - **Bias** is the error of the *average* fit: what the model family cannot represent. It
#   falls as the capacity grows.
# - **Variance** is how much the fit changes from one training set to the next: how much it
#   follows the noise. It grows with the capacity.
# - **Noise** $\sigma^2$ is the same for every model.
#
# We measure all three by simulation: 15 equally spaced points on $[-3, 3]$, 1000 training sets
# with fresh noise ($\sigma = 0.2$), polynomials of degree 0 to 12. `fit` solves all 1000
# least-squares problems at once (one column of targets each).

# %%
sigma = 0.2
x15 = np.linspace(-3, 3, 15)
bv_grid = np.linspace(-3, 3, 301)
sim_rng = np.random.default_rng(0)
Y = np.sin(x15)[:, None] + sigma * sim_rng.standard_normal((15, 1000))   # 1000 training sets, one per column

degrees = np.arange(13)
bias2, variance, test_error = [], [], []
for degree in degrees:
    P = predict(fit(x15, Y, degree), bv_grid)                 # (301 points, 1000 fits)
    bias2.append(np.mean((P.mean(axis=1) - np.sin(bv_grid)) ** 2))
    variance.append(np.mean(P.var(axis=1)))
    fresh_targets = np.sin(bv_grid)[:, None] + sigma * sim_rng.standard_normal(P.shape)
    test_error.append(np.mean((P - fresh_targets) ** 2))
bias2, variance, test_error = map(np.array, (bias2, variance, test_error))
best_degree = int(np.argmin(test_error))

plt.figure(figsize=(6.5, 3.8))
plt.plot(degrees, bias2, "o-", label="bias²")
plt.plot(degrees, variance, "o-", label="variance")
plt.plot(degrees, test_error, "ko-", label="expected test error")
plt.axhline(sigma ** 2, color="gray", ls=":", label=r"noise $\sigma^2$")
plt.yscale("log")
plt.xlabel("degree of the polynomial (capacity)")
plt.ylabel("mean squared error")
plt.legend(fontsize=8)
plt.show()
print("best degree:", best_degree, "| test error", test_error.round(3))

assert np.allclose(test_error, bias2 + variance + sigma ** 2, rtol=0.02)  # the decomposition holds
hint = "(expected for 15 points; another number from Try it can break this)"
assert bias2[0] > 0.5 and np.all(bias2[5:] < 1e-3), f"expected the bias to fall with capacity; got {bias2.round(4)} {hint}"
assert np.all(np.diff(variance) > 0), f"expected the variance to grow with every degree; got {variance.round(4)} {hint}"
assert 3 <= best_degree <= 5 and test_error[-1] > 4 * test_error[best_degree], (  # the best is in between
    f"expected the best degree between 3 and 5; got {best_degree} {hint}")
assert np.allclose(bias2[[2, 4]], bias2[[1, 3]], rtol=0.05)  # an even power adds nothing to an odd sine

# %% [markdown]
# Left of the best degree the error is dominated by bias (**underfitting**), right of it by
# variance (**overfitting**); the best model balances the two. (The bias falls in pairs of
# degrees, because $\sin$ is an odd function: an even power adds nothing it can use.) Every
# regularizer of notebooks 02 and 03 trades a little bias for a lot less variance.
#
# Seeing the variance is easier than computing it: below, 20 of the fits, of degree 3 and of
# degree 12.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, degree in zip(axes, [3, 12]):
    ax.plot(bv_grid, predict(fit(x15, Y[:, :20], degree), bv_grid), color="C0", alpha=0.4, lw=1)
    ax.plot(bv_grid, np.sin(bv_grid), "k--", lw=1.5)
    ax.set_title(f"degree {degree}: 20 fits to 20 noisy training sets", fontsize=9)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("$x$")
plt.show()

# %% [markdown]
# ## 6. More data as a cure
#
# Variance comes from fitting the noise of a particular training set; with more points, the
# noise of each one matters less. We keep the degree-9 polynomial, the model that failed in
# section 2, and give it more and more training points (20 random training sets for each size;
# we report the median RMSE, as a few fits near the minimum size explode). This is a
# **learning curve**.

# %%
sizes = [10, 12, 15, 20, 30, 50, 100, 300, 1000]
train_rmse, val_rmse = [], []
for n in sizes:
    runs = []
    for seed in range(20):
        x, y_ = mf.datasets.make_regression_1d(n, noise=0.2, seed=1000 + seed)
        w = fit(x, y_, 9)
        runs.append((rmse(predict(w, x), y_), rmse(predict(w, x_val), y_val)))
    train_rmse.append(np.median([r[0] for r in runs]))
    val_rmse.append(np.median([r[1] for r in runs]))
train_rmse, val_rmse = np.array(train_rmse), np.array(val_rmse)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
ax1.plot(sizes, train_rmse, "o-", label="training (about 0 at 10 points)")
ax1.plot(sizes, val_rmse, "o-", label="validation")
ax1.axhline(0.2, color="gray", ls=":", label="noise level 0.2")
ax1.set_xscale("log")
ax1.set_yscale("log")
ax1.set_ylim(0.03, 1e4)
ax1.set_xlabel("training points")
ax1.set_ylabel("RMSE (median of 20 runs)")
ax1.legend(fontsize=8)
for n in [15, 50, 1000]:
    x, y_ = mf.datasets.make_regression_1d(n, noise=0.2, seed=1000)
    ax2.plot(sine_grid, predict(fit(x, y_, 9), sine_grid), label=f"{n} points")
ax2.plot(sine_grid, np.sin(sine_grid), "k--", lw=1, label=r"$\sin x$")
ax2.set_ylim(-2, 2)
ax2.set_title("degree 9 with more and more data", fontsize=9)
ax2.legend(fontsize=8)
plt.show()
for n, tr, va in zip(sizes, train_rmse, val_rmse):
    print(f"{n:5d} points: training RMSE {tr:.3f}, validation RMSE {va:.4g}")

assert train_rmse[0] < 1e-6 and val_rmse[0] > 100      # 10 points: interpolation, wild on new data
assert np.all(np.diff(train_rmse[:7]) > 0)              # up to 100 points the training error rises
assert np.all(np.diff(val_rmse) < 0)                    # every size step lowers the validation error
assert abs(train_rmse[-1] - 0.2) < 0.01 and abs(val_rmse[-1] - 0.2) < 0.01  # both meet at the noise level

# %% [markdown]
# With few points the training error is far below the validation error: the gap is the
# overfitting. As the training set grows, the training error *rises* (the model can no longer
# fit every point) and the validation error falls, and the two meet at the noise level, within
# 0.01 of 0.2 at 1000 points. The
# same model that was useless with 10 points is excellent with 1000: capacity is only "too
# large" relative to the amount of data. When you can get more data, it is the most reliable
# cure of all; when you cannot, regularize.

# %% [markdown]
# ## Try it
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Section 1: fit the five points with degree 4 (5 parameters). Is its training error still 0?
#    Why is it exactly 0 for every degree of 4 or more?
# 2. Section 2: change the noise of the training points to 0.05 and then to 0.5. How do the
#    validation errors of degree 3 and degree 9 change?
# 3. Section 4: train the network on 200 points instead of 20. Where is the best epoch now,
#    and how far does the validation error turn up?
# 4. Section 5: repeat the simulation with 30 training points instead of 15. Which degree is
#    best now? Explain with bias and variance.
# 5. Section 6: draw the learning curve of degree 3 next to degree 9. Which is better with 15
#    points, and which with 1000?
#
# **Next:** `02-regularization-pytorch.ipynb` (or its twin `02-regularization-tensorflow.ipynb`)
# fights overfitting in a network with 85 000 parameters and 200 training images, and
# `03-regularization-minifw.ipynb` does it with minifw.

# %% [markdown]
# ## Review questions
#
# 1. What is the difference between underfitting and overfitting?
#    <details><summary>Answer</summary>
#
#    Underfitting: the model cannot represent the pattern, so it is bad on training and new data alike (high bias). Overfitting: it fits the training data, noise included, and does worse on new data (high variance).
#
#    </details>
#
# 2. Why is a training error of 0 not good news by itself?
#    <details><summary>Answer</summary>
#
#    A model with at least as many parameters as data points can pass through every point, noise included; the validation error tells whether it learned the pattern.
#
#    </details>
#
# 3. Name the three ingredients of overfitting, and a cure for each.
#    <details><summary>Answer</summary>
#
#    Too little data (get more), too powerful a model (a smaller one, or regularization), noisy data (cleaner data). Removing any one of them helps.
#
#    </details>
#
# 4. How does overfitting show in a network's training and validation curves?
#    <details><summary>Answer</summary>
#
#    Both fall together at first; then the validation error reaches a minimum and turns up while the training error keeps falling. The epoch of that minimum is where early stopping would stop.
#
#    </details>
#
# 5. Into which three parts does the expected squared error split, and how do they change with capacity?
#    <details><summary>Answer</summary>
#
#    Bias² (falls with capacity), variance (grows with capacity) and noise $\sigma^2$ (fixed). The best capacity balances bias and variance.
#
#    </details>
