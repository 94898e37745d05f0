"""minifw.regularizers: values, gradients by central differences, and L2 == weight decay."""
import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from minifw.gradcheck import numerical_gradient
from minifw.module import Module, Parameter, Sequential
from minifw.optim import SGD, Adam
from minifw.regularizers import L1, L2, weights_only


def test_penalty_values():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    v = np.array([3.0])
    params = [Parameter(w), Parameter(v)]
    assert L2(0.1)(params) == pytest.approx(0.05 * (1 + 4 + 0.25 + 9))
    assert L1(0.1)(params) == pytest.approx(0.1 * (1 + 2 + 0.5 + 3))
    assert L2(0.1)([]) == 0.0


@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), lam=st.floats(0.0, 2.0),
       reg=st.sampled_from([L1, L2]), seed=st.integers(0, 2**16))
@settings(max_examples=30, deadline=None)
def test_gradient_matches_central_differences(shape, lam, reg, seed):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)
    w += np.where(w >= 0, 0.01, -0.01)  # keep L1 away from its kink at 0
    p, q = Parameter(w), Parameter(rng.standard_normal(3))
    r = reg(lam)
    r.add_grad([p, q])
    np.testing.assert_allclose(p.grad, numerical_gradient(lambda: r([p, q]), p.data), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(q.grad, numerical_gradient(lambda: r([p, q]), q.data), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reg", [L1(0.3), L2(0.3)])
def test_add_grad_accumulates_and_keeps_dtype(reg):
    w = np.array([1.0, -2.0, 0.0], dtype=np.float32)
    p = Parameter(w.copy())
    p.grad[...] = [10.0, 20.0, 30.0]
    grad_array = p.grad
    reg.add_grad([p])
    expected = [10.3, 19.7, 30.0] if isinstance(reg, L1) else [10.3, 19.4, 30.0]
    np.testing.assert_allclose(p.grad, expected, rtol=1e-6)
    assert p.grad is grad_array and p.grad.dtype == np.float32
    np.testing.assert_array_equal(p.data, w)  # the weights themselves are untouched


def training_run(opt_cls, opt_kwargs, use_penalty: bool, lam: float, steps: int = 10):
    """Parameters after `steps` steps on fixed gradients, with lam as weight_decay or as an L2 penalty."""
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal((3, 4))), Parameter(rng.standard_normal(4))]
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(steps)]
    opt = opt_cls(params, weight_decay=0.0 if use_penalty else lam, **opt_kwargs)
    for gs in grads:
        opt.zero_grad()
        for p, g in zip(params, gs):
            p.grad += g
        if use_penalty:
            L2(lam).add_grad(params)
        opt.step()
    return [p.data for p in params], grads


@pytest.mark.parametrize("opt_cls, torch_cls, opt_kwargs", [
    (SGD, torch.optim.SGD, dict(lr=0.1)),
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (Adam, torch.optim.Adam, dict(lr=0.01)),  # torch Adam's weight_decay is this L2 penalty (not AdamW)
])
def test_l2_penalty_equals_weight_decay(opt_cls, torch_cls, opt_kwargs):
    lam = 0.05
    with_penalty, grads = training_run(opt_cls, opt_kwargs, use_penalty=True, lam=lam)
    with_decay, _ = training_run(opt_cls, opt_kwargs, use_penalty=False, lam=lam)
    without, _ = training_run(opt_cls, opt_kwargs, use_penalty=True, lam=0.0)
    rng = np.random.default_rng(0)
    tparams = [torch.tensor(rng.standard_normal(s), dtype=torch.float64, requires_grad=True) for s in [(3, 4), (4,)]]
    topt = torch_cls(tparams, weight_decay=lam, **opt_kwargs)
    for gs in grads:
        for t, g in zip(tparams, gs):
            t.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    for a, b, c, d in zip(with_penalty, with_decay, [t.detach().numpy() for t in tparams], without):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-12)
        assert np.max(np.abs(a - d)) > 1e-3  # the penalty does change the result


def test_keras_l2_has_no_half():
    """Keras L2(l) is l * sum(w^2): Keras L2(lam / 2) is minifw L2(lam); Keras L1(lam) is minifw L1(lam)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    w = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    keras_l2 = float(keras.ops.convert_to_numpy(keras.regularizers.L2(0.05)(w)))
    keras_l1 = float(keras.ops.convert_to_numpy(keras.regularizers.L1(0.1)(w)))
    assert L2(0.1)([Parameter(w)]) == pytest.approx(keras_l2, rel=1e-5)
    assert L1(0.1)([Parameter(w)]) == pytest.approx(keras_l1, rel=1e-5)


class _Norm(Module):
    def __init__(self):
        self.gamma = Parameter(np.ones(2), role="norm_scale")
        self.beta = Parameter(np.zeros(2), role="bias")


class _Dense(Module):
    """A custom layer whose names are not minifw's: what counts is the role."""

    def __init__(self, bias: bool = True):
        self.weight = Parameter(np.ones((2, 2)))  # role "weight" by default
        self.offset = Parameter(np.zeros(2), role="bias") if bias else None


def test_regularizers_choose_parameters_by_role_not_by_name():
    model = Sequential(_Dense(), _Norm(), _Dense(bias=False))
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.offset", "1.gamma", "1.beta", "2.weight"]
    assert weights_only(model) == [model[0].weight, model[2].weight]
    assert L2(0.1).select(model) == [model[0].weight, model[2].weight]
    assert L1(0.1, roles=("weight", "norm_scale")).select(model) == [model[0].weight, model[1].gamma, model[2].weight]


def test_minifw_layers_declare_their_roles():
    import minifw as mf

    net = mf.Sequential(mf.Linear(3, 4), mf.BatchNorm1d(4), mf.Linear(4, 2))
    assert {name: p.role for name, p in net.named_parameters()} == {
        "0.W": "weight", "0.b": "bias", "1.gamma": "norm_scale", "1.beta": "bias", "2.W": "weight", "2.b": "bias"}
    with pytest.raises(ValueError, match=r"role must be one of \('weight', 'bias', 'norm_scale'\), got 'kernel'"):
        Parameter(np.zeros(2), role="kernel")
    with pytest.raises(ValueError, match="roles must be a non-empty selection"):
        L2(0.1, roles=("W",))


def test_a_custom_module_weight_is_regularized_in_training():
    import minifw as mf

    class Scale(Module):
        def __init__(self):
            self.weight = Parameter(np.full((1, 2), 3.0))

        def forward(self, x):
            self.cache = x
            return x * self.weight.data

        def backward(self, grad_out):
            self.weight.accumulate((grad_out * self.cache).sum(axis=0, keepdims=True))
            return grad_out * self.weight.data

    net = Sequential(Scale())
    model = mf.Model(net, mf.MSE(), SGD(net.parameters(), lr=0.0), metrics=(), regularizer=L2(0.5))
    history = model.fit(np.zeros((4, 2)), np.zeros((4, 2)), epochs=1, progress=False)
    assert history["loss"] == [pytest.approx(0.25 * (9 + 9))]  # the penalty alone: the data loss is 0


def test_negative_lam_is_rejected():
    with pytest.raises(ValueError, match="L2: lam must be >= 0, got -1"):
        L2(-1)
    with pytest.raises(ValueError, match="L1: lam must be >= 0, got nan"):
        L1(float("nan"))
