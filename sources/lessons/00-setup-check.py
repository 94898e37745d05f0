# %% [markdown]
# # 00 · Setup check
#
# Run this notebook first (**Run → Run All Cells**).
#
# ## Objectives
# After this notebook you know that
#
# - the packages of the course import, at the versions the course was tested with;
# - PyTorch and TensorFlow see the device they will use (a GPU if you have one, else the CPU);
# - progress bars (widgets) render in your JupyterLab;
# - `minifw`, the framework you will read and extend, trains a tiny network.
#
# If a cell fails, the message says what is missing; `make lab` (or `pip install -e ".[all]"`) installs it.

# %%
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up log quiet

import sys
from importlib.metadata import version

import numpy as np

print("Python", sys.version.split()[0])
for package in ["numpy", "matplotlib", "scikit-learn", "torch", "lightning", "torchmetrics", "keras", "minifw"]:
    name = "nn-course" if package == "minifw" else package
    print(f"{package:>14} {version(name)}")
assert sys.version_info[:2] == (3, 11), "the course is tested with Python 3.11"

# %% [markdown]
# ## Devices
# PyTorch picks `cuda` (NVIDIA GPU), `mps` (Apple silicon) or the CPU; TensorFlow lists what it sees.

# %%
import torch

device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("PyTorch device:", device)
x = torch.ones(2, 3, device=device)
assert float((x @ x.T).sum()) == 12.0

import tensorflow as tf

print("TensorFlow", tf.__version__, "devices:", [d.device_type for d in tf.config.list_physical_devices()])
assert float(tf.reduce_sum(tf.ones((2, 3)))) == 6.0

# %% [markdown]
# ## Widgets
# JupyterLab draws progress bars and other interactive outputs as *widgets*: `ipywidgets` runs in
# the kernel, JupyterLab's widget extension (the package `jupyterlab_widgets`) draws them in the
# page. They must be versions that work together: ipywidgets 8 with jupyterlab_widgets 3, in
# JupyterLab 3 or later. minifw's progress bar comes from `tqdm.auto`, which picks the widget bar
# only when `ipywidgets` imports (otherwise it warns "IProgress not found" and prints text).

# %%
import ipywidgets  # noqa: F401  (the import is the check)
import tqdm.auto
import tqdm.notebook

widgets = {name: version(name) for name in ["ipywidgets", "jupyterlab_widgets", "jupyterlab"]}
print(widgets)
major = {name: int(v.split(".")[0]) for name, v in widgets.items()}
assert major["ipywidgets"] == 8 and major["jupyterlab_widgets"] == 3 and major["jupyterlab"] >= 3, (
    f"JupyterLab draws ipywidgets 8 with jupyterlab_widgets 3 (JupyterLab 3 or later), found {widgets}: "
    "reinstall the pinned versions (make install), then restart JupyterLab")
assert issubclass(tqdm.auto.tqdm, tqdm.notebook.tqdm), "tqdm.auto chose a text bar: ipywidgets does not import here"

# %% [markdown]
# ## A tiny minifw fit
# Two moons, a 2-16-2 network, 30 epochs: the training accuracy should pass 95 %.
#
# Under the cell, minifw's progress bar fills up to `fit: 100%`, `30/30` epochs, with the last
# loss and accuracy. If you see `IProgress not found`, `Loading widget...` or a line of text such as
# `HBox(children=...)` instead of a bar, JupyterLab cannot draw widgets: stop it, run `make install`,
# start it again with `make lab` and reload the page.

# %%
import minifw as mf

X, y = mf.datasets.make_moons(400, noise=0.1, seed=0)
net = mf.Sequential(mf.Linear(2, 16, seed=0), mf.ReLU(), mf.Linear(16, 2, seed=1))
model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.02))
history = model.fit(X, y, epochs=30, batch_size=32)  # progress=True is the default: the bar
print(f"final training accuracy: {history['accuracy'][-1]:.3f}")
assert len(history["accuracy"]) == 30, f"expected 30 epochs, got {len(history['accuracy'])}"
assert history["accuracy"][-1] > 0.95, f"expected a training accuracy above 0.95, got {history['accuracy'][-1]:.3f}"

# %% [markdown]
# ## Try it
# 1. Change `noise=0.1` to `noise=0.3`: how far does the accuracy fall?
# 2. Remove the `ReLU()`: why can the network no longer separate the moons?
# 3. Next: `lessons/01-numpy/01-tensors-forward-pass.ipynb`.

# %% [markdown]
# ## Review questions
# 1. Which device does PyTorch use on your machine, and how did the notebook choose it?
#    <details><summary>Answer</summary>
#
#    The one printed under "Devices": `cuda` when
#    `torch.cuda.is_available()`, else `mps` on Apple silicon, else `cpu`.
#
#    </details>
# 2. What draws minifw's progress bar in JupyterLab, and what do you get when `ipywidgets` is missing?
#    <details><summary>Answer</summary>
#
#    `tqdm.auto` creates an `ipywidgets` progress bar in the
#    kernel and JupyterLab's widget extension draws it. Without `ipywidgets`, tqdm warns
#    "IProgress not found" and prints a text bar instead.
#
#    </details>
# 3. Why can the network not separate the moons without the `ReLU()`?
#    <details><summary>Answer</summary>
#
#    Two `Linear` layers with nothing between them are one linear
#    map, so the decision boundary is a straight line, and no straight line separates the two
#    interleaved moons.
#
#    </details>
