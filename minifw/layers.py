"""Layers with hand-written backward passes.

Every layer keeps what its backward pass needs in `self.cache` during `forward`, and its
`backward(grad_out)` returns $\\partial L / \\partial x$ with the shape of `x`, adding
$\\partial L / \\partial \\theta$ into each parameter's `.grad`. Shapes: `N` is the batch size.
"""
from __future__ import annotations

import numpy as np

from . import init as initializers
from .module import Module, Parameter


def _check_grad(layer: Module, grad_out: np.ndarray, shape: tuple[int, ...]) -> None:
    if grad_out.shape != shape:
        raise ValueError(f"{layer!r}.backward: expected grad_out of shape {shape} (the forward output), got {grad_out.shape}")


def _cached(layer: Module):
    if getattr(layer, "cache", None) is None:
        raise RuntimeError(f"{layer!r}.backward called before forward")
    return layer.cache


class Linear(Module):
    """Fully connected layer $y = xW + b$.

    x: (N, in_features) -> y: (N, out_features); W: (in_features, out_features), b: (out_features,).
    Default initialization: He uniform for W (suits ReLU), zeros for b.
    """

    can_skip_input_grad = True

    def __init__(self, in_features: int, out_features: int, init: str | initializers.Initializer = "he_uniform",
                 bias: bool = True, seed: int | np.random.Generator | None = None, dtype: type = np.float32):
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng(seed)
        self.W = Parameter(initializers.get(init)((self.in_features, self.out_features), rng).astype(dtype))
        self.b = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self.cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_features}), got {x.shape}")
        out = x @ self.W.data
        if self.b is not None:
            out += self.b.data
        self.cache = x
        return out.astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Adds dL/dW and dL/db into the parameters' grads; returns dL/dx, or None when
        `input_grad` is False (the first layer of a network: nothing upstream needs it)."""
        x = _cached(self)
        _check_grad(self, grad_out, (x.shape[0], self.out_features))
        self.W.grad += x.T @ grad_out          # dL/dW = x^T g
        if self.b is not None:
            self.b.grad += grad_out.sum(axis=0)  # dL/db = sum over the batch of g
        if not input_grad:
            return None
        return (grad_out @ self.W.data.T).astype(x.dtype, copy=False)  # dL/dx = g W^T

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}"


class ReLU(Module):
    """$\\mathrm{relu}(x) = \\max(0, x)$, derivative $1[x > 0]$."""

    cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = x > 0
        return x * self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = _cached(self)
        _check_grad(self, grad_out, mask.shape)
        return grad_out * mask


class LeakyReLU(Module):
    """$f(x) = x$ for $x > 0$, else $\\alpha x$; derivative 1 or $\\alpha$."""

    cache = None

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = x > 0
        return np.where(self.cache, x, x * x.dtype.type(self.negative_slope))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        mask = _cached(self)
        _check_grad(self, grad_out, mask.shape)
        return np.where(mask, grad_out, grad_out * grad_out.dtype.type(self.negative_slope))

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


def sigmoid(z: np.ndarray) -> np.ndarray:
    """$\\sigma(z) = 1 / (1 + e^{-z})$, computed from $e^{-|z|}$ so that no exponent overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


class Sigmoid(Module):
    """$\\sigma(x) = 1 / (1 + e^{-x})$, derivative $\\sigma(x)(1 - \\sigma(x))$; stable for large $|x|$."""

    cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = sigmoid(x)
        return self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = _cached(self)
        _check_grad(self, grad_out, s.shape)
        return grad_out * s * (1 - s)


class Tanh(Module):
    """$\\tanh(x)$, derivative $1 - \\tanh^2(x)$."""

    cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = np.tanh(x)
        return self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        t = _cached(self)
        _check_grad(self, grad_out, t.shape)
        return grad_out * (1 - t * t)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """$\\mathrm{softmax}(z)_i = e^{z_i - \\max z} / \\sum_j e^{z_j - \\max z}$ (shifted: never overflows)."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """$\\log \\mathrm{softmax}(z) = z - \\max z - \\log \\sum_j e^{z_j - \\max z}$, stable for huge logits."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Module):
    """Softmax over the last axis: (N, C) -> (N, C) probabilities.

    Backward: $\\partial L/\\partial z = s \\odot (g - \\sum_j g_j s_j)$. For training, prefer
    `CrossEntropy` on logits, which fuses softmax and the log and is stabler.
    """

    cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = softmax(x)
        return self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = _cached(self)
        _check_grad(self, grad_out, s.shape)
        return s * (grad_out - (grad_out * s).sum(axis=-1, keepdims=True))


class Dropout(Module):
    """Inverted dropout: in training, zero each unit with probability `p` and scale the rest by
    $1/(1-p)$ so the expected activation is unchanged; in eval mode, the identity."""

    cache = None

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0:
            self.cache = np.ones((), dtype=x.dtype)
            return x
        self.cache = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self.cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * _cached(self)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalization over the batch axis: (N, C) -> (N, C).

    Train: $\\hat x = (x - \\mu_B) / \\sqrt{\\sigma_B^2 + \\epsilon}$, $y = \\gamma \\hat x + \\beta$ with batch
    statistics, and running estimates updated as in PyTorch:
    $r \\leftarrow (1 - m) r + m \\cdot s$ (the running variance uses the unbiased batch variance).
    Eval: the running statistics replace the batch ones. Defaults: $\\gamma = 1$, $\\beta = 0$.
    """

    _buffers = ("running_mean", "running_var")
    cache = None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype: type = np.float32):
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.gamma = Parameter(np.ones(num_features, dtype=dtype))
        self.beta = Parameter(np.zeros(num_features, dtype=dtype))
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.num_features}), got {x.shape}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"{self!r}: training needs a batch of at least 2 samples, got {n}")
            mean, var = x.mean(axis=0), x.var(axis=0)
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
        self.gamma.grad += (grad_out * x_hat).sum(axis=0)
        self.beta.grad += grad_out.sum(axis=0)
        g = grad_out * self.gamma.data  # dL/dx_hat
        if not training:  # the statistics are constants
            return (g * inv_std).astype(grad_out.dtype, copy=False)
        # dL/dx = (1/sigma) (g - mean(g) - x_hat * mean(g * x_hat)), the batch statistics depend on x
        dx = inv_std * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0))
        return dx.astype(grad_out.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...); backward reshapes back."""

    cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(_cached(self))
