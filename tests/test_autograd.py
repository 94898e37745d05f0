"""minifw.autograd: one table of ops checked three ways (forward against numpy, gradient against
a float64 central difference, gradient against PyTorch autograd), plus stability, dtype,
bookkeeping, property and whole-network tests."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from minifw.autograd import Tensor, cross_entropy, format_graph, no_grad, trace, unbroadcast
from minifw.gradcheck import numerical_gradient, rel_error
from minifw.layers import Linear, ReLU
from minifw.losses import CrossEntropy
from minifw.module import Sequential

LABELS = np.array([0, 2, 1, 2])
ROW = np.array([0.5, -1.0, 2.0, 0.25])          # a numpy constant on the left of +
MATRIX = np.arange(6.0).reshape(2, 3) / 6 - 0.4  # a numpy constant on the left of @


def np_log_softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    return a - np.log(np.exp(a).sum(axis=axis, keepdims=True))


@dataclass(frozen=True)
class Case:
    """An op: `fn` runs on minifw Tensors and, unless `np_fn` / `torch_fn` are given, on numpy
    arrays and torch tensors too. Inputs: "real" U(-2, 2), "positive" U(0.5, 2), "nonzero" ±U(0.5, 2)."""

    name: str
    fn: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...]
    np_fn: Callable[..., np.ndarray] | None = None
    torch_fn: Callable[..., torch.Tensor] | None = None
    domain: str = "real"

    def inputs(self, dtype: type = np.float64) -> list[np.ndarray]:
        rng = np.random.default_rng(sum(map(ord, self.name)))
        low, high = {"real": (-2, 2), "positive": (0.5, 2), "nonzero": (0.5, 2)}[self.domain]
        arrays = [rng.uniform(low, high, s) for s in self.shapes]
        if self.domain == "nonzero":
            arrays = [a * rng.choice([-1, 1], a.shape) for a in arrays]
        return [np.asarray(a, dtype=dtype) for a in arrays]


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def matmul(a, b):
    return a @ b


CASES = [
    Case("add", add, ((3, 4), (3, 4))),
    Case("add (3,4)+(4,)", add, ((3, 4), (4,))),
    Case("add (3,1)+(1,4)", add, ((3, 1), (1, 4))),
    Case("scalar + x", lambda a: 2.5 + a, ((3, 4),)),
    Case("ndarray + x", lambda a: ROW + a, ((3, 4),), torch_fn=lambda a: torch.from_numpy(ROW) + a),
    Case("sub", sub, ((2, 3), (2, 3))),
    Case("sub (3,)-(2,3)", sub, ((3,), (2, 3))),
    Case("scalar - x", lambda a: 1.0 - a, ((5,),)),
    Case("mul", mul, ((3, 4), (3, 4))),
    Case("mul (2,3,1)*(1,3,4)", mul, ((2, 3, 1), (1, 3, 4))),
    Case("scalar * x", lambda a: 3 * a, ((2, 3),)),
    Case("div (3,4)/(4,)", div, ((3, 4), (4,)), domain="nonzero"),
    Case("scalar / x", lambda a: 2.0 / a, ((2, 3),), domain="nonzero"),
    Case("neg", lambda a: -a, ((2, 3),)),
    Case("x ** 2", lambda a: a**2, ((2, 3),)),
    Case("x ** 0.5", lambda a: a**0.5, ((2, 3),), domain="positive"),
    Case("x ** -1.5", lambda a: a**-1.5, ((2, 3),), domain="positive"),
    Case("matmul", matmul, ((3, 4), (4, 5))),
    Case("matmul (2,3,4)@(4,5)", matmul, ((2, 3, 4), (4, 5))),
    Case("matmul (4,)@(4,5)", matmul, ((4,), (4, 5))),
    Case("matmul (3,4)@(4,)", matmul, ((3, 4), (4,))),
    Case("matmul (4,)@(4,)", matmul, ((4,), (4,))),
    Case("ndarray @ x", lambda a: MATRIX @ a, ((3, 4),), torch_fn=lambda a: torch.from_numpy(MATRIX) @ a),
    Case("sum", lambda a: a.sum(), ((3, 4),)),
    Case("sum axis=0", lambda a: a.sum(axis=0), ((3, 4),), torch_fn=lambda a: a.sum(dim=0)),
    Case("sum axis=-2", lambda a: a.sum(axis=-2), ((2, 3, 4),), torch_fn=lambda a: a.sum(dim=-2)),
    Case("sum axis=(0,2) keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), ((2, 3, 4),),
         torch_fn=lambda a: a.sum(dim=(0, 2), keepdim=True)),
    Case("mean", lambda a: a.mean(), ((3, 4),)),
    Case("mean axis=1 keepdims", lambda a: a.mean(axis=1, keepdims=True), ((3, 4),),
         torch_fn=lambda a: a.mean(dim=1, keepdim=True)),
    Case("exp", lambda a: a.exp(), ((3, 4),), np.exp, torch.exp),
    Case("log", lambda a: a.log(), ((3, 4),), np.log, torch.log, domain="positive"),
    Case("relu", lambda a: a.relu(), ((3, 4),), lambda a: np.maximum(a, 0), torch.relu, domain="nonzero"),
    Case("sigmoid", lambda a: a.sigmoid(), ((3, 4),), lambda a: 1 / (1 + np.exp(-a)), torch.sigmoid),
    Case("tanh", lambda a: a.tanh(), ((3, 4),), np.tanh, torch.tanh),
    Case("log_softmax", lambda a: a.log_softmax(), ((4, 5),), np_log_softmax, lambda a: torch.log_softmax(a, -1)),
    Case("log_softmax axis=0", lambda a: a.log_softmax(axis=0), ((4, 5),), lambda a: np_log_softmax(a, 0),
         lambda a: torch.log_softmax(a, 0)),
    Case("reshape", lambda a: a.reshape(3, 4), ((2, 6),)),
    Case("reshape -1", lambda a: a.reshape(-1), ((2, 3, 2),)),
    Case("T", lambda a: a.T, ((3, 4),)),
    Case("transpose(1,2,0)", lambda a: a.transpose(1, 2, 0), ((2, 3, 4),), torch_fn=lambda a: a.permute(1, 2, 0)),
    Case("shared x*x + x", lambda x: x * x + x, ((3, 4),)),
    Case("shared (x*y + x) * (y - x)", lambda x, y: (x * y + x) * (y - x), ((3, 4), (4,))),
    Case("layer tanh(x@W + b)", lambda x, w, b: (x @ w + b).tanh(), ((4, 3), (3, 5), (5,)),
         lambda x, w, b: np.tanh(x @ w + b), lambda x, w, b: torch.tanh(x @ w + b)),
    Case("cross_entropy", lambda z: cross_entropy(z, LABELS), ((4, 3),),
         lambda z: -np_log_softmax(z)[np.arange(4), LABELS].mean(),
         lambda z: F.cross_entropy(z, torch.from_numpy(LABELS))),
]


def run_minifw(case: Case, arrays: list[np.ndarray], w: np.ndarray) -> tuple[Tensor, list[Tensor]]:
    """Forward on Tensors, then backward from `w` (so the gradients are those of $L = \\sum w \\odot out$)."""
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = case.fn(*tensors)
    out.backward(w)
    return out, tensors


def projection(case: Case, arrays: list[np.ndarray]) -> np.ndarray:
    """Random weights $w$ with the output's shape: checking $\\sum w \\odot out$ checks every output."""
    shape = np.shape((case.np_fn or case.fn)(*arrays))
    return np.random.default_rng(0).normal(size=shape)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_matches_numpy(case: Case) -> None:
    arrays = case.inputs()
    out = case.fn(*[Tensor(a) for a in arrays])
    expected = (case.np_fn or case.fn)(*arrays)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradient_matches_central_difference(case: Case) -> None:
    arrays = case.inputs()
    w = projection(case, arrays)
    _, tensors = run_minifw(case, arrays, w)
    np_fn = case.np_fn or case.fn
    for k, t in enumerate(tensors):
        numeric = numerical_gradient(lambda: float(np.sum(np_fn(*arrays) * w)), arrays[k])
        assert t.grad.shape == arrays[k].shape
        assert rel_error(t.grad, numeric) < 1e-6, f"input {k}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradient_matches_torch(case: Case) -> None:
    arrays = case.inputs()
    w = projection(case, arrays)
    out, tensors = run_minifw(case, arrays, w)
    torch_inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    torch_out = (case.torch_fn or case.fn)(*torch_inputs)
    torch_out.backward(torch.from_numpy(w))
    assert np.max(np.abs(out.data - torch_out.detach().numpy()), initial=0) < 1e-10
    for t, ref in zip(tensors, torch_inputs):
        assert np.max(np.abs(t.grad - ref.grad.numpy()), initial=0) < 1e-10


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_float32_stays_float32(case: Case) -> None:
    """Outputs take the dtype numpy gives for the same float32 inputs; every gradient has its input's dtype."""
    arrays = case.inputs(np.float32)
    w = projection(case, arrays).astype(np.float32)
    out, tensors = run_minifw(case, arrays, w)
    assert out.dtype == np.asarray((case.np_fn or case.fn)(*arrays)).dtype
    assert all(t.grad.dtype == np.float32 for t in tensors)


# -- numerical stability --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_stable_for_huge_logits(dtype: type) -> None:
    logits = np.random.default_rng(1).normal(size=(4, 6)) * 1e4
    w = np.random.default_rng(2).normal(size=(4, 6))
    z = Tensor(logits.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would raise here
        out = z.log_softmax(axis=-1)
        out.backward(w.astype(dtype))
    ref = torch.tensor(logits.astype(dtype).astype(np.float64), requires_grad=True)
    torch.log_softmax(ref, -1).backward(torch.from_numpy(w))
    assert np.isfinite(out.data).all() and np.isfinite(z.grad).all()
    np.testing.assert_allclose(out.data, torch.log_softmax(ref, -1).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(z.grad, ref.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_overflow(dtype: type) -> None:
    x = Tensor(np.array([-1000.0, 0.0, 1000.0], dtype=dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.25, 0.0])
    assert y.dtype == x.grad.dtype == dtype


# -- bookkeeping ------------------------------------------------------------------------------
def test_leaf_gradients_accumulate_until_zero_grad() -> None:
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * x
    y = h.sum()
    y.backward()
    y.backward()  # leaves accumulate, intermediate results start again from zero
    np.testing.assert_array_equal(x.grad, 2 * (2 * x.data))
    np.testing.assert_array_equal(h.grad, np.ones(3))
    x.zero_grad()
    assert x.grad is None


def test_only_tensors_that_need_it_get_gradients() -> None:
    x, c = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0])
    (x * c).sum().backward()
    np.testing.assert_array_equal(x.grad, c.data)
    assert c.grad is None
    assert not (c * 2).requires_grad and (c * 2).parents == ()


def test_no_grad_records_nothing() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = (x * 2).sum()
    assert not y.requires_grad and y.parents == ()
    assert (x * 2).requires_grad  # recording resumes after the block


def test_backward_errors_say_what_was_expected() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"scalar output.*\(2, 3\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"grad of shape \(2, 3\).*got \(3,\)"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(1.0).backward()
    with pytest.raises(TypeError, match="expected a number"):
        x ** x



def test_power_zero_has_gradient_zero_even_at_zero_like_torch() -> None:
    """d(a^0)/da = 0 everywhere; the rule p a^(p-1) would give 0 * inf = NaN at a = 0."""
    data = np.array([0.0, -1.5, 2.0])
    x, xt = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero warning either
        (x**0).sum().backward()
    (xt**0).sum().backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    x.zero_grad()
    (x**1).sum().backward()  # p = 1 at a = 0: 1 * 0^0 = 1
    np.testing.assert_array_equal(x.grad, np.ones(3))



def test_relu_at_infinities_and_nan_matches_torch() -> None:
    data = np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.inf, np.nan])
    grad = np.array([np.inf, -np.inf, np.inf, 1.0, 1.0, 1.0, 1.0])
    x, xt = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, yt = x.relu(), xt.relu()
    y.backward(grad)
    yt.backward(torch.tensor(grad))
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())

def test_cross_entropy_checks_its_labels() -> None:
    logits = Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"cross_entropy: class labels must be in \[0, 3\), got -1 at index 0"):
        cross_entropy(logits, np.array([-1, 2]))  # numpy indexing would have taken the last class
    with pytest.raises(ValueError, match=r"class labels must be in \[0, 3\), got 3 at index 1"):
        cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"expected logits of shape \(N, C\), got \(3,\)"):
        cross_entropy(Tensor(np.zeros(3)), np.array([0]))
    loss = cross_entropy(logits, np.array([0.0, 2.0]))  # integer-valued floats are labels, as in CrossEntropy
    assert loss.data == pytest.approx(np.log(3))


def test_changing_an_input_in_place_before_backward_changes_the_gradient() -> None:
    """Documented difference: backward rules read their inputs' arrays when backward() runs, so an
    in-place change of `.data` between forward and backward is used (PyTorch raises instead).
    Update parameters only after backward(), as an optimizer step does."""
    w, x = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    y = (w * x).sum()
    w.data += 1
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])  # the changed w, not the [1, 2] of the forward pass
    wt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = (wt * torch.tensor([3.0, 4.0], requires_grad=True)).sum()
    with torch.no_grad():
        wt.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt.backward()

def test_numpy_arrays_and_scalars_on_either_side() -> None:
    x = Tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    a = np.full((2, 2), 3.0, dtype=np.float32)
    for out in (a + x, x + a, a - x, a * x, a / x, a @ x, 2 + x, 2 - x, 2 * x, 2 / x, x / 2, x**2):
        assert isinstance(out, Tensor) and out.dtype == np.float32 and out.requires_grad
    np.testing.assert_array_equal((a - x).data, np.full((2, 2), 2.0))
    np.testing.assert_array_equal((2 / x).data, np.full((2, 2), 2.0))


def test_tensor_basics() -> None:
    x = Tensor(np.arange(6).reshape(2, 3), requires_grad=True, name="x")
    assert x.dtype == np.float64 and x.shape == (2, 3) and x.ndim == 2 and x.grad is None
    assert x.numpy() is x.data
    d = (x * 2).detach()
    assert not d.requires_grad and d.parents == ()
    assert repr(x).startswith("Tensor([[0., 1., 2.],") and "requires_grad=True" in repr(x)
    assert "op='*'" in repr(x * 2)
    assert x.transpose((1, 0)).shape == x.T.shape == (3, 2)


def test_trace_lists_the_graph() -> None:
    w = Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    x = Tensor(np.ones((4, 3)), name="x")
    loss = (x @ w).relu().sum()
    nodes, edges = trace(loss)
    assert [n.op for n in nodes] == ["", "", "@", "relu", "sum"]
    assert nodes[0] is x and nodes[1] is w and nodes[-1] is loss
    assert {(id(a), id(b)) for a, b in edges} == {(id(x), id(nodes[2])), (id(w), id(nodes[2])),
                                                  (id(nodes[2]), id(nodes[3])), (id(nodes[3]), id(loss))}
    text = format_graph(loss).splitlines()
    assert text[0].startswith("%0 = x") and text[1].startswith("%1 = W") and text[1].endswith("grad")
    assert text[2].startswith("%2 = @(%0, %1)") and text[4].startswith("%4 = sum(%3)")


def test_long_chain_does_not_hit_the_recursion_limit() -> None:
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad, 1.0001**5000)


# -- properties -------------------------------------------------------------------------------
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, database=None, derandomize=True)
BINARY = {"+": add, "-": sub, "*": mul, "/": div}
UNARY = {
    "neg": (lambda a: -a, "real"), "square": (lambda a: a**2, "real"), "exp": (lambda a: a.exp(), "real"),
    "log": (lambda a: a.log(), "positive"), "relu": (lambda a: a.relu(), "nonzero"),
    "sigmoid": (lambda a: a.sigmoid(), "real"), "tanh": (lambda a: a.tanh(), "real"),
}


def random_inputs(seed: int, shapes: tuple[tuple[int, ...], ...], domain: str) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if domain == "real":
        return [rng.uniform(-2, 2, s) for s in shapes]
    sign = 1 if domain == "positive" else rng.choice([-1, 1])
    return [sign * rng.uniform(0.5, 2, s) for s in shapes]


def check_against_torch(fn: Callable[..., Any], arrays: list[np.ndarray]) -> None:
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    refs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref_out = fn(*refs)
    w = np.random.default_rng(0).normal(size=out.shape)
    out.backward(w)
    ref_out.backward(torch.from_numpy(w))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for t, ref in zip(tensors, refs):
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad, ref.grad.numpy(), rtol=1e-10, atol=1e-12)


@PROPERTY_SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_broadcasting_binary_ops_match_torch(shapes: Any, op: str, seed: int) -> None:
    domain = "nonzero" if op == "/" else "real"
    check_against_torch(BINARY[op], random_inputs(seed, shapes.input_shapes, domain))


@PROPERTY_SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5),
       op=st.sampled_from(sorted(UNARY)), seed=st.integers(0, 2**16))
def test_elementwise_ops_match_torch_for_any_shape(shape: tuple[int, ...], op: str, seed: int) -> None:
    fn, domain = UNARY[op]
    check_against_torch(fn, random_inputs(seed, (shape,), domain))


@PROPERTY_SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4), seed=st.integers(0, 2**16))
def test_unbroadcast_is_the_adjoint_of_broadcasting(shapes: Any, seed: int) -> None:
    """$\\langle \\mathrm{unbroadcast}(G), x \\rangle = \\langle G, \\mathrm{broadcast}(x) \\rangle$ for all G, x."""
    rng = np.random.default_rng(seed)
    for shape in shapes.input_shapes:
        g, x = rng.normal(size=shapes.result_shape), rng.normal(size=shape)
        reduced = unbroadcast(g, shape)
        assert isinstance(reduced, np.ndarray) and reduced.shape == shape
        np.testing.assert_allclose(np.sum(reduced * x), np.sum(g * np.broadcast_to(x, g.shape)), rtol=1e-9, atol=1e-9)


# -- a whole network -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mlp_gradients_match_the_hand_written_layers(dtype: type) -> None:
    """Linear-ReLU-Linear + softmax cross-entropy: autograd gives the hand-written backward's gradients."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 5)).astype(dtype), rng.integers(0, 3, size=8)
    model = Sequential(Linear(5, 16, seed=1, dtype=dtype), ReLU(), Linear(16, 3, seed=2, dtype=dtype))
    logits = model.forward(x)
    loss, grad_logits = CrossEntropy()(logits, y)
    grad_x = model.backward(grad_logits)

    params = {name: Tensor(p.data, requires_grad=True) for name, p in model.named_parameters()}
    xt = Tensor(x, requires_grad=True)
    hidden = (xt @ params["0.W"] + params["0.b"]).relu()
    auto_loss = cross_entropy(hidden @ params["2.W"] + params["2.b"], y)
    auto_loss.backward()

    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    assert auto_loss.dtype == dtype
    np.testing.assert_allclose(float(auto_loss.data), loss, **tol)
    np.testing.assert_allclose(xt.grad, grad_x, **tol)
    for name, p in model.named_parameters():
        assert params[name].grad.dtype == dtype
        np.testing.assert_allclose(params[name].grad, p.grad, **tol, err_msg=name)
