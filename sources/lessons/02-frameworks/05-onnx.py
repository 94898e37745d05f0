# %% [markdown]
# # 02·05 · ONNX: moving trained models between frameworks
#
# A model trained in PyTorch may have to run in a C++ server, on a phone, in a browser, under
# NVIDIA's TensorRT, or simply in a colleague's TensorFlow code. **ONNX** (Open Neural Network
# Exchange) is the common file format for this: a graph of standard operators with the weights
# inside, which many runtimes execute. This notebook exports a PyTorch and a Keras model to ONNX,
# runs both with ONNX Runtime, looks inside the file, teaches minifw to write and read ONNX, and
# shows the classic pitfall: opset versions.

# %% [markdown]
# ## Objectives
# After this notebook you can
#
# - export a trained PyTorch model with `torch.onnx.export(..., dynamo=True)` and a Keras model
#   with `model.export(path, format="onnx")`, with a dynamic batch axis and the weights in the file;
# - run an ONNX model with `onnxruntime` and check that it computes what the framework computed;
# - read an ONNX file: opset, inputs and outputs, nodes, weights (`onnx.numpy_helper`);
# - move models between PyTorch, Keras and minifw through ONNX with `minifw.onnx`;
# - recognise an opset mismatch and fix it.

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # before importing TensorFlow: keep its C++ log quiet

import atexit
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper, numpy_helper

import minifw as mf

logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # the exporter's progress messages
# two deprecation notices raised inside torch.onnx and Keras's tf2onnx glue, not by this notebook's code
warnings.filterwarnings("ignore", message=".*LeafSpec", category=FutureWarning)
warnings.filterwarnings("ignore", message="In the future `np.object`", category=FutureWarning)
torch.manual_seed(0)
keras.utils.set_random_seed(0)
device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
print("ONNX", onnx.__version__, "| ONNX Runtime", ort.__version__, "| PyTorch", torch.__version__,
      "| Keras", keras.__version__, "| device for PyTorch:", device)
WORK = Path(tempfile.mkdtemp(prefix="onnx-lesson-"))  # the .onnx files of this notebook
atexit.register(shutil.rmtree, WORK, ignore_errors=True)  # removed when the kernel stops

# %% [markdown]
# The data: the 5000 real MNIST digits that ship with minifw (28×28 grey images, pixels already
# in $[0, 1]$), split 60 / 20 / 20 % (stratified). The models start with a flatten layer, so the
# ONNX graphs take images of shape (N, 28, 28).

# %%
X, y = mf.datasets.load_mnist_sample()
X_train, X_val, X_test, y_train, y_val, y_test = mf.train_val_test_split(X, y, val_size=0.2, test_size=0.2, seed=0)
X_train, X_val, X_test = (a.reshape(-1, 28, 28) for a in (X_train, X_val, X_test))
print(X_train.shape, X_val.shape, X_test.shape, X_train.dtype)
assert X_train.shape == (3000, 28, 28) and X_test.shape == (1000, 28, 28) and X_train.dtype == np.float32

# %% [markdown]
# ## 1. PyTorch → ONNX → ONNX Runtime
#
# A small classifier with batch normalization and dropout, trained for a few epochs:

# %%
net_pt = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 64), torch.nn.BatchNorm1d(64), torch.nn.ReLU(),
                             torch.nn.Dropout(0.2), torch.nn.Linear(64, 10)).to(device)
optimizer = torch.optim.Adam(net_pt.parameters(), lr=3e-3)
Xt, yt = torch.from_numpy(X_train).to(device), torch.from_numpy(y_train).long().to(device)
for epoch in range(8):
    net_pt.train()
    for idx in torch.randperm(len(Xt), device=device).split(64):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net_pt(Xt[idx]), yt[idx]).backward()
        optimizer.step()
net_pt = net_pt.cpu().eval()  # export the inference graph, on the CPU
with torch.no_grad():
    logits_pt = net_pt(torch.from_numpy(X_test)).numpy()
accuracy_pt = mf.accuracy(logits_pt, y_test)
print(f"PyTorch test accuracy {accuracy_pt:.3f}")
assert accuracy_pt > 0.88

# %% [markdown]
# `torch.onnx.export(..., dynamo=True)` captures the model with `torch.export` (the graph capture
# of notebook 01) and translates each operation to ONNX operators (this needs the `onnxscript`
# package). Two choices matter for deployment:
#
# - `dynamic_shapes`: the example input has 1000 images, but axis 0 is named `"batch"`, so the
#   file accepts any batch size;
# - `external_data=False`: the weights go inside the `.onnx` file (large models put them in a
#   separate file next to it, since a protobuf file cannot exceed 2 GB).

# %%
pt_path = WORK / "digits_pytorch.onnx"
torch.onnx.export(net_pt, (torch.from_numpy(X_test),), pt_path, dynamo=True,
                  dynamic_shapes=({0: "batch"},), external_data=False, verbose=False)
print(f"{pt_path.name}: {pt_path.stat().st_size / 1024:.1f} KiB")

session_pt = ort.InferenceSession(pt_path, providers=["CPUExecutionProvider"])
input_name = session_pt.get_inputs()[0].name
logits_ort = session_pt.run(None, {input_name: X_test})[0]
print("largest difference from PyTorch:", np.abs(logits_ort - logits_pt).max())
assert np.allclose(logits_ort, logits_pt, rtol=1e-4, atol=1e-5), "ONNX Runtime should compute PyTorch's logits"
assert (logits_ort.argmax(1) == logits_pt.argmax(1)).all()
one = session_pt.run(None, {input_name: X_test[:1]})[0]   # the batch axis is dynamic
assert one.shape == (1, 10) and np.allclose(one, logits_pt[:1], atol=1e-5)

# %% [markdown]
# The two agree to float32 rounding (about $10^{-6}$), not bit for bit: ONNX Runtime multiplies
# matrices with its own kernels, in its own order of summation.
#
# ## 2. Inside an ONNX file
#
# An `.onnx` file is a protobuf message: a **graph** of **nodes** (each an operator like `Gemm`
# or `Relu`, with attributes), **initializers** (the weights, as tensors), typed **inputs** and
# **outputs**, and the **opset**: which version of the operator definitions the graph uses.
# Everything below is read from the file itself, not from PyTorch.

# %%
model_pt = onnx.load(pt_path)
onnx.checker.check_model(model_pt)   # a well-formed graph of known operators


def shape_of(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


opset_pt = {o.domain or "ai.onnx": o.version for o in model_pt.opset_import}
print("producer:", model_pt.producer_name, model_pt.producer_version, "| opset:", opset_pt)
for v in model_pt.graph.input:
    print("input ", v.name, shape_of(v), onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type))
for v in model_pt.graph.output:
    print("output", v.name, shape_of(v))
for node in model_pt.graph.node:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    print(f"  {node.op_type:8s} {list(node.input)} -> {list(node.output)} {attrs}")
weights_pt = {t.name: numpy_helper.to_array(t) for t in model_pt.graph.initializer}
print({name: w.shape for name, w in weights_pt.items()})

ops_pt = [node.op_type for node in model_pt.graph.node]
assert shape_of(model_pt.graph.input[0]) == ["batch", 28, 28]
assert "BatchNormalization" not in ops_pt and ops_pt.count("Gemm") == 2

# %% [markdown]
# Where did the batch normalization go? In eval mode it is a fixed per-feature affine map,
# $\gamma (z - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta$, applied right after the linear layer
# $z = xW^\top + b$; the exporter's optimizer **folded** it into that layer's weights:
# $W' = s \odot W$ row by row and $b' = s (b - \mu) + \beta$ with $s = \gamma / \sqrt{\sigma^2 + \epsilon}$.
# The ONNX weights are plain numpy arrays (`numpy_helper.to_array`), so we can check the folding
# by hand, and read them back into any framework:

# %%
linear, bn = net_pt[1], net_pt[2]
s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().numpy()
W_folded = s[:, None] * linear.weight.detach().numpy()
b_folded = s * (linear.bias - bn.running_mean).detach().numpy() + bn.bias.detach().numpy()
first_gemm = next(node for node in model_pt.graph.node if node.op_type == "Gemm")
W_onnx, b_onnx = weights_pt[first_gemm.input[1]], weights_pt[first_gemm.input[2]]
print("W' from the file:", W_onnx.shape, "| largest difference from the hand-folded W':", np.abs(W_onnx - W_folded).max())
assert np.allclose(W_onnx, W_folded, atol=1e-5) and np.allclose(b_onnx, b_folded, atol=1e-5)
n_onnx = sum(w.size for name, w in weights_pt.items() if w.dtype == np.float32)
n_torch = sum(p.numel() for p in net_pt.parameters())
print(f"{n_torch} parameters in PyTorch, {n_onnx} in the ONNX file: the 2 x 64 of the batch norm are folded away")
assert n_torch - n_onnx == 2 * 64

# %% [markdown]
# ## 3. Keras → ONNX
#
# Keras 3 exports with `model.export(path, format="onnx")`; on the TensorFlow backend it traces
# the model into a TensorFlow graph and converts that with `tf2onnx`. (Calling
# `tf2onnx.convert.from_keras` yourself fails on Keras 3 models: use Keras's own export.) A Keras
# model must have been built (called once, or trained) before it can be exported.

# %%
net_keras = keras.Sequential([
    keras.Input(shape=(28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(64),
    keras.layers.BatchNormalization(),
    keras.layers.ReLU(),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10),
])
net_keras.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
net_keras.fit(X_train, y_train, epochs=8, batch_size=64, verbose=0)
logits_keras = net_keras.predict(X_test, batch_size=512, verbose=0)
accuracy_keras = mf.accuracy(logits_keras, y_test)
print(f"Keras test accuracy {accuracy_keras:.3f}")
assert accuracy_keras > 0.88

keras_path = WORK / "digits_keras.onnx"
net_keras.export(str(keras_path), format="onnx", verbose=False)
model_keras = onnx.load(keras_path)
session_keras = ort.InferenceSession(keras_path, providers=["CPUExecutionProvider"])
logits_keras_ort = session_keras.run(None, {session_keras.get_inputs()[0].name: X_test})[0]
print("producer:", model_keras.producer_name, model_keras.producer_version,
      "| opset:", {o.domain or "ai.onnx": o.version for o in model_keras.opset_import})
print("nodes:", [node.op_type for node in model_keras.graph.node])
print("largest difference from Keras:", np.abs(logits_keras_ort - logits_keras).max())
assert np.allclose(logits_keras_ort, logits_keras, rtol=1e-4, atol=1e-5), "ONNX Runtime should compute Keras's logits"

# %% [markdown]
# The same kind of network, a different graph: `tf2onnx` writes each `Dense` as `MatMul` + `Add`,
# the flatten as a `Reshape`, and the inference batch normalization as a per-feature `Mul` and
# `Add`; the dropout disappears (it is the identity at inference). ONNX describes *a*
# computation, not *the* model: two exporters may write the same function differently.

# %% [markdown]
# ## 4. minifw speaks ONNX
#
# `minifw.onnx` (in `minifw/onnx.py`) writes a `Sequential` of minifw layers as an ONNX graph,
# one operator per layer, with `onnx.helper`: `Linear` → `Gemm`, activations → `Relu`/`Sigmoid`/
# `Tanh`/`LeakyRelu`/`Softmax`, `BatchNorm1d` → `BatchNormalization` with its running statistics,
# `Dropout` → `Dropout`, `Flatten` → `Flatten`. `minifw.onnx.load` reads such a chain back, and
# also what PyTorch and Keras write for these layers (`Gemm` with transposed weights, `MatMul` +
# `Add`, `Reshape`, per-feature `Mul`/`Add`), naming any operator it cannot read. `import minifw`
# does not import `onnx`: only `minifw.onnx`'s functions do.
#
# **minifw → ONNX → ONNX Runtime.** Train the same architecture in minifw, export it, run it:

# %%
net_mf = mf.Sequential(mf.Flatten(), mf.Linear(784, 64, seed=0), mf.BatchNorm1d(64), mf.ReLU(), mf.Dropout(0.2, seed=1),
                       mf.Linear(64, 10, seed=2))
model = mf.Model(net_mf, mf.CrossEntropy(), mf.Adam(net_mf.parameters(), lr=3e-3))
model.fit(X_train, y_train, epochs=8, batch_size=64, progress=False)
logits_mf = net_mf.eval()(X_test)
accuracy_mf = mf.accuracy(logits_mf, y_test)

mf_path = WORK / "digits_minifw.onnx"
model_mf = mf.onnx.export(net_mf, mf_path, n_features=(28, 28))
print("nodes:", [(node.name, node.op_type) for node in model_mf.graph.node])
print("inputs:", [(v.name, shape_of(v)) for v in model_mf.graph.input], "| opset", model_mf.opset_import[0].version)
session_mf = ort.InferenceSession(mf_path, providers=["CPUExecutionProvider"])
logits_mf_ort = session_mf.run(None, {"input": X_test})[0]
print(f"minifw test accuracy {accuracy_mf:.3f}; largest difference from ONNX Runtime:",
      np.abs(logits_mf_ort - logits_mf).max())
assert accuracy_mf > 0.88
assert np.allclose(logits_mf_ort, logits_mf, rtol=1e-4, atol=1e-5), "ONNX Runtime should compute minifw's logits"

# %% [markdown]
# **PyTorch → ONNX → minifw** and **Keras → ONNX → minifw.** Load the two files of sections 1
# and 3 into minifw and compare the predictions with the frameworks that trained them:

# %%
from_pt = mf.onnx.load(pt_path)
from_keras = mf.onnx.load(keras_path)
print("from PyTorch:", from_pt, "\nfrom Keras:", from_keras)

rows = [("PyTorch", logits_pt, from_pt(X_test)), ("Keras", logits_keras, from_keras(X_test)),
        ("minifw", logits_mf, mf.onnx.load(mf_path)(X_test))]
print(f"{'trained in':10s} {'accuracy there':>14s} {'in minifw':>10s} {'same predictions':>17s} {'max |diff|':>10s}")
for name, original, in_minifw in rows:
    same = (original.argmax(1) == in_minifw.argmax(1)).mean()
    print(f"{name:10s} {mf.accuracy(original, y_test):14.3f} {mf.accuracy(in_minifw, y_test):10.3f} "
          f"{same:17.1%} {np.abs(original - in_minifw).max():10.1e}")
    assert np.allclose(in_minifw, original, rtol=1e-4, atol=1e-5), f"{name} -> ONNX -> minifw changed the logits"
    assert same == 1.0, f"{name} -> ONNX -> minifw changed a prediction"


# %% [markdown]
# The circle is closed: a model trained in any of the three frameworks runs in the other
# runtimes with the same predictions. Note what the PyTorch model became in minifw: no
# `BatchNorm1d` (folded at export); and the Keras batch normalization came back as a
# `BatchNorm1d` with mean 0, variance 1 and $\epsilon = 0$, which is exactly the `Mul` + `Add`
# Keras wrote.

# %% [markdown]
# ## 5. Opset versions: what a mismatch looks like
#
# Operators evolve: ONNX adds new ones and changes old ones, and each change makes a new version
# of the **opset** (1 in 2017, 28 for `onnx` 1.23). A file is stamped with the opset it was
# written for; a runtime supports the opsets up to the one it was built with, and sometimes only
# some operators of them (TensorRT, mobile runtimes). Moving models "TensorRT ↔ TensorFlow ↔
# PyTorch via ONNX" works when the exporter's opset is one the consumer supports. (The arrow into
# TensorRT is one-way, though some summaries draw it both ways: TensorRT reads ONNX and builds an
# engine for one GPU, and nothing converts that engine back.) Three ways it goes wrong:
#
# **An operator newer than the stamped opset.** `Gelu` became an ONNX operator in opset 20:

# %%
def gelu_model(opset):
    graph = helper.make_graph([helper.make_node("Gelu", ["x"], ["y"])], "gelu",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])])
    return helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", opset)])


assert onnx.defs.onnx_opset_version() == 28, "the newest opset this onnx package knows"
onnx.checker.check_model(gelu_model(20))
try:
    onnx.checker.check_model(gelu_model(18))
    raise AssertionError("expected the checker to refuse Gelu at opset 18")
except onnx.checker.ValidationError as err:
    print("opset 18:", str(err).splitlines()[0])

# %% [markdown]
# Exporters avoid this by writing `Gelu` as smaller operators when you ask for an older opset:
# `torch.onnx.export(..., opset_version=18)`, `model.export(..., format="onnx", opset_version=18)`.
#
# **A file newer than the runtime.** Here the minifw model is stamped with opset 30, which this
# ONNX Runtime does not know (an old runtime meets a new file the same way):

# %%
future = onnx.ModelProto()
future.CopyFrom(model_mf)
future.opset_import[0].version = 30
try:
    ort.InferenceSession(future.SerializeToString(), providers=["CPUExecutionProvider"])
    raise AssertionError("expected ONNX Runtime to refuse opset 30")
except Exception as err:  # onnxruntime raises its own Fail exception
    message = str(err)
    print(message[message.index("ONNX Runtime only"):][:300])
    assert "Opset 30" in message

# %% [markdown]
# **A file older than the reader.** `minifw.onnx.load` reads opsets 13 to 28 (before 13,
# `Softmax` and `Dropout` had other definitions). An opset-11 file gets a clear error, and
# `onnx.version_converter` upgrades it; converting *down* is not always possible (no adapter
# exists for every operator and version):

# %%
old_graph = helper.make_graph(
    [helper.make_node("Gemm", ["x", "W", "b"], ["z"]), helper.make_node("Softmax", ["z"], ["p"], axis=1)], "old",
    [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])],
    [helper.make_tensor_value_info("p", onnx.TensorProto.FLOAT, ["N", 3])],
    initializer=[numpy_helper.from_array(np.eye(4, 3, dtype=np.float32), "W"),
                 numpy_helper.from_array(np.zeros(3, np.float32), "b")])
old = helper.make_model_gen_version(old_graph, opset_imports=[helper.make_opsetid("", 11)])
try:
    mf.onnx.load(old)
    raise AssertionError("expected minifw to refuse opset 11")
except mf.onnx.UnsupportedOnnxError as err:
    print(err)

upgraded = onnx.version_converter.convert_version(old, 18)
print("after convert_version:", [(node.op_type, {a.name: helper.get_attribute_value(a) for a in node.attribute})
                                 for node in upgraded.graph.node])
assert (mf.onnx.MIN_OPSET, mf.onnx.MAX_OPSET) == (13, 28)
x4 = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
assert np.allclose(mf.onnx.load(upgraded)(x4), mf.softmax(x4[:, :3]), atol=1e-6)
try:
    onnx.version_converter.convert_version(model_mf, 11)
except RuntimeError as err:
    print("down to opset 11:", str(err).split("failed: ")[-1])

# %% [markdown]
# In practice: export at the newest opset that every consumer of the file supports (check their
# documentation; ONNX Runtime lists its supported opsets per release), run the file with ONNX
# Runtime and compare with the framework's outputs, as we did in every section.

# %% [markdown]
# ## Try it
# 1. Section 1: export `net_pt` without `dynamic_shapes` and run the file on `X_test[:1]`. What does
#    ONNX Runtime say, and why?
# 2. Section 2: export with `optimize=False` in `torch.onnx.export` and list the nodes again: is the
#    `BatchNormalization` still folded? Can `minifw.onnx.load` read that graph, and if not, which
#    operator does it name?
# 3. Section 3: add `activation="softmax"` to the last Keras layer and export again. Which node
#    appears, and do the three runtimes still agree?
# 4. Section 4: export `net_mf` with `mf.onnx.export(net_mf.astype(np.float64), ...)`. Which
#    operators can ONNX Runtime run in float64? (Try a `LeakyReLU`.)
# 5. Section 5: export `net_pt` with `opset_version=18` and compare the opset and the nodes with
#    the default export.

# %% [markdown]
# ## Review questions
# 1. What does an `.onnx` file contain, and what does it not contain?
#    <details><summary>Answer</summary>
#
#    A graph of standard operators (nodes with attributes), the
#    weights as initializers, typed inputs and outputs, and the opset; not the Python code, the
#    optimizer state or the training loop: it describes inference.
#
#    </details>
# 2. Why export with a dynamic batch axis?
#    <details><summary>Answer</summary>
#
#    Otherwise the file only accepts the example's batch size; with
#    `dynamic_shapes={0: "batch"}` (or Keras's `None` batch) any number of samples can be fed.
#
#    </details>
# 3. The exported PyTorch graph has no `BatchNormalization` node. Is the model wrong?
#    <details><summary>Answer</summary>
#
#    No: in eval mode batch normalization is a fixed affine map,
#    which the exporter folds into the preceding `Gemm` ($W' = sW$, $b' = s(b - \mu) + \beta$);
#    the outputs match PyTorch's to float32 rounding.
#
#    </details>
# 4. What is an opset, and what happens when a file's opset is newer than the runtime's?
#    <details><summary>Answer</summary>
#
#    A versioned set of operator definitions. The runtime refuses
#    the file (or the operator); re-export at an older opset the runtime supports.
#
#    </details>
# 5. Why compare the ONNX Runtime outputs with the original framework after every export?
#    <details><summary>Answer</summary>
#
#    Exporters rewrite graphs (folding, decomposing operators,
#    changing layouts); a numerical comparison within float32 tolerance is the only proof the
#    file computes the same function.
#
#    </details>
