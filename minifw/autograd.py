r"""A small reverse-mode automatic differentiation engine on numpy arrays.

Every operation on a `Tensor` computes its result with numpy and, when some input needs a
gradient, remembers its inputs (`parents`), its name (`op`) and its *local* backward rule:
given $G = \partial L/\partial \text{out}$ it returns $\partial L/\partial \text{input}$ for each
input. `backward()` visits the graph from the output to the inputs (reverse topological
order) and applies the chain rule node by node, *adding* into `.grad`, so a tensor used
twice (as in `x * x + x`) receives the sum of both contributions.

Two differences from PyTorch: `backward()` may run twice on the same graph (leaf gradients add
up, as torch with `retain_graph=True`), and the backward rules read their inputs' arrays when
`backward()` runs, so changing a tensor's `.data` in place between the forward pass and
`backward()` silently changes the gradients (torch raises an error): update parameters after it.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x + x).sum().backward()
    >>> x.grad                                  # d/dx (x^2 + x) = 2x + 1
    array([3., 5.])
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .losses import check_labels

Backward = Callable[[np.ndarray], tuple[np.ndarray, ...]]

_grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside `with no_grad():` operations record no graph (for evaluation and parameter updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    r"""Sum `grad` back down to `shape`, undoing numpy broadcasting.

    Broadcasting copies an operand along new leading axes and along its axes of length 1.
    Every copy receives part of the gradient, so $\partial L/\partial x$ is the sum over the
    copies: sum over the leading axes, and over the stretched axes keeping them as length 1.
    """
    lead = grad.ndim - len(shape)
    stretched = [lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1]
    return np.asarray(grad.sum(axis=tuple(range(lead)) + tuple(stretched), keepdims=True)).reshape(shape)


def _node(data: np.ndarray, parents: tuple[Tensor, ...], op: str, backward: Backward) -> Tensor:
    """The result of an op; it keeps its inputs and backward rule only if a gradient will be needed."""
    out = Tensor(data)
    if _grad_enabled and any(p.requires_grad for p in parents):
        out.requires_grad, out.parents, out.op, out._backward = True, parents, op, backward
    return out


class Tensor:
    """A numpy array with a gradient: `.data`, `.grad` (None until `backward()`), `requires_grad`.

    Integer or boolean data become float64; float32 and float64 are kept. Python numbers and
    integer arrays combined with a tensor take its dtype, so float32 stays float32 (a float64
    array promotes the result to float64, as in numpy).
    """

    __array_ufunc__ = None  # `ndarray + Tensor` calls Tensor.__radd__ instead of looping in numpy

    def __init__(self, data: Any, requires_grad: bool = False, name: str = ""):
        self.data = np.asarray(data)
        if not np.issubdtype(self.data.dtype, np.floating):
            self.data = self.data.astype(np.float64)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self.name = name
        self.parents: tuple[Tensor, ...] = ()
        self.op = ""
        self._backward: Backward | None = None

    # -- plumbing --------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> Tensor:
        """The same data, cut from the graph (no gradient flows through it)."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        extra = f", op={self.op!r}" if self.op else (", requires_grad=True" if self.requires_grad else "")
        data = np.array2string(self.data, precision=4, separator=", ", threshold=20, prefix="Tensor(")
        return f"Tensor({data}, dtype={self.dtype}{extra})"

    def _lift(self, other: Any) -> Tensor:
        """Wrap a constant operand; Python numbers and integer arrays take this tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        data = np.asarray(other)
        if isinstance(other, (int, float)) or not np.issubdtype(data.dtype, np.floating):
            data = data.astype(self.dtype)
        return Tensor(data)

    def _accumulate(self, grad: np.ndarray) -> None:
        if self.grad is None:
            self.grad = np.zeros_like(self.data)
        self.grad += unbroadcast(grad, self.shape)

    def backward(self, grad: np.ndarray | None = None) -> None:
        r"""Fill `.grad` of every tensor this one was computed from with $\partial L/\partial t$.

        `grad` is $\partial L/\partial \text{self}$; by default 1, which needs a scalar output.
        Leaf gradients accumulate across calls (call `zero_grad()`); intermediate ones restart.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no input had requires_grad=True)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward: expected a scalar output or an explicit grad, got shape {self.shape}")
            grad = np.ones_like(self.data)
        if np.shape(grad) != self.shape:
            raise ValueError(f"backward: expected grad of shape {self.shape} (the output's), got {np.shape(grad)}")
        order = trace(self)[0]
        for node in order:
            if node.parents:
                node.grad = None
        self._accumulate(np.asarray(grad))
        for node in reversed(order):  # every node is done before its inputs are visited
            if node.parents:
                assert node._backward is not None and node.grad is not None  # set for every non-leaf node
                for parent, g in zip(node.parents, node._backward(node.grad)):
                    if parent.requires_grad:
                        parent._accumulate(g)

    # -- arithmetic (a, b: inputs, g: gradient of the output) --------------------------------
    def __add__(self, other: Any) -> Tensor:
        r"""$a + b$; $\partial/\partial a = \partial/\partial b = 1$."""
        other = self._lift(other)
        return _node(self.data + other.data, (self, other), "+", lambda g: (g, g))

    def __sub__(self, other: Any) -> Tensor:
        r"""$a - b$; $\partial/\partial a = 1$, $\partial/\partial b = -1$."""
        other = self._lift(other)
        return _node(self.data - other.data, (self, other), "-", lambda g: (g, -g))

    def __mul__(self, other: Any) -> Tensor:
        r"""$ab$; $\partial/\partial a = b$, $\partial/\partial b = a$."""
        other = self._lift(other)
        a, b = self.data, other.data
        return _node(a * b, (self, other), "*", lambda g: (g * b, g * a))

    def __truediv__(self, other: Any) -> Tensor:
        r"""$a/b$; $\partial/\partial a = 1/b$, $\partial/\partial b = -a/b^2$."""
        other = self._lift(other)
        a, b = self.data, other.data
        return _node(a / b, (self, other), "/", lambda g: (g / b, -g * a / b**2))

    def __neg__(self) -> Tensor:
        r"""$-a$; $\partial/\partial a = -1$."""
        return _node(-self.data, (self,), "neg", lambda g: (-g,))

    def __pow__(self, p: float) -> Tensor:
        r"""$a^p$ for a number $p$; $\partial/\partial a = p\,a^{p-1}$."""
        if not isinstance(p, (int, float, np.number)):
            raise TypeError(f"Tensor ** p: expected a number p, got {type(p).__name__}")
        a = self.data
        if p == 0:  # a^0 = 1 is a constant: gradient 0 everywhere, also at a = 0 (as torch, not 0 * inf)
            return _node(a**p, (self,), f"**{p}", lambda g: (np.zeros_like(g),))
        return _node(a**p, (self,), f"**{p}", lambda g: (g * p * a ** (p - 1),))

    def __matmul__(self, other: Any) -> Tensor:
        r"""$AB$ (batch axes broadcast); $\partial/\partial A = G B^\top$, $\partial/\partial B = A^\top G$."""
        other = self._lift(other)
        a, b = self.data, other.data

        def backward(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # a vector is a one-row matrix on the left, a one-column matrix on the right
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            g2 = g[..., None] if b.ndim == 1 else g
            g2 = g2[..., None, :] if a.ndim == 1 else g2
            ga, gb = g2 @ b2.swapaxes(-1, -2), a2.swapaxes(-1, -2) @ g2
            return unbroadcast(ga, a2.shape).reshape(a.shape), unbroadcast(gb, b2.shape).reshape(b.shape)

        return _node(a @ b, (self, other), "@", backward)

    def __radd__(self, other: Any) -> Tensor:
        return self._lift(other) + self

    def __rsub__(self, other: Any) -> Tensor:
        return self._lift(other) - self

    def __rmul__(self, other: Any) -> Tensor:
        return self._lift(other) * self

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._lift(other) / self

    def __rmatmul__(self, other: Any) -> Tensor:
        return self._lift(other) @ self

    # -- reductions ------------------------------------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""$\sum_i a_i$ over `axis`; $\partial/\partial a_i = 1$: G is copied back along the summed axes."""
        shape = self.shape

        def backward(g: np.ndarray) -> tuple[np.ndarray]:
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, shape),)

        return _node(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum", backward)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        r"""$\frac1n \sum_i a_i$: a sum times the constant $1/n$."""
        total = self.sum(axis, keepdims)
        return total * (total.data.size / self.data.size)

    # -- elementwise functions -------------------------------------------------------------
    def exp(self) -> Tensor:
        r"""$e^a$; $\partial/\partial a = e^a$."""
        out = np.exp(self.data)
        return _node(out, (self,), "exp", lambda g: (g * out,))

    def log(self) -> Tensor:
        r"""$\log a$; $\partial/\partial a = 1/a$."""
        a = self.data
        return _node(np.log(a), (self,), "log", lambda g: (g / a,))

    def relu(self) -> Tensor:
        r"""$\max(a, 0)$; $\partial/\partial a = [a > 0]$: exactly 0 where $a \le 0$, even for an infinite
        $G$, and NaN passes through with its gradient, as torch."""
        a = self.data
        keep = ~(a <= 0)
        return _node(np.where(keep, a, a.dtype.type(0)), (self,), "relu", lambda g: (np.where(keep, g, 0),))

    def sigmoid(self) -> Tensor:
        r"""$\sigma(a) = 1/(1 + e^{-a})$; $\partial/\partial a = \sigma(a)(1 - \sigma(a))$.

        Computed from $e^{-|a|} \le 1$, which never overflows: $1/(1+e^{-a})$ for $a \ge 0$,
        $e^{a}/(1+e^{a})$ for $a < 0$.
        """
        e = np.exp(-np.abs(self.data))
        out = np.where(self.data >= 0, 1 / (1 + e), e / (1 + e))
        return _node(out, (self,), "sigmoid", lambda g: (g * out * (1 - out),))

    def tanh(self) -> Tensor:
        r"""$\tanh a$; $\partial/\partial a = 1 - \tanh^2 a$."""
        out = np.tanh(self.data)
        return _node(out, (self,), "tanh", lambda g: (g * (1 - out**2),))

    def log_softmax(self, axis: int = -1) -> Tensor:
        r"""$a_i - \log \sum_j e^{a_j}$ along `axis`; $\partial/\partial a = G - \mathrm{softmax}(a) \sum_j G_j$.

        The log-sum-exp is taken as $m + \log \sum_j e^{a_j - m}$ with $m = \max_j a_j$, so no
        exponential overflows, whatever the scale of the logits.
        """
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return _node(out, (self,), "log_softmax", lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),))

    # -- shape -----------------------------------------------------------------------------
    def reshape(self, *shape: int) -> Tensor:
        """The same elements in a new shape; the gradient is reshaped back."""
        old = self.shape
        return _node(self.data.reshape(*shape), (self,), "reshape", lambda g: (g.reshape(old),))

    def transpose(self, *axes: int) -> Tensor:
        """Axes permuted (reversed by default); the gradient is permuted back by the inverse permutation."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):  # t.transpose((1, 0)) as well
            axes = tuple(axes[0])
        axes = axes or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(axes))
        return _node(self.data.transpose(axes), (self,), "transpose", lambda g: (g.transpose(inverse),))

    @property
    def T(self) -> Tensor:
        return self.transpose()


def cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    r"""Mean softmax cross-entropy $-\frac1N \sum_i \log \mathrm{softmax}(z_i)_{y_i}$.

    `logits` has shape (N, C), `labels` holds N integer classes in [0, C) (checked, as
    `minifw.CrossEntropy` does: a label -1 is an error, not the last class).
    """
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits of shape (N, C), got {logits.shape}")
    labels = check_labels("cross_entropy", labels, logits.shape[1], logits.shape[0])
    one_hot = np.eye(logits.shape[-1], dtype=logits.dtype)[labels]
    return -(logits.log_softmax(axis=-1) * one_hot).sum(axis=-1).mean()


def trace(root: Tensor) -> tuple[list[Tensor], list[tuple[Tensor, Tensor]]]:
    """The graph that computed `root`: its nodes, inputs first, and its edges (input, output).

    A depth-first search with an explicit stack, so long chains do not hit Python's recursion limit.
    """
    nodes: list[Tensor] = []
    edges: list[tuple[Tensor, Tensor]] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            nodes.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            for parent in reversed(node.parents):  # reversed: the first input comes out first
                edges.append((parent, node))
                stack.append((parent, False))
    return nodes, edges


def format_graph(root: Tensor) -> str:
    """The graph as text, one node per line, e.g. `%2 = @(%0, %1)   shape (2, 3)`."""
    nodes = trace(root)[0]
    index = {id(n): i for i, n in enumerate(nodes)}
    lines = []
    for i, n in enumerate(nodes):
        what = f"{n.op}({', '.join(f'%{index[id(p)]}' for p in n.parents)})" if n.parents else (n.name or "input")
        lines.append(f"%{i} = {what:<24} shape {n.shape}" + ("  grad" if n.requires_grad and not n.parents else ""))
    return "\n".join(lines)
