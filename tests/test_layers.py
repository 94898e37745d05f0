"""Layers: central-difference gradients (float64), parity with PyTorch and TensorFlow,
stability, invariants and property tests over shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minifw as mf
from gradcheck import numerical_gradient, rel_error

# One table feeds the gradient, PyTorch-parity and dtype tests:
# name -> (minifw factory, torch factory or None, input shape)
LAYERS = {
    "Linear": (lambda: mf.Linear(4, 3, seed=0), lambda m: _torch_linear(m), (5, 4)),
    "ReLU": (mf.ReLU, lambda m: torch.nn.ReLU(), (5, 4)),
    "LeakyReLU": (lambda: mf.LeakyReLU(0.1), lambda m: torch.nn.LeakyReLU(0.1), (5, 4)),
    "Sigmoid": (mf.Sigmoid, lambda m: torch.nn.Sigmoid(), (5, 4)),
    "Tanh": (mf.Tanh, lambda m: torch.nn.Tanh(), (5, 4)),
    "Softmax": (mf.Softmax, lambda m: torch.nn.Softmax(dim=-1), (5, 4)),
    "BatchNorm1d": (lambda: _batchnorm(4), lambda m: _torch_batchnorm(m), (6, 4)),
    "Flatten": (mf.Flatten, lambda m: torch.nn.Flatten(), (5, 2, 3)),
    "Dropout": (lambda: mf.Dropout(0.3, seed=0), None, (5, 4)),
}


def _batchnorm(n: int) -> mf.BatchNorm1d:
    bn = mf.BatchNorm1d(n)
    rng = np.random.default_rng(1)
    bn.gamma.data[...] = rng.uniform(0.5, 1.5, n)
    bn.beta.data[...] = rng.normal(size=n)
    return bn


def _torch_linear(m: mf.Linear) -> torch.nn.Linear:
    t = torch.nn.Linear(m.in_features, m.out_features).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.W.data.T))
        t.bias.copy_(torch.from_numpy(m.b.data))
    return t


def _torch_batchnorm(m: mf.BatchNorm1d) -> torch.nn.BatchNorm1d:
    t = torch.nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.gamma.data))
        t.bias.copy_(torch.from_numpy(m.beta.data))
    return t


def _reseed_dropout(module: mf.Module) -> None:
    """Same dropout mask at every call, so a loss is a deterministic function of the input."""
    for m in module.modules():
        if isinstance(m, mf.Dropout):
            m.rng = np.random.default_rng(0)


def check_module_gradients(module: mf.Module, x: np.ndarray, loss_fn=None) -> None:
    """Analytic gradients of `loss_fn(module(x))` (default: sum(out * R)) against central differences."""
    rng = np.random.default_rng(42)
    if loss_fn is None:
        _reseed_dropout(module)
        r = rng.normal(size=module.forward(x.copy()).shape)
        loss_fn = lambda out: (float(np.sum(out * r)), r)  # noqa: E731

    def f() -> float:
        _reseed_dropout(module)
        return loss_fn(module.forward(x))[0]

    module.zero_grad()
    _reseed_dropout(module)
    _, grad_out = loss_fn(module.forward(x))
    grad_x = module.backward(grad_out)
    assert rel_error(grad_x, numerical_gradient(f, x)) < 1e-6
    for name, p in module.named_parameters():
        analytic = p.grad.copy()
        assert rel_error(analytic, numerical_gradient(f, p.data)) < 1e-6, name


@pytest.mark.parametrize("name", LAYERS)
def test_layer_gradients_central_difference(name):
    make, _, shape = LAYERS[name]
    layer = make().astype(np.float64)
    x = np.random.default_rng(0).normal(size=shape)
    check_module_gradients(layer, x)


def test_sequential_with_every_layer_kind_gradients():
    net = mf.Sequential(
        mf.Flatten(), mf.Linear(6, 8, seed=0, bias=False), _batchnorm(8), mf.ReLU(), mf.Dropout(0.25, seed=0),
        mf.Linear(8, 7, seed=1), mf.LeakyReLU(0.05), mf.Linear(7, 6, seed=2), mf.Tanh(),
        mf.Linear(6, 5, seed=3), mf.Sigmoid(), mf.Linear(5, 4, seed=4), mf.Softmax(),
    ).astype(np.float64)
    x = np.random.default_rng(0).normal(size=(7, 2, 3))
    target = np.eye(4)[np.arange(7) % 4]
    check_module_gradients(net, x, lambda out: mf.MSE()(out, target))


def test_sequential_with_cross_entropy_gradients():
    net = mf.Sequential(mf.Linear(5, 6, seed=0, bias=False), mf.BatchNorm1d(6), mf.Tanh(), mf.Linear(6, 3, seed=1)).astype(np.float64)
    x = np.random.default_rng(0).normal(size=(8, 5))
    labels = np.arange(8) % 3
    check_module_gradients(net, x, lambda out: mf.CrossEntropy(label_smoothing=0.1)(out, labels))


@pytest.mark.parametrize("name", [n for n, (_, t, _) in LAYERS.items() if t is not None])
def test_layer_parity_with_pytorch(name):
    make, make_torch, shape = LAYERS[name]
    layer = make().astype(np.float64)
    ref = make_torch(layer)
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    out_t = ref(xt)
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-12)
    g = rng.normal(size=out.shape)
    grad_x = layer.backward(g)
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), atol=1e-12)
    torch_grads = dict(ref.named_parameters())
    names = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}
    for pname, p in layer.named_parameters():
        tg = torch_grads[names[pname]].grad.numpy()
        np.testing.assert_allclose(p.grad, tg.T if pname == "W" else tg, atol=1e-12)


def test_batchnorm_running_statistics_match_pytorch():
    bn = _batchnorm(3).astype(np.float64)
    ref = _torch_batchnorm(bn)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.normal(2.0, 3.0, size=(10, 3))
        bn.forward(x)
        ref(torch.tensor(x))
    np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), atol=1e-12)
    bn.eval()
    ref.eval()
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(bn.forward(x), ref(torch.tensor(x)).detach().numpy(), atol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    ref(xt).sum().backward()
    np.testing.assert_allclose(bn.backward(np.ones((4, 3))), xt.grad.numpy(), atol=1e-12)


def test_dropout_scaling_matches_pytorch():
    p = 0.3
    x = np.ones((200, 50))
    out = mf.Dropout(p, seed=0).forward(x)
    ref = torch.nn.functional.dropout(torch.ones(200, 50, dtype=torch.float64), p, training=True).numpy()
    for values in (out, ref):
        kept = values[values != 0]
        np.testing.assert_allclose(kept, 1 / (1 - p))
        assert abs(kept.size / values.size - (1 - p)) < 0.02


def test_dropout_backward_uses_the_forward_mask():
    d = mf.Dropout(0.5, seed=3)
    out = d.forward(np.ones((4, 6)))
    np.testing.assert_array_equal(d.backward(np.ones((4, 6))), out)


def test_eval_turns_dropout_off_and_freezes_batchnorm():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.BatchNorm1d(4), mf.Dropout(0.5, seed=0))
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    net.forward(x)
    net.eval()
    stats = [b.copy() for _, b in net.named_buffers()]
    out1, out2 = net.forward(x), net.forward(x)
    np.testing.assert_array_equal(out1, out2)
    for before, (_, after) in zip(stats, net.named_buffers()):
        np.testing.assert_array_equal(before, after)
    bn = net[1]
    expected = bn.gamma.data * (net[0].forward(x) - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) + bn.beta.data
    np.testing.assert_allclose(out1, expected, rtol=1e-5, atol=1e-6)
    net.train()
    assert net[2].training and not np.array_equal(net.forward(x), out1)


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_keep_the_input_dtype(name, dtype):
    make, _, shape = LAYERS[name]
    layer = make()  # float32 parameters: a float64 input must still give float64
    x = np.random.default_rng(0).normal(size=shape).astype(dtype)
    out = layer.forward(x)
    assert out.dtype == dtype
    assert layer.backward(np.ones_like(out)).dtype == dtype


def test_same_seed_same_result():
    def run(seed):
        net = mf.Sequential(mf.Linear(4, 5, seed=seed), mf.Dropout(0.5, seed=seed), mf.Linear(5, 2, seed=seed + 1))
        return net.forward(np.ones((3, 4), dtype=np.float32))
    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_zero_grad_clears_gradients():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.BatchNorm1d(4), mf.ReLU(), mf.Linear(4, 2, seed=1))
    net.forward(np.ones((5, 3), dtype=np.float32) * np.arange(5, dtype=np.float32)[:, None])
    net.backward(np.ones((5, 2), dtype=np.float32))
    assert any(np.any(g != 0) for g in net.grads().values())
    net.zero_grad()
    assert all(np.all(g == 0) for g in net.grads().values())


def test_backward_accumulates_until_zero_grad():
    layer = mf.Linear(3, 2, seed=0)
    x = np.ones((4, 3), dtype=np.float32)
    layer.forward(x)
    layer.backward(np.ones((4, 2), dtype=np.float32))
    once = layer.W.grad.copy()
    layer.backward(np.ones((4, 2), dtype=np.float32))
    np.testing.assert_allclose(layer.W.grad, 2 * once)


def test_parameters_are_named():
    net = mf.Sequential(mf.Linear(3, 4), mf.BatchNorm1d(4), mf.Linear(4, 2))
    assert list(net.params()) == ["0.W", "0.b", "1.gamma", "1.beta", "2.W", "2.b"]
    assert net.num_parameters() == 3 * 4 + 4 + 4 + 4 + 4 * 2 + 2
    assert [n for n, _ in net.named_buffers()] == ["1.running_mean", "1.running_var"]


def test_state_dict_round_trip():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.BatchNorm1d(4))
    state = net.state_dict()
    net[0].W.data += 1
    net[1].running_mean += 1
    net.load_state_dict(state)
    np.testing.assert_array_equal(net[0].W.data, state["0.W"])
    np.testing.assert_array_equal(net[1].running_mean, state["1.running_mean"])


# -- stability -------------------------------------------------------------------------
def test_sigmoid_is_stable_at_plus_minus_1000():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = mf.Sigmoid().forward(np.array([[-1000.0, 0.0, 1000.0]]))
    np.testing.assert_array_equal(s, [[0.0, 0.5, 1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s32 = mf.Sigmoid().forward(np.array([[-1000.0, 1000.0]], dtype=np.float32))
    assert s32.dtype == np.float32 and np.all(np.isfinite(s32))


def test_softmax_layer_is_stable_for_huge_logits():
    z = np.array([[1e4, 0.0, -1e4], [5e3, 5e3, 0.0]])
    np.testing.assert_allclose(mf.Softmax().forward(z), [[1, 0, 0], [0.5, 0.5, 0]])


# -- errors ------------------------------------------------------------------------------
def test_shape_mismatch_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(64 -> 32\): expected input of shape \(N, 64\), got \(16, 63\)"):
        mf.Linear(64, 32).forward(np.zeros((16, 63), dtype=np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm1d.*expected input of shape \(N, 4\), got \(2, 5\)"):
        mf.BatchNorm1d(4).forward(np.zeros((2, 5)))
    layer = mf.ReLU()
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(2, 3\).*got \(3, 2\)"):
        layer.backward(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        mf.Tanh().backward(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="layer 1 is a int"):
        mf.Sequential(mf.ReLU(), 3)


# -- properties over shapes ------------------------------------------------------------
ACTIVATIONS = [mf.ReLU, mf.LeakyReLU, mf.Sigmoid, mf.Tanh, mf.Softmax, mf.Dropout]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 6), which=st.sampled_from(ACTIVATIONS))
def test_elementwise_layers_keep_shape(n, d, which):
    x = np.random.default_rng(n * 7 + d).normal(size=(n, d)).astype(np.float32)
    layer = which()
    out = layer.forward(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert layer.backward(np.ones_like(out)).shape == x.shape


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), d_in=st.integers(1, 5), d_out=st.integers(1, 5))
def test_linear_matches_pytorch_for_any_shape(n, d_in, d_out):
    layer = mf.Linear(d_in, d_out, seed=0).astype(np.float64)
    layer.b.data[...] = np.arange(d_out)
    x = np.random.default_rng(0).normal(size=(n, d_in))
    ref = _torch_linear(layer)
    xt = torch.tensor(x, requires_grad=True)
    out_t = ref(xt)
    out_t.sum().backward()
    np.testing.assert_allclose(layer.forward(x), out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.backward(np.ones((n, d_out))), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.W.grad, ref.weight.grad.numpy().T, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(3, 6), d=st.integers(1, 4))
def test_batchnorm_gradients_for_any_shape(n, d):
    x = np.random.default_rng(n + 10 * d).normal(size=(n, d))
    check_module_gradients(_batchnorm(d).astype(np.float64), x)


def test_first_layer_skips_the_input_gradient_only_when_asked():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.ReLU(), mf.Linear(4, 2, seed=1))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    net.forward(x)
    assert net.backward(np.ones((5, 2), dtype=np.float32)).shape == (5, 3)
    grads = {k: v.copy() for k, v in net.grads().items()}
    net.zero_grad()
    assert net.backward(np.ones((5, 2), dtype=np.float32), input_grad=False) is None
    for name, g in net.grads().items():
        np.testing.assert_array_equal(g, grads[name])
    relu_first = mf.Sequential(mf.ReLU(), mf.Linear(3, 2))
    relu_first.forward(x)
    assert not relu_first.can_skip_input_grad
    assert relu_first.backward(np.ones((5, 2), dtype=np.float32), input_grad=False).shape == (5, 3)
