# %% [markdown]
# # 06 · Losses and optimizers
#
# Training is "pick a loss, compute its gradient, take a step". This notebook looks at each part:
# which loss measures what, why the inputs must be normalized (and how to do it without cheating),
# how the learning rate can change during training, and how the optimizers of `minifw.optim` (the same
# update rules as `torch.optim`) turn a gradient into a step.
#
# **After this notebook you can**
#
# - compute MSE, MAE and cross-entropy by hand, and say which one an outlier or a confident mistake
#   affects most;
# - tell the *loss* of one example from the *cost* that training minimizes;
# - treat a binary problem with one sigmoid output or a 2-output softmax, and say why a multi-label
#   problem needs one sigmoid per label;
# - normalize features with min-max scaling (to $[0, 1]$ or $[-1, 1]$) or standardization fitted **on the
#   training data only**, and show what goes wrong otherwise;
# - read and plot the learning-rate schedules step, exponential, inverse-time, cyclical and cosine
#   with warm restarts;
# - write the update rules of SGD, momentum, Nesterov, Adagrad, RMSprop, Adam and Adamax and predict
#   their paths on an elongated loss surface;
# - choose a batch size and a learning rate together, and recognise a learning rate that is too small or
#   too large.

# %%
import timeit

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

import minifw as mf

np.random.seed(0)  # minifw takes explicit seeds; this fixes anything else that draws from numpy
TRY_IT = "(expected for the settings in the text; a change from Try it can break this)"
plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 1. Three losses
#
# For predictions $\hat y_i$ and targets $y_i$, $i = 1 \dots N$:
#
# | loss | per example | gradient w.r.t. $\hat y_i$ | used for |
# |---|---|---|---|
# | mean squared error | $(\hat y_i - y_i)^2$ | $2(\hat y_i - y_i)$ | regression |
# | mean absolute error | $\lvert\hat y_i - y_i\rvert$ | $\mathrm{sign}(\hat y_i - y_i)$ | regression with outliers |
# | cross-entropy | $-\log p_{i, y_i}$, $p_i = \mathrm{softmax}(z_i)$ | $p_i - \mathrm{onehot}(y_i)$ (w.r.t. the logits $z_i$) | classification |
#
# MSE is also called the **L2** loss and MAE the **L1** loss (after the norms of the error vector);
# some course notes call MAE "L2 loss", which is wrong.
#
# The MSE gradient grows with the error, the MAE gradient does not. So an outlier pulls much harder on
# an MSE fit. The simplest model shows it: predict one constant $c$ for every target. The $c$ that
# minimizes the MSE is the **mean** of the targets, the one that minimizes the MAE is the **median**.

# %%
targets = np.array([1.0, 2.0, 3.0, 4.0, 100.0])  # one outlier
cs = np.linspace(-10, 40, 5001)
mse_cost = np.array([mf.MSE()(np.full_like(targets, c), targets)[0] for c in cs])
mae_cost = np.array([mf.MAE()(np.full_like(targets, c), targets)[0] for c in cs])
best_mse, best_mae = cs[mse_cost.argmin()], cs[mae_cost.argmin()]

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(cs, mse_cost, label="MSE")
axes[0].axvline(best_mse, ls="--", color="tab:blue", label=f"minimum at c = {best_mse:.1f} (mean)")
axes[0].set(xlabel="constant prediction c", title="MSE of a constant prediction")
axes[1].plot(cs, mae_cost, color="tab:orange", label="MAE")
axes[1].axvline(best_mae, ls="--", color="tab:orange", label=f"minimum at c = {best_mae:.1f} (median)")
axes[1].set(xlabel="constant prediction c", title="MAE of a constant prediction")
for ax in axes:
    ax.legend()
plt.show()

print(f"MSE minimum at {best_mse:.2f} (mean {targets.mean()}), MAE minimum at {best_mae:.2f} (median {np.median(targets)})")
assert abs(best_mse - targets.mean()) < 0.02 and abs(best_mae - np.median(targets)) < 0.02, (
    f"expected the minima at the mean {targets.mean():.2f} and the median {np.median(targets):.2f} within "
    f"the grid of c from -10 to 40; got {best_mse:.2f} and {best_mae:.2f} {TRY_IT}")
# minifw's values are the formulas of the table, averaged
pred = np.array([2.0, 2.0, 2.0, 2.0, 2.0])
assert np.isclose(mf.MSE()(pred, targets)[0], np.mean((pred - targets) ** 2))
assert np.isclose(mf.MAE()(pred, targets)[0], np.mean(np.abs(pred - targets)))

# %% [markdown]
# One outlier drags the MSE fit to 22, far from every other target; the MAE fit stays at the median, 3.
#
# For classification, why cross-entropy and not the squared error between the probability and the
# label? Take one binary example with label $y = 1$ and a confidently wrong logit $z = -6$, so
# $p = \sigma(z) \approx 0.0025$. By the chain rule, with $\sigma'(z) = p(1 - p)$:
#
# $$\frac{\partial}{\partial z} (p - y)^2 = 2(p - y)\,p(1 - p), \qquad
#   \frac{\partial}{\partial z} \big[-y \log p - (1 - y)\log(1 - p)\big] = p - y .$$
#
# The squared error's gradient carries the factor $p(1-p)$, nearly 0 when the network is confidently
# wrong; the cross-entropy gradient is nearly $-1$, the strongest possible push.

# %%
z = np.linspace(-6, 6, 241).reshape(-1, 1)
y_one = np.ones_like(z)
p = mf.sigmoid(z)
_, grad_bce = mf.BCEWithLogits()(z, y_one)             # d(mean loss)/dz, so scale by N for one example
_, grad_mse_p = mf.MSE()(p, y_one)
grad_bce, grad_mse = grad_bce * len(z), grad_mse_p * len(z) * p * (1 - p)  # chain rule through the sigmoid

plt.plot(z, grad_bce, label="cross-entropy: ∂ℓ/∂z = p − y")
plt.plot(z, grad_mse, label="squared error on p: ∂ℓ/∂z = 2(p − y)p(1 − p)")
plt.xlabel("logit z (label y = 1)")
plt.ylabel("∂ loss / ∂z")
plt.legend()
plt.grid(alpha=0.3)
plt.show()

print(f"at z = -6: cross-entropy gradient {grad_bce[0, 0]:.4f}, squared-error gradient {grad_mse[0, 0]:.4f}")
assert grad_bce[0, 0] < -0.99 and abs(grad_mse[0, 0]) < 0.01

# %% [markdown]
# ### Two classes: one sigmoid output or a 2-output softmax
#
# The softmax generalizes the logistic function: for two logits $(z_0, z_1)$,
# $\mathrm{softmax}(z)_1 = \frac{e^{z_1}}{e^{z_0} + e^{z_1}} = \sigma(z_1 - z_0)$. So a binary problem can be a
# network with **one** output and the binary cross-entropy on $\sigma(z)$, or **two** outputs and the
# categorical cross-entropy on the softmax; the second is the first with $z = z_1 - z_0$: same
# probability, same loss, same decision.
#
# For **multi-label** problems (several classes can be true at once: a photo with a cat *and* a dog),
# the softmax is the wrong tool, whatever some notes say: its probabilities sum to 1, so two true labels
# cannot both get a probability near 1. Use one sigmoid per label with the binary cross-entropy of
# each (`BCEWithLogits` on a multi-hot target).

# %%
z2 = np.random.default_rng(1).normal(size=(6, 2)) * 3              # 6 examples, 2 logits each
binary_labels = np.array([0, 1, 1, 0, 1, 0])
z = (z2[:, 1] - z2[:, 0])[:, None]                                 # the equivalent single logit
assert np.allclose(mf.softmax(z2)[:, 1:], mf.sigmoid(z))           # same probability
assert np.isclose(mf.CrossEntropy()(z2, binary_labels)[0],
                  mf.BCEWithLogits()(z, binary_labels[:, None].astype(float))[0])  # same loss
assert np.array_equal(z2.argmax(axis=1), (mf.sigmoid(z)[:, 0] > 0.5).astype(int))  # same decision

# multi-label: two labels true at once; the sigmoids can give both a probability near 1, the softmax cannot
multi_hot = np.array([[1.0, 1.0, 0.0]])
confident = np.array([[8.0, 8.0, -8.0]])
print("softmax:", mf.softmax(confident).round(3), " sigmoid per label:", mf.sigmoid(confident).round(3))
assert mf.softmax(confident)[0, :2].max() <= 0.5 and mf.sigmoid(confident)[0, :2].min() > 0.99
assert mf.BCEWithLogits()(confident, multi_hot)[0] < 0.01

# %% [markdown]
# ### Loss vs cost
#
# The **loss** $\ell(\hat y_i, y_i)$ scores one example. The **cost** (or objective) is what the optimizer
# minimizes: the mean loss over the training examples, plus a penalty if there is regularization,
#
# $$J(\theta) = \frac{1}{N}\sum_{i=1}^{N} \ell\big(f_\theta(x_i), y_i\big) + \lambda\, R(\theta).$$
#
# Frameworks blur the two words: minifw's `CrossEntropy()(logits, labels)` (like PyTorch's default
# `reduction="mean"`) returns the mean over the batch, the cost of that batch, and its gradient, which is
# why every gradient carries the factor $1/N$.

# %%
rng = np.random.default_rng(0)
logits, labels = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
per_example = -mf.log_softmax(logits)[np.arange(4), labels]
cost, grad = mf.CrossEntropy()(logits, labels)
print("losses of the 4 examples:", per_example.round(3), " cost:", round(cost, 3))
assert np.isclose(cost, per_example.mean())
assert np.allclose(grad, (mf.softmax(logits) - mf.one_hot(labels, 3)) / 4)

# %% [markdown]
# ## 2. Normalizing the inputs
#
# `make_tumours` has two features on different scales: tumour size in mm (1 to 50) and patient age in
# years (20 to 90). Two standard fixes, each per feature, with statistics from the **training** set:
#
# - **min-max scaling** $x' = \dfrac{x - \min}{\max - \min}$ maps the training range to $[0, 1]$, and
#   $x' = 2\,\dfrac{x - \min}{\max - \min} - 1$ to $[-1, 1]$ (centred at 0, like a tanh unit's range);
# - **standardization** $x' = \dfrac{x - \mu}{\sigma}$ gives mean 0 and standard deviation 1.

# %%
X, y = mf.datasets.make_tumours(600, seed=0)
X_train, X_test, y_train, y_test = mf.train_test_split(X, y, test_size=0.3, seed=0)
minmax = mf.MinMaxScaler().fit(X_train)     # fit: learn min and max from the training data only
standard = mf.StandardScaler().fit(X_train)  # fit: learn mean and std from the training data only

print("raw training features:   min", X_train.min(0), " max", X_train.max(0))
print("min-max, training set:   min", minmax.transform(X_train).min(0), " max", minmax.transform(X_train).max(0))
print("standardized, training:  mean", standard.transform(X_train).mean(0).round(6),
      " std", standard.transform(X_train).std(0).round(6))
print("standardized, test set:  mean", standard.transform(X_test).mean(0).round(3),
      " std", standard.transform(X_test).std(0).round(3))
assert np.allclose(minmax.transform(X_train).min(0), 0) and np.allclose(minmax.transform(X_train).max(0), 1)
assert np.allclose(standard.transform(X_train).mean(0), 0, atol=1e-5)
assert np.allclose(standard.transform(X_train).std(0), 1, atol=1e-5)

# [-1, 1], and a new patient outside the training range
symmetric = mf.MinMaxScaler(feature_range=(-1.0, 1.0)).fit(X_train)
assert np.allclose(symmetric.transform(X_train).min(0), -1) and np.allclose(symmetric.transform(X_train).max(0), 1)
new_patient = np.array([[2 * X_train[:, 0].max(), X_train[:, 1].mean()]])  # a tumour twice the largest seen
print("a tumour twice the largest in training, scaled to [0, 1]:", minmax.transform(new_patient).round(2),
      " to [-1, 1]:", symmetric.transform(new_patient).round(2))
assert minmax.transform(new_patient)[0, 0] > 1.9 and symmetric.transform(new_patient)[0, 0] > 2.5


# %% [markdown]
# On the test set the mean and std are close to, but not exactly, 0 and 1, and that is correct: the test
# data are transformed with the training statistics, like any future patient. Likewise a min-max
# scaler does not clip: a new value beyond the training range maps outside $[0, 1]$ (or $[-1, 1]$), here
# to about 2 (or 3), and the network meets an input unlike any it was trained on, where its output is
# an extrapolation (lesson 04). Clip such values, or at least flag them, at prediction time.
#
# ### Without normalization, gradient descent struggles
#
# For a linear model, the curvature of the cost along each weight grows with the size of that weight's
# input. With raw features the cost surface is a long narrow valley: its *condition number*, the ratio of
# its steepest to its flattest curvature, here the ratio of the largest to the smallest eigenvalue of
# $\frac1N \tilde X^\top \tilde X$ ($\tilde X$ = the features with a column of ones for the bias), is huge.
# A learning rate small enough for the steep direction is far too small for the flat one (section 4
# shows this on a picture).

# %%
def condition_number(features):
    with_bias = np.c_[features, np.ones(len(features))].astype(np.float64)
    eigenvalues = np.linalg.eigvalsh(with_bias.T @ with_bias / len(features))
    return eigenvalues.max() / eigenvalues.min()


print(f"condition number, raw features:          {condition_number(X_train):10.0f}")
print(f"condition number, standardized features: {condition_number(standard.transform(X_train)):10.1f}")
assert condition_number(X_train) > 1000 and condition_number(standard.transform(X_train)) < 2


def logistic_regression():
    return mf.Sequential(mf.Linear(2, 2, init="zeros"))


fig, ax = plt.subplots(figsize=(7, 3.8))
final = {}
for name, features, lr in [("raw, lr = 0.001", X_train, 0.001), ("raw, lr = 0.01", X_train, 0.01),
                           ("standardized, lr = 0.1", standard.transform(X_train), 0.1)]:
    net = logistic_regression()
    history = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=lr)).fit(
        features, y_train, epochs=30, batch_size=32, progress=False)
    final[name] = history["loss"][-1]
    ax.semilogy(history["loss"], label=name)
ax.set(xlabel="epoch", ylabel="training loss", title="logistic regression on the tumours")
ax.legend()
plt.show()
print({k: round(v, 3) for k, v in final.items()})
assert final["raw, lr = 0.001"] > 0.65, f"expected SGD on raw features to hardly learn; got {final} {TRY_IT}"
assert final["raw, lr = 0.01"] > 1.0, f"expected SGD on raw features to bounce (loss > 1); got {final} {TRY_IT}"
assert final["standardized, lr = 0.1"] < 0.4, f"expected standardized features to train; got {final} {TRY_IT}"

# %% [markdown]
# On raw features, a small learning rate leaves the loss near $\ln 2$, a guess, and a ten times larger
# one already jumps around the valley; on standardized features the same model trains at once.
#
# ### Fit the scaler on the training data only
#
# The scaler is part of the model: its statistics are learned from the training data and then applied,
# unchanged, to everything else. Two tempting mistakes:
#
# **Mistake 1: fitting a new scaler on the data you predict for.** Suppose a clinic for older patients
# (age 60 and above) uses our model and standardizes *its own* patients with their own mean and std.
# A 75-year-old then lands near 0, which the model learned as an age of about 55.

# %%
net = logistic_regression()
model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.1))
model.fit(standard.transform(X_train), y_train, epochs=30, batch_size=32, progress=False)

older = X_test[:, 1] >= 60
X_old, y_old = X_test[older], y_test[older]
right = model.evaluate(standard.transform(X_old), y_old)["accuracy"]             # training statistics
wrong = model.evaluate(mf.StandardScaler().fit_transform(X_old), y_old)["accuracy"]  # the clinic's statistics
print(f"{older.sum()} test patients aged 60+: accuracy {right:.3f} with the training scaler, "
      f"{wrong:.3f} with a scaler fitted on them")
assert right > wrong + 0.05, f"expected the clinic's own scaler to cost over 5 points; got {right:.3f} vs {wrong:.3f} {TRY_IT}"
clinic = mf.StandardScaler().fit(X_old)
print(f"mean age: training set {standard.mean_[1]:.1f}, clinic {clinic.mean_[1]:.1f}")
assert 50 < standard.mean_[1] < 60 and 70 < clinic.mean_[1] < 80

# %% [markdown]
# Worse, at prediction time you often have **one** example. A scaler fitted on a single row has mean =
# that row and std = 0 (minifw then uses 1), so every patient becomes $(0, 0)$ and gets the same
# answer, whatever the tumour:

# %%
one_at_a_time = np.array([mf.softmax(model.predict(mf.StandardScaler().fit_transform(X_test[i:i + 1])))[0, 1]
                          for i in range(10)])
correct = mf.softmax(model.predict(standard.transform(X_test[:10])))[:, 1]
print("P(malignant), scaler refitted per patient:", one_at_a_time.round(3))
print("P(malignant), training scaler:            ", correct.round(3))
assert np.ptp(one_at_a_time) == 0 and np.ptp(correct) > 0.5
single = mf.StandardScaler().fit(X_test[:1])
assert np.all(single.std_ == 1) and np.all(single.transform(X_test[:1]) == 0)


# %% [markdown]
# **Mistake 2: fitting the scaler on all data before splitting** (a *leak*). The test set stands in for
# data the model has never seen, so nothing about it may influence training. A scaler fitted on
# training *and* test data lets it in: the test set now shapes the inputs the model is trained on. To see
# it, suppose one test record has a typo, a tumour of 500 mm instead of 50.0 mm. With the honest
# pipeline the typo cannot change the model. With the leaky one it stretches the min-max range of the
# size feature tenfold, squeezes every *training* size into $[0, 0.1]$, and the model trained on that
# is different, and worse:

# %%
def train_on(scaler):
    """Logistic regression trained on the scaled training set; accuracy on the (correct) test rows."""
    net = logistic_regression()
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.1))
    model.fit(scaler.transform(X_train), y_train, epochs=30, batch_size=32, progress=False)
    return model.evaluate(scaler.transform(X_test[1:]), y_test[1:])["accuracy"], net[0].W.data.copy()


X_test_typo = X_test.copy()
X_test_typo[0, 0] = 500.0  # one mistyped test record
honest_acc, honest_W = train_on(mf.MinMaxScaler().fit(X_train))
leaky_scaler = mf.MinMaxScaler().fit(np.concatenate([X_train, X_test_typo]))
leaky_acc, leaky_W = train_on(leaky_scaler)
print(f"largest scaled training size: honest {minmax.transform(X_train)[:, 0].max():.2f}, "
      f"leaky {leaky_scaler.transform(X_train)[:, 0].max():.2f}")
print(f"test accuracy: honest pipeline {honest_acc:.3f}, leaky pipeline {leaky_acc:.3f}")
assert leaky_scaler.transform(X_train)[:, 0].max() < 0.1
assert honest_acc > leaky_acc + 0.1 and not np.allclose(honest_W, leaky_W)

# %% [markdown]
# Usually the leak is subtler than a typo: the test statistics nudge the scaling a little. Then the
# test set has helped shape the model, and its score is no longer a clean estimate of the score on new
# data. The rule avoids both:
# `fit` on the training data, `transform` everything else.

# %% [markdown]
# ## 3. Learning-rate schedules
#
# A large learning rate makes fast progress early but keeps bouncing around a minimum; a small one
# settles but is slow. A schedule changes the rate $\eta_t$ with the step (or epoch) $t$. Every schedule in
# `minifw.schedules` has a pure function `lr_at(t)`, so we can plot them without training:
#
# | schedule | $\eta_t$ |
# |---|---|
# | `StepLR` | $\eta_0\, \gamma^{\lfloor t / s \rfloor}$ |
# | `ExponentialLR` | $\eta_0\, \gamma^{t}$ |
# | `InverseTimeLR` | $\eta_0 / (1 + r\, t / T)$ |
# | `CyclicLR` | a triangle between $\eta_{base}$ and $\eta_{max}$ (`triangular2` halves it every cycle, `exp_range` shrinks it by $\gamma^t$) |
# | `CosineAnnealingWarmRestarts` | $\eta_{min} + \frac12(\eta_0 - \eta_{min})\big(1 + \cos(\pi\, T_{cur} / T_i)\big)$, back to $\eta_0$ at every restart |

# %%
T = 100
schedules = {
    "StepLR(step_size=25, gamma=0.5)": mf.StepLR(None, step_size=25, gamma=0.5, base_lr=0.1),
    "ExponentialLR(gamma=0.97)": mf.ExponentialLR(None, gamma=0.97, base_lr=0.1),
    "InverseTimeLR(decay_steps=10, decay_rate=1)": mf.InverseTimeLR(None, decay_steps=10, decay_rate=1.0, base_lr=0.1),
    "CyclicLR(triangular)": mf.CyclicLR(None, base_lr=0.01, max_lr=0.1, step_size_up=10),
    "CyclicLR(triangular2)": mf.CyclicLR(None, base_lr=0.01, max_lr=0.1, step_size_up=10, mode="triangular2"),
    "CyclicLR(exp_range, gamma=0.98)": mf.CyclicLR(None, base_lr=0.01, max_lr=0.1, step_size_up=10,
                                                   mode="exp_range", gamma=0.98),
    "CosineAnnealingWarmRestarts(T_0=25)": mf.CosineAnnealingWarmRestarts(None, T_0=25, base_lr=0.1),
    "CosineAnnealingWarmRestarts(T_0=10, T_mult=2)": mf.CosineAnnealingWarmRestarts(None, T_0=10, T_mult=2,
                                                                                    base_lr=0.1),
}
curves = {name: np.array([s.lr_at(t) for t in range(T)]) for name, s in schedules.items()}

fig, axes = plt.subplots(2, 4, figsize=(15, 6), sharey=True)
for ax, (name, lrs) in zip(axes.ravel(), curves.items()):
    ax.plot(lrs)
    ax.set_title(name.replace("(", "\n("), fontsize=9)
    ax.grid(alpha=0.3)
for ax in axes[1]:
    ax.set_xlabel("step t")
for ax in axes[:, 0]:
    ax.set_ylabel("learning rate")
plt.tight_layout()
plt.show()

step, expo, inv = (curves[k] for k in list(curves)[:3])
tri, tri2, exp_range, cos1, cos2 = (curves[k] for k in list(curves)[3:])
assert np.isclose(step[24], 0.1) and np.isclose(step[25], 0.05) and np.isclose(step[75], 0.0125)
assert np.isclose(expo[10], 0.1 * 0.97**10)
assert np.isclose(inv[10], 0.05) and np.isclose(inv[30], 0.025)          # halved after decay_steps
assert np.isclose(tri[10], 0.1) and np.isclose(tri[20], 0.01) and np.isclose(tri[30], 0.1)
assert np.isclose(tri2[30], 0.01 + 0.09 / 2)                             # second peak: half the height
assert exp_range[50] < tri[50] and np.isclose(exp_range[0], 0.01)
assert np.isclose(cos1[0], 0.1) and np.isclose(cos1[25], 0.1) and cos1[24] < 0.001  # restart every 25 steps
assert np.isclose(cos2[10], 0.1) and np.isclose(cos2[30], 0.1) and cos2[29] < 0.001  # periods 10, 20, 40

# %% [markdown]
# In training, a `LearningRateScheduler` callback calls `schedule.step()` after every epoch and logs the
# rate. On the digits, a constant, deliberately large rate of 1.0 makes the loss jump around; the same
# start decayed exponentially settles down:

# %%
X_digits, y_digits = mf.datasets.load_digits()
Xd_train, Xd_val, yd_train, yd_val = mf.train_test_split(X_digits, y_digits, test_size=0.25, seed=0)
digit_scaler = mf.StandardScaler().fit(Xd_train)
Xd_train, Xd_val = digit_scaler.transform(Xd_train), digit_scaler.transform(Xd_val)


def mlp():
    """64-64-10 ReLU network, the same starting weights every time."""
    return mf.Sequential(mf.Linear(64, 64, seed=0), mf.ReLU(), mf.Linear(64, 10, seed=1))


scheduled = {}
for name, make_schedule in [("constant lr = 1.0", None),
                            ("ExponentialLR(gamma=0.7)", lambda opt: mf.ExponentialLR(opt, gamma=0.7)),
                            ("CosineAnnealingWarmRestarts(T_0=10)", lambda opt: mf.CosineAnnealingWarmRestarts(opt, T_0=10))]:
    net = mlp()
    optimizer = mf.SGD(net.parameters(), lr=1.0)
    callbacks = [mf.LearningRateScheduler(make_schedule(optimizer))] if make_schedule else []
    with np.errstate(over="ignore", invalid="ignore"):  # the constant rate overflows now and then
        scheduled[name] = mf.Model(net, mf.CrossEntropy(), optimizer).fit(
            Xd_train, yd_train, epochs=10, batch_size=32, validation_data=(Xd_val, yd_val),
            callbacks=callbacks, progress=False)
    plt.semilogy(scheduled[name]["loss"], "o-", label=name)
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.legend()
plt.show()

print({name: round(h["loss"][-1], 4) for name, h in scheduled.items()})
assert np.allclose(scheduled["ExponentialLR(gamma=0.7)"]["lr"], [0.7**t for t in range(10)])
assert scheduled["ExponentialLR(gamma=0.7)"]["loss"][-1] < 0.1 * scheduled["constant lr = 1.0"]["loss"][-1]
assert scheduled["CosineAnnealingWarmRestarts(T_0=10)"]["loss"][-1] < 0.1 * scheduled["constant lr = 1.0"]["loss"][-1]

# %% [markdown]
# ## 4. Optimizers on a 2-D loss surface
#
# To *see* what an optimizer does, give it a single 2-D `Parameter` and an elongated quadratic bowl
#
# $$f(\theta) = \tfrac12\left(\theta_1^2 + 20\,\theta_2^2\right), \qquad \nabla f(\theta) = (\theta_1,\ 20\,\theta_2),$$
#
# steep along $\theta_2$, flat along $\theta_1$, like the raw tumour features above. We write the gradient
# into `p.grad` by hand and call `optimizer.step()`, exactly what `Model.fit` does after `backward()`.
# The update rules ($g_t$ the gradient, $\eta$ the learning rate):
#
# - **SGD**: $\theta \leftarrow \theta - \eta\, g_t$.
# - **Momentum**: $b_t = \mu b_{t-1} + g_t$, $\theta \leftarrow \theta - \eta\, b_t$: a velocity that averages
#   out the zig-zag and accumulates along consistent directions.
# - **Nesterov**: $\theta \leftarrow \theta - \eta\,(g_t + \mu b_t)$: looks one momentum step ahead.
# - **Adagrad**: $s_t = s_{t-1} + g_t^2$, $\theta \leftarrow \theta - \eta\, g_t / (\sqrt{s_t} + \epsilon)$: a step
#   size per coordinate that shrinks with all past gradients.
# - **RMSprop**: $v_t = \alpha v_{t-1} + (1-\alpha) g_t^2$, $\theta \leftarrow \theta - \eta\, g_t / (\sqrt{v_t} + \epsilon)$:
#   like Adagrad, but with a running average that forgets.
# - **Adam**: $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$ and $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$, both
#   bias-corrected, $\hat m_t = m_t / (1 - \beta_1^t)$, $\hat v_t = v_t / (1 - \beta_2^t)$, then
#   $\theta \leftarrow \theta - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)$. (Some notes write the correction
#   with another factor; dividing by $1 - \beta^t$ is what makes $\hat m_1 = g_1$ and $\hat v_1 = g_1^2$
#   exactly, checked below through Adam's first step.)
# - **Adamax**: Adam with $u_t = \max(\beta_2 u_{t-1}, |g_t|)$ in place of $\sqrt{\hat v_t}$.

# %%
curvature = np.array([1.0, 20.0])
start = np.array([-4.0, 1.0])


def f(theta):
    return 0.5 * (curvature * theta**2).sum(axis=-1)


def optimize(make_optimizer, steps=100):
    """The path of one Parameter under `make_optimizer([param])` on f."""
    theta = mf.Parameter(start.copy())
    optimizer = make_optimizer([theta])
    path = [theta.data.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        theta.grad += curvature * theta.data  # the gradient of f, written by hand
        optimizer.step()
        path.append(theta.data.copy())
    return np.array(path)


families = {
    "SGD family (η = 0.03)": {
        "SGD": lambda ps: mf.SGD(ps, lr=0.03),
        "momentum 0.8": lambda ps: mf.SGD(ps, lr=0.03, momentum=0.8),
        "Nesterov 0.8": lambda ps: mf.SGD(ps, lr=0.03, momentum=0.8, nesterov=True),
    },
    "adaptive": {
        "Adagrad (η = 1)": lambda ps: mf.Adagrad(ps, lr=1.0),
        "RMSprop (η = 0.1)": lambda ps: mf.RMSprop(ps, lr=0.1),
        "Adam (η = 0.3)": lambda ps: mf.Adam(ps, lr=0.3),
        "Adamax (η = 0.3)": lambda ps: mf.Adamax(ps, lr=0.3),
    },
}
paths = {name: optimize(make) for family in families.values() for name, make in family.items()}

g1, g2 = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.5, 1.5, 200))
fig, axes = plt.subplots(1, 2, figsize=(14, 4.2))
for ax, (family, members) in zip(axes, families.items()):
    ax.contour(g1, g2, f(np.stack([g1, g2], axis=-1)), levels=np.logspace(-2, 1.5, 12), cmap="Greys", linewidths=0.7)
    for name in members:
        ax.plot(*paths[name][:40].T, ".-", ms=4, lw=1, label=name)
    ax.plot(0, 0, "k*", ms=12)
    ax.set(title=f"{family}: first 40 steps", xlabel="θ₁", ylabel="θ₂", aspect="equal")
    ax.legend(fontsize=8, loc="lower right")
plt.show()

final_f = {name: f(path[-1]) for name, path in paths.items()}
for name, value in final_f.items():
    print(f"{name:>18}: f after 100 steps = {value:.2e}")
assert final_f["momentum 0.8"] < 1e-4 * final_f["SGD"], (   # momentum: far ahead at the same η
    f"expected momentum 1e4 ahead of SGD on the axis-aligned bowl; got {final_f} {TRY_IT}")
assert final_f["Nesterov 0.8"] < final_f["momentum 0.8"], f"expected Nesterov ahead of momentum; got {final_f} {TRY_IT}"
assert all(value < 0.01 * f(start) for value in final_f.values()), f"expected every method to converge; got {final_f} {TRY_IT}"
# the first Adam and Adagrad steps have length η in *each* coordinate, whatever the gradient's size;
# RMSprop's (α = 0.99, no bias correction) has length η / sqrt(1 - α) = 10 η in each coordinate
first_steps = {name: np.abs(paths[name][1] - start) for name in families["adaptive"]}
message = f"expected first steps (0.3, 0.3), (1, 1), (1, 1) for Adam, Adagrad, RMSprop; got {first_steps} {TRY_IT}"
assert np.allclose(first_steps["Adam (η = 0.3)"], 0.3, rtol=1e-4), message
assert np.allclose(first_steps["Adagrad (η = 1)"], 1.0, rtol=1e-4), message
assert np.allclose(first_steps["RMSprop (η = 0.1)"], 0.1 / np.sqrt(1 - 0.99), rtol=1e-4), message
# Adam and Adamax end farther from the minimum than the other methods (except plain SGD)
assert min(final_f["Adam (η = 0.3)"], final_f["Adamax (η = 0.3)"]) > 100 * max(
    final_f[k] for k in ["momentum 0.8", "Nesterov 0.8", "Adagrad (η = 1)", "RMSprop (η = 0.1)"]), (
    f"expected Adam and Adamax 100x behind the others after 100 steps; got {final_f} {TRY_IT}")
# ... but they do get there, only later
later = {name: f(optimize(families["adaptive"][name], steps=200)[-1]) for name in ["Adam (η = 0.3)", "Adamax (η = 0.3)"]}
print("after 200 steps:", {name: f"{value:.1e}" for name, value in later.items()})
assert all(value < 1e-7 for value in later.values()), f"expected f < 1e-7 after 200 steps; got {later} {TRY_IT}"

# %% [markdown]
# Plain SGD zig-zags across the steep direction and crawls along the flat one. Momentum and Nesterov
# build up speed along $\theta_1$ and, with the same learning rate, end with a value of $f$ more than four
# orders of magnitude lower. The adaptive methods divide each coordinate's step by that coordinate's typical gradient
# size, so their first step has the same length in both coordinates, a diagonal move, and the
# valley's shape matters much less. For Adam and Adagrad that length is exactly $\eta$; RMSprop, which
# has no bias correction, starts from $v_0 = 0$, so $v_1 = (1-\alpha) g_1^2$ and its first step is
# $\eta / \sqrt{1-\alpha} = 10\eta$ with $\alpha = 0.99$ (here a jump of 1.0 in each coordinate). Adam and
# Adamax overshoot and approach the minimum more slowly at the end: their step is the gradient divided
# by a long memory of its past size, so it does not shrink in proportion to the gradient. After 100
# steps they are farther from the minimum than the other methods, except plain SGD; after 200 steps
# they are there too ($f < 10^{-7}$).

# %% [markdown]
# ## 5. Loss curves on the digits
#
# The same 64-64-10 network from the same starting weights, trained for 10 epochs with each optimizer,
# at the default or a common learning rate.

# %%
optimizers = {
    "SGD, η = 0.01": lambda ps: mf.SGD(ps, lr=0.01),
    "momentum 0.9, η = 0.01": lambda ps: mf.SGD(ps, lr=0.01, momentum=0.9),
    "Nesterov 0.9, η = 0.01": lambda ps: mf.SGD(ps, lr=0.01, momentum=0.9, nesterov=True),
    "Adagrad, η = 0.01": lambda ps: mf.Adagrad(ps, lr=0.01),
    "RMSprop, η = 0.001": lambda ps: mf.RMSprop(ps, lr=0.001),
    "Adam, η = 0.001": lambda ps: mf.Adam(ps, lr=0.001),
    "Adamax, η = 0.002": lambda ps: mf.Adamax(ps, lr=0.002),
}
digit_histories = {}
for name, make in optimizers.items():
    net = mlp()
    digit_histories[name] = mf.Model(net, mf.CrossEntropy(), make(net.parameters())).fit(
        Xd_train, yd_train, epochs=10, batch_size=32, validation_data=(Xd_val, yd_val), progress=False)

fig, axes = plt.subplots(1, 2, figsize=(13, 4))
for name, history in digit_histories.items():
    axes[0].semilogy(history["loss"], label=name)
    axes[1].plot(history["val_accuracy"], label=name)
axes[0].set(xlabel="epoch", ylabel="training loss")
axes[1].set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.8, 1.0))
axes[1].legend(fontsize=8)
plt.show()

for name, history in digit_histories.items():
    print(f"{name:>24}: loss {history['loss'][-1]:.3f}, validation accuracy {history['val_accuracy'][-1]:.3f}")
loss_at_end = {name: h["loss"][-1] for name, h in digit_histories.items()}
assert loss_at_end["momentum 0.9, η = 0.01"] < 0.25 * loss_at_end["SGD, η = 0.01"]
assert loss_at_end["Adam, η = 0.001"] < 0.5 * loss_at_end["SGD, η = 0.01"]
assert max(loss_at_end, key=loss_at_end.get) == "SGD, η = 0.01"            # plain SGD is slowest
assert all(h["val_accuracy"][-1] > 0.93 for name, h in digit_histories.items() if name != "SGD, η = 0.01")
assert digit_histories["SGD, η = 0.01"]["val_accuracy"][-1] > 0.85

# %% [markdown]
# Plain SGD at this learning rate is by far the slowest (above 85 % validation accuracy, still climbing);
# all the others pass 93 %. Momentum brings SGD's final loss down by more than a factor of four, and the
# adaptive methods work well at their default rates. On a problem this small the differences among the
# better ones are modest. (They are often larger for deep networks and badly scaled gradients, where a
# per-coordinate step size helps more; this notebook does not measure that.)

# %% [markdown]
# ## 6. Batch size and learning rate
#
# **Batch size.** The minibatch gradient is an average over $B$ examples: an unbiased but noisy estimate
# of the full gradient, with noise shrinking like $1/\sqrt{B}$. One epoch makes $\lceil N/B \rceil$ updates,
# so small batches make many noisy steps per epoch, large batches few accurate ones. We plot the
# validation loss against epochs and against the number of updates (plain SGD, $\eta = 0.05$).

# %%
batch_histories = {}
for batch_size in [8, 32, 128, len(Xd_train)]:
    net = mlp()
    history = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=0.05)).fit(
        Xd_train, yd_train, epochs=10, batch_size=batch_size, validation_data=(Xd_val, yd_val), progress=False)
    updates_per_epoch = int(np.ceil(len(Xd_train) / batch_size))
    batch_histories[batch_size] = (updates_per_epoch * np.arange(1, 11), history["val_loss"])

fig, axes = plt.subplots(1, 2, figsize=(13, 4))
for batch_size, (updates, val_loss) in batch_histories.items():
    label = f"B = {batch_size}" + (" (full batch)" if batch_size == len(Xd_train) else "")
    axes[0].semilogy(np.arange(1, 11), val_loss, "o-", label=label)
    axes[1].loglog(updates, val_loss, "o-", label=label)
axes[0].set(xlabel="epoch", ylabel="validation loss")
axes[1].set(xlabel="number of updates", ylabel="validation loss")
axes[1].legend()
plt.show()

val_after_10_epochs = {b: v[-1] for b, (_, v) in batch_histories.items()}
print("validation loss after 10 epochs:", {b: round(v, 3) for b, v in val_after_10_epochs.items()})
sizes = sorted(val_after_10_epochs)
assert all(val_after_10_epochs[a] < val_after_10_epochs[b] for a, b in zip(sizes, sizes[1:])), (  # per epoch: small wins
    f"expected the validation loss to grow with the batch size at η = 0.05; got {val_after_10_epochs} {TRY_IT}")
# per update, the batch size hardly matters here: B = 128 after its 110 updates (10 epochs) vs
# B = 32 after 129 updates (3 epochs), and the full batch after 10 updates vs B = 128 after 11 (1 epoch)
(u128, v128), (u32, v32), (u_full, v_full) = batch_histories[128], batch_histories[32], batch_histories[len(Xd_train)]
print(f"B = 128 after {u128[-1]} updates: {v128[-1]:.3f};  B = 32 after {u32[2]} updates: {v32[2]:.3f}")
print(f"full batch after {u_full[-1]} updates: {v_full[-1]:.3f};  B = 128 after {u128[0]} updates: {v128[0]:.3f}")
assert 1 / 1.5 < v128[-1] / v32[2] < 1.5 and 1 / 1.5 < v_full[-1] / v128[0] < 1.5, (
    f"expected about the same validation loss after about the same number of updates {TRY_IT}")


# %% [markdown]
# Per epoch, smaller batches win by far: more updates for the same pass over the data. Plotted against
# the number of updates (right), the curves lie on top of each other: at this learning rate an update
# helps about as much whether it averages 8 examples or all of them. So a large batch does not buy a
# better step here. What it buys is speed per example, because one matrix product over 256 examples
# costs far less than 256 separate ones (measured below), and a less noisy gradient, which tolerates
# a larger learning rate (measured at the end of this section). A batch of 32 to 256 is the usual compromise.

# %% tags=["timing"]
def fastest(functions, number=20, repeat=7):
    """Best time per call, in seconds, of each function: the timings of all functions are
    interleaved, so a burst of load on a shared machine slows each of them alike."""
    best = [np.inf] * len(functions)
    for _ in range(repeat):
        for i, fn in enumerate(functions):
            best[i] = min(best[i], timeit.timeit(fn, number=number) / number)
    return best


W = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
batch = Xd_train[:256]
# One BLAS thread: several threads for a product this small wait on each other on a busy machine,
# and that (not the arithmetic) would dominate the time.
with threadpool_limits(limits=1):
    one_product, separate = fastest([lambda: batch @ W, lambda: [row @ W for row in batch]])
print(f"one (256, 64) @ (64, 64) product: {one_product * 1e6:.0f} µs;  256 products of one row: {separate * 1e6:.0f} µs")
assert separate > 3 * one_product, (
    f"expected 256 one-row products to take over 3x one batched product (measured 60-150x); "
    f"got {separate / one_product:.1f}x")

# %% [markdown]
# **Learning rate.** The quadratic of section 4 shows the hard limit. Along a direction of curvature $\lambda$,
# one SGD step multiplies the distance to the minimum by $(1 - \eta\lambda)$, so it shrinks only if
# $\eta < 2/\lambda_{max}$, here $2/20 = 0.1$:

# %%
below, above = optimize(lambda ps: mf.SGD(ps, lr=0.09), steps=30), optimize(lambda ps: mf.SGD(ps, lr=0.11), steps=30)
print(f"η = 0.09: f = {f(below[-1]):.2e} after 30 steps;  η = 0.11: f = {f(above[-1]):.2e}")
assert f(below[-1]) < f(start) and f(above[-1]) > 100 * f(start)

# %% [markdown]
# On the digits we cannot compute $\lambda_{max}$ easily, so we sweep: the final validation loss after 5 epochs
# of plain SGD, for rates from $10^{-4}$ to 3.

# %%
rates = [1e-4, 1e-3, 1e-2, 1e-1, 0.5, 1.0, 3.0]
sweep = {}
for lr in rates:
    net = mlp()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            history = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=lr)).fit(
                Xd_train, yd_train, epochs=5, batch_size=32, validation_data=(Xd_val, yd_val), progress=False)
        sweep[lr] = (history["loss"][0], history["val_loss"][-1])
    except FloatingPointError as error:  # minifw stops when the loss is no longer finite
        print(f"lr = {lr}: {error}")
        sweep[lr] = (np.nan, np.inf)

finite = [lr for lr in rates if np.isfinite(sweep[lr][1])]
plt.semilogx(finite, [sweep[lr][1] for lr in finite], "o-")
plt.xlabel("learning rate")
plt.ylabel("validation loss after 5 epochs")
plt.title("too small: no progress; too large: unstable, then divergent")
plt.grid(alpha=0.3, which="both")
plt.show()

best = min(sweep, key=lambda lr: sweep[lr][1])
print("best learning rate:", best, {lr: round(v, 3) for lr, (_, v) in sweep.items()})
assert sweep[1e-4][1] > 0.95 * sweep[1e-4][0]           # η = 1e-4: hardly moves in 5 epochs
assert best in (0.1, 0.5)
assert sweep[1.0][1] > 3 * sweep[best][1]               # η = 1: the loss jumps around
assert np.isinf(sweep[3.0][1])                          # η = 3: diverged

# %% [markdown]
# The curve has the typical U shape, on a log scale: the good rates span a range, but a factor of ten
# too small or too large costs a lot. A practical recipe: sweep over powers of ten for a few epochs, take
# the best, then refine or add a schedule.
#
# ### Batch size and learning rate together
#
# The best rate depends on the batch size. With the same 10 epochs, a batch of 256 makes 16 times fewer
# updates than a batch of 16, each with a less noisy gradient: it needs, and tolerates, a larger rate.

# %%
tradeoff, models = {}, {}
for batch_size in [16, 256]:
    for lr in [0.03, 0.3, 1.0]:
        net = mlp()
        models[batch_size, lr] = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=lr))
        with np.errstate(over="ignore", invalid="ignore"):
            history = models[batch_size, lr].fit(Xd_train, yd_train, epochs=10, batch_size=batch_size,
                                                  validation_data=(Xd_val, yd_val), progress=False)
        tradeoff[batch_size, lr] = history["val_loss"][-1]
for batch_size in [16, 256]:
    print(f"B = {batch_size:3d}: validation loss after 10 epochs",
          {lr: f"{tradeoff[batch_size, lr]:.3g}" for lr in [0.03, 0.3, 1.0]})
best_lr = {b: min([0.03, 0.3, 1.0], key=lambda lr: tradeoff[b, lr]) for b in [16, 256]}
assert best_lr == {16: 0.3, 256: 1.0}, f"expected the best rate 0.3 for B = 16 and 1.0 for B = 256; got {best_lr}"
assert tradeoff[16, 1.0] > 10 * tradeoff[16, 0.3] and tradeoff[256, 1.0] < 0.1   # η = 1: too large for B = 16 only

# %% [markdown]
# A common rule of thumb, the *linear scaling rule* (Goyal et al., 2017), scales the rate with the batch
# size, within the range where training stays stable.
#
# Is a large batch also worse for **generalization**? For large networks, Keskar et al. (2017) found
# that large-batch training reached the same training loss but a worse test loss, the *large-batch
# generalization gap*; later work (Hoffer et al., 2017) closed most of it by training longer with a
# larger rate. We measure it here: the batch of 256 at $\eta = 1$ continues until its training loss
# matches the one the batch of 16 reached at $\eta = 0.3$, then we compare the validation losses.

# %%
small = models[16, 0.3]
large = models[256, 1.0]
large.fit(Xd_train, yd_train, epochs=40, batch_size=256, progress=False)   # 50 epochs in all
gap = {name: (m.evaluate(Xd_train, yd_train)["loss"], m.evaluate(Xd_val, yd_val)["loss"])
       for name, m in [("B = 16, 10 epochs", small), ("B = 256, 50 epochs", large)]}
for name, (train_loss, val_loss) in gap.items():
    print(f"{name}: training loss {train_loss:.4f}, validation loss {val_loss:.4f}")
(train_small, val_small), (train_large, val_large) = gap.values()
assert 0.5 < train_large / train_small < 2, f"expected similar training losses; got {train_small:.4f}, {train_large:.4f}"
assert abs(val_large / val_small - 1) < 0.2, f"expected validation losses within 20 %; got {val_small:.4f}, {val_large:.4f}"

# %% [markdown]
# On this small problem the gap is practically absent: at the same training loss the two validation
# losses differ by less than 20 %. It shows up with large networks and batches of thousands, and even
# there a suitable rate and enough updates shrink it.

# %% [markdown]
# ## Try it
#
# A changed setting can make an `assert` fail: that is part of the experiment, not a bug. The
# message says what the text expected for the original settings, and what came instead.
#
# 1. Add an outlier of 1000 to `targets` in section 1. How far do the MSE and MAE minima move?
# 2. Train the raw-feature logistic regression with `mf.Adam(..., lr=0.1)`. Does Adam's per-coordinate
#    step size cope with the badly scaled features? Compare with the condition number argument.
# 3. Use `mf.MinMaxScaler()` instead of `mf.StandardScaler()` for the tumours. Does the clinic mistake
#    still hurt?
# 4. Put a `CyclicLR` on the digits run of section 3 (it is stepped once per epoch by the callback, so
#    use `step_size_up=2`). What does the loss curve look like?
# 5. Rotate the quadratic of section 4 by 45° (use the gradient of $\frac12\theta^\top A\theta$ with a
#    non-diagonal $A$). Why do Adagrad, RMSprop and Adam lose their advantage?
# 6. Double the batch size and the learning rate together in section 6. Does the loss per epoch stay
#    about the same?
#
# **Next:** `07-why-frameworks.ipynb`: every gradient so far came from hand-written backward passes;
# next we let the computer derive them.

# %% [markdown]
# ## Review questions
#
# 1. Which constant prediction minimizes the MSE, and which the MAE? What does that say about outliers?
#    <details><summary>Answer</summary>
#
#    The mean for the MSE, the median for the MAE. One outlier drags the mean (and an MSE fit) far away, while the median (and an MAE fit) stays put.
#
#    </details>
#
# 2. Why must a scaler be fitted on the training data only?
#    <details><summary>Answer</summary>
#
#    It is part of the model: its statistics must come from training data and be applied unchanged to everything else. Fitting it on new data maps the same raw value to different inputs, and fitting it on data that includes the test set lets the test set shape the training.
#
#    </details>
#
# 3. When is a binary classifier with a 2-output softmax the same as one with a single sigmoid output, and when is the softmax wrong?
#    <details><summary>Answer</summary>
#
#    Always the same: $\mathrm{softmax}(z_0, z_1)_1 = \sigma(z_1 - z_0)$, same loss, same decision. The softmax is wrong for multi-label problems, where several classes can be true at once: use one sigmoid and binary cross-entropy per label.
#
#    </details>
#
# 4. Why is RMSprop's first step ten times its learning rate, while Adam's first step is exactly $\eta$?
#    <details><summary>Answer</summary>
#
#    RMSprop starts from $v_0 = 0$ without bias correction, so $v_1 = (1 - \alpha) g_1^2$ and the step is $\eta / \sqrt{1 - \alpha} = 10\eta$ for $\alpha = 0.99$. Adam divides $m_t$ and $v_t$ by $1 - \beta^t$, so $\hat m_1 = g_1$, $\hat v_1 = g_1^2$, and the step is $\eta$ in each coordinate.
#
#    </details>
#
# 5. How do batch size and learning rate interact?
#    <details><summary>Answer</summary>
#
#    A larger batch makes fewer, less noisy updates per epoch: it needs and tolerates a larger rate (here $\eta = 1$ trains a batch of 256 but blows up a batch of 16). Per update, the batch size matters little; per epoch, small batches win.
#
#    </details>
#
# 6. What is the learning-rate limit on a quadratic, and how do you find a good rate in practice?
#    <details><summary>Answer</summary>
#
#    SGD converges only if $\eta < 2/\lambda_{max}$, the largest curvature. In practice, sweep powers of ten for a few epochs, take the best, then refine or add a schedule.
#
#    </details>
