# %% [markdown]
# # 02·04 · The framework landscape
#
# You have now trained the same networks in minifw, PyTorch and TensorFlow/Keras. They are not
# the only frameworks, and the ones you used did not always look like this: until 2019,
# TensorFlow programs first *built* a graph and then *ran* it in a session. This notebook puts the
# frameworks side by side: one computation written four ways, one Keras model trained on two
# backends, and a fair look at how to choose.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - write a computation TensorFlow 1.x style (placeholders, a graph, `Session.run`) and say why
#   eager execution replaced it (debugging, Python control flow), and what `@tf.function` and
#   `torch.compile` bring back;
# - check that TF 1.x, eager TF 2, PyTorch and minifw compute the same loss and gradient;
# - train one Keras 3 model on the TensorFlow and the PyTorch backend, choosing the backend with
#   `KERAS_BACKEND` before `import keras`;
# - place JAX, Lightning, Flax, Gluon and Sonnet on the map, and argue a choice of framework.

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet

import atexit
import importlib.metadata
import json
import runpy
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import tensorflow as tf
import torch

import minifw as mf

torch.manual_seed(0)
tf.random.set_seed(0)
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("TensorFlow", tf.__version__, "| PyTorch", torch.__version__, "| device for PyTorch:", device)

# %% [markdown]
# ## 1. One computation, four ways
#
# A dense layer with a ReLU and a squared loss on a batch of 5 samples with 3 features:
#
# $$h = \mathrm{relu}(xW + b), \qquad L = \frac{1}{5 \cdot 4} \sum_{n,j} h_{nj}^2, \qquad
# \frac{\partial L}{\partial W} = x^\top \Big( \frac{2h}{20} \odot 1[xW + b > 0] \Big).$$
#
# The same numbers go into every framework:

# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(5, 3)).astype(np.float32)
W0 = rng.normal(size=(3, 4)).astype(np.float32)
b0 = rng.normal(size=4).astype(np.float32)

# %% [markdown]
# ### TensorFlow 1.x: build a graph, then run it in a session
#
# In TensorFlow 1.x, Python code did not compute anything: each call *added a node* to a graph.
# Inputs were **placeholders** (a shape and a type, no value), and a `Session` executed the graph,
# fed with concrete arrays, for the nodes you asked for. TensorFlow 2 still has this API under
# `tf.compat.v1`. It needs graph mode: inside `with graph.as_default():` TensorFlow builds nodes
# instead of computing, and the rest of this kernel stays eager.

# %%
graph = tf.Graph()
with graph.as_default():
    assert not tf.executing_eagerly()                    # building, not computing
    x_in = tf.compat.v1.placeholder(tf.float32, shape=(None, 3), name="x")
    W = tf.Variable(W0, name="W")
    b = tf.Variable(b0, name="b")
    h = tf.nn.relu(tf.matmul(x_in, W) + b, name="h")
    loss = tf.reduce_mean(tf.square(h), name="loss")
    (grad_W,) = tf.compat.v1.gradients(loss, [W])        # more graph nodes: the backward pass
    init = tf.compat.v1.global_variables_initializer()

print(h)              # a symbolic tensor: a name, a shape with an unknown batch axis, no value
print(len(graph.get_operations()), "operations, e.g.", [op.name for op in graph.get_operations()][:8])

with tf.compat.v1.Session(graph=graph) as session:
    session.run(init)                                   # variables get their values only now
    loss_tf1, grad_tf1 = session.run([loss, grad_W], feed_dict={x_in: x})
print("TF 1.x:", loss_tf1, grad_tf1.shape)
assert tf.executing_eagerly()                           # outside the graph context: eager again

# %% [markdown]
# ### TensorFlow 2, PyTorch, minifw: eager
#
# In eager mode each line computes its result at once. TensorFlow records the operations on a
# `GradientTape`, PyTorch on the tensors themselves (`requires_grad`); minifw calls each layer's
# hand-written `backward` in reverse order.

# %%
W_tf, b_tf = tf.Variable(W0), tf.Variable(b0)
with tf.GradientTape() as tape:
    loss_tf2 = tf.reduce_mean(tf.square(tf.nn.relu(x @ W_tf + b_tf)))
grad_tf2 = tape.gradient(loss_tf2, W_tf)

W_pt = torch.tensor(W0, device=device, requires_grad=True)
b_pt = torch.tensor(b0, device=device)
loss_pt = torch.relu(torch.tensor(x, device=device) @ W_pt + b_pt).square().mean()
loss_pt.backward()

layer, relu = mf.Linear(3, 4), mf.ReLU()
layer.W.data[...], layer.b.data[...] = W0, b0
h_mf = relu(layer(x))
loss_mf = float((h_mf ** 2).mean())
layer.backward(relu.backward(2 * h_mf / h_mf.size))    # dL/dh = 2h / (N * 4)

results = {"TF 1.x": (loss_tf1, grad_tf1), "TF 2 eager": (loss_tf2.numpy(), grad_tf2.numpy()),
           "PyTorch": (loss_pt.item(), W_pt.grad.cpu().numpy()), "minifw": (loss_mf, layer.W.grad)}
for name, (value, grad) in results.items():
    print(f"{name:10s} loss {value:.6f}   dL/dW[0] {np.round(grad[0], 5)}")
    assert np.isclose(value, loss_mf, rtol=1e-5), f"{name}: loss {value}, expected {loss_mf} as in minifw"
    assert np.allclose(grad, layer.W.grad, rtol=1e-4, atol=1e-6), f"{name}: dL/dW differs from minifw's"

# %% [markdown]
# ## 2. What changed, and why
#
# **Debugging.** In TF 1.x, `print(h)` above showed `Tensor("h:0", shape=(None, 4), ...)`: a node,
# not numbers. To see a value you had to add it to `session.run`, and an error inside the graph
# was reported at `session.run`, far from the Python line that built the faulty node. In eager
# mode, `print`, a debugger breakpoint or `np.asarray` work on every line.
#
# **Python control flow.** A placeholder has no value while the graph is built, so a Python `if`
# on it cannot be decided:

# %%
with tf.Graph().as_default():
    total = tf.reduce_sum(tf.compat.v1.placeholder(tf.float32, shape=(None,)))
    try:
        if total > 0:
            pass
        raise AssertionError("expected graph mode to refuse a Python `if` on a symbolic tensor")
    except TypeError as err:  # OperatorNotAllowedInGraphError is a TypeError
        print(type(err).__name__, ":", str(err).splitlines()[0])
    branch = tf.cond(total > 0, lambda: total * 2, lambda: -total)   # the TF 1.x way: a graph node
    print("tf.cond builds", branch)


# %% [markdown]
# TF 1.x programs were full of `tf.cond`, `tf.while_loop` and `tf.scan`. PyTorch (2016) and
# Chainer before it ran Python eagerly, **define-by-run**: the graph is recorded while the code
# runs, anew each time, so loops, `if`s and recursion are plain Python. Researchers moved, and
# TensorFlow 2 (2019) made eager execution the default.
#
# **Graphs came back, opt-in.** A graph can be optimized (fused operations, no Python between
# them) and saved without the Python code, which is what deployment needs. Notebook 01 showed the
# modern way to get one: write eager code, then `@tf.function` traces it into a graph
# (**AutoGraph** rewrites a Python `if` on a tensor into the graph's conditional), and
# `torch.compile` captures it with TorchDynamo (a data-dependent `if` splits the capture into
# several graphs, a *graph break*). The same `if` that graph mode refused above becomes a graph node:

# %%
@tf.function
def double_if_positive(v):
    if tf.reduce_sum(v) > 0:          # AutoGraph turns this into a conditional node
        return v * 2
    return -v


traced = double_if_positive.get_concrete_function(tf.TensorSpec((None,), tf.float32))
op_types = {op.type for op in traced.graph.get_operations()}
print(sorted(op_types))
assert op_types & {"If", "StatelessIf"}, "expected AutoGraph to write the `if` as an If node"
assert double_if_positive(tf.constant([1.0, 2.0])).numpy().tolist() == [2.0, 4.0]
assert double_if_positive(tf.constant([-1.0, -2.0])).numpy().tolist() == [1.0, 2.0]

# %% [markdown]
# | | TF 1.x graph + session | eager (TF 2, PyTorch, minifw) | eager, then compiled (`tf.function`, `torch.compile`) |
# |---|---|---|---|
# | a line of Python | adds a node | computes | traced or captured once, then runs as a graph |
# | `print` / debugger | shows symbolic tensors | shows values | values in eager runs; the graph runs without Python |
# | control flow | `tf.cond`, `tf.while_loop` | Python | Python, converted (AutoGraph) or split (graph breaks) |
# | speed of many small ops | fast (no Python per op) | Python overhead per op | fast |
# | deployment without Python | the graph | needs an export | the graph (SavedModel, `torch.export`, ONNX: notebook 05) |

# %% [markdown]
# ## 3. Keras 3: one model, several backends
#
# Keras began as a high-level API over several engines (Theano, TensorFlow, CNTK), then became
# part of TensorFlow (`tf.keras`). **Keras 3** is multi-backend again: the same model code runs on
# **TensorFlow**, **PyTorch** or **JAX**. The backend is chosen *before* `import keras`, by the
# environment variable `KERAS_BACKEND` (or `~/.keras/keras.json`); it cannot be switched inside a
# running process. So we write the training code once, in a file: this kernel, which has not
# imported Keras yet, runs it on TensorFlow (the default backend), and a fresh Python process runs
# the same file on PyTorch.
# The data: the digits, split 60 / 20 / 20 % and scaled as in notebooks 02 and 03, saved to a file
# both runs read.

# %%
X, y = mf.datasets.load_digits()
X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=0.2, test_size=0.2, seed=0)
pixels = mf.MinMaxScaler().fit(X_train)
X_train, X_test = pixels.transform(X_train), pixels.transform(X_test)
work = Path(tempfile.mkdtemp(prefix="keras-backends-"))
atexit.register(shutil.rmtree, work, ignore_errors=True)  # removed when the kernel stops
np.savez(work / "digits.npz", X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)

KERAS_SCRIPT = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import keras                                    # the backend is read from KERAS_BACKEND here


    def train_digits(path):
        """Train a 64-64-10 network on the digits saved in `path` (.npz); what happened, as a dict."""
        keras.utils.set_random_seed(0)
        data = np.load(path)
        model = keras.Sequential([
            keras.Input(shape=(64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ])
        model.compile(optimizer=keras.optimizers.Adam(2e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(data["X_train"], data["y_train"], epochs=10, batch_size=32, verbose=0)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(data["X_test"], data["y_test"], verbose=0)
        return {"backend": keras.backend.backend(), "parameters": model.count_params(),
                "weights are": type(model.layers[0].kernel.value).__module__,
                "test accuracy": round(float(accuracy), 4), "fit seconds": round(seconds, 2)}


    if __name__ == "__main__":                      # run as a script: print the result as JSON
        print(json.dumps(train_digits(sys.argv[1])))
''')
script = work / "keras_digits.py"
script.write_text(KERAS_SCRIPT)

# PyTorch backend: a fresh process (one thread), started first so that it runs while this kernel trains
torch_process = subprocess.Popen([sys.executable, str(script), str(work / "digits.npz")],
                                 env={**os.environ, "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
# TensorFlow backend: here, in this kernel, which had not imported Keras: the same file's function
os.environ["KERAS_BACKEND"] = "tensorflow"
tf_run = runpy.run_path(str(script))["train_digits"](str(work / "digits.npz"))
out, err = torch_process.communicate(timeout=300)
assert torch_process.returncode == 0, f"the torch run failed:\n{err[-2000:]}"
torch_run = json.loads(out.strip().splitlines()[-1])
print(tf_run)
print(torch_run)

assert (tf_run["backend"], torch_run["backend"]) == ("tensorflow", "torch")
assert tf_run["parameters"] == torch_run["parameters"] == 64 * 64 + 64 + 64 * 10 + 10, "same architecture"
assert min(tf_run["test accuracy"], torch_run["test accuracy"]) > 0.93, "both backends should learn the digits"
assert abs(tf_run["test accuracy"] - torch_run["test accuracy"]) < 0.03, "comparable accuracy on both backends"

# %% [markdown]
# Same code, same architecture (4,810 parameters), comparable test accuracy; the weights are
# TensorFlow variables in this kernel and PyTorch tensors in the other process (`weights are` above). The
# accuracies are not identical: each backend draws its own random initial weights and shuffles
# with its own generator, and their kernels round differently.
#
# **JAX** is the third backend: `KERAS_BACKEND=jax` runs the same script once `jax` is installed
# (this course does not install it). JAX is numpy with automatic differentiation (`jax.grad`),
# compilation (`jax.jit`, through the XLA compiler that TensorFlow also uses) and vectorization
# (`jax.vmap`), all as transformations of pure functions; it runs on CPUs, GPUs and Google's TPUs.
#
# With Keras on PyTorch, a Keras model is also a `torch.nn.Module`, so it can be trained in a
# plain PyTorch loop or by Lightning; on TensorFlow it exports to a SavedModel for TF Serving and
# TF Lite. Pick Keras for the API, the backend for where the model has to run.

# %% [markdown]
# ## 4. The wider landscape
#
# | framework | what it is | by | status |
# |---|---|---|---|
# | **TensorFlow 1.x** | static graphs, run in a `Session` | Google, 2015 | replaced by TF 2 (2019); lives on as `tf.compat.v1` |
# | **TensorFlow 2 + Keras** | eager by default, `tf.function` graphs, Keras as the high-level API | Google, 2019 | maintained; strong deployment tools (Serving, Lite, TF.js) |
# | **PyTorch** | eager define-by-run, `torch.compile`, `torch.export` | Meta, 2016; PyTorch Foundation since 2022 | maintained; most research code |
# | **Keras 3** | one high-level API over TensorFlow, PyTorch, JAX | Google, 2023 | maintained |
# | **Lightning** | the training loop for PyTorch: `LightningModule` + `Trainer` | Lightning AI, 2019 | maintained; a wrapper, not a framework of its own |
# | **JAX** | numpy + `grad` / `jit` / `vmap` on XLA | Google, 2018 | maintained; research at scale, TPUs |
# | **Flax** | neural-network layers and training state for JAX | Google, 2020 | maintained (its newer `nnx` API looks like PyTorch modules) |
# | **Gluon** | the imperative high-level API of Apache MXNet | Amazon and Microsoft, 2017 | MXNet was retired to the Apache Attic in 2023: read old code, do not start new projects |
# | **Sonnet** | modules for TensorFlow (v2: for TF 2) | DeepMind, 2017 | small, little new development |
#
# Some course material still lists Gluon among the frameworks to choose from; it no longer is
# one, since MXNet stopped being developed.

# %% [markdown]
# ## 5. Which framework to choose
#
# | | PyTorch (+ Lightning) | TensorFlow 2 + Keras | JAX (+ Flax) | Keras 3 on any backend |
# |---|---|---|---|---|
# | ecosystem | the largest for models and research code (Hugging Face, timm, torchvision) | large, with TF Hub, TFX, many production tutorials | smaller, growing (Hugging Face supports it) | the backend's, plus KerasHub |
# | deployment | TorchScript / `torch.export`, ONNX, ExecuTorch for mobile | SavedModel, TF Serving, TF Lite, TF.js | export via TF (`jax2tf`) or ONNX, less direct | that of the backend |
# | research use | most new papers | declining share | large models and TPUs, much of Google DeepMind | prototypes |
# | high-level API | Lightning, or a loop of your own | Keras built in | Flax, Optax | itself |
# | GPU / TPU | NVIDIA, AMD, Apple MPS; TPU via PyTorch/XLA | NVIDIA, TPU; Apple via a plug-in | NVIDIA, AMD, TPU first-class | that of the backend |
#
# A fair summary: the concepts of this course (tensors, automatic differentiation, layers,
# losses, optimizers, training loops, regularization) are the same everywhere, and switching
# later costs days, not months. Choose what your team, your papers or your deployment target
# already use; alone, choose PyTorch for the amount of code you can read, or Keras for the
# shortest path from idea to trained model; and when you need to move a trained model between
# them, use ONNX (next notebook).
#
# All of these frameworks are **free and open source**: you can read their code (as you read
# minifw's), report bugs and contribute, and no licence fee ties you to one. The installed ones
# say so in their package metadata:

# %%
for package in ("tensorflow-cpu", "tensorflow", "torch", "keras", "lightning"):
    try:
        meta = importlib.metadata.metadata(package)
    except importlib.metadata.PackageNotFoundError:
        continue  # tensorflow-cpu on Linux and Windows, tensorflow on macOS
    licence = meta.get("License-Expression") or meta.get("License") or ""
    print(f"{package:15s} {licence[:70]}")
    assert any(name in licence for name in ("Apache", "BSD", "MIT")), f"{package}: expected an open-source licence"

# %% [markdown]
# ## Try it
# 1. Section 1: add a second layer to the TF 1.x graph and fetch its output and `loss` in one
#    `session.run`. What happens if you fetch `h` without feeding `x_in`?
# 2. Section 2: write `double_if_positive` for PyTorch and run it under
#    `torch.compile(backend=...)` with the graph-printing backend of notebook 01: how many graphs
#    are captured?
# 3. Section 3: change the script to `Dense(128)` and `epochs=40`; does the gap between the two
#    backends shrink? Time both with the `fit seconds` they report.
# 4. Section 3: install `jax` in a separate environment and run the script with `KERAS_BACKEND=jax`.
# 5. Section 5: pick a project you would like to build (an app, a paper, a class project) and fill
#    the table's rows for it: which framework wins, and why?

# %% [markdown]
# ## Review questions
# 1. What does `print(h)` show in TF 1.x graph mode, and why?
#    <details><summary>Answer</summary>
#
#    A symbolic tensor (name, shape, dtype) with no value: the
#    Python line only added a node to the graph; values exist only inside `Session.run`.
#
#    </details>
# 2. Why can't a Python `if` test a placeholder in TF 1.x, and what replaced it?
#    <details><summary>Answer</summary>
#
#    While the graph is built the placeholder has no value, so the
#    condition cannot be decided; TF 1.x used `tf.cond`; eager execution evaluates the `if` on real
#    values, and AutoGraph in `tf.function` converts it to a graph conditional.
#
#    </details>
# 3. How do you run the same Keras 3 model on PyTorch instead of TensorFlow? Can you switch inside a
#    running notebook?
#    <details><summary>Answer</summary>
#
#    Set `KERAS_BACKEND=torch` (or `~/.keras/keras.json`) before
#    `import keras`. No: the backend is fixed when Keras is imported; use a new process.
#
#    </details>
# 4. What are Lightning and Flax, relative to PyTorch and JAX?
#    <details><summary>Answer</summary>
#
#    High-level libraries on top of them: Lightning writes the
#    PyTorch training loop (`LightningModule`, `Trainer`), Flax provides layers and training state
#    for JAX. Neither has its own tensors or autodiff.
#
#    </details>
# 5. Why are eager frameworks still able to deploy graphs?
#    <details><summary>Answer</summary>
#
#    They capture a graph from the eager code when asked:
#    `tf.function` traces it, `torch.compile`/`torch.export` capture it; the graph can then be
#    optimized and saved (SavedModel, ExportedProgram, ONNX) and run without Python.
#
#    </details>
