"""The layer API: `Parameter`, `Module` and `Sequential`.

A module maps a batch forward (`forward(x) -> out`) and, from the gradient of the loss with
respect to its output, returns the gradient with respect to its input
(`backward(grad_out) -> grad_in`) while adding the gradients of its own parameters into
`param.grad`. What a backward pass needs from its forward pass is kept in `self.cache`.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Parameter:
    """A trainable array and its gradient (same shape, same dtype)."""

    def __init__(self, data: np.ndarray):
        self.data = np.asarray(data)
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of every layer: parameters by name, train/eval mode, gradient bookkeeping."""

    training: bool = True
    # True when `backward(grad_out, input_grad=False)` skips computing dL/dx (see Sequential.backward)
    can_skip_input_grad: bool = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- parameters ---------------------------------------------------------------------
    def children(self) -> Iterator[tuple[str, Module]]:
        """Sub-modules by attribute name (a `Sequential` names them "0", "1", ...)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter of this module and its children, e.g. ("0.W", Parameter)."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def params(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {name: p.data for name, p in self.named_parameters()}

    def grads(self) -> dict[str, np.ndarray]:
        """Gradient arrays by name."""
        return {name: p.grad for name, p in self.named_parameters()}

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    # -- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer (such as batchnorm running statistics)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        for name, buf in self.named_buffers():
            state[name] = buf.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        own = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        missing = (set(own) | set(buffers)) - set(state)
        if missing:
            raise KeyError(f"load_state_dict: missing entries {sorted(missing)}")
        for name, p in own.items():
            p.data[...] = state[name]
        for name, buf in buffers.items():
            buf[...] = state[name]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Non-trainable arrays a module keeps between batches (names listed in `_buffers`)."""
        for name in getattr(self, "_buffers", ()):
            yield prefix + name, getattr(self, name)
        for name, child in self.children():
            yield from child.named_buffers(prefix + name + ".")

    def astype(self, dtype: np.dtype | type) -> Module:
        """Convert every parameter and buffer to `dtype` in place (e.g. float64 for gradient checks)."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = p.grad.astype(dtype)
        for module in self.modules():
            for name in getattr(module, "_buffers", ()):
                setattr(module, name, getattr(module, name).astype(dtype))
        return self

    # -- mode -----------------------------------------------------------------------------
    def modules(self) -> Iterator[Module]:
        yield self
        for _, child in self.children():
            yield from child.modules()

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
    parameters are called "0.W", "0.b", "2.W", ...
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, expected a minifw Module")
        self.layers = list(layers)

    def children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backward through every layer. With `input_grad=False` (what `Model` uses: the data
        needs no gradient) a first layer that can skip computing dL/dx does so, and None is returned."""
        for layer in reversed(self.layers[1:]):
            grad_out = layer.backward(grad_out)
        first = self.layers[0]
        if not input_grad and first.can_skip_input_grad:
            return first.backward(grad_out, input_grad=False)
        return first.backward(grad_out)

    @property
    def can_skip_input_grad(self) -> bool:
        return self.layers[0].can_skip_input_grad

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
