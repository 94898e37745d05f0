# %% [markdown]
# # 00 · Setup check
#
# Run this notebook first (**Run → Run All Cells**). It checks that
#
# - the packages of the course import, at the versions the course was tested with;
# - PyTorch and TensorFlow see the device they will use (a GPU if you have one, else the CPU);
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
# ## A tiny minifw fit
# Two moons, a 2-16-2 network, 30 epochs: the training accuracy should pass 95 %.

# %%
import minifw as mf

X, y = mf.datasets.make_moons(400, noise=0.1, seed=0)
net = mf.Sequential(mf.Linear(2, 16, seed=0), mf.ReLU(), mf.Linear(16, 2, seed=1))
model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.02))
history = model.fit(X, y, epochs=30, batch_size=32, progress=False)
print(f"final training accuracy: {history['accuracy'][-1]:.3f}")
assert history["accuracy"][-1] > 0.95

# %% [markdown]
# ## Try it
# 1. Change `noise=0.1` to `noise=0.3`: how far does the accuracy fall?
# 2. Remove the `ReLU()`: why can the network no longer separate the moons?
# 3. Next: `lessons/01-numpy/01-tensors-forward-pass.ipynb`.
