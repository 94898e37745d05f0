"""The layer API: `Parameter`, `Module` and `Sequential`.

A module maps a batch forward (`forward(x) -> out`) and, from the gradient of the loss with
respect to its output, returns the gradient with respect to its input
(`backward(grad_out) -> grad_in`) while adding the gradients of its own parameters into
`param.grad`. What a backward pass needs from its forward pass is kept in `self.cache`.

A module may appear more than once in a network (weight tying): its parameters are listed
once, and the gradients of all its uses add up in `param.grad`, as in PyTorch.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

ROLES = ("weight", "bias", "norm_scale")


class Parameter:
    """A trainable array, its gradient (same shape and dtype, or None before any backward pass)
    and its role: "weight" (the default), "bias" or "norm_scale" (a normalization layer's
    scale). Regularizers choose parameters by role. An optional `constraint` (such as
    `minifw.MaxNorm`) maps the array to an allowed one after every optimizer step.
    """

    def __init__(self, data: np.ndarray, role: str = "weight",
                 constraint: Callable[[np.ndarray], np.ndarray] | None = None):
        if role not in ROLES:
            raise ValueError(f"Parameter: role must be one of {ROLES}, got {role!r}")
        self.data = np.asarray(data)
        if self.data.dtype.kind != "f":
            raise TypeError(f"Parameter: expected a floating-point array, got dtype {self.data.dtype}")
        self._grad: np.ndarray | None = np.zeros_like(self.data)
        self._zeroed = False  # zero_grad() was called and the stored values are stale
        self.role = role
        self.constraint = constraint

    @property
    def grad(self) -> np.ndarray | None:
        """dL/d(data), summed over every backward pass since the last `zero_grad()`."""
        if self._zeroed and self._grad is not None:
            self._grad[...] = 0
            self._zeroed = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray | None) -> None:
        self._grad, self._zeroed = value, False

    def zero_grad(self) -> None:
        """Make the gradient zero, lazily: the next `accumulate` replaces it instead of adding to
        it, which saves passes over the array (reading `.grad` before that gives zeros)."""
        self._zeroed = self._grad is not None

    def accumulate(self, grad: np.ndarray) -> None:
        """Add `grad` into `self.grad`, as PyTorch's backward does. After `zero_grad()` (or when
        the gradient is None) a new array of the right shape and dtype, such as the result of
        `x.T @ g`, becomes the gradient itself without a copy: pass one that nothing else keeps."""
        if self._grad is not None and not self._zeroed:
            self._grad += grad
        elif (isinstance(grad, np.ndarray) and grad.flags.owndata and grad.flags.writeable
              and grad.shape == self.data.shape and grad.dtype == self.data.dtype):
            self._grad = grad
        else:
            self._grad = np.zeros_like(self.data)
            self._grad[...] = grad
        self._zeroed = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}, role={self.role!r})"


class LoadResult(NamedTuple):
    """What `load_state_dict(strict=False)` could not match (as PyTorch's `_IncompatibleKeys`)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer: parameters by name, train/eval mode, gradient bookkeeping."""

    training: bool = True
    cache: Any = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """dL/dx from dL/d(output); adds the parameters' gradients into their `.grad`."""
        raise NotImplementedError

    def set_input_grad(self, needed: bool) -> None:
        """Whether `backward` must return dL/dx. A network's first layer is told `False` by
        `Model` (the data needs no gradient), so a layer that can save work (`Linear` skips
        a matrix product) returns None instead. Modules that always compute it ignore this."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- parameters ---------------------------------------------------------------------
    def children(self) -> Iterator[tuple[str, Module]]:
        """Sub-modules by attribute name (a `Sequential` names them "0", "1", ...)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter of this module and its children once, under the first name it is
        reached by, e.g. ("0.W", Parameter). A shared (tied) parameter is listed once."""
        seen: set[int] = set()
        for name, p in self._all_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _all_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.children():
            yield from child._all_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def params(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {name: p.data for name, p in self.named_parameters()}

    def grads(self) -> dict[str, np.ndarray | None]:
        """Gradient arrays by name."""
        return {name: p.grad for name, p in self.named_parameters()}

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (see `Parameter.zero_grad`)."""
        for p in self.parameters():
            p.zero_grad()

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer (such as batchnorm running statistics)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        for name, buf in self.named_buffers():
            state[name] = buf.copy()
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray], strict: bool = True) -> LoadResult:
        """Copy `state` into the parameters and buffers, as PyTorch's `load_state_dict`.

        Every entry must have the shape of the array it replaces (a wrong shape is an error even
        when numpy could broadcast it). With `strict` (default), missing and unexpected keys are
        errors too; with `strict=False` they are skipped and returned. Nothing is written unless
        every check passes.
        """
        if not isinstance(state, Mapping):
            raise TypeError("load_state_dict: expected a dict of arrays such as state_dict(), "
                            f"got {type(state).__name__}")
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        missing = sorted(set(targets) - set(state))
        unexpected = sorted(set(state) - set(targets))
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected} "
                           "(pass strict=False to load the matching ones)")
        arrays = {}
        for name in sorted(set(targets) & set(state)):
            value = np.asarray(state[name])
            if value.shape != targets[name].shape:
                raise ValueError(f"load_state_dict: {name!r} has shape {targets[name].shape} in the model "
                                 f"but {value.shape} in the state dict")
            arrays[name] = value
        for name, value in arrays.items():
            targets[name][...] = value
        return LoadResult(missing, unexpected)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Non-trainable arrays a module keeps between batches (names listed in `_buffers`)."""
        seen: set[int] = set()
        for module_prefix, module in self._named_modules(prefix):
            if id(module) in seen:
                continue
            seen.add(id(module))
            for name in getattr(module, "_buffers", ()):
                yield module_prefix + name, getattr(module, name)

    def astype(self, dtype: np.dtype | type) -> Module:
        """Convert every parameter and floating-point buffer to `dtype` in place (e.g. float64 for
        gradient checks); integer buffers (a batch count) stay integers."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None if p.grad is None else p.grad.astype(dtype)
        for module in self.modules():
            for name in getattr(module, "_buffers", ()):
                buf = getattr(module, name)
                if buf.dtype.kind == "f":
                    setattr(module, name, buf.astype(dtype))
        return self

    # -- mode -----------------------------------------------------------------------------
    def _named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self.children():
            yield from child._named_modules(prefix + name + ".")

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, each once."""
        seen: set[int] = set()
        for _, module in self._named_modules():
            if id(module) not in seen:
                seen.add(id(module))
                yield module

    def train(self, mode: bool = True) -> Module:
        """Training mode: dropout drops, batchnorm uses and updates batch statistics."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity, batchnorm uses its running statistics."""
        return self.train(False)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    `Sequential(Linear(64, 32), ReLU(), Linear(32, 10))` names its layers "0", "1", "2", so
    parameters are called "0.W", "0.b", "2.W", ... Its `cache` holds each layer's cache after
    that layer's forward, so a layer used at two places gets back the right one in backward.
    (Layers run by hand, `h = layer(h)` one by one, keep their own caches: backward uses those.)
    """

    def __init__(self, *layers: Module):
        if not layers:
            raise ValueError("Sequential: expected at least one layer, got none")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, expected a minifw Module")
        self.layers = list(layers)

    def children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        caches = []
        for layer in self.layers:
            x = layer.forward(x)
            caches.append(layer.cache)
        self.cache = caches
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Backward through every layer in reverse order; returns dL/dx of the first layer's
        input (None when the first layer was told that no input gradient is needed)."""
        saved = self.cache or []
        grad: np.ndarray | None = grad_out
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            if any(layer.cache is c for c in saved):  # the layer's state comes from our forward:
                layer.cache = saved[i]                # give it back the one of position i
            grad = layer.backward(grad)  # type: ignore[arg-type]  # only the first layer may return None
        return grad

    def set_input_grad(self, needed: bool) -> None:
        """Tell the first layer, which alone sees this network's input. A first layer that is also
        used elsewhere in the network (weight tying) is told nothing: its other uses need dL/dx."""
        first = self.layers[0]
        uses = Counter(id(m) for _, m in self._named_modules())
        first.set_input_grad(needed or any(uses[id(m)] > 1 for m in first.modules()))

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
