"""Losses: central-difference gradients, parity with PyTorch and TensorFlow, stability, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minifw as mf
from minifw.gradcheck import numerical_gradient, rel_error

RNG = np.random.default_rng(0)
N, C = 6, 4
LABELS = np.array([0, 3, 1, 2, 3, 0])
PROBS = RNG.uniform(0.05, 0.95, size=(N, 1))
BINARY = (RNG.random((N, 1)) > 0.5).astype(np.float64)
REGRESSION = RNG.normal(size=(N, 3))
F = torch.nn.functional

# name -> (minifw loss, prediction, target, torch reference on (pred, target))
LOSSES = {
    "MSE": (mf.MSE(), RNG.normal(size=(N, 3)), REGRESSION, lambda p, t: F.mse_loss(p, t)),
    "MAE": (mf.MAE(), RNG.normal(size=(N, 3)), REGRESSION, lambda p, t: F.l1_loss(p, t)),
    "BCEWithLogits": (mf.BCEWithLogits(), RNG.normal(size=(N, 1)), BINARY,
                      lambda p, t: F.binary_cross_entropy_with_logits(p, t)),
    "BCE": (mf.BCE(), PROBS, BINARY, lambda p, t: F.binary_cross_entropy(p, t)),
    "CrossEntropy": (mf.CrossEntropy(), RNG.normal(size=(N, C)), LABELS, lambda p, t: F.cross_entropy(p, t)),
    "CrossEntropy-smoothing": (mf.CrossEntropy(label_smoothing=0.1), RNG.normal(size=(N, C)), LABELS,
                               lambda p, t: F.cross_entropy(p, t, label_smoothing=0.1)),
    "NLL": (mf.NLL(), mf.log_softmax(RNG.normal(size=(N, C))), LABELS, lambda p, t: F.nll_loss(p, t)),
}


def _torch_target(target: np.ndarray) -> torch.Tensor:
    return torch.tensor(target) if target.dtype.kind in "iu" else torch.tensor(target, dtype=torch.float64)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradient_central_difference(name):
    loss, pred, target, _ = LOSSES[name]
    pred = pred.copy()
    _, grad = loss(pred, target)
    assert grad.shape == pred.shape
    numeric = numerical_gradient(lambda: loss(pred, target)[0], pred)
    assert rel_error(grad, numeric) < 1e-6


@pytest.mark.parametrize("name", LOSSES)
def test_loss_parity_with_pytorch(name):
    loss, pred, target, ref = LOSSES[name]
    value, grad = loss(pred, target)
    pt = torch.tensor(pred, requires_grad=True)
    ref_value = ref(pt, _torch_target(target))
    ref_value.backward()
    assert value == pytest.approx(ref_value.item(), abs=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), atol=1e-12)


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def _tf_value_and_grad(tf, fn, pred):
    x = tf.constant(pred)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def test_loss_parity_with_tensorflow(tf):
    import keras

    cases = {
        "MSE": keras.losses.MeanSquaredError(),
        "MAE": keras.losses.MeanAbsoluteError(),
        "BCEWithLogits": keras.losses.BinaryCrossentropy(from_logits=True),
        "BCE": keras.losses.BinaryCrossentropy(from_logits=False),
        "CrossEntropy": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    }
    for name, ref in cases.items():
        loss, pred, target, _ = LOSSES[name]
        value, grad = loss(pred, target)
        ref_value, ref_grad = _tf_value_and_grad(tf, lambda x, ref=ref, target=target: ref(target, x), pred)
        # Keras clips probabilities at 1e-7 in BCE; the predictions here stay far from 0 and 1.
        assert value == pytest.approx(float(ref_value), rel=1e-6), name
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-9, err_msg=name)
    # label smoothing: Keras smooths one-hot targets the same way
    loss, pred, target, _ = LOSSES["CrossEntropy-smoothing"]
    ref = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    value, grad = loss(pred, target)
    ref_value, ref_grad = _tf_value_and_grad(tf, lambda x: ref(np.eye(C)[target], x), pred)
    assert value == pytest.approx(float(ref_value), rel=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-5, atol=1e-9)


def test_activations_parity_with_tensorflow(tf):
    x = RNG.normal(size=(5, 4)) * 3
    g = RNG.normal(size=(5, 4))
    cases = [
        (mf.ReLU(), tf.nn.relu),
        (mf.LeakyReLU(0.2), lambda v: tf.nn.leaky_relu(v, alpha=0.2)),
        (mf.Sigmoid(), tf.nn.sigmoid),
        (mf.Tanh(), tf.nn.tanh),
        (mf.Softmax(), tf.nn.softmax),
    ]
    for layer, ref in cases:
        out = layer.forward(x)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            yt = ref(xt)
        np.testing.assert_allclose(out, yt.numpy(), atol=1e-12, err_msg=repr(layer))
        np.testing.assert_allclose(layer.backward(g), tape.gradient(yt, xt, output_gradients=tf.constant(g)).numpy(),
                                   atol=1e-12, err_msg=repr(layer))


# -- stability -------------------------------------------------------------------------
def test_cross_entropy_and_log_softmax_stay_finite_for_logits_scaled_by_1e4():
    logits = RNG.normal(size=(N, C)) * 1e4
    value, grad = mf.CrossEntropy()(logits, LABELS)
    pt = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(pt, torch.tensor(LABELS))
    ref.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), atol=1e-12)
    logp = mf.log_softmax(logits)
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(logp, torch.log_softmax(torch.tensor(logits), dim=1).numpy(), rtol=1e-12)


def test_bce_with_logits_stable_at_plus_minus_1000():
    z = np.array([[-1000.0], [1000.0], [-1000.0], [1000.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = mf.BCEWithLogits()(z, y)
    assert value == pytest.approx(500.0)  # mean of 0, 0 (right) and 1000, 1000 (wrong by a logit of 1000)
    np.testing.assert_allclose(grad.ravel(), [0, 0, -0.25, 0.25])


def test_losses_keep_float32():
    for name, (loss, pred, target, _) in LOSSES.items():
        _, grad = loss(pred.astype(np.float32), target)
        assert grad.dtype == np.float32, name


# -- errors ----------------------------------------------------------------------------
def test_class_labels_out_of_range_are_reported():
    with pytest.raises(ValueError, match=r"class labels must be in \[0, 4\), got 4 at index 2"):
        mf.CrossEntropy()(np.zeros((3, 4)), np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"got -1 at index 0"):
        mf.NLL()(np.zeros((3, 4)), np.array([-1, 1, 2]))
    with pytest.raises(ValueError, match=r"expected class labels of shape \(3,\), got \(3, 4\)"):
        mf.CrossEntropy()(np.zeros((3, 4)), np.eye(4)[:3])
    with pytest.raises(ValueError, match="integer class labels"):
        mf.CrossEntropy()(np.zeros((2, 4)), np.array([0.5, 1.0]))


def test_shape_mismatch_and_bad_probabilities_are_reported():
    with pytest.raises(ValueError,
                       match=r"MSE: expected target of the same shape as the predictions \(4, 1\), got \(4,\)"):
        mf.MSE()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="BCE: expected probabilities in \\[0, 1\\]"):
        mf.BCE()(np.array([[2.0]]), np.array([[1.0]]))


# -- the edges: PyTorch's values -----------------------------------------------------------------
@pytest.mark.parametrize("p", [0.0, 1.0, 1e-30, 1 - 1e-16, 0.5])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_bce_at_probabilities_0_and_1_matches_pytorch(p, y):
    """PyTorch clamps each log at -100 and the gradient's denominator at 1e-12: finite everywhere."""
    pred, target = np.array([[p], [0.25]]), np.array([[y], [1.0]])
    value, grad = mf.BCE()(pred, target)
    pt = torch.tensor(pred, requires_grad=True)
    ref = F.binary_cross_entropy(pt, torch.tensor(target))
    ref.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_masked_logits_matches_pytorch(smoothing):
    logits = RNG.normal(size=(N, C))
    logits[0, 1] = logits[2, 0] = logits[3, :2] = -np.inf  # masked classes, never the true one
    value, grad = mf.CrossEntropy(label_smoothing=smoothing)(logits, LABELS)
    pt = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(pt, torch.tensor(LABELS), label_smoothing=smoothing)
    assert value == pytest.approx(ref.item(), rel=1e-12)  # finite without smoothing, inf with it (as torch)
    if smoothing == 0:
        ref.backward()
        assert np.isfinite(value)
        np.testing.assert_allclose(grad, pt.grad.numpy(), atol=1e-12)
        assert np.all(grad[logits == -np.inf] == 0)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(2, 5), smoothing=st.sampled_from([0.0, 0.2]), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1.0, 30.0]))
def test_cross_entropy_matches_pytorch_for_any_batch(n, c, smoothing, seed, scale):
    rng = np.random.default_rng(seed)
    logits, labels = rng.normal(size=(n, c)) * scale, rng.integers(0, c, n)
    mask = rng.random((n, c)) < 0.3
    mask[np.arange(n), labels] = False
    if smoothing == 0:
        logits[mask] = -np.inf
    value, grad = mf.CrossEntropy(label_smoothing=smoothing)(logits, labels)
    pt = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(pt, torch.tensor(labels), label_smoothing=smoothing)
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 8), seed=st.integers(0, 2**16), edge=st.floats(0, 1))
def test_bce_matches_pytorch_for_any_batch_including_the_edges(n, seed, edge):
    rng = np.random.default_rng(seed)
    pred = rng.choice([0.0, 1.0, edge, rng.random()], size=(n, 1))
    target = rng.choice([0.0, 1.0, rng.random()], size=(n, 1))
    value, grad = mf.BCE()(pred, target)
    pt = torch.tensor(pred, requires_grad=True)
    ref = F.binary_cross_entropy(pt, torch.tensor(target))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=1e-10, atol=1e-12)


# -- integer and malformed inputs -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["MSE", "MAE", "BCEWithLogits", "CrossEntropy", "NLL"])
def test_integer_predictions_compute_in_float32(name):
    loss, pred, target, _ = LOSSES[name]
    int_pred = np.round(pred * 3).astype(np.int64)
    value, grad = loss(int_pred, target)
    ref_value, ref_grad = loss(int_pred.astype(np.float32), target)
    assert grad.dtype == np.float32 and np.any(grad != 0)
    assert value == ref_value
    np.testing.assert_array_equal(grad, ref_grad)


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_refuse_empty_batches_lists_and_text(name):
    loss, pred, target, _ = LOSSES[name]
    with pytest.raises(ValueError, match="expected a non-empty batch of predictions, got shape"):
        loss(pred[:0], target[:0])
    with pytest.raises(TypeError, match="expected a numpy array, got a list"):
        loss(pred.tolist(), target)
    with pytest.raises(TypeError, match="expected numeric targets, got dtype <U"):
        loss(pred, target.astype(str))
