"""minifw.optim against torch.optim: the same parameters and gradients give the same steps (float64)."""
import inspect

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from minifw.constraints import MaxNorm
from minifw.module import Module, Parameter
from minifw.optim import SGD, Adagrad, Adam, Adamax, AdamW, Optimizer, RMSprop, clip_grad_norm, clip_grad_value

TWINS = {SGD: torch.optim.SGD, Adagrad: torch.optim.Adagrad, RMSprop: torch.optim.RMSprop,
         Adam: torch.optim.Adam, AdamW: torch.optim.AdamW, Adamax: torch.optim.Adamax}

CASES = [
    (SGD, {}),
    (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    (SGD, dict(lr=0.1, momentum=0.8, nesterov=True)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (SGD, dict(lr=0.05, weight_decay=0.1)),
    (Adagrad, {}),
    (Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-6)),
    (RMSprop, {}),
    (RMSprop, dict(centered=True)),
    (RMSprop, dict(momentum=0.9, weight_decay=0.01)),
    (RMSprop, dict(lr=1e-3, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1)),
    (Adam, {}),
    (Adam, dict(amsgrad=True)),
    (Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
    (AdamW, {}),
    (AdamW, dict(lr=0.01, weight_decay=0.1)),
    (AdamW, dict(lr=0.05, amsgrad=True, weight_decay=0.5, betas=(0.8, 0.99))),
    (Adamax, {}),
    (Adamax, dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.05)),
]
IDS = [f"{cls.__name__}-{kw}" for cls, kw in CASES]
SHAPES = [(3, 4), (4,), (2, 3, 2)]


def problem(steps: int, seed: int = 0, dtype=np.float64):
    """Initial parameters and a sequence of gradients whose scale changes from step to step."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[(rng.standard_normal(s) * rng.uniform(0.1, 3.0)).astype(dtype) for s in SHAPES]
             for _ in range(steps)]
    return init, grads


def run_minifw(cls, kwargs, init, grads, new_lr=None):
    params = [Parameter(w.copy()) for w in init]
    opt = cls(params, **kwargs)
    for t, gs in enumerate(grads):
        if t == len(grads) // 2 and new_lr is not None:
            opt.lr = new_lr
        opt.zero_grad()
        for p, g in zip(params, gs):
            p.grad += g  # as a backward pass accumulates
        opt.step()
    return [p.data for p in params]


def run_torch(cls, kwargs, init, grads, new_lr=None):
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in init]
    opt = TWINS[cls](params, **kwargs)
    for t, gs in enumerate(grads):
        if t == len(grads) // 2 and new_lr is not None:
            opt.param_groups[0]["lr"] = new_lr
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return [p.detach().numpy() for p in params]


def max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def assert_same_moves(ours, theirs, init):
    """Parameters within 1e-8, and the distances moved equal to 1e-10 relative (small steps too)."""
    assert max_diff(ours, theirs) < 1e-8
    for a, b, w in zip(ours, theirs, init):
        np.testing.assert_allclose(a - w, b - w, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("cls, kwargs", CASES, ids=IDS)
def test_ten_steps_match_torch(cls, kwargs):
    init, grads = problem(10)
    assert_same_moves(run_minifw(cls, kwargs, init, grads), run_torch(cls, kwargs, init, grads), init)


@pytest.mark.parametrize("cls, kwargs", [(SGD, dict(lr=0.1, momentum=0.9)), (Adagrad, dict(lr_decay=0.1)),
                                         (RMSprop, dict(momentum=0.5)), (Adam, {}), (AdamW, {}),
                                         (Adamax, {})])
def test_lr_changed_mid_run_matches_torch(cls, kwargs):
    """A schedule changes `opt.lr` between steps; torch changes `param_groups[0]["lr"]`."""
    init, grads = problem(10, seed=1)
    ours = run_minifw(cls, kwargs, init, grads, new_lr=0.003)
    theirs = run_torch(cls, kwargs, init, grads, new_lr=0.003)
    assert_same_moves(ours, theirs, init)


@pytest.mark.parametrize("cls", list(TWINS))
def test_defaults_match_torch(cls):
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(TWINS[cls]).parameters
    for name, param in ours.items():
        if name != "params":
            assert param.default == theirs[name].default, f"{cls.__name__}.{name}"


@pytest.mark.parametrize("cls, kwargs", CASES, ids=IDS)
def test_step_reads_grad_and_updates_data_in_place(cls, kwargs):
    init, grads = problem(3)
    params = [Parameter(w.copy()) for w in init]
    data_arrays = [p.data for p in params]
    opt = cls(params, **kwargs)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad[...] = g
        opt.step()
        for p, g in zip(params, gs):
            np.testing.assert_array_equal(p.grad, g)
    assert all(p.data is a for p, a in zip(params, data_arrays))
    assert max_diff([p.data for p in params], init) > 0


@pytest.mark.parametrize("cls, kwargs", CASES, ids=IDS)
def test_float32_stays_float32_and_tracks_float64(cls, kwargs):
    init, grads = problem(5, dtype=np.float32)
    params = [Parameter(w.copy()) for w in init]
    opt = cls(params, **kwargs)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad[...] = g
        opt.step()
        opt.lr = np.float64(opt.lr)  # a float64 rate (as numpy math may give) must not upcast anything
    assert all(p.data.dtype == np.float32 for p in params)
    assert all(a.dtype == np.float32 for state in opt.state for a in state.values() if isinstance(a, np.ndarray))
    exact = run_minifw(cls, kwargs, [w.astype(np.float64) for w in init],
                       [[g.astype(np.float64) for g in gs] for gs in grads])
    assert max_diff([p.data for p in params], exact) < 1e-4


def test_zero_grad_clears_gradients_in_place():
    params = [Parameter(np.ones((2, 3))), Parameter(np.ones(3, dtype=np.float32))]
    grad_arrays = [p.grad for p in params]
    for p in params:
        p.grad += 5.0
    Adam(params).zero_grad()
    assert all(p.grad is g and not g.any() for p, g in zip(params, grad_arrays))


@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4),
       dtype=st.sampled_from([np.float32, np.float64]),
       case=st.sampled_from(CASES), seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_any_shape(shape, dtype, case, seed):
    """Any shape and dtype: shape and dtype kept, gradient untouched, zero gradient without decay is a no-op."""
    cls, kwargs = case
    rng = np.random.default_rng(seed)
    p = Parameter(rng.standard_normal(shape).astype(dtype))
    q = Parameter(p.data.copy())  # its gradient stays zero
    q_before = q.data.copy()
    opt = cls([p, q], **kwargs)
    p.grad[...] = rng.standard_normal(shape)
    grad = p.grad.copy()
    for _ in range(3):
        opt.step()
    np.testing.assert_array_equal(p.grad, grad)
    assert p.data.shape == tuple(shape) and p.data.dtype == dtype and q.data.dtype == dtype
    assert np.all(np.isfinite(p.data))
    if not kwargs.get("weight_decay") and cls is not AdamW:
        np.testing.assert_array_equal(q.data, q_before)


@pytest.mark.parametrize("make, message", [
    (lambda ps: SGD(ps, lr=-1), "SGD: lr must be >= 0, got -1"),
    (lambda ps: SGD(ps, momentum=-0.5), "SGD: momentum must be >= 0, got -0.5"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), "SGD: nesterov=True needs momentum > 0 and dampening == 0"),
    (lambda ps: SGD(ps, momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    (lambda ps: SGD(ps, weight_decay=-1e-4), "SGD: weight_decay must be >= 0, got -0.0001"),
    (lambda ps: Adagrad(ps, lr_decay=-1), "Adagrad: lr_decay must be >= 0, got -1"),
    (lambda ps: Adagrad(ps, initial_accumulator_value=-1), "Adagrad: initial_accumulator_value must be >= 0"),
    (lambda ps: Adagrad(ps, eps=-1), "Adagrad: eps must be >= 0"),
    (lambda ps: RMSprop(ps, alpha=-0.1), "RMSprop: alpha must be >= 0, got -0.1"),
    (lambda ps: RMSprop(ps, momentum=-1), "RMSprop: momentum must be >= 0"),
    (lambda ps: Adam(ps, betas=(1.0, 0.999)), r"Adam: betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda ps: Adam(ps, betas=(0.9, -0.1)), r"Adam: betas\[1\] must be in \[0, 1\), got -0.1"),
    (lambda ps: Adam(ps, eps=-1e-8), "Adam: eps must be >= 0"),
    (lambda ps: Adamax(ps, lr=float("nan")), "Adamax: lr must be >= 0, got nan"),
    (lambda ps: Adamax(ps, weight_decay=-1), "Adamax: weight_decay must be >= 0"),
    (lambda ps: Adam([]), "Adam: got an empty parameter list"),
    (lambda ps: SGD(ps, lr="0.1"), "SGD: lr must be a number, got '0.1'"),
    (lambda ps: AdamW(ps, weight_decay=-0.1), "AdamW: weight_decay must be >= 0, got -0.1"),
])
def test_bad_hyper_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make([Parameter(np.zeros(3))])


def test_wrong_parameter_lists_are_rejected():
    p = Parameter(np.zeros(2))
    with pytest.raises(TypeError, match="SGD: parameter 1 is a ndarray, expected a minifw Parameter"):
        SGD([p, np.zeros(2)])
    with pytest.raises(ValueError, match="Adam: parameter 1 appears twice"):
        Adam([p, p])
    model = Module()
    model.W = p
    with pytest.raises(TypeError, match=r"RMSprop: expected a list of Parameters such as model.parameters\(\)"):
        RMSprop(model)


def test_base_class_has_no_rule():
    with pytest.raises(NotImplementedError):
        Optimizer([Parameter(np.zeros(2))], lr=0.1).step()


def test_adamw_decay_is_decoupled_from_the_gradient():
    """With a zero gradient Adam's coupled decay still moves by ~lr per coordinate, AdamW's by lr * wd * w."""
    w = np.array([10.0, 0.1])
    adam, adamw = Parameter(w.copy()), Parameter(w.copy())
    Adam([adam], lr=0.1, weight_decay=0.1).step()
    AdamW([adamw], lr=0.1, weight_decay=0.1).step()
    np.testing.assert_allclose(adam.data, w - 0.1, atol=1e-6)  # Adam normalizes the decay term away
    np.testing.assert_allclose(adamw.data, w * (1 - 0.01))


@pytest.mark.parametrize("cls, kwargs", CASES, ids=IDS)
def test_a_parameter_without_gradient_is_skipped_like_torch(cls, kwargs):
    """p.grad = None (the parameter took no part in backward): no update, no state, as torch."""
    init, grads = problem(6, seed=3)
    params = [Parameter(w.copy()) for w in init]
    tparams = [torch.tensor(w, requires_grad=True) for w in init]
    opt, topt = cls(params, **kwargs), TWINS[cls](tparams, **kwargs)
    for t, gs in enumerate(grads):
        for k, (p, tp, g) in enumerate(zip(params, tparams, gs)):
            skip = k == 1 and t < 3  # the second parameter has no gradient for three steps
            p.grad = None if skip else g.copy()
            tp.grad = None if skip else torch.tensor(g)
        opt.step()
        topt.step()
        if t < 3:
            np.testing.assert_array_equal(params[1].data, init[1])
            assert "step" not in opt.state[1]
    assert_same_moves([p.data for p in params], [tp.detach().numpy() for tp in tparams], init)


def test_zero_grad_keeps_a_missing_gradient_missing_and_backward_creates_it():
    p = Parameter(np.ones(3))
    p.grad = None
    SGD([p]).zero_grad()
    assert p.grad is None
    p.accumulate(np.array([1.0, 2.0, 3.0]))
    p.accumulate(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(p.grad, [2.0, 3.0, 4.0])


@given(shapes=st.lists(array_shapes(min_dims=1, max_dims=2, max_side=4), min_size=1, max_size=3),
       max_norm=st.floats(0.01, 10.0), scale=st.floats(0.0, 5.0), seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_clip_grad_norm_matches_torch(shapes, max_norm, scale, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) * scale for s in shapes]
    params = [Parameter(np.zeros(s)) for s in shapes]
    tparams = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for p, tp, g in zip(params, tparams, grads):
        p.grad[...] = g
        tp.grad = torch.tensor(g)
    total = clip_grad_norm(params, max_norm)
    t_total = torch.nn.utils.clip_grad_norm_(tparams, max_norm)
    assert total == pytest.approx(float(t_total), rel=1e-12, abs=1e-300)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12, atol=1e-300)
    norm_after = np.sqrt(sum(float(np.sum(p.grad ** 2)) for p in params))
    assert norm_after <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_rejects_a_bad_max_norm_and_skips_missing_gradients():
    with pytest.raises(ValueError, match="clip_grad_norm: max_norm must be > 0, got 0"):
        clip_grad_norm([Parameter(np.zeros(2))], 0)
    p, q = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    p.grad[...] = [3.0, 4.0]
    q.grad = None
    assert clip_grad_norm([p, q], 1.0) == 5.0 and q.grad is None


@given(rows=st.integers(1, 5), cols=st.integers(1, 5), max_value=st.floats(0.1, 3.0), scale=st.floats(0.01, 5.0),
       seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_max_norm_caps_every_column_like_torch_renorm(rows, cols, max_value, scale, seed):
    w = np.random.default_rng(seed).standard_normal((rows, cols)) * scale
    ours = MaxNorm(max_value)(w)
    assert np.all(np.linalg.norm(ours, axis=0) <= max_value * (1 + 1e-9))
    # torch.renorm caps the norm of each slice along dim 1 (a column) and leaves smaller ones as they
    # are; Keras (which minifw follows) scales those by norm / (norm + 1e-7): at most 1e-7 apart
    theirs = torch.renorm(torch.tensor(w), p=2, dim=1, maxnorm=max_value).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_max_norm_matches_keras():
    keras = pytest.importorskip("keras")
    w = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32) * 2
    theirs = keras.ops.convert_to_numpy(keras.constraints.MaxNorm(max_value=1.5, axis=0)(w))
    np.testing.assert_allclose(MaxNorm(1.5)(w), theirs, rtol=1e-6)


def test_optimizer_applies_a_parameter_constraint_after_each_step():
    p = Parameter(np.full((2, 3), 10.0), constraint=MaxNorm(1.0))
    p.grad[...] = 1.0
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(np.linalg.norm(p.data, axis=0), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="MaxNorm: max_value must be > 0, got 0"):
        MaxNorm(0)


def test_zero_grad_is_lazy_but_reads_as_zero():
    p = Parameter(np.ones(3))
    p.accumulate(np.array([1.0, 2.0, 3.0]))
    array = p.grad
    SGD([p]).zero_grad()
    assert p.grad is array and not array.any()  # read before any accumulate: zeros, in place
    p.zero_grad()
    fresh = np.array([5.0, 5.0, 5.0])
    p.accumulate(fresh)  # replaces: a new array of the right shape and dtype becomes the gradient
    assert p.grad is fresh
    p.accumulate(np.array([1.0, 0.0, -1.0]))  # then adds
    np.testing.assert_array_equal(p.grad, [6.0, 5.0, 4.0])
    p.zero_grad()
    view = np.arange(6.0)[::2]
    p.accumulate(view)  # a view (or another dtype or shape) is copied, never kept
    assert p.grad is not view and p.grad.base is None
    p.zero_grad()
    p.accumulate(np.array([1, 2, 3]))  # integers: copied into the float64 gradient
    assert p.grad.dtype == np.float64
    p.zero_grad()
    p.accumulate(np.float64(2.0))  # a scalar broadcasts
    np.testing.assert_array_equal(p.grad, [2.0, 2.0, 2.0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_clip_grad_norm_with_a_non_finite_gradient_matches_torch(bad):
    """torch multiplies by clamp(c / (n + 1e-6), max=1): a NaN anywhere makes every gradient NaN,
    an infinite one makes the finite ones 0 (and itself NaN). Before, minifw left them unclipped."""
    grads = [np.array([bad, 1.0, -2.0]), np.array([[3.0, 4.0]])]
    params = [Parameter(np.zeros_like(g)) for g in grads]
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(params, tparams, grads):
        p.grad[...] = g
        tp.grad = torch.tensor(g)
    total = clip_grad_norm(params, 1.0)
    t_total = torch.nn.utils.clip_grad_norm_(tparams, 1.0)
    np.testing.assert_array_equal(total, float(t_total))
    for p, tp in zip(params, tparams):
        np.testing.assert_array_equal(p.grad, tp.grad.numpy())


@given(shapes=st.lists(array_shapes(min_dims=1, max_dims=2, max_side=4), min_size=1, max_size=3),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, 0.5, float("inf")]), max_norm=st.floats(0.01, 10.0),
       scale=st.floats(0.0, 5.0), seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64]))
@settings(max_examples=40, deadline=None)
def test_clip_grad_norm_of_any_order_matches_torch(shapes, norm_type, max_norm, scale, seed, dtype):
    rng = np.random.default_rng(seed)
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
    params = [Parameter(np.zeros(s, dtype=dtype)) for s in shapes]
    tparams = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for p, tp, g in zip(params, tparams, grads):
        p.grad[...] = g
        tp.grad = torch.tensor(g, dtype=torch.float64)
    total = clip_grad_norm(params, max_norm, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert total == pytest.approx(float(t_total), rel=tol, abs=1e-300)
    for p, tp in zip(params, tparams):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=tol, atol=1e-300)


@pytest.mark.parametrize("clip_value", [0.0, 0.5, 2.0])
def test_clip_grad_value_matches_torch(clip_value):
    grads = [np.array([np.nan, -3.0, 0.2, np.inf]), np.array([[1.5, -0.4], [-np.inf, 0.0]])]
    params = [Parameter(np.zeros_like(g)) for g in grads] + [Parameter(np.zeros(2))]
    params[-1].grad = None
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, tp, g in zip(params, tparams, grads):
        p.grad[...] = g
        tp.grad = torch.tensor(g)
    clip_grad_value(params, clip_value)
    torch.nn.utils.clip_grad_value_(tparams, clip_value)
    for p, tp in zip(params, tparams):
        np.testing.assert_array_equal(p.grad, tp.grad.numpy())
    assert params[-1].grad is None


@pytest.mark.parametrize("call, message", [
    (lambda ps: clip_grad_value(ps, -1.0), "clip_grad_value: clip_value must be a number >= 0, got -1.0"),
    (lambda ps: clip_grad_value(ps, "1"), "clip_grad_value: clip_value must be a number >= 0, got '1'"),
    (lambda ps: clip_grad_norm(ps, 1.0, norm_type=0), r"norm_type must be a number > 0 \(or float\('inf'\)\), got 0"),
])
def test_clipping_rejects_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call([Parameter(np.zeros(2))])
