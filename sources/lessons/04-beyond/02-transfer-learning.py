# %% [markdown] track="pytorch"
# # 04·02 · Transfer learning in PyTorch
#
# Training a network needs many labelled examples. Often you have few for the task you care
# about, but many for a related one. **Transfer learning** learns weights on a task T, transfers
# them to the new task, and either **freezes** them (only a new output layer learns) or
# **fine-tunes** them (everything keeps learning, gently). This notebook does all three variants,
# offline, on the 28×28 MNIST sample, and measures when transfer helps.

# %% [markdown] track="tensorflow"
# # 04·02 · Transfer learning in Keras
#
# Training a network needs many labelled examples. Often you have few for the task you care
# about, but many for a related one. **Transfer learning** learns weights on a task T, transfers
# them to the new task, and either **freezes** them (only a new output layer learns) or
# **fine-tunes** them (everything keeps learning, gently). This notebook does all three variants,
# offline, on the 28×28 MNIST sample, and measures when transfer helps.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - pretrain a network on one task and reuse its hidden layers for another;
# - freeze layers (and check that frozen weights did not move) or fine-tune them;
# - compare training from scratch, a frozen feature extractor and fine-tuning over several seeds,
#   and report what you measure even when transfer loses;
# - say when transfer works (similar tasks *and* general features) and how it is done with real
#   pretrained models.

# %% track="pytorch"
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import minifw as mf

torch.set_num_threads(1)
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch", torch.__version__, "| device:", device)

# %% track="tensorflow"
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers

import minifw as mf

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| GPUs:", len(tf.config.list_physical_devices("GPU")))

# %% [markdown]
# ## 1. Two related tasks
#
# Task **T** (the source): tell apart the digits 0–4, with all 2500 of their images. The new task
# (the target): tell apart the digits 5–9, with only **10 labelled images per digit**. The other
# images of 5–9 are the target's test set. Both tasks are handwritten digits, so strokes, loops
# and edges learned on one are useful for the other.

# %%
X, y = mf.datasets.load_mnist_sample()
source = y < 5
X_src, y_src = X[source], y[source]
X_tgt, y_tgt = X[~source], y[~source] - 5  # labels 0..4 for the digits 5..9
SHOTS = 10


def few_shot_split(seed: int):
    """SHOTS training images per target class, chosen with `seed`; every other target image for testing."""
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.choice(np.flatnonzero(y_tgt == c), SHOTS, replace=False) for c in range(5)])
    test = np.setdiff1d(np.arange(len(y_tgt)), train)
    return X_tgt[train], y_tgt[train], X_tgt[test], y_tgt[test]


print("source task (digits 0-4):", X_src.shape, "| target task (digits 5-9):", X_tgt.shape)
assert len(X_src) == 2500 and len(few_shot_split(0)[0]) == 5 * SHOTS


# %% [markdown]
# ## 2. Pretraining on the source task
#
# A body of two hidden layers (784 → 256 → 128, ReLU) with a 5-way output head, trained for
# three epochs on the 2500 source images.

# %% track="pytorch"
def body() -> nn.Sequential:
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())


def train(model, X_fit, y_fit, epochs, lr, batch_size=64, seed=0):
    """Adam on the parameters that require gradients."""
    model.to(device)
    X_t, y_t = torch.tensor(X_fit).to(device), torch.tensor(y_fit).to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(X_t), generator=generator).split(batch_size):
            loss = nn.functional.cross_entropy(model(X_t[idx]), y_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


@torch.no_grad()
def accuracy(model, X_eval, y_eval) -> float:
    model.eval()
    return (model(torch.tensor(X_eval).to(device)).argmax(1).cpu().numpy() == y_eval).mean()


torch.manual_seed(0)
pretrained = train(nn.Sequential(body(), nn.Linear(128, 5)), X_src, y_src, epochs=3, lr=1e-3)
print(f"source task, training accuracy: {accuracy(pretrained, X_src, y_src):.3f}")
pretrained_body = pretrained[0]


# %% track="tensorflow"
def body() -> keras.Sequential:
    return keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"),
                             layers.Dense(128, activation="relu")])


def train(model, X_fit, y_fit, epochs, lr, batch_size=64, seed=0):
    """Adam on the trainable weights."""
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.optimizer.build(model.trainable_variables)  # its slots now: fit then traces its step once, not twice
    data = tf.data.Dataset.from_tensor_slices((X_fit, y_fit)).shuffle(len(X_fit), seed=seed).batch(batch_size)
    model.fit(data, epochs=epochs, verbose=0, shuffle=False)
    return model


def accuracy(model, X_eval, y_eval) -> float:
    return float(np.mean(np.argmax(model(X_eval, training=False).numpy(), axis=1) == y_eval))


keras.utils.set_random_seed(0)
pretrained_body = body()
pretrained = train(keras.Sequential([pretrained_body, layers.Dense(5)]), X_src, y_src, epochs=3, lr=1e-3)
print(f"source task, training accuracy: {accuracy(pretrained, X_src, y_src):.3f}")


# %% [markdown]
# ## 3. Three ways to learn the target task from 50 images
#
# - **From scratch**: a new network with random weights, trained on the 50 images.
# - **Frozen**: a copy of the pretrained body whose weights do not change (PyTorch:
#   `requires_grad_(False)`; Keras: `layer.trainable = False`), and a new 5-way head: only the
#   head's $128 \cdot 5 + 5 = 645$ weights learn.
# - **Fine-tuned**: a copy of the pretrained body and a new head, all trained, with a ten times
#   smaller learning rate so that the transferred weights move only a little.
#
# Each runs on three different draws of the 50 images (seeds 0, 1, 2).

# %% track="pytorch"
def from_scratch(seed):
    torch.manual_seed(seed)
    return nn.Sequential(body(), nn.Linear(128, 5)), 1e-3


def frozen(seed):
    torch.manual_seed(seed)
    features = copy.deepcopy(pretrained_body).requires_grad_(False)
    return nn.Sequential(features, nn.Linear(128, 5)), 1e-3


def fine_tuned(seed):
    torch.manual_seed(seed)
    return nn.Sequential(copy.deepcopy(pretrained_body), nn.Linear(128, 5)), 1e-4


def body_weights(model) -> list[np.ndarray]:
    return [p.detach().cpu().numpy().copy() for p in model[0].parameters()]


# %% track="tensorflow"
def copy_of_pretrained_body():
    features = body()
    features.set_weights(pretrained_body.get_weights())
    return features


def from_scratch(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([body(), layers.Dense(5)]), 1e-3


def frozen(seed):
    keras.utils.set_random_seed(seed)
    features = copy_of_pretrained_body()
    features.trainable = False  # set before compile: compile records what is trainable
    return keras.Sequential([features, layers.Dense(5)]), 1e-3


def fine_tuned(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([copy_of_pretrained_body(), layers.Dense(5)]), 1e-4


def body_weights(model) -> list[np.ndarray]:
    return [w.copy() for w in model.layers[0].get_weights()]


# %%
SEEDS = (0, 1, 2)
results = {"from scratch": [], "frozen": [], "fine-tuned": []}
for seed in SEEDS:
    X_few, y_few, X_test, y_test = few_shot_split(seed)
    for name, make in (("from scratch", from_scratch), ("frozen", frozen), ("fine-tuned", fine_tuned)):
        model, lr = make(seed)
        before = body_weights(model)
        train(model, X_few, y_few, epochs=30, lr=lr, batch_size=10, seed=seed)
        after = body_weights(model)
        if name == "frozen":
            assert all(np.array_equal(a, b) for a, b in zip(before, after)), "frozen weights must not move"
        else:
            assert not all(np.array_equal(a, b) for a, b in zip(before, after)), "trained weights must move"
        results[name].append(accuracy(model, X_test, y_test))

for name, accs in results.items():
    print(f"{name:>12}: test accuracy {np.mean(accs):.3f} (seeds: {', '.join(f'{a:.3f}' for a in accs)})")
means = {name: np.mean(accs) for name, accs in results.items()}
assert means["from scratch"] > means["fine-tuned"] + 0.03 > means["frozen"] + 0.06, (
    "measured with these settings: from scratch > fine-tuned > frozen, each by more than 3 points")

plt.figure(figsize=(5.5, 3))
for i, (name, accs) in enumerate(results.items()):
    plt.scatter([i] * len(accs), accs, color=f"C{i}")
    plt.hlines(np.mean(accs), i - 0.2, i + 0.2, color=f"C{i}")
plt.xticks(range(3), list(results))
plt.ylabel("test accuracy on digits 5-9")
plt.title("50 labelled images: three seeds each")
plt.show()

# %% [markdown]
# The honest result surprises many: **here transfer does not help**. Training from scratch on the
# 50 images wins, fine-tuning comes second, and the frozen body is clearly worst. (The check
# inside the loop confirmed that the frozen weights did not move at all, while the other two
# bodies changed.) Why? The body was trained for one narrow job, telling 0–4 apart, and a small
# network keeps only the features that job needs: "has a closed loop at the bottom" separates 0
# from 1–4 but says little about 5 versus 8. A linear head on top of those features cannot
# recover what the body threw away; fine-tuning can, partly, and the learning rate small enough
# to protect the transferred weights also slows that repair. Meanwhile 50 clean digits are
# already enough for a fresh network to reach about 80 %.
#
# So "the tasks are similar" is not enough: the **features** must be general. Transfer pays off
# when the source task is broad and large, so that its features describe almost any input of the
# domain (edges, textures and parts learned from ImageNet's 1000 classes and millions of images),
# and the target has few labels (not measured here: it needs such a model, see section 4). With
# narrow sources it can even hurt, as here ("negative transfer"). A related idea,
# **meta-learning**, trains on many small tasks so that a model learns *how to learn* a new task
# from a few examples.
#
# ## 4. At home: real pretrained models
#
# Real transfer learning starts from a large model trained on millions of images (ImageNet).
# Both frameworks ship such models with downloadable weights. The code below is what you would
# run on your own machine; it is not executed here, because it downloads the weights.

# %% [markdown] track="pytorch"
# ```python
# import torchvision  # pip install torchvision (matching your torch version)
#
# weights = torchvision.models.ResNet18_Weights.DEFAULT
# model = torchvision.models.resnet18(weights=weights)    # downloads ~45 MB once
# model.requires_grad_(False)                             # freeze the whole body
# model.fc = torch.nn.Linear(model.fc.in_features, 10)    # new head for 10 classes: trainable
# preprocess = weights.transforms()                       # the resizing/normalization it was trained with
# # train as usual: only model.fc's parameters have requires_grad=True;
# # to fine-tune later, model.layer4.requires_grad_(True) and use a small learning rate.
# ```

# %% [markdown] track="tensorflow"
# ```python
# base = keras.applications.MobileNetV2(include_top=False, weights="imagenet",
#                                       input_shape=(224, 224, 3), pooling="avg")  # downloads once
# base.trainable = False                                  # freeze the whole body
# inputs = keras.Input((224, 224, 3))
# x = keras.applications.mobilenet_v2.preprocess_input(inputs)
# outputs = keras.layers.Dense(10)(base(x, training=False))  # new head for 10 classes
# model = keras.Model(inputs, outputs)
# # compile and fit as usual; to fine-tune later, set base.trainable = True,
# # compile again with a small learning rate, and fit a few more epochs.
# ```

# %% [markdown]
# ## Try it
#
# 1. Lower `SHOTS` to 2 per digit. Does transfer catch up with training from scratch?
# 2. Transfer only the first layer (784 → 256), which is less specialized than the second. Does
#    the frozen variant improve?
# 3. Train the frozen variant's head with a ten times larger learning rate (`1e-2`). How much of
#    its gap was an under-trained head?
# 4. Swap the tasks: pretrain on 5–9 and transfer to 0–4.
#
# Changing a setting can make an `assert` above fail: its message says what was expected for
# the settings in this notebook.

# %% [markdown]
# ## Review questions
#
# 1. What is the difference between freezing and fine-tuning?
#    <details><summary>Answer</summary>
#
#    Freezing keeps the transferred weights fixed and trains
#    only the new layers; fine-tuning trains the transferred weights too, usually with a small
#    learning rate.
#
#    </details>
# 2. Why does a new output layer have to be added?
#    <details><summary>Answer</summary>
#
#    The target task has its own classes; the source task's
#    output layer maps to the wrong ones (here to digits 0-4 instead of 5-9).
#
#    </details>
# 3. When does transfer learning help most, and why did it not help here?
#    <details><summary>Answer</summary>
#
#    When the target has few labels and the source task is
#    broad enough that its features are general. Here the body learned features for 0-4 only,
#    too specific for 5-9, so a fresh network on 50 images did better (negative transfer).
#
#    </details>
# 4. How did this notebook check that freezing worked?
#    <details><summary>Answer</summary>
#
#    It copied the body's weights before and after training
#    and asserted they were exactly equal, and that the other variants' bodies changed.
#
#    </details>
