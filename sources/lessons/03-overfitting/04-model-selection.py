# %% [markdown]
# # 03·04 · The design loop and model selection
#
# The previous lessons fixed an architecture and then trained it. In practice you do not know
# the architecture in advance: how many layers, how many units, which activation, which
# learning rate? This notebook turns the choice into a small, honest experiment loop with
# minifw on the 28×28 MNIST sample, and shows where the test set belongs in it.
#
# ## Objectives
# After this notebook you can
#
# - describe the design loop (data first, then architecture, then train, evaluate, iterate) and
#   why intuitions from one domain do not transfer to another;
# - split data into training, validation and test parts, and explain why the test set is
#   touched once;
# - run a random search over architectures and learning rates on the validation split, with every
#   run logged to a file that you read back, compare and plot;
# - retrain the chosen configuration and report its test score once;
# - see that the choice itself varies with the seed, and name the tools ("MLOps") that automate
#   this loop.

# %%
import csv
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minifw as mf

X, y = mf.datasets.load_mnist_sample()
print("images", X.shape, X.dtype, "labels", np.bincount(y))
assert X.shape == (5000, 784) and np.all(np.bincount(y) == 500)

# %% [markdown]
# ## 1. The design loop
#
# Building a network is a loop, not a recipe:
#
# 1. **Data.** Decide what goes in and what comes out, collect it, and split it (section 2).
# 2. **Architecture.** Number of layers, units per layer, activations, output layer and loss
#    (softmax with cross-entropy for classes, a linear output with MSE for numbers).
# 3. **Train** with an optimizer and a learning rate, watching the training and validation curves.
# 4. **Evaluate** on the validation split, change one thing, and go back to 2 (or to 1: more or
#    cleaner data often beats a cleverer network).
#
# The settings that worked for images rarely work unchanged for text, speech or tabular data,
# and even within images they depend on the data set's size and noise: intuitions do not
# transfer between domains. So the loop must be *fast*: small models and short runs first, and
# every run written down so that you compare numbers, not memories.
#
# ## 2. Training, validation and test data
#
# - The **training** set fits the weights.
# - The **validation** set chooses everything the training cannot: the architecture, the
#   learning rate, the regularization, when to stop. Each choice looks at it, so its score
#   slowly stops being an unbiased estimate.
# - The **test** set is looked at **once**, at the very end, to report how the chosen model does
#   on data that influenced nothing.
#
# We keep 1000 images for validation and 1000 for testing, with the ten digits in equal shares.
# To keep the search fast, the runs below train on 2000 of the 3000 training images.

# %%
X_tr, X_val, X_te, y_tr, y_val, y_te = mf.train_val_test_split(X, y, val_size=1000, test_size=1000, seed=0)
print("train", X_tr.shape, "validation", X_val.shape, "test", X_te.shape)
assert (len(X_tr), len(X_val), len(X_te)) == (3000, 1000, 1000)
X_search, y_search = X_tr[:2000], y_tr[:2000]
for part in (y_val, y_te):
    assert np.all(np.abs(np.bincount(part, minlength=10) - 100) <= 1), "stratified: 100 ± 1 images per digit"

# %% [markdown]
# Why only once? Every look at a score is a chance to pick what happened to fit *that* data.
# An extreme case makes this visible: 200 "models" that guess a digit at random are each right
# 10 % of the time on new data. Score them on a small test set of 100 images and keep the best:

# %%
rng = np.random.default_rng(0)
y_small_test, y_fresh = y_te[:100], y_te[100:]
guessers = rng.integers(0, 10, size=(200, len(y_te)))  # each row: one "model"'s answers for every test image
scores = (guessers[:, :100] == y_small_test).mean(axis=1)
best = int(np.argmax(scores))
fresh = (guessers[best, 100:] == y_fresh).mean()
print(f"best of 200 on the 100-image test set: {scores[best]:.0%}; the same model on 900 fresh images: {fresh:.0%}")
assert scores[best] >= 0.18 and abs(fresh - 0.1) < 0.04, "expected a lucky ~20 % that falls back to ~10 %"

# %% [markdown]
# The best random guesser scores about twice its true accuracy on the set it was chosen on and
# falls back to 10 % on fresh data. Choosing an architecture by its test score does the same,
# only less visibly. That is what the validation split is for.
#
# ## 3. Random search on the validation split
#
# Grid search tries every combination of a few values per setting; random search draws each
# setting at random. With the same budget, random search tries more distinct values of the
# settings that matter (often the learning rate), so it usually finds good regions sooner
# (Bergstra and Bengio, 2012). We draw the depth (1 or 2 hidden layers), the width
# (16 to 128 units), the activation and the learning rate of Adam on a log scale between
# $10^{-4}$ and $10^{-1.5}$, train each configuration for a few epochs, and **log every run**
# to a CSV file as it finishes.

# %%
EPOCHS, TRIALS = 3, 6
LOGS = Path("logs") / "model-selection"
LOGS.mkdir(parents=True, exist_ok=True)


def sample_config(rng: np.random.Generator) -> dict:
    return {"depth": int(rng.integers(1, 3)), "width": int(rng.choice([16, 32, 64, 128])),
            "activation": str(rng.choice(["relu", "tanh"])), "lr": float(10 ** rng.uniform(-4, -1.5))}


def build(config: dict, seed: int) -> mf.Sequential:
    activation = {"relu": mf.ReLU, "tanh": mf.Tanh}[config["activation"]]
    layers, n_in = [], 784
    for i in range(config["depth"]):
        layers += [mf.Linear(n_in, config["width"], seed=seed + i), activation()]
        n_in = config["width"]
    return mf.Sequential(*layers, mf.Linear(n_in, 10, seed=seed + 99))


def train(config: dict, seed: int, X_fit, y_fit, epochs: int = EPOCHS):
    net = build(config, seed)
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=config["lr"]))
    history = model.fit(X_fit, y_fit, epochs=epochs, batch_size=64, validation_data=(X_val, y_val),
                        progress=False, seed=seed)
    return model, history


def search(seed: int, trials: int = TRIALS) -> Path:
    """Random search: `trials` configurations drawn with `seed`, each run appended to a CSV log."""
    rng = np.random.default_rng(seed)
    path = LOGS / f"search-seed{seed}.csv"
    fields = ["trial", "depth", "width", "activation", "lr", "train_accuracy", "val_accuracy", "val_loss", "seconds"]
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        for trial in range(trials):
            config = sample_config(rng)
            start = time.perf_counter()
            _, history = train(config, seed=1000 * seed + 10 * trial, X_fit=X_search, y_fit=y_search)
            writer.writerow({"trial": trial, **config, "train_accuracy": history["accuracy"][-1],
                             "val_accuracy": history["val_accuracy"][-1], "val_loss": history["val_loss"][-1],
                             "seconds": time.perf_counter() - start})
            file.flush()  # a run that crashes later still leaves the earlier ones on disk
    return path


def read_runs(path: Path) -> list[dict]:
    """The logged runs, numbers parsed back from the CSV text."""
    parse = {"trial": int, "depth": int, "width": int, "activation": str}
    with path.open(newline="") as file:
        return [{k: parse.get(k, float)(v) for k, v in row.items()} for row in csv.DictReader(file)]


log_0 = search(seed=0)
runs = read_runs(log_0)
print(f"{log_0}: {len(runs)} runs")
print(f"{'trial':>5} {'depth':>5} {'width':>5} {'act':>5} {'lr':>9} {'train acc':>9} {'val acc':>8} {'s':>5}")
for r in sorted(runs, key=lambda r: -r["val_accuracy"]):
    print(f"{r['trial']:5d} {r['depth']:5d} {r['width']:5d} {r['activation']:>5} {r['lr']:9.2e} "
          f"{r['train_accuracy']:9.3f} {r['val_accuracy']:8.3f} {r['seconds']:5.1f}")
assert len(runs) == TRIALS and all(0 <= r["val_accuracy"] <= 1 for r in runs)

# %% [markdown]
# The log is the record of the experiment: the notebook read the table back from the file, not
# from memory, so the same table can be compared with tomorrow's runs or loaded by another tool.
# A plot shows what mattered:

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for depth, marker in ((1, "o"), (2, "s")):
    rows = [r for r in runs if r["depth"] == depth]
    points = ax.scatter([r["lr"] for r in rows], [r["val_accuracy"] for r in rows], marker=marker,
                        s=[r["width"] / 2 for r in rows], c=[r["activation"] == "relu" for r in rows],
                        cmap="coolwarm", vmin=0, vmax=1, label=f"{depth} hidden layer{'s' * (depth > 1)}")
ax.set(xscale="log", xlabel="learning rate (log scale)", ylabel="validation accuracy",
       title="random search: size = width, red = ReLU, blue = tanh")
ax.legend()
plt.show()

lrs = np.array([r["lr"] for r in runs])
val_acc = np.array([r["val_accuracy"] for r in runs])
spread = val_acc.max() - val_acc.min()
print(f"validation accuracy from {val_acc.min():.3f} to {val_acc.max():.3f}")
print("the two smallest learning rates reach", np.round(val_acc[np.argsort(lrs)[:2]], 3))
assert spread > 0.05, "expected the configurations to differ by more than 5 points"
assert val_acc[np.argsort(lrs)[:2]].max() < val_acc.max(), "expected the smallest learning rates not to win"

# %% [markdown]
# In three epochs the learning rate decides more than the architecture: the smallest rates
# have not got far yet, while the configurations in the middle of the range are close to each
# other. That is typical, and a reason to search the learning rate on a log scale.
#
# ## 4. Retrain the winner, test it once
#
# The winner is retrained on training **and** validation data (more data, same settings), and
# then, for the first and only time, evaluated on the test split.

# %%
winner = max(runs, key=lambda r: r["val_accuracy"])
config = {k: winner[k] for k in ("depth", "width", "activation", "lr")}
print("chosen:", config, f"(validation accuracy {winner['val_accuracy']:.3f})")
final, _ = train(config, seed=7, X_fit=np.concatenate([X_tr, X_val]), y_fit=np.concatenate([y_tr, y_val]))
test = final.evaluate(X_te, y_te)
print(f"test accuracy of the chosen configuration: {test['accuracy']:.3f}")
assert test["accuracy"] > 0.88, "expected the chosen configuration to classify > 88 % of the test digits"

# %% [markdown]
# This test accuracy is the number to report. If you now went back and changed the
# architecture because of it, the test set would become a second validation set, and you
# would need a new one.
#
# ## 5. The choice itself is noisy
#
# Run the same search with another seed: other configurations are drawn, and the networks start
# from other weights. Does the same kind of configuration win?

# %%
runs_1 = read_runs(search(seed=1))
winner_1 = max(runs_1, key=lambda r: r["val_accuracy"])
for name, w in (("seed 0", winner), ("seed 1", winner_1)):
    print(f"{name}: depth {w['depth']}, width {w['width']}, {w['activation']}, lr {w['lr']:.2e} "
          f"-> validation accuracy {w['val_accuracy']:.3f}")
gap = abs(winner["val_accuracy"] - winner_1["val_accuracy"])
print(f"the winners' validation accuracies differ by {gap:.3f}")
assert gap < 0.03, "expected both searches to reach a similar best accuracy"
same = all(winner[k] == winner_1[k] for k in ("depth", "width", "activation"))
assert not same, "with these seeds the two searches pick different architectures"

# %% [markdown]
# Both searches end within a few points of each other, with different architectures. Several
# configurations are about equally good, and which of them wins depends on the draw and on the
# noise of a 1000-image validation set (one image is 0.1 %). Do not read much into small
# differences: repeat the best few with several seeds before you believe a ranking, and report
# the spread.
#
# ## 6. What MLOps tools automate
#
# Everything above was done by hand in a few lines: sampling configurations, logging runs,
# reading logs back, choosing, retraining. Tools automate each part (named here, not installed):
#
# | job | tools |
# |---|---|
# | experiment tracking (parameters, metrics, curves, artifacts per run) | TensorBoard (its HParams dashboard), MLflow, Weights & Biases, Neptune |
# | hyper-parameter search (random, Bayesian, early stopping of bad runs) | Optuna, Ray Tune, KerasTuner, Hyperopt |
# | data and model versioning | DVC, MLflow Model Registry, Hugging Face Hub |
# | pipelines and deployment | Kubeflow, Airflow, TFX, Lightning's CLI and Fabric, BentoML |
#
# They do not change the principles: decide on validation data, log everything, touch the test
# set once.
#
# ## Try it
#
# 1. Raise `TRIALS` to 12 or `EPOCHS` to 6, or search on all 3000 training images. Does the winner change? Does the best validation
#    accuracy rise by more than the noise of section 5?
# 2. Add `"sigmoid"` to the activations (`mf.Sigmoid`). Where do its runs land in the plot?
# 3. Replace the random search by a grid over three learning rates and two widths (6 runs).
#    Which finds the better configuration with the same budget?
# 4. Choose the winner by its *test* accuracy instead, and compare its test score with that of
#    the validation winner. Why is this comparison itself unfair?
#
# Changing a setting can make an `assert` above fail: its message says what was expected for
# the settings in this notebook.

# %% [markdown]
# ## Review questions
#
# 1. What are the training, validation and test sets each used for?
#    <details><summary>Answer</summary>
#
#    Training fits the weights; validation chooses the
#    architecture, hyper-parameters and stopping point; test estimates, once, how the final
#    model does on data that influenced no decision.
#
#    </details>
# 2. Why does choosing among many models by their test score make that score optimistic?
#    <details><summary>Answer</summary>
#
#    Each score is the true accuracy plus noise; picking the
#    maximum picks the luckiest noise too, so the chosen score overstates the true accuracy
#    (section 2: a 10 % guesser scored about 20 %).
#
#    </details>
# 3. Why search the learning rate on a log scale?
#    <details><summary>Answer</summary>
#
#    Its effect depends on ratios: 1e-4 and 1e-3 differ as much
#    as 1e-3 and 1e-2. A linear scale would spend almost all trials near the top of the range.
#
#    </details>
# 4. Two searches picked different architectures with similar validation accuracy. What should
#    you conclude?
#    <details><summary>Answer</summary>
#
#    That the difference between them is within the noise: repeat
#    the best few with several seeds (or use a larger validation set) before ranking them.
#
#    </details>
# 5. Why retrain the winner on training plus validation data before testing?
#    <details><summary>Answer</summary>
#
#    The settings are fixed by then, so the validation data is no
#    longer needed for choosing and can help fit the weights; more data usually gives a better model.
#
#    </details>
