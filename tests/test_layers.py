"""Layers: central-difference gradients (float64), parity with PyTorch and TensorFlow,
stability, invariants and property tests over shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minifw as mf
from minifw.gradcheck import check_module

# One table feeds the gradient, PyTorch-parity and dtype tests:
# name -> (minifw factory, torch factory or None, input shape)
LAYERS = {
    "Linear": (lambda: mf.Linear(4, 3, seed=0), lambda m: _torch_linear(m), (5, 4)),
    "Linear-no-bias": (lambda: mf.Linear(4, 3, bias=False, seed=0), lambda m: _torch_linear(m), (5, 4)),
    "ReLU": (mf.ReLU, lambda m: torch.nn.ReLU(), (5, 4)),
    "LeakyReLU": (lambda: mf.LeakyReLU(0.1), lambda m: torch.nn.LeakyReLU(0.1), (5, 4)),
    "LeakyReLU-default": (mf.LeakyReLU, lambda m: torch.nn.LeakyReLU(), (5, 4)),  # the same default slope
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
    t = torch.nn.Linear(m.in_features, m.out_features, bias=m.b is not None).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.W.data.T))
        if m.b is not None:
            t.bias.copy_(torch.from_numpy(m.b.data))
    return t


def _torch_batchnorm(m: mf.BatchNorm1d) -> torch.nn.BatchNorm1d:
    t = torch.nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum).double()
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.gamma.data))
        t.bias.copy_(torch.from_numpy(m.beta.data))
    return t


def check_module_gradients(module: mf.Module, x: np.ndarray, loss_fn=None) -> None:
    """Every analytic gradient of `loss_fn(module(x))` (default: sum(out * R)) within 1e-6 of central differences."""
    errors = check_module(module, x, loss_fn)
    assert max(errors.values()) < 1e-6, errors


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
    net = mf.Sequential(mf.Linear(5, 6, seed=0, bias=False), mf.BatchNorm1d(6), mf.Tanh(),
                        mf.Linear(6, 3, seed=1)).astype(np.float64)
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


def test_first_layer_skips_the_input_gradient_only_when_told():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.ReLU(), mf.Linear(4, 2, seed=1))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    net.forward(x)
    assert net.backward(np.ones((5, 2), dtype=np.float32)).shape == (5, 3)
    grads = {k: v.copy() for k, v in net.grads().items()}
    net.zero_grad()
    net.set_input_grad(False)  # what Model does once: the data needs no gradient
    assert net.backward(np.ones((5, 2), dtype=np.float32)) is None
    for name, g in net.grads().items():
        np.testing.assert_array_equal(g, grads[name])
    assert net[2].input_grad  # only the first layer is told
    relu_first = mf.Sequential(mf.ReLU(), mf.Linear(3, 2))
    relu_first.set_input_grad(False)  # a layer with no work to save ignores it
    relu_first.forward(x)
    assert relu_first.backward(np.ones((5, 2), dtype=np.float32)).shape == (5, 3)
    net.set_input_grad(True)
    net.forward(x)
    assert net.backward(np.ones((5, 2), dtype=np.float32)).shape == (5, 3)


def test_model_tells_the_network_once_and_backward_has_one_signature():
    import inspect

    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.ReLU())
    mf.Model(net, mf.MSE(), mf.SGD(net.parameters()))
    assert not net[0].input_grad
    for cls in (mf.Module, mf.Sequential, mf.Linear, mf.Residual):
        assert list(inspect.signature(cls.backward).parameters) == ["self", "grad_out"], cls


# -- weight tying ------------------------------------------------------------------------------
def test_a_layer_used_twice_sums_both_gradients_like_pytorch():
    shared = mf.Linear(4, 4, seed=0).astype(np.float64)
    net = mf.Sequential(shared, mf.Tanh(), shared, mf.Tanh(), mf.Linear(4, 2, seed=1).astype(np.float64))
    net.set_input_grad(False)  # what Model does: the tied first layer must still pass dL/dx to its first use
    assert len(net.parameters()) == 4 and [n for n, _ in net.named_parameters()] == ["0.W", "0.b", "4.W", "4.b"]
    x = np.random.default_rng(0).normal(size=(5, 4))
    errors = check_module(net, x)
    assert max(errors.values()) < 1e-6, errors
    lin = torch.nn.Linear(4, 4).double()
    head = torch.nn.Linear(4, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(shared.W.data.T))
        lin.bias.copy_(torch.from_numpy(shared.b.data))
        head.weight.copy_(torch.from_numpy(net[4].W.data.T))
        head.bias.copy_(torch.from_numpy(net[4].b.data))
    out_t = head(torch.tanh(lin(torch.tanh(lin(torch.from_numpy(x))))))
    out_t.sum().backward()
    net.zero_grad()
    np.testing.assert_allclose(net.forward(x), out_t.detach().numpy(), atol=1e-12)
    net.backward(np.ones((5, 2)))
    np.testing.assert_allclose(shared.W.grad, lin.weight.grad.numpy().T, atol=1e-12)
    np.testing.assert_allclose(shared.b.grad, lin.bias.grad.numpy(), atol=1e-12)


def test_a_network_with_a_tied_first_block_trains_with_model():
    block = mf.Sequential(mf.Linear(2, 2, seed=0), mf.Tanh())
    net = mf.Sequential(mf.Residual(block), block, mf.Linear(2, 2, seed=1))
    X, y = mf.datasets.make_moons(64, seed=0)
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.05))
    history = model.fit(X, y, epochs=5, progress=False)
    assert history["loss"][-1] < history["loss"][0]


def test_layers_run_by_hand_then_sequential_backward_use_their_own_caches():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), mf.Tanh(), mf.Linear(4, 2, seed=1)).astype(np.float64)
    x_old, x_new = np.random.default_rng(0).normal(size=(2, 5, 3))
    net.forward(x_old)  # an earlier forward through the Sequential ...
    h = x_new
    for layer in net.layers:  # ... then the layers one by one, as lesson 05 does
        h = layer(h)
    g = np.ones((5, 2))
    dx = net.backward(g)
    net.zero_grad()
    net.forward(x_new)
    np.testing.assert_allclose(dx, net.backward(g))
    np.testing.assert_allclose(net[0].W.grad, x_new.T @ (net[2].backward(g) * (1 - np.tanh(net[0](x_new)) ** 2)))


def test_a_shared_parameter_is_listed_once_and_trained_once():
    a, b = mf.Linear(3, 3, seed=0), mf.Linear(3, 3, seed=1)
    b.W = a.W  # tie the weights of two layers
    net = mf.Sequential(a, mf.ReLU(), b)
    assert len(net.parameters()) == 3 and len(net.state_dict()) == 3
    mf.SGD(net.parameters())  # would refuse a parameter listed twice
    nested = mf.Sequential(net, net)
    assert len(nested.parameters()) == 3 and len(list(nested.modules())) == 5


# -- residual ----------------------------------------------------------------------------------
def test_residual_gradients_central_difference_and_parity_with_pytorch():
    block = mf.Sequential(mf.Linear(4, 6, seed=0), mf.Tanh(), mf.Linear(6, 4, seed=1))
    res = mf.Residual(block).astype(np.float64)
    assert res.parameters() == block.parameters()
    x = np.random.default_rng(0).normal(size=(5, 4))
    errors = check_module(res, x)
    assert max(errors.values()) < 1e-6, errors
    t_block = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 4)).double()
    with torch.no_grad():
        for t_lin, lin in ((t_block[0], block[0]), (t_block[2], block[2])):
            t_lin.weight.copy_(torch.from_numpy(lin.W.data.T))
            t_lin.bias.copy_(torch.from_numpy(lin.b.data))
    xt = torch.tensor(x, requires_grad=True)
    g = np.random.default_rng(1).normal(size=(5, 4))
    out_t = xt + t_block(xt)
    (out_t * torch.from_numpy(g)).sum().backward()
    res.zero_grad()
    np.testing.assert_allclose(res.forward(x), out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(res.backward(g), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(block[0].W.grad, t_block[0].weight.grad.numpy().T, atol=1e-12)


def test_residual_refuses_a_block_that_changes_the_shape():
    with pytest.raises(ValueError, match=r"maps shape \(2, 3\) to \(2, 4\).*must keep the shape"):
        mf.Residual(mf.Linear(3, 4)).forward(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="expected a minifw Module"):
        mf.Residual(lambda x: x)


def test_a_residual_network_trains_and_skips_its_input_gradient():
    X, y = mf.datasets.make_moons(128, seed=0)
    net = mf.Sequential(mf.Residual(mf.Sequential(mf.Linear(2, 2, seed=0), mf.Tanh())), mf.Linear(2, 2, seed=1))
    model = mf.Model(net, mf.CrossEntropy(), mf.Adam(net.parameters(), lr=0.05))
    model.fit(X, y, epochs=20, progress=False)
    assert model.evaluate(X, y)["accuracy"] > 0.8
    net.forward(X)
    assert net.backward(np.ones((128, 2), dtype=np.float32)) is None


# -- integer and malformed inputs --------------------------------------------------------------
INT_INPUT = np.array([[0, 1, 2, -3], [4, -5, 6, 1]])


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_inputs_compute_in_float32(name, dtype):
    make, _, shape = LAYERS[name]
    layer = make()
    x = np.abs(np.random.default_rng(0).integers(-5, 5, size=shape)).astype(dtype)
    out = layer.forward(x)
    assert out.dtype == np.float32, out.dtype
    np.testing.assert_allclose(out, make().forward(x.astype(np.float32)), rtol=1e-6)
    assert layer.backward(np.ones_like(out)).dtype == np.float32


def test_sigmoid_of_integers_is_not_zero_and_dropout_of_integers_is_finite():
    np.testing.assert_allclose(mf.Sigmoid().forward(np.array([[0, 1]])), [[0.5, 0.7310586]], rtol=1e-6)
    out = mf.Dropout(0.5, seed=0).forward(np.ones((4, 4), dtype=np.int64))
    assert out.dtype == np.float32 and np.isfinite(out).all() and set(np.unique(out)) <= {0.0, 2.0}


@pytest.mark.parametrize("name", LAYERS)
def test_layers_refuse_lists_and_strings_clearly(name):
    layer = LAYERS[name][0]()
    with pytest.raises(TypeError, match="expected a numpy array, got a list"):
        layer.forward([[1.0, 2.0]])
    with pytest.raises(TypeError, match="expected a numeric array, got dtype <U1"):
        layer.forward(np.array([["a", "b"]]))


def test_backward_before_forward_and_wrong_grad_shape_are_clear():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        mf.Sequential(mf.Linear(2, 2)).backward(np.ones((1, 2)))
    lin = mf.Linear(2, 3)
    lin.forward(np.ones((4, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(4, 3\).*got \(4, 2\)"):
        lin.backward(np.ones((4, 2), dtype=np.float32))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), d=st.integers(1, 5), axis=st.sampled_from([0, 1, -1]), seed=st.integers(0, 1000))
def test_softmax_along_any_axis_matches_pytorch(n, d, axis, seed):
    x = np.random.default_rng(seed).normal(size=(n, d)) * 3
    g = np.random.default_rng(seed + 1).normal(size=(n, d))
    layer = mf.Softmax(axis=axis)
    out = layer.forward(x)
    np.testing.assert_allclose(out.sum(axis=axis), 1.0, atol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.softmax(xt, dim=axis)
    (out_t * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), atol=1e-12)


def test_softmax_axis_out_of_range_is_clear():
    with pytest.raises(ValueError, match="axis 2 is out of range for an input of shape \\(2, 3\\)"):
        mf.Softmax(axis=2).forward(np.ones((2, 3)))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 5), d=st.integers(1, 4), uses=st.integers(2, 3), seed=st.integers(0, 1000))
def test_tied_layer_gradient_is_the_sum_over_uses_for_any_shape(n, d, uses, seed):
    shared = mf.Linear(d, d, seed=seed, init="xavier_uniform").astype(np.float64)
    layers: list[mf.Module] = []
    for _ in range(uses):
        layers += [shared, mf.Tanh()]
    net = mf.Sequential(*layers)
    x = np.random.default_rng(seed).normal(size=(n, d))
    errors = check_module(net, x)
    assert max(errors.values()) < 1e-6, errors
    grads = {k: v.copy() for k, v in net.grads().items()}
    net.set_input_grad(False)  # as Model does; the parameter gradients must not change
    net.zero_grad()
    net.forward(x)
    net.backward(np.random.default_rng(42).standard_normal((n, d)))
    for k, g in net.grads().items():
        np.testing.assert_allclose(g, grads[k], rtol=1e-12, atol=1e-12)


# -- the edges, against PyTorch ----------------------------------------------------------------
EDGE_INPUT = np.array([[-np.inf, -1e4, -1.0, -0.0, 0.0, 1.0, 1e4, np.inf, np.nan]])
EDGE_GRAD = np.array([[np.inf, 1.0, -np.inf, 2.0, np.inf, -1.0, 3.0, 1.0, 1.0]])
ELEMENTWISE = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_layers_at_infinities_and_nan_match_pytorch(name):
    """-inf, +-0, huge values, inf and NaN in; infinite gradients back: PyTorch's values, NaN where torch has NaN."""
    make, make_torch, _ = LAYERS[name]
    layer, ref = make(), make_torch(None)
    xt = torch.tensor(EDGE_INPUT, requires_grad=True)
    out_t = ref(xt)
    out_t.backward(torch.tensor(EDGE_GRAD))
    with np.errstate(all="ignore"):
        out = layer.forward(EDGE_INPUT)
        grad = layer.backward(EDGE_GRAD)
    np.testing.assert_array_equal(out, out_t.detach().numpy())  # NaN only where torch has NaN
    np.testing.assert_array_equal(grad, xt.grad.numpy())


# input layouts a reviewer may pass: Fortran order, a transposed view, a strided view, one sample, one feature
LAYOUTS = {
    "fortran": lambda x: np.asfortranarray(x),
    "transposed-view": lambda x: np.ascontiguousarray(x.T).T,
    "strided-view": lambda x: np.repeat(x, 2, axis=-1)[..., ::2],
    "batch-of-1": lambda x: x[:1],
    "one-feature": lambda x: x[..., :1],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", [n for n, (_, t, _) in LAYERS.items() if t is not None])
def test_layer_parity_with_pytorch_for_any_layout(name, layout):
    make, make_torch, shape = LAYERS[name]
    x = LAYOUTS[layout](np.random.default_rng(3).normal(size=shape))
    if layout == "one-feature" and name.startswith(("Linear", "BatchNorm1d")):
        layer = _batchnorm(1) if name == "BatchNorm1d" else mf.Linear(1, 3, bias=name == "Linear", seed=0)
    else:
        layer = make()
    layer = layer.astype(np.float64)
    ref = make_torch(layer)
    xt = torch.tensor(x, requires_grad=True)
    if name == "BatchNorm1d" and x.shape[0] == 1:  # torch and minifw refuse batch statistics of one sample
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            ref(xt)
        with pytest.raises(ValueError, match="training needs a batch of at least 2 samples, got 1"):
            layer.forward(x)
        return
    out_t = ref(xt)
    g = np.random.default_rng(4).normal(size=tuple(out_t.shape))
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(layer.forward(x), out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), atol=1e-12)


def test_batchnorm_cumulative_average_momentum_none_matches_pytorch():
    bn = mf.BatchNorm1d(3, momentum=None).astype(np.float64)
    ref = torch.nn.BatchNorm1d(3, momentum=None).double()
    assert bn.num_batches_tracked.dtype == np.int64  # astype converts the statistics, not the count
    rng = np.random.default_rng(0)
    for n in (4, 7, 2, 10):
        x = rng.normal(1.0, 2.0, size=(n, 3))
        np.testing.assert_allclose(bn.forward(x), ref(torch.tensor(x)).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), atol=1e-12)
    assert int(bn.num_batches_tracked) == int(ref.num_batches_tracked) == 4
    state = bn.state_dict()
    assert list(state) == ["gamma", "beta", "running_mean", "running_var", "num_batches_tracked"]
    fresh = mf.BatchNorm1d(3, momentum=None)
    fresh.load_state_dict(state)
    assert int(fresh.num_batches_tracked) == 4
    assert list(mf.BatchNorm1d(3).state_dict()) == ["gamma", "beta", "running_mean", "running_var"]


def test_dropout_with_p_1_drops_everything_like_pytorch():
    x = np.random.default_rng(0).normal(size=(3, 4))
    d = mf.Dropout(1.0, seed=0)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.dropout(xt, 1.0, training=True)
    out_t.sum().backward()
    np.testing.assert_array_equal(d.forward(x), out_t.detach().numpy())
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), xt.grad.numpy())
    np.testing.assert_array_equal(d.eval().forward(x), x)



@pytest.mark.parametrize("make, error, message", [
    (lambda: mf.LeakyReLU("0.1"), TypeError, "LeakyReLU: negative_slope must be a number, got '0.1'"),
    (lambda: mf.Dropout(True), TypeError, "Dropout: p must be a number, got True"),
    (lambda: mf.Dropout(1.5), ValueError, r"Dropout: p must be in \[0.0, 1.0\], got 1.5"),
    (lambda: mf.BatchNorm1d(0), ValueError, "BatchNorm1d: num_features must be a positive integer, got 0"),
    (lambda: mf.BatchNorm1d(3.0), ValueError, "BatchNorm1d: num_features must be a positive integer, got 3.0"),
    (lambda: mf.BatchNorm1d(3, momentum=1.5), ValueError, r"BatchNorm1d: momentum must be in \[0.0, 1.0\], got 1.5"),
    (lambda: mf.BatchNorm1d(3, eps=-1e-5), ValueError, r"BatchNorm1d: eps must be in \[0.0, inf\], got -1e-05"),
    (lambda: mf.Flatten().forward(np.ones(5)), ValueError,
     r"Flatten\(\): expected an input of shape \(N, d1, ...\) with at least 2 axes, got \(5,\)"),
])
def test_bad_layer_arguments_say_what_was_expected(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("layer", [mf.Flatten(), mf.Dropout(0.5, seed=0), mf.Dropout(0.5, seed=0).eval()],
                         ids=["Flatten", "Dropout-train", "Dropout-eval"])
def test_wrong_grad_shape_is_named_by_every_layer(layer):
    out = layer.forward(np.ones((4, 2, 3)) if isinstance(layer, mf.Flatten) else np.ones((4, 6)))
    assert out.shape == (4, 6)
    with pytest.raises(ValueError, match=r"expected grad_out of shape \(4, 6\) \(the forward output\), got \(3, 6\)"):
        layer.backward(np.ones((3, 6)))


@pytest.mark.parametrize("training", [True, False])
def test_a_dropout_used_at_two_places_checks_each_gradient_against_its_own_input(training):
    drop = mf.Dropout(0.5, seed=0)
    net = mf.Sequential(drop, mf.Linear(4, 8, seed=0), drop).train(training)
    x = np.ones((3, 4))
    out = net.forward(x)
    assert net.backward(np.ones_like(out)).shape == (3, 4)
