r"""Layers with hand-written backward passes.

Every layer keeps what its backward pass needs in `self.cache` during `forward`, and its
`backward(grad_out)` returns $\partial L / \partial x$ with the shape of `x`, adding
$\partial L / \partial \theta$ into each parameter's `.grad`. Shapes: `N` is the batch size.
Integer or boolean inputs are computed in float32; float64 in gives float64 out, float32 in gives
float32 out, whatever the parameters' dtype. A gradient keeps the dtype of `grad_out` (`Linear`:
of its input), so a float32 network fed by a minifw loss, which keeps the prediction's dtype, is
float32 end to end (PyTorch refuses a float64 gradient for a float32 tensor instead).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import init as initializers
from .constraints import Constraint
from .module import Module, Parameter
from .seeding import RNGLike
from .seeding import rng as make_rng


def as_float(caller: object, x: Any) -> np.ndarray:
    """`x` as a floating-point array: floats unchanged, integers and booleans as float32;
    anything else (a list, strings, objects) is a TypeError naming what was expected."""
    name = caller if isinstance(caller, str) else repr(caller)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got a {type(x).__name__} (wrap it in np.asarray)")
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "biu":
        return x.astype(np.float32)
    raise TypeError(f"{name}: expected a numeric array, got dtype {x.dtype}")


def _check_grad(layer: Module, grad_out: np.ndarray, shape: tuple[int, ...]) -> None:
    if not isinstance(grad_out, np.ndarray) or grad_out.shape != shape:
        got = grad_out.shape if isinstance(grad_out, np.ndarray) else type(grad_out).__name__
        raise ValueError(f"{layer!r}.backward: expected grad_out of shape {shape} (the forward output), got {got}")


def check_number(caller: str, name: str, value: Any, low: float, high: float) -> float:
    """`value` as a float in [low, high], or a clear error (booleans and text are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{caller}: {name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{caller}: {name} must be in [{low}, {high}], got {value}")
    return float(value)


def _cached(layer: Module) -> Any:
    if layer.cache is None:
        raise RuntimeError(f"{layer!r}.backward called before forward")
    return layer.cache


class Linear(Module):
    r"""Fully connected layer $y = xW + b$.

    x: (N, in_features) -> y: (N, out_features); W: (in_features, out_features), b: (out_features,).
    Default initialization: He uniform for W, $U(\pm\sqrt{6/n_{in}})$ (suits ReLU), zeros for b. This
    differs from `torch.nn.Linear` ($U(\pm 1/\sqrt{n_{in}})$ for both) and Keras `Dense` (Glorot uniform
    W, zero b); pass `init=` to choose. `weight_constraint`
    (e.g. `MaxNorm(3)`) is applied to W after every optimizer step.
    """

    def __init__(self, in_features: int, out_features: int, init: str | initializers.Initializer = "he_uniform",
                 bias: bool = True, seed: RNGLike = None, dtype: type = np.float32,
                 weight_constraint: Constraint | None = None):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        weights = initializers.get(init)((self.in_features, self.out_features), make_rng(seed))
        self.W = Parameter(weights.astype(dtype), role="weight", constraint=weight_constraint)
        self.b = Parameter(np.zeros(self.out_features, dtype=dtype), role="bias") if bias else None
        self.input_grad = True

    def set_input_grad(self, needed: bool) -> None:
        self.input_grad = needed

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_features}), got {x.shape}")
        out = x @ self.W.data
        if self.b is not None:
            out += self.b.data
        self.cache = x
        return out.astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Adds dL/dW and dL/db into the parameters' grads; returns dL/dx, or None when this
        layer was told (`set_input_grad(False)`) that nothing upstream needs it."""
        x = _cached(self)
        _check_grad(self, grad_out, (x.shape[0], self.out_features))
        self.W.accumulate(x.T @ grad_out)             # dL/dW = x^T g
        if self.b is not None:
            self.b.accumulate(grad_out.sum(axis=0))   # dL/db = sum over the batch of g
        if not self.input_grad:
            return None
        return (grad_out @ self.W.data.T).astype(x.dtype, copy=False)  # dL/dx = g W^T

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}"


class ReLU(Module):
    r"""$\mathrm{relu}(x) = \max(0, x)$, derivative $1[x > 0]$ (0 at $x = 0$, as PyTorch).

    As `torch.relu`: $-\infty \mapsto 0$, NaN stays NaN (and passes its gradient), and the
    gradient is exactly 0 where $x \le 0$, even for an infinite `grad_out` (no $0 \cdot \infty$).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        self.cache = ~(x <= 0)  # NaN counts as positive, as torch's threshold
        return np.where(self.cache, x, x.dtype.type(0))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = _cached(self)
        _check_grad(self, grad_out, mask.shape)
        return np.where(mask, grad_out, grad_out.dtype.type(0))


class LeakyReLU(Module):
    r"""$f(x) = x$ for $x > 0$, else $\alpha x$; derivative 1 for $x > 0$, else $\alpha$ (also at 0, as torch).

    The default $\alpha = 0.01$ is PyTorch's; Keras `layers.LeakyReLU` defaults to 0.3.
    """

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = check_number("LeakyReLU", "negative_slope", negative_slope, -np.inf, np.inf)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        self.cache = x > 0
        return np.where(self.cache, x, x * x.dtype.type(self.negative_slope))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = _cached(self)
        _check_grad(self, grad_out, mask.shape)
        return np.where(mask, grad_out, grad_out * grad_out.dtype.type(self.negative_slope))

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


def sigmoid(z: np.ndarray) -> np.ndarray:
    r"""$\sigma(z) = 1 / (1 + e^{-z})$, computed from $e^{-|z|}$ so that no exponent overflows."""
    z = as_float("sigmoid", np.asarray(z))
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


class Sigmoid(Module):
    r"""$\sigma(x) = 1 / (1 + e^{-x})$, derivative $\sigma(x)(1 - \sigma(x))$; stable for large $|x|$."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = sigmoid(as_float(self, x))
        return self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = _cached(self)
        _check_grad(self, grad_out, s.shape)
        return grad_out * s * (1 - s)


class Tanh(Module):
    r"""$\tanh(x)$, derivative $1 - \tanh^2(x)$."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = np.tanh(as_float(self, x))
        return self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        t = _cached(self)
        _check_grad(self, grad_out, t.shape)
        return grad_out * (1 - t * t)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""$\mathrm{softmax}(z)_i = e^{z_i - \max z} / \sum_j e^{z_j - \max z}$ (shifted: never overflows)."""
    z = as_float("softmax", np.asarray(z))
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""$\log \mathrm{softmax}(z) = z - \max z - \log \sum_j e^{z_j - \max z}$, stable for huge logits."""
    z = as_float("log_softmax", np.asarray(z))
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Module):
    r"""Softmax along `axis` (default the last): (N, C) -> (N, C) probabilities summing to 1 along it.

    Backward: $\partial L/\partial z = s \odot (g - \sum_j g_j s_j)$, the sum along `axis`. For
    training, prefer `CrossEntropy` on logits, which fuses softmax and the log and is stabler.
    """

    def __init__(self, axis: int = -1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax: axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        if not -x.ndim <= self.axis < x.ndim:
            raise ValueError(f"{self!r}: axis {self.axis} is out of range for an input of shape {x.shape}")
        self.cache = softmax(x, self.axis)
        return self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = _cached(self)
        _check_grad(self, grad_out, s.shape)
        return s * (grad_out - (grad_out * s).sum(axis=self.axis, keepdims=True))

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Dropout(Module):
    r"""Inverted dropout: in training, zero each unit with probability `p` and scale the rest by
    $1/(1-p)$ so the expected activation is unchanged; in eval mode, the identity.

    `self.cache` holds the mask (0 or $1/(1-p)$ per unit; in eval mode or with $p = 0$, ones: a
    read-only broadcast view of a single 1, which takes no memory).
    $p = 1$ drops everything (output and gradient 0), as PyTorch.
    """

    def __init__(self, p: float = 0.5, seed: RNGLike = None):
        self.p = check_number("Dropout", "p", p, 0.0, 1.0)
        self.rng = make_rng(seed)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        if not self.training or self.p == 0:
            self.cache = np.broadcast_to(np.ones((), dtype=x.dtype), x.shape)
            return x
        if self.p == 1:
            self.cache = np.zeros(x.shape, dtype=x.dtype)
        else:
            self.cache = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = _cached(self)
        _check_grad(self, grad_out, mask.shape)
        return grad_out * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    r"""Batch normalization over the batch axis: (N, C) -> (N, C), as `torch.nn.BatchNorm1d`.

    Train: $\hat x = (x - \mu_B) / \sqrt{\sigma_B^2 + \epsilon}$ ($\epsilon$ inside the root, $\sigma_B^2$
    the biased batch variance), $y = \gamma \hat x + \beta$, and running estimates updated as in PyTorch:
    $r \leftarrow (1 - m) r + m \cdot s$, where the running variance takes the unbiased batch
    variance $\sigma_B^2 N / (N - 1)$. `momentum=None` gives PyTorch's cumulative average
    ($m = 1/k$ at the $k$-th training batch, counted in the buffer `num_batches_tracked`).
    Eval: the running statistics replace the batch ones. Defaults: $\gamma = 1$, $\beta = 0$.
    $\gamma$ has the role "norm_scale" and $\beta$ the role "bias" (regularizers skip both by default).

    Keras `layers.BatchNormalization(momentum=k)` weighs the *old* value: its $k = 0.99$ is
    `momentum=0.01` here; Keras also defaults to $\epsilon = 10^{-3}$ and keeps the biased batch
    variance in its moving variance.
    """

    _buffers: tuple[str, ...] = ("running_mean", "running_var")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, dtype: type = np.float32):
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"BatchNorm1d: num_features must be a positive integer, got {num_features!r}")
        eps = check_number("BatchNorm1d", "eps", eps, 0.0, np.inf)
        if momentum is not None:
            momentum = check_number("BatchNorm1d", "momentum", momentum, 0.0, 1.0)
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        if momentum is None:  # cumulative average: the batch count is state, saved with the statistics
            self._buffers = (*BatchNorm1d._buffers, "num_batches_tracked")
            self.num_batches_tracked = np.zeros((), dtype=np.int64)
        self.gamma = Parameter(np.ones(num_features, dtype=dtype), role="norm_scale")
        self.beta = Parameter(np.zeros(num_features, dtype=dtype), role="bias")
        self.running_mean: np.ndarray = np.zeros(num_features, dtype=dtype)
        self.running_var: np.ndarray = np.ones(num_features, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.num_features}), got {x.shape}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"{self!r}: training needs a batch of at least 2 samples, got {n}")
            mean, var = x.mean(axis=0), x.var(axis=0)
            if self.momentum is None:
                self.num_batches_tracked += 1
                m = 1 / float(self.num_batches_tracked)
            else:
                m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var * n / (n - 1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self.cache = (x_hat, inv_std, self.training)
        return (self.gamma.data * x_hat + self.beta.data).astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_hat, inv_std, training = _cached(self)
        _check_grad(self, grad_out, x_hat.shape)
        self.gamma.accumulate((grad_out * x_hat).sum(axis=0))
        self.beta.accumulate(grad_out.sum(axis=0))
        g = grad_out * self.gamma.data  # dL/dx_hat
        if not training:  # the statistics are constants
            return (g * inv_std).astype(grad_out.dtype, copy=False)
        # dL/dx = (1/sigma) (g - mean(g) - x_hat * mean(g * x_hat)), the batch statistics depend on x
        dx = inv_std * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))
        return dx.astype(grad_out.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), as `torch.nn.Flatten()`; backward reshapes back.
    The input needs a batch axis and at least one more (a 1-D input is an error, as in torch)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        if x.ndim < 2:
            raise ValueError(f"{self!r}: expected an input of shape (N, d1, ...) with at least 2 axes, got {x.shape}")
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape = _cached(self)
        _check_grad(self, grad_out, (shape[0], int(np.prod(shape[1:]))))
        return grad_out.reshape(shape)


class Residual(Module):
    r"""A skip connection around `block`: $y = x + \mathrm{block}(x)$ (the block keeps the shape).

    Backward: $\partial L/\partial x = g + \mathrm{block.backward}(g)$ with $g = \partial L/\partial y$:
    the gradient reaches $x$ both directly and through the block. The parameters are the block's.
    """

    def __init__(self, block: Module):
        if not isinstance(block, Module):
            raise TypeError(f"Residual: expected a minifw Module as the block, got {type(block).__name__}")
        self.block = block
        self.input_grad = True

    def set_input_grad(self, needed: bool) -> None:
        self.input_grad = needed
        self.block.set_input_grad(needed)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float(self, x)
        out = self.block.forward(x)
        if out.shape != x.shape:
            raise ValueError(f"{self!r}: the block maps shape {x.shape} to {out.shape}; a residual block "
                             "must keep the shape")
        self.cache = self.block.cache  # the block's own cache, restored in backward (the block may be shared)
        return x + out

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        self.block.cache = _cached(self)
        grad_block = self.block.backward(grad_out)
        if not self.input_grad:
            return None
        return grad_out + grad_block

    def extra_repr(self) -> str:
        return repr(self.block)
