# %% [markdown]
# # 07 · Why frameworks: from manual backprop to automatic differentiation
#
# Every gradient so far came from a `backward` method that someone derived on paper and typed in. This
# notebook shows what that costs, and how a program can derive the gradients itself: it records the
# computation as a **graph** while it runs and then applies the chain rule backwards through it. This is
# *reverse-mode automatic differentiation*, the core of PyTorch, TensorFlow and JAX. We use
# `minifw.autograd`, a small version of it on numpy arrays (about 300 lines: read
# `minifw/autograd.py`).
#
# **After this notebook you can**
#
# - say what a hand-written backward pass costs for every new layer, and why a gradient check is
#   mandatory;
# - draw the computational graph of an expression and read it in `format_graph`'s text form;
# - run reverse-mode differentiation by hand on a small graph and check it against `backward()`;
# - show that a network differentiated automatically gets exactly the gradients of minifw's hand-written
#   layers, and trains identically;
# - explain eager (define-by-run) versus graph execution, and the trap of tracing Python control flow.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minifw as mf
from minifw import autograd as ag
from minifw.autograd import Tensor

np.random.seed(0)  # minifw takes explicit seeds; this fixes anything else that draws from numpy
plt.rcParams["figure.dpi"] = 90
autograd_lines = len(inspect.getsource(ag).splitlines())
print(f"minifw/autograd.py: {autograd_lines} lines")
assert 200 < autograd_lines < 450  # "about 300 lines"

# %% [markdown]
# ## 1. The cost of writing every backward by hand
#
# In minifw each layer has two methods: `forward` and a `backward` derived by hand. Count the lines:

# %%
counts = {}
for name, cls in vars(mf.layers).items():
    if isinstance(cls, type) and issubclass(cls, mf.Module) and cls.__module__ == mf.layers.__name__:
        lines = {m: len(inspect.getsource(getattr(cls, m)).splitlines()) if m in vars(cls) else 0
                 for m in ("forward", "backward")}
        counts[name] = lines
        print(f"{name:>12}: forward {lines['forward']:3d} lines, backward {lines['backward']:3d} lines")
total_forward = sum(c["forward"] for c in counts.values())
total_backward = sum(c["backward"] for c in counts.values())
print(f"{'total':>12}: forward {total_forward:3d} lines, backward {total_backward:3d} lines")
assert 0.5 < total_backward / total_forward < 2  # about as much backward code as forward code


# %% [markdown]
# About as much code goes into the backward passes as into the forward passes, and each backward line
# is the result of a derivation that can go wrong silently: a wrong gradient does not crash, the network
# just trains worse. So every new layer needs three things: the derivation, the code, and a gradient
# check against finite differences.
#
# Take an activation that minifw does not have: **SiLU** (also called swish), $f(x) = x\,\sigma(x)$. By
# the product rule
#
# $$f'(x) = \sigma(x) + x\,\sigma(x)\big(1 - \sigma(x)\big).$$
#
# Here it is as a minifw layer, plus a version with a typical slip (the product rule forgotten), and a
# central-difference check of both with `mf.gradcheck.check_module`, the check of lesson 03: the largest
# element-wise relative error between the hand-written gradient and the central difference.

# %%
class SiLU(mf.Module):
    r"""$x \sigma(x)$; derivative $\sigma(x) + x \sigma(x)(1 - \sigma(x))$."""

    def forward(self, x):
        s = mf.sigmoid(x)
        self.cache = (x, s)
        return x * s

    def backward(self, grad_out):
        x, s = self.cache
        return grad_out * (s + x * s * (1 - s))


class SiLUWithASlip(SiLU):
    def backward(self, grad_out):
        x, s = self.cache
        return grad_out * x * s * (1 - s)  # forgot the first term of the product rule


x_check = np.linspace(-4, 4, 81)
error_right = mf.gradcheck.check_module(SiLU(), x_check)["x"]
error_slip = mf.gradcheck.check_module(SiLUWithASlip(), x_check)["x"]
print(f"gradient check (relative error): correct backward {error_right:.1e}, backward with the slip {error_slip:.2f}")
assert error_right < 1e-6 and error_slip > 0.5

# %% [markdown]
# With automatic differentiation the same layer is one line, the forward pass. `minifw.autograd` knows
# the derivative of `*` and of `sigmoid` and combines them by the chain rule itself:

# %%
x = Tensor(x_check, requires_grad=True)
(x * x.sigmoid()).sum().backward()  # d sum(f(x)) / dx = f'(x) at every point

hand = SiLU()
hand.forward(x_check)
np.testing.assert_allclose(x.grad, hand.backward(np.ones_like(x_check)), rtol=1e-12)
print("autograd's SiLU derivative equals the hand-derived one at all", x_check.size, "points")

# %% [markdown]
# ## 2. A computational graph
#
# Every operation on a `Tensor` computes its result with numpy right away and, if an input needs a
# gradient, also records a **node**: the operation's name, its inputs (`parents`) and its *local*
# derivative rule. Together the nodes form a directed acyclic graph from the inputs to the result.
#
# Our example is one logistic neuron on one example with label $y = 1$:
#
# $$z = \sum_i w_i x_i + b, \qquad p = \sigma(z), \qquad L = -\log p .$$

# %%
x = Tensor([1.0, 2.0], name="x")                       # data: no gradient needed
w = Tensor([0.5, -1.0], requires_grad=True, name="w")  # parameters
b = Tensor(0.5, requires_grad=True, name="b")

products = x * w
z = products.sum() + b
p = z.sigmoid()
L = -p.log()
print(ag.format_graph(L))

nodes, edges = ag.trace(L)
assert [n.op for n in nodes if n.parents] == ["*", "sum", "+", "sigmoid", "log", "neg"]
assert len(nodes) == 9 and len(edges) == 8


# %% [markdown]
# `format_graph` prints the nodes in **topological order**: every node after all of its inputs, so
# reading top to bottom is the forward pass. `%3 = sum(%2)` means node 3 is the sum of node 2. The
# leaves `x`, `w`, `b` are the inputs; `grad` marks those that asked for a gradient. Drawn as a picture,
# with each node's forward value:

# %%
def draw_graph(root, ax, show="data"):
    """Operations in columns by depth, each input just left of its first use; `show` "data" or "grad"."""
    nodes, edges = ag.trace(root)
    depth = {}
    for n in nodes:  # topological order: inputs first; longest path from an input
        depth[id(n)] = 1 + max((depth[id(q)] for q in n.parents), default=-1)
    for n in nodes:
        if not n.parents:  # move each input next to the first operation that uses it
            depth[id(n)] = min(depth[id(c)] for a, c in edges if a is n) - 1
    position, rows = {}, {}
    for n in sorted(nodes, key=lambda n: not n.parents):  # operations on the top row
        d = depth[id(n)]
        position[id(n)] = (d, -rows.get(d, 0))
        rows[d] = rows.get(d, 0) + 1
    for a, c in edges:
        if show == "grad" and not a.requires_grad:
            continue  # no gradient flows into this input
        ax.annotate("", xy=position[id(c)], xytext=position[id(a)],
                    arrowprops=dict(arrowstyle="<-" if show == "grad" else "->", color="grey", shrinkA=24, shrinkB=24))
    for n in nodes:
        label = n.op if n.parents else n.name
        value = n.data if show == "data" else n.grad
        text = "no grad" if value is None else np.array2string(np.asarray(value), precision=3, separator=", ")
        ax.text(*position[id(n)], f"{label}\n{text}", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", fc="lightyellow" if n.parents else "lightblue", ec="grey"))
    ax.set_xlim(-0.6, max(depth.values()) + 0.6)
    ax.set_ylim(-max(rows.values()) + 0.5, 0.5)
    ax.axis("off")


fig, ax = plt.subplots(figsize=(11, 2.2))
draw_graph(L, ax)
ax.set_title("forward: values flow left to right")
plt.show()

# %% [markdown]
# ## 3. Reverse-mode automatic differentiation
#
# `L.backward()` visits the nodes in **reverse** topological order. It starts with
# $\partial L/\partial L = 1$, and at every node it takes the gradient of the loss with respect to the node's
# output, $\bar v = \partial L/\partial v$, and turns it into gradients for the node's inputs with the node's
# local rule, adding them up where a value feeds several nodes:
#
# | node | local rule: $\bar u$ for the input $u$ |
# |---|---|
# | $v = -u$ | $\bar u = -\bar v$ |
# | $v = \log u$ | $\bar u = \bar v / u$ |
# | $v = \sigma(u)$ | $\bar u = \bar v\, v(1 - v)$ |
# | $v = u_1 + u_2$ | $\bar u_1 = \bar u_2 = \bar v$ |
# | $v = \sum_i u_i$ | $\bar u_i = \bar v$ for every $i$ |
# | $v = u_1 \odot u_2$ | $\bar u_1 = \bar v \odot u_2$, $\bar u_2 = \bar v \odot u_1$ |
#
# Let us do it by hand first, from the loss back to the parameters, with the forward values we have:

# %%
L_bar = 1.0
p_bar = L_bar * -1.0                      # L = -log p:  first through neg ...
p_bar = p_bar / p.data                    # ... then through log: -1/p
z_bar = p_bar * p.data * (1 - p.data)     # sigmoid: p(1-p);  together z_bar = p - 1
b_bar = z_bar                             # z = sum + b
w_bar = z_bar * x.data                    # products = x * w, then sum: each w_i gets z_bar * x_i
print(f"by hand: dL/dz = {z_bar:.4f} (= p - 1 = {p.data - 1:.4f}), dL/dw = {w_bar}, dL/db = {b_bar:.4f}")

L.backward()
print(f"autograd: dL/dw = {w.grad}, dL/db = {b.grad:.4f}")
np.testing.assert_allclose(w.grad, w_bar, rtol=1e-12)
np.testing.assert_allclose(b.grad, b_bar, rtol=1e-12)
assert np.isclose(z.grad, p.data - 1)  # backward also leaves the gradient on intermediate nodes

fig, ax = plt.subplots(figsize=(11, 2.2))
draw_graph(L, ax, show="grad")
ax.set_title("backward: gradients ∂L/∂(node) flow right to left")
plt.show()

# %% [markdown]
# The same numbers (the picture shows each node's $\bar v$; the last node is $L$ itself, so 1):
# `backward()` does exactly these steps, in this order. Two details make it work for
# any graph:
#
# - **Accumulation.** A value used twice receives the *sum* of the gradients from both uses, the
#   multivariable chain rule. For $f(x) = x\cdot x + x$, $f'(x) = 2x + 1$:

# %%
t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
(t * t + t).sum().backward()
print("d/dt (t·t + t) =", t.grad)
np.testing.assert_allclose(t.grad, 2 * t.data + 1)

# %% [markdown]
# - **Broadcasting.** When numpy broadcasts a bias $b$ of shape $(C,)$ over a batch $(N, C)$, $b$ is
#   copied $N$ times, so its gradient is the sum over the batch: the same `grad_out.sum(axis=0)` you
#   wrote in `Linear.backward`. `minifw.autograd` sums gradients back to each input's shape
#   (`ag.unbroadcast`):

# %%
bias = Tensor(np.zeros(3), requires_grad=True)
(Tensor(np.ones((4, 3))) + bias).sum().backward()  # the bias is broadcast over 4 rows
print("bias gradient:", bias.grad)
np.testing.assert_allclose(bias.grad, [4.0, 4.0, 4.0])

# %% [markdown]
# **Why reverse mode?** A network has one scalar loss and many parameters. One backward pass gives the
# derivative with respect to *all* of them. Finite differences (and forward-mode differentiation) need
# separate passes for every parameter: two forward passes each for a central difference.

# %%
X_digits, y_digits = mf.datasets.load_digits()
X_train, X_val, y_train, y_val = mf.train_test_split(X_digits.astype(np.float64), y_digits, test_size=0.25, seed=0)
scaler = mf.StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)  # float64 stays float64

net = mf.Sequential(mf.Linear(64, 32, seed=0), mf.ReLU(), mf.Linear(32, 10, seed=1)).astype(np.float64)
print(f"the network has {net.num_parameters()} parameters: a central-difference gradient needs "
      f"{2 * net.num_parameters()} forward passes, reverse mode one forward and one backward pass")
assert net.num_parameters() == 64 * 32 + 32 + 32 * 10 + 10

# %% [markdown]
# ## 4. The same network, differentiated automatically
#
# Now the real test. We take the 64-32-10 network above, built from minifw's hand-written layers, and
# write the same computation with `Tensor`s holding **copies of the same weights**:
#
# $$\text{logits} = \mathrm{relu}(X W_1 + b_1)\, W_2 + b_2, \qquad L = \text{cross-entropy}(\text{logits}, y).$$
#
# No backward code at all: `ag.cross_entropy` is the mean of $-$`log_softmax` at the true class, and
# autograd derives the rest. Then we compare every gradient with minifw's, in float64.

# %%
params = {name: Tensor(p.data.copy(), requires_grad=True, name=name) for name, p in net.named_parameters()}
print("parameters:", {name: t.shape for name, t in params.items()})


def autograd_forward(X):
    hidden = (Tensor(X, name="X") @ params["0.W"] + params["0.b"]).relu()
    return hidden @ params["2.W"] + params["2.b"]


X_batch, y_batch = X_train[:64], y_train[:64]

# minifw: forward, loss and gradient, backward through the hand-written layers
net.zero_grad()
loss_hand, grad_logits = mf.CrossEntropy()(net(X_batch), y_batch)
net.backward(grad_logits)

# autograd: forward only, then backward()
loss_auto = ag.cross_entropy(autograd_forward(X_batch), y_batch)
loss_auto.backward()

print(f"loss: hand-written {loss_hand:.12f}, autograd {float(loss_auto.data):.12f}")
for name, p in net.named_parameters():
    np.testing.assert_allclose(params[name].grad, p.grad, rtol=1e-10, atol=1e-14)
    print(f"{name}: max |difference| = {np.abs(params[name].grad - p.grad).max():.1e}")
assert np.isclose(float(loss_auto.data), loss_hand, rtol=1e-12)
print(ag.format_graph(loss_auto))
graph_nodes = ag.trace(loss_auto)[0]
assert [n.op for n in graph_nodes if n.parents][-6:] == ["log_softmax", "*", "sum", "sum", "*", "neg"]
assert np.isclose(graph_nodes[15].data, 1 / 64)

# %% [markdown]
# Every gradient agrees to about machine precision. The graph printed last is what autograd recorded:
# read it top to bottom and you see the forward pass, then the cross-entropy in small pieces: the
# log-softmax, the product with the one-hot labels (the unnamed input `%11`), the sum over the classes,
# the mean over the batch (a sum, then a product with the constant $1/64$) and the minus sign.
#
# Equal gradients mean equal training. Three epochs of SGD, both versions side by side on the same
# minibatches; for the autograd version the update is two lines of numpy.

# %%
lr = 0.1
optimizer = mf.SGD(net.parameters(), lr=lr)
losses_hand, losses_auto = [], []
for epoch in range(3):
    for xb, yb in mf.minibatches(X_train, y_train, batch_size=32, rng=epoch):
        # minifw, hand-written backward
        optimizer.zero_grad()
        loss, grad = mf.CrossEntropy()(net(xb), yb)
        net.backward(grad)
        optimizer.step()
        losses_hand.append(loss)
        # autograd
        for t in params.values():
            t.zero_grad()
        loss_t = ag.cross_entropy(autograd_forward(xb), yb)
        loss_t.backward()
        for t in params.values():
            t.data -= lr * t.grad  # SGD: theta <- theta - lr * grad
        losses_auto.append(float(loss_t.data))

with ag.no_grad():  # evaluation: no graph needed
    val_accuracy_auto = mf.accuracy(autograd_forward(X_val).data, y_val)
val_accuracy_hand = mf.accuracy(net(X_val), y_val)

plt.plot(losses_hand, lw=3, alpha=0.5, label="minifw layers (hand-written backward)")
plt.plot(losses_auto, lw=1, color="k", label="minifw.autograd")
plt.xlabel("step")
plt.ylabel("minibatch loss")
plt.legend()
plt.show()

print(f"{len(losses_hand)} steps; validation accuracy: hand-written {val_accuracy_hand:.3f}, autograd {val_accuracy_auto:.3f}")
np.testing.assert_allclose(losses_auto, losses_hand, rtol=1e-9)
for name, p in net.named_parameters():
    np.testing.assert_allclose(params[name].data, p.data, rtol=1e-8, atol=1e-12)
assert val_accuracy_auto == val_accuracy_hand and val_accuracy_auto > 0.9


# %% [markdown]
# The two curves lie exactly on top of each other, and after all these steps the weights agree to
# about eight significant digits. Automatic differentiation is not an approximation: it applies the
# same chain rule you applied by hand, just mechanically.

# %% [markdown]
# ## 5. Eager versus graph execution
#
# `minifw.autograd` runs **eagerly** (*define-by-run*): each operation executes the moment Python reaches
# it, and the graph is recorded along the way, anew on every call. Any Python code can decide what
# happens next, including loops and `if`s that look at the data. This function halves a vector until
# its squared length is at most 1:

# %%
def halve_until_short(v):
    while float((v * v).sum().data) > 1.0:  # Python looks at the current numbers
        v = v * 0.5
    return v


long_input = Tensor([3.0, 4.0], requires_grad=True, name="v")   # length 5: three halvings
short_input = Tensor([0.3, 0.4], requires_grad=True, name="v")  # length 0.5: none
out_long, out_short = halve_until_short(long_input), halve_until_short(short_input)
print("graph for [3, 4]:\n" + ag.format_graph(out_long))
print("graph for [0.3, 0.4]:\n" + ag.format_graph(out_short))
ops_long = [n.op for n in ag.trace(out_long)[0] if n.parents]
ops_short = [n.op for n in ag.trace(out_short)[0] if n.parents]
assert ops_long == ["*", "*", "*"] and ops_short == []

# %% [markdown]
# Two inputs, two different graphs, each one correct. Note what is *not* in the graph: the condition
# `(v * v).sum() > 1` ran, but its result left the graph through `float(...)`, into Python.
#
# **Graph execution** works the other way round: first build the whole graph, then run it, as often as
# you like, without Python in the loop. Knowing the whole computation in advance lets a compiler fuse
# operations, plan memory and run the graph on a GPU or a phone. A common way to get the graph is
# **tracing**: run the function once on an example and record what happened. Our recorded graph is
# enough for a tiny tracer: `compile_graph` turns the recorded nodes into a function that replays them
# with plain numpy on new inputs.

# %%
NUMPY_OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "@": np.matmul,
             "neg": np.negative, "exp": np.exp, "log": np.log, "relu": lambda a: np.maximum(a, 0),
             "sigmoid": mf.sigmoid, "tanh": np.tanh}


def compile_graph(root):
    """A function replaying the recorded graph of `root`; named leaves become keyword arguments,
    every other leaf (weights, constants) keeps the value it had when the graph was traced."""
    nodes = ag.trace(root)[0]
    unsupported = {n.op for n in nodes if n.parents and n.op not in NUMPY_OPS}
    if unsupported:
        raise NotImplementedError(f"compile_graph cannot replay {sorted(unsupported)}")

    def run(**inputs):
        values = {}
        for n in nodes:  # topological order
            if n.parents:
                values[id(n)] = NUMPY_OPS[n.op](*(values[id(q)] for q in n.parents))
            else:
                values[id(n)] = np.asarray(inputs[n.name]) if n.name in inputs else n.data
        return values[id(root)]

    return run


# trace the network's forward pass once, on one example batch, and replay it on the validation set
with ag.no_grad():
    eager_logits = autograd_forward(X_val).data
traced_forward = compile_graph(autograd_forward(X_train[:5]))
np.testing.assert_allclose(traced_forward(X=X_val), eager_logits, rtol=1e-12)
print("the traced graph reproduces the eager forward pass on", len(X_val), "new examples")

# %% [markdown]
# For the network, tracing is perfect: its operations never depend on the data. For `halve_until_short`
# it is not. The trace of the long input recorded three multiplications and nothing about the `while`;
# replaying it always halves three times:

# %%
traced_halving = compile_graph(halve_until_short(Tensor([3.0, 4.0], requires_grad=True, name="v")))
for v in ([3.0, 4.0], [30.0, 40.0], [0.3, 0.4]):
    eager = halve_until_short(Tensor(v, requires_grad=True, name="v")).data
    print(f"input {v}: eager {eager}, traced graph {traced_halving(v=np.array(v))}")
assert np.allclose(traced_halving(v=np.array([3.0, 4.0])), [0.375, 0.5])     # the traced example: right
assert not np.allclose(traced_halving(v=np.array([30.0, 40.0])),
                       halve_until_short(Tensor([30.0, 40.0])).data)          # longer input: too long
assert not np.allclose(traced_halving(v=np.array([0.3, 0.4])), [0.3, 0.4])    # short input: halved anyway

# %% [markdown]
# That is the trade-off every framework makes:
#
# | | eager (define-by-run) | graph (define-then-run) |
# |---|---|---|
# | what runs | each operation as Python reaches it | a graph built first, then executed |
# | Python control flow | just works, per input | is baked in by a trace, or must become graph ops (`tf.cond`, `tf.while_loop`) |
# | debugging | `print`, a debugger, numpy | harder: the code that runs is not the code you wrote |
# | speed | Python overhead on every operation | operations fused, no Python in the loop |
# | examples | minifw.autograd, PyTorch (default), TensorFlow 2 (default), JAX without `jit` | `torch.compile`, `torch.export`, `tf.function`, Keras `fit` (compiles its train step), `jax.jit` |
#
# Modern frameworks let you write eager code and compile it where speed matters, and they guard against
# the trap above: `tf.function` turns Python `while` and `if` on tensors into graph operations
# (AutoGraph) and traces again for new input shapes, `torch.compile` checks *guards* and recompiles when
# they fail, `torch.jit.trace` warns that it cannot see data-dependent control flow.

# %% [markdown]
# ## Try it
#
# 1. Add a `Tanh` to the `SiLU` comparison: write `mf.Tanh()` as an expression in `Tensor` operations
#    using only `exp` (and arithmetic), and check its gradient against `mf.Tanh().backward`.
# 2. Draw the graph of `t * t + t` with `draw_graph`. Where does the accumulation of section 3 happen?
# 3. Replace `relu` by `sigmoid` in `autograd_forward` and the `ReLU` in `net` by `mf.Sigmoid()`. Do the
#    gradients still agree? (They should, to the same precision.)
# 4. Time `net.forward` + `net.backward` against `autograd_forward` + `backward()` on the whole training
#    set with `%timeit`. Which is faster, and where could the difference come from?
# 5. Make `compile_graph` refuse graphs whose trace went through a Python decision: how could a tracer
#    notice that `float(...)` was called on a tensor? (Hint: PyTorch's tracer warns exactly there.)
#
# **Next:** the framework track repeats all of this with industrial tools:
# `lessons/02-frameworks/01-tensors-autograd-pytorch.ipynb` (PyTorch's `requires_grad`, `backward()`,
# `grad_fn` graph and `torch.compile`) and its twin `lessons/02-frameworks/01-tensors-autograd-tensorflow.ipynb`
# (`tf.GradientTape` and `tf.function`). To practise backpropagation by hand first, do the lab
# `labs/backprop-minifw/backprop-minifw.ipynb`.

# %% [markdown]
# ## Review questions
#
# 1. Why is a gradient check mandatory for every hand-written `backward`?
#    <details><summary>Answer</summary>
#
#    A wrong gradient does not crash: the network just trains
#    worse. Only a comparison with central differences (in float64) shows the slip, as it did for
#    SiLU without the first term of the product rule.
#
#    </details>
# 2. Why does reverse mode suit neural networks better than forward mode or finite differences?
#    <details><summary>Answer</summary>
#
#    There is one scalar loss and many parameters: one backward
#    pass gives the derivative with respect to all of them, while the others need passes per
#    parameter (two forward passes each for a central difference).
#
#    </details>
# 3. Why must a node's gradients from several uses be summed?
#    <details><summary>Answer</summary>
#
#    By the multivariable chain rule, a value that feeds several
#    operations affects the loss through each of them; the total derivative is the sum of the
#    paths. Broadcasting a bias over a batch is the same thing, hence its sum over the batch.
#
#    </details>
# 4. What goes wrong when a tracer records Python control flow that depends on tensor values?
#    <details><summary>Answer</summary>
#
#    The trace keeps only the branch taken for the example input,
#    so the compiled graph gives wrong results for inputs that should have taken another path.
#
#
#    </details>
