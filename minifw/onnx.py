"""ONNX export and import for chains of minifw layers (MLPs).

    import minifw as mf
    mf.onnx.export(net, "net.onnx", n_features=64)   # a Sequential -> an ONNX file
    net = mf.onnx.load("net.onnx")                   # an ONNX MLP graph -> a Sequential

Export writes the inference graph (what `net.eval()` computes) with a dynamic batch axis:
input "input" of shape (N, *features), output "output". Each layer becomes one ONNX operator:

| minifw | ONNX |
|---|---|
| `Linear` | `Gemm` ($y = xW + b$, `W` stored as (in, out)); `MatMul` without a bias |
| `ReLU`, `Sigmoid`, `Tanh`, `LeakyReLU` | `Relu`, `Sigmoid`, `Tanh`, `LeakyRelu` |
| `Softmax` | `Softmax` (axis -1) |
| `Dropout` | `Dropout` with its ratio (the identity at inference); `Identity` for $p = 1$ (ONNX wants $p < 1$) |
| `BatchNorm1d` | `BatchNormalization` with the running statistics; ONNX momentum is $1 - m$ (none for `None`) |
| `Flatten` | `Flatten` (axis 1) |

Load reads a chain of those operators from the default ONNX domain at opsets
`MIN_OPSET`..`MAX_OPSET`, and also what other exporters write for them: `Gemm` with
`transB`/`alpha`/`beta`, `MatMul` followed by `Add` (a bias), `Reshape` to (N, -1) (a
flatten), `Identity`, `Constant`, and a per-feature `Mul`/`Add` (Keras writes an inference
batch normalization that way; it becomes a `BatchNorm1d` with mean 0, variance 1 and eps 0).
Anything else raises `UnsupportedOnnxError` naming the operator. A `BatchNorm1d(momentum=None)`
(a cumulative average, which ONNX cannot say) loads back with momentum 0.1.

The `onnx` package is imported inside these functions only: `import minifw` needs only numpy.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from .layers import BatchNorm1d, Dropout, Flatten, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from .module import Module, Sequential

if TYPE_CHECKING:
    import onnx as onnx_lib

MIN_OPSET = 13  # Softmax over one axis, Dropout's ratio as an input, Gemm/Flatten in their current form
MAX_OPSET = 28  # the newest opset of onnx 1.23, run here by onnxruntime 1.32; the operators read are unchanged up to it
DEFAULT_OPSET = 18

_ACTIVATIONS: dict[type, str] = {ReLU: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh"}
_FLOAT_TYPES = (np.float32, np.float64)


class UnsupportedOnnxError(ValueError):
    """The ONNX model uses an operator, opset, data type or graph shape minifw cannot read."""


def _onnx():
    try:
        import onnx
    except ImportError as err:  # pragma: no cover - the course environment has it
        raise ImportError("minifw.onnx needs the onnx package: pip install onnx==1.23.2") from err
    return onnx


# -- export -------------------------------------------------------------------------------
def _chain(module: Module, prefix: str = "") -> Iterator[tuple[str, Module]]:
    """The leaf layers of (nested) Sequentials in order, with their parameter-name prefixes."""
    if isinstance(module, Sequential):
        for name, child in module.children():
            yield from _chain(child, f"{prefix}{name}.")
    else:
        yield prefix, module


def _net_dtype(net: Module, dtype: np.dtype | type | None) -> np.dtype:
    dtypes = {p.data.dtype for p in net.parameters()}
    if len(dtypes) > 1:
        raise ValueError(f"minifw.onnx.export: the parameters mix dtypes {sorted(map(str, dtypes))}; "
                         "convert them with net.astype(np.float32) first")
    found = dtypes.pop() if dtypes else np.dtype(dtype or np.float32)
    if dtype is not None and np.dtype(dtype) != found:
        raise ValueError(f"minifw.onnx.export: dtype={np.dtype(dtype)} but the parameters are {found}")
    if found not in _FLOAT_TYPES:
        raise ValueError(f"minifw.onnx.export: expected float32 or float64 parameters, got {found}")
    return found


def _dims(shape: tuple) -> str:
    return ", ".join(map(str, shape))


def _float_attr(value: float) -> float:
    """An ONNX float attribute is float32; read back, give the shortest decimal it stores
    (0.1 stays 0.1 instead of 0.10000000149)."""
    return float(str(np.float32(value)))


def export(net: Module, path: str | os.PathLike | None, n_features: int | tuple[int, ...], *,
           opset: int = DEFAULT_OPSET, dtype: np.dtype | type | None = None) -> onnx_lib.ModelProto:
    """Write `net` (a `Sequential` of minifw layers, or one layer) as an ONNX model.

    Args:
        net: the network; its inference graph is written (dropout off, batchnorm running statistics).
        path: where to save the `.onnx` file (weights inside it), or None to only return the model.
        n_features: the shape of one sample, e.g. 64 or (28, 28); the batch axis "N" is dynamic.
        opset: the ONNX opset to stamp, `MIN_OPSET`..`MAX_OPSET`.
        dtype: float32 or float64; by default the parameters' dtype (float32 for a net without any).

    Returns:
        The checked `onnx.ModelProto` (input "input": (N, *n_features), output "output").
    """
    onnx = _onnx()
    from onnx import helper, numpy_helper

    from . import __version__

    if not isinstance(net, Module):
        raise TypeError(f"minifw.onnx.export: expected a minifw Module, got {type(net).__name__}")
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"minifw.onnx.export: opset must be in {MIN_OPSET}..{MAX_OPSET}, got {opset}")
    features = (int(n_features),) if np.ndim(n_features) == 0 else tuple(int(d) for d in n_features)
    if not features or min(features) < 1:
        raise ValueError(f"minifw.onnx.export: n_features must be positive sizes, got {n_features}")
    dtype = _net_dtype(net, dtype)
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    layers = list(_chain(net))
    if not layers:
        raise ValueError("minifw.onnx.export: the network has no layers")

    nodes, inits = [], []
    shape, current = features, "input"

    def init(name: str, array: np.ndarray, as_dtype: np.dtype = dtype) -> str:
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=as_dtype), name))
        return name

    for i, (prefix, layer) in enumerate(layers):
        where = f"minifw.onnx.export: layer {prefix[:-1] or 0} {layer!r}"
        if isinstance(layer, Linear):
            if shape != (layer.in_features,):
                raise ValueError(f"{where} expects (N, {layer.in_features}) inputs, it gets (N, {_dims(shape)})")
            inputs = [current, init(prefix + "W", layer.W.data)]
            if layer.b is not None:
                inputs.append(init(prefix + "b", layer.b.data))
            op, attrs, shape = ("Gemm" if layer.b is not None else "MatMul"), {}, (layer.out_features,)
        elif type(layer) in _ACTIVATIONS:
            op, attrs, inputs = _ACTIVATIONS[type(layer)], {}, [current]
        elif isinstance(layer, LeakyReLU):
            op, attrs, inputs = "LeakyRelu", {"alpha": float(layer.negative_slope)}, [current]
        elif isinstance(layer, Softmax):
            op, attrs, inputs = "Softmax", {"axis": -1}, [current]
        elif isinstance(layer, Dropout) and layer.p == 1:  # ONNX's ratio must be < 1; at inference: the identity
            op, attrs, inputs = "Identity", {}, [current]
        elif isinstance(layer, Dropout):
            op, attrs = "Dropout", {}
            inputs = [current, init(prefix + "ratio", layer.p)]
        elif isinstance(layer, BatchNorm1d):
            if shape != (layer.num_features,):
                raise ValueError(f"{where} expects (N, {layer.num_features}) inputs, it gets (N, {_dims(shape)})")
            op, attrs = "BatchNormalization", {"epsilon": float(layer.eps)}
            if layer.momentum is not None:  # a cumulative average (None) has no ONNX momentum: the default stays
                attrs["momentum"] = 1.0 - float(layer.momentum)
            inputs = [current] + [init(prefix + name, array) for name, array in
                                  (("gamma", layer.gamma.data), ("beta", layer.beta.data),
                                   ("running_mean", layer.running_mean), ("running_var", layer.running_var))]
        elif isinstance(layer, Flatten):
            op, attrs, inputs, shape = "Flatten", {"axis": 1}, [current], (int(np.prod(shape)),)
        else:
            raise UnsupportedOnnxError(f"{where}: no ONNX export for {type(layer).__name__} (supported: Linear, "
                                       "ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Dropout, BatchNorm1d, Flatten)")
        output = "output" if i == len(layers) - 1 else f"{prefix}{op}"
        nodes.append(helper.make_node(op, inputs, [output], name=f"{prefix}{op}", **attrs))
        current = output

    graph = helper.make_graph(
        nodes, "minifw", [helper.make_tensor_value_info("input", elem, ["N", *features])],
        [helper.make_tensor_value_info("output", elem, ["N", *shape])], initializer=inits)
    model = helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", opset)],
                                          producer_name="minifw", producer_version=__version__)
    model.doc_string = repr(net)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model


# -- import -------------------------------------------------------------------------------
class _Reader:
    """Turns the nodes of a chain-shaped ONNX graph into minifw layers, one node at a time."""

    def __init__(self, graph: onnx_lib.GraphProto, dtype: np.dtype, features: tuple[int | None, ...]):
        from onnx import numpy_helper

        self.to_array = numpy_helper.to_array
        self.consts = {t.name: self.to_array(t) for t in graph.initializer}
        self.dtype, self.features = dtype, features
        self.layers: list[Module] = []  # a chain: the last layer feeds the node being read

    def const(self, node, i: int) -> np.ndarray:
        name = node.input[i]
        if name not in self.consts:
            raise UnsupportedOnnxError(f"{_where(node)}: input {i} ({name!r}) must be a constant "
                                       "(an initializer or a Constant node) for minifw to read it")
        return self.consts[name]

    def weights(self, array: np.ndarray) -> np.ndarray:
        return np.array(array, dtype=self.dtype)

    def width(self, node) -> int | None:
        if len(self.features) != 1:
            raise UnsupportedOnnxError(f"{_where(node)} reads inputs of shape (N, "
                                       f"{_dims(self.features)}); minifw needs (N, features) here "
                                       "(a Flatten or Reshape first)")
        return self.features[0]

    def per_feature(self, node, array: np.ndarray) -> np.ndarray:
        """A constant that broadcasts over (N, C) as one value per feature, as a (C,) vector."""
        c = self.width(node)
        if array.ndim > 2 or (array.ndim == 2 and array.shape[0] != 1):
            raise UnsupportedOnnxError(f"{_where(node)}: expected a scalar or per-feature constant, "
                                       f"got shape {array.shape}")
        flat = array.reshape(-1)
        if flat.size == 1 and c is not None:
            return np.full(c, flat[0], dtype=self.dtype)
        if c is not None and flat.size != c:
            raise UnsupportedOnnxError(f"{_where(node)}: constant of {flat.size} values on {c} features")
        return self.weights(flat)

    def linear(self, node, w: np.ndarray, b: np.ndarray | None) -> None:
        if w.ndim != 2:
            raise UnsupportedOnnxError(f"{_where(node)}: expected a 2-D weight, got shape {w.shape}")
        c = self.width(node)
        if c is not None and c != w.shape[0]:
            raise UnsupportedOnnxError(f"{_where(node)}: weight {w.shape} on {c} features")
        layer = Linear(w.shape[0], w.shape[1], bias=b is not None, dtype=self.dtype)
        layer.W.data[...] = w
        if b is not None:
            layer.b.data[...] = b
        self.features = (w.shape[1],)
        self.layers.append(layer)

    def affine(self, node, scale: np.ndarray | None, shift: np.ndarray | None) -> None:
        """A per-feature $y = x \\cdot s + t$, as a BatchNorm1d in eval mode (mean 0, var 1, eps 0)."""
        prev = self.layers[-1] if self.layers else None
        if scale is None and isinstance(prev, Linear) and prev.b is None:  # MatMul then Add: the bias
            layer = Linear(prev.in_features, prev.out_features, dtype=self.dtype)
            layer.W.data[...], layer.b.data[...] = prev.W.data, shift
            self.layers[-1] = layer
        elif scale is None and isinstance(prev, BatchNorm1d) and prev.eps == 0 and not prev.beta.data.any():
            prev.beta.data[...] = shift  # Mul then Add: one affine layer
        else:
            c = len(scale if scale is not None else shift)
            layer = BatchNorm1d(c, eps=0.0, dtype=self.dtype).eval()
            if scale is not None:
                layer.gamma.data[...] = scale
            if shift is not None:
                layer.beta.data[...] = shift
            self.layers.append(layer)

    def flatten(self, node) -> None:
        if None in self.features:
            raise UnsupportedOnnxError(f"{_where(node)}: the input's feature shape "
                                       f"{self.features} must be known to flatten it")
        self.features = (int(np.prod(self.features)),)
        self.layers.append(Flatten())

    def read(self, node, current: str) -> None:
        op, attrs = node.op_type, _attributes(node)
        where = _where(node)
        if op == "Gemm":
            if attrs.get("transA", 0):
                raise UnsupportedOnnxError(f"{where}: transA=1 (the data transposed) is not an MLP layer")
            w = self.const(node, 1)
            w = w.T if attrs.get("transB", 0) else w
            b = self.bias(node, self.const(node, 2), w.shape[1]) if len(node.input) > 2 and node.input[2] else None
            self.linear(node, attrs.get("alpha", 1.0) * w,
                        None if b is None else attrs.get("beta", 1.0) * b)
        elif op == "MatMul":
            self.linear(node, self.const(node, 1), None)
        elif op in ("Add", "Mul"):
            value = self.per_feature(node, self.consts[node.input[1] if node.input[0] == current else node.input[0]])
            self.affine(node, value if op == "Mul" else None, value if op == "Add" else None)
        elif op in ("Relu", "Sigmoid", "Tanh"):
            self.layers.append({"Relu": ReLU, "Sigmoid": Sigmoid, "Tanh": Tanh}[op]())
        elif op == "LeakyRelu":
            self.layers.append(LeakyReLU(_float_attr(attrs.get("alpha", 0.01))))
        elif op == "Softmax":
            axis = attrs.get("axis", -1)
            if axis not in (-1, len(self.features)):
                raise UnsupportedOnnxError(f"{where}: softmax over axis {axis}; minifw's Softmax is over the last axis")
            self.layers.append(Softmax())
        elif op == "BatchNormalization":
            if attrs.get("training_mode", 0) or len([o for o in node.output if o]) > 1:
                raise UnsupportedOnnxError(f"{where}: training mode; minifw reads inference batch normalization only")
            gamma, beta, mean, var = (self.const(node, i) for i in range(1, 5))
            momentum = _float_attr(1.0 - _float_attr(attrs.get("momentum", 0.9)))  # ONNX keeps 1 - m
            layer = BatchNorm1d(len(gamma), eps=_float_attr(attrs.get("epsilon", 1e-5)), momentum=momentum,
                                dtype=self.dtype).eval()
            self.width(node)
            for target, array in ((layer.gamma.data, gamma), (layer.beta.data, beta),
                                  (layer.running_mean, mean), (layer.running_var, var)):
                target[...] = self.per_feature(node, array)
            self.layers.append(layer)
        elif op == "Flatten":
            if attrs.get("axis", 1) != 1:
                raise UnsupportedOnnxError(f"{where}: flatten at axis {attrs['axis']}; "
                                           "minifw's Flatten keeps axis 0 only")
            self.flatten(node)
        elif op == "Reshape":
            self.reshape(node, self.const(node, 1), attrs.get("allowzero", 0))
        elif op == "Dropout":
            if len(node.input) > 2 and node.input[2] and bool(self.const(node, 2)):
                raise UnsupportedOnnxError(f"{where}: training_mode=True; minifw reads inference graphs")
            p = float(self.const(node, 1)) if len(node.input) > 1 and node.input[1] else 0.5
            self.layers.append(Dropout(_float_attr(p)).eval())
        elif op == "Identity":
            pass
        else:
            raise UnsupportedOnnxError(
                f"{where}: operator {op} is not supported by minifw.onnx.load (it reads Gemm, MatMul, Add, Mul, "
                "Relu, LeakyRelu, Sigmoid, Tanh, Softmax, BatchNormalization, Flatten, Reshape, Dropout, Identity)")

    def bias(self, node, array: np.ndarray, c: int) -> np.ndarray:
        """A Gemm's C input as a (c,) vector: a scalar, (c,) or (1, c)."""
        if array.ndim > 2 or array.size not in (1, c) or (array.ndim == 2 and array.shape[0] != 1):
            raise UnsupportedOnnxError(f"{_where(node)}: bias of shape {array.shape} for {c} outputs")
        return self.weights(np.broadcast_to(array.reshape(-1), (c,)))

    def reshape(self, node, target: np.ndarray, allowzero: int) -> None:
        size = None if None in self.features else int(np.prod(self.features))
        t = [int(v) for v in np.ravel(target)]
        keeps_batch = len(t) == 2 and (t[0] == -1 or (t[0] == 0 and not allowzero))
        if not keeps_batch or t[1] not in (-1, size) or t == [-1, -1]:
            raise UnsupportedOnnxError(f"{_where(node)}: reshape to {t} from (N, "
                                       f"{_dims(self.features)}) is not a flatten to (N, -1)")
        self.flatten(node)


def _where(node) -> str:
    """'Gemm node "name"' for error messages (the first output where the exporter left the name empty)."""
    return f"{node.op_type} node {node.name or node.output[0]!r}"


def _attributes(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _check_opset(model: onnx_lib.ModelProto) -> None:
    versions = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    if "ai.onnx" not in versions:
        raise UnsupportedOnnxError("minifw.onnx.load: the model imports no default-domain (ai.onnx) opset")
    opset = versions["ai.onnx"]
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise UnsupportedOnnxError(
            f"minifw.onnx.load: the model uses opset {opset}; minifw reads opsets {MIN_OPSET}..{MAX_OPSET}. "
            f"Convert it first: onnx.version_converter.convert_version(model, {DEFAULT_OPSET})")


def load(source: str | os.PathLike | bytes | onnx_lib.ModelProto) -> Sequential:
    """Read an ONNX MLP graph into a minifw `Sequential` in eval mode.

    Args:
        source: a path to an `.onnx` file, its bytes, or an `onnx.ModelProto`.

    Returns:
        The layers in graph order, float32 or float64 as the graph's input. The graph must be one
        chain from its single input (N, ...) to its single output; see the module docstring for
        the operators read. Raises `UnsupportedOnnxError` naming what it cannot read.
        The network computes the file's function in eval mode; before training it further, note
        that a `BatchNorm1d` read from a `Mul`/`Add` pair is a fixed affine map only in eval mode.
    """
    onnx = _onnx()
    from onnx import helper, numpy_helper

    if isinstance(source, onnx.ModelProto):
        model = source
    elif isinstance(source, bytes):
        model = onnx.load_from_string(source)
    else:
        model = onnx.load(os.fspath(source))
    _check_opset(model)
    graph = model.graph
    init_names = {t.name for t in graph.initializer}
    inputs = [v for v in graph.input if v.name not in init_names]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise UnsupportedOnnxError(f"minifw.onnx.load: expected one input and one output, got {len(inputs)} "
                                   f"inputs and {len(graph.output)} outputs")
    tensor_type = inputs[0].type.tensor_type
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor_type.elem_type))
    if dtype not in _FLOAT_TYPES:
        raise UnsupportedOnnxError(f"minifw.onnx.load: input {inputs[0].name!r} is {dtype}; "
                                   "minifw reads float32 or float64")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
    if len(dims) < 2:
        raise UnsupportedOnnxError(f"minifw.onnx.load: input {inputs[0].name!r} has rank {len(dims)}; "
                                   "expected (N, features...)")

    reader = _Reader(graph, dtype, tuple(dims[1:]))
    current = inputs[0].name
    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedOnnxError(f"{_where(node)}: operator {node.domain}::{node.op_type} "
                                       "is outside the default ONNX domain; minifw.onnx.load does not read it")
        if node.op_type == "Constant":
            reader.consts[node.output[0]] = _constant(node, numpy_helper)
            continue
        if node.op_type == "Identity" and node.input[0] in reader.consts:
            reader.consts[node.output[0]] = reader.consts[node.input[0]]
            continue
        data = [name for name in node.input if name and name not in reader.consts]
        if data != [current]:
            raise UnsupportedOnnxError(
                f"{_where(node)} reads {data or 'constants only'}; minifw.onnx.load reads a "
                f"chain of layers, each fed by the previous one ({current!r})")
        reader.read(node, current)
        current = node.output[0]
    if current != graph.output[0].name:
        raise UnsupportedOnnxError(f"minifw.onnx.load: the chain ends at {current!r}, not at the graph output "
                                   f"{graph.output[0].name!r}")
    return Sequential(*reader.layers).eval()


def _constant(node, numpy_helper) -> np.ndarray:
    attrs = _attributes(node)
    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key in ("value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            return np.array(attrs[key])
    raise UnsupportedOnnxError(f"{_where(node)}: only tensor, float and int constants are read, "
                               f"got {sorted(attrs)}")
