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
    "CrossEntropy-probs": (mf.CrossEntropy(), RNG.normal(size=(N, C)), RNG.dirichlet(np.ones(C), N),
                           lambda p, t: F.cross_entropy(p, t)),
    "CrossEntropy-onehot-smoothing": (mf.CrossEntropy(label_smoothing=0.2), RNG.normal(size=(N, C)),
                                      np.eye(C)[LABELS], lambda p, t: F.cross_entropy(p, t, label_smoothing=0.2)),
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
        "CrossEntropy-probs": keras.losses.CategoricalCrossentropy(from_logits=True),
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



@pytest.mark.parametrize("kind", ["Dense", "BatchNormalization-train", "BatchNormalization-eval", "Flatten"])
def test_parameter_layers_parity_with_keras(tf, kind):
    """Linear = Dense (kernel (in, out) as minifw's W), BatchNorm1d = BatchNormalization with
    momentum 1 - m in both modes, Flatten = Flatten: outputs, input and parameter gradients."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(6, 2, 2) if kind == "Flatten" else (6, 4))
    if kind == "Dense":
        layer = mf.Linear(4, 3, seed=0).astype(np.float64)
        layer.b.data[...] = rng.normal(size=3)
        ref = keras.layers.Dense(3, dtype="float64")
        ref.build((None, 4))
        ref.set_weights([layer.W.data, layer.b.data])
    elif kind == "Flatten":
        layer, ref = mf.Flatten(), keras.layers.Flatten(dtype="float64")
    else:
        layer = mf.BatchNorm1d(4, eps=1e-3, momentum=0.1).astype(np.float64)
        layer.gamma.data[...], layer.beta.data[...] = rng.uniform(0.5, 1.5, 4), rng.normal(size=4)
        layer.running_mean[...], layer.running_var[...] = rng.normal(size=4), rng.uniform(0.5, 2, 4)
        ref = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
        ref.build((None, 4))
        ref.set_weights([layer.gamma.data, layer.beta.data, layer.running_mean, layer.running_var])
        if kind.endswith("eval"):
            layer.eval()
    training = kind == "BatchNormalization-train"
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = ref(xt, training=training)
    g = rng.normal(size=tuple(yt.shape))
    grads = tape.gradient(yt, [xt, *ref.trainable_weights], output_gradients=tf.constant(g))
    np.testing.assert_allclose(layer.forward(x), yt.numpy(), atol=1e-10)
    np.testing.assert_allclose(layer.backward(g), grads[0].numpy(), atol=1e-10)
    for p, ref_grad in zip(layer.parameters(), grads[1:]):
        np.testing.assert_allclose(p.grad, ref_grad.numpy(), atol=1e-10)
    if training:
        np.testing.assert_allclose(layer.running_mean, np.asarray(ref.moving_mean), atol=1e-12)

def test_batchnorm_momentum_is_keras_one_minus_momentum_and_keras_keeps_the_biased_variance(tf):
    """Documented: Keras BatchNormalization(momentum=k) is minifw/torch momentum 1 - k; Keras's
    moving variance takes the biased batch variance, minifw's (as torch's) the unbiased one."""
    import keras

    m, eps, n = 0.2, 1e-3, 5
    bn = mf.BatchNorm1d(3, eps=eps, momentum=m).astype(np.float64)
    ref = keras.layers.BatchNormalization(momentum=1 - m, epsilon=eps, dtype="float64")
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(n, 3))
    out_k = np.asarray(ref(x, training=True))
    np.testing.assert_allclose(bn.forward(x), out_k, atol=1e-10)  # same normalization, eps inside the root
    np.testing.assert_allclose(bn.running_mean, np.asarray(ref.moving_mean), atol=1e-12)
    keras_var = (1 - m) * 1.0 + m * x.var(axis=0)
    np.testing.assert_allclose(np.asarray(ref.moving_variance), keras_var, atol=1e-12)
    np.testing.assert_allclose(bn.running_var, (1 - m) * 1.0 + m * x.var(axis=0) * n / (n - 1), atol=1e-12)


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
        mf.NLL()(np.zeros((3, 4)), np.eye(4)[:3])  # NLL takes class indices only, as torch's nll_loss
    with pytest.raises(ValueError, match=r"expected class labels of shape \(3,\) or class probabilities of shape "
                                         r"\(3, 4\), got \(3, 5\)"):
        mf.CrossEntropy()(np.zeros((3, 4)), np.eye(5)[:3])
    with pytest.raises(ValueError, match="integer class labels"):
        mf.CrossEntropy()(np.zeros((2, 4)), np.array([0.5, 1.0]))


def test_shape_mismatch_and_bad_probabilities_are_reported():
    with pytest.raises(ValueError,
                       match=r"MSE: expected target of the same shape as the predictions \(4, 1\), got \(4,\)"):
        mf.MSE()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="BCE: expected probabilities in \\[0, 1\\], got 2.0; for logits use"):
        mf.BCE()(np.array([[2.0]]), np.array([[1.0]]))
    with pytest.raises(ValueError, match="BCE: expected probabilities in \\[0, 1\\], got nan"):  # torch refuses NaN too
        mf.BCE()(np.array([[np.nan]]), np.array([[1.0]]))
    with pytest.raises(ValueError, match="BCE: expected targets in \\[0, 1\\], got -1.0"):  # as torch's BCELoss
        mf.BCE()(np.array([[0.5], [0.5]]), np.array([[1.0], [-1.0]]))
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        F.binary_cross_entropy(torch.full((2, 1), 0.5, dtype=torch.float64), torch.tensor([[1.0], [-1.0]]).double())


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


# -- more edges: infinite logits, label dtypes, probability targets ------------------------------------------
@pytest.mark.parametrize("z", [np.inf, -np.inf, 1e4, -1e4, 800.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.5])
def test_bce_with_logits_at_infinite_logits_matches_pytorch(z, y):
    """torch computes (1 - y) z - log sigmoid(z): +inf for z = inf, y < 1 and NaN (0 * inf) for z = -inf, y = 1."""
    pred, target = np.array([[z], [0.3]]), np.array([[y], [1.0]])
    with np.errstate(over="raise", divide="raise"):  # no overflow warning on the way
        value, grad = mf.BCEWithLogits()(pred, target)
    pt = torch.tensor(pred, requires_grad=True)
    ref = F.binary_cross_entropy_with_logits(pt, torch.tensor(target))
    ref.backward()
    np.testing.assert_array_equal(value, ref.item())
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=1e-15, atol=1e-17)


EXTREME_LOGITS = [[np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [-np.inf, -np.inf, 0.0], [1e4, -1e4, 0.0],
                  [np.inf, np.inf, 0.0], [-1e300, 1e300, 0.0], [-np.inf, -np.inf, -np.inf]]


@pytest.mark.parametrize("row", EXTREME_LOGITS, ids=str)
@pytest.mark.parametrize("label", [0, 2])
def test_softmax_log_softmax_and_cross_entropy_at_extreme_logits_match_pytorch(row, label):
    """Finite wherever torch is finite, NaN exactly where torch gives NaN (an inf - inf in the shift)."""
    z = np.array([row, [0.5, -0.5, 2.0]])
    zt = torch.tensor(z, requires_grad=True)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(mf.softmax(z), torch.softmax(zt, -1).detach().numpy(), rtol=1e-15)
        np.testing.assert_allclose(mf.log_softmax(z), torch.log_softmax(zt, -1).detach().numpy(), rtol=1e-15)
        value, grad = mf.CrossEntropy()(z, np.array([label, 1]))
    ref = F.cross_entropy(zt, torch.tensor([label, 1]))
    ref.backward()
    np.testing.assert_allclose(value, ref.item(), rtol=1e-15)
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-15, atol=1e-17)


@pytest.mark.parametrize("labels", [LABELS.astype(np.int32), LABELS.astype(np.uint8), LABELS.astype(np.int16),
                                    LABELS.astype(np.float32), LABELS.astype(np.float64), LABELS.tolist()],
                         ids=["int32", "uint8", "int16", "float32", "float64", "list"])
@pytest.mark.parametrize("name", ["CrossEntropy", "NLL"])
def test_class_labels_of_any_integer_valued_dtype_give_pytorchs_value(name, labels):
    loss, pred, _, ref = LOSSES[name]
    value, grad = loss(pred, labels)
    pt = torch.tensor(pred, requires_grad=True)
    expected = ref(pt, torch.tensor(LABELS))  # torch wants int64 class indices
    expected.backward()
    assert value == pytest.approx(expected.item(), abs=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 5), smoothing=st.sampled_from([0.0, 0.1, 1.0]), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_cross_entropy_with_probability_targets_matches_pytorch(n, c, smoothing, seed, dtype):
    rng = np.random.default_rng(seed)
    logits, probs = rng.normal(size=(n, c)).astype(dtype) * 3, rng.dirichlet(np.ones(c), n).astype(dtype)
    value, grad = mf.CrossEntropy(label_smoothing=smoothing)(logits, probs)
    assert grad.dtype == dtype
    pt = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(pt, torch.tensor(probs), label_smoothing=smoothing)
    ref.backward()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(ref.item(), rel=tol, abs=tol)
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("smoothing, error, message", [
    (1.5, ValueError, r"CrossEntropy: label_smoothing must be in \[0.0, 1.0\], got 1.5"),
    (-0.1, ValueError, r"CrossEntropy: label_smoothing must be in \[0.0, 1.0\], got -0.1"),
    (True, TypeError, "CrossEntropy: label_smoothing must be a number, got True"),
    ("0.1", TypeError, "CrossEntropy: label_smoothing must be a number, got '0.1'"),
])
def test_bad_label_smoothing_says_what_was_expected(smoothing, error, message):
    with pytest.raises(error, match=message):
        mf.CrossEntropy(label_smoothing=smoothing)


def test_masked_logit_with_probability_targets_is_nan_as_in_pytorch():
    """Documented: torch sums q * log_softmax, and 0 * -inf is NaN; with class labels the same row is finite."""
    z, probs = np.array([[-np.inf, 0.0, 1.0]]), np.array([[0.0, 0.5, 0.5]])
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(probs)).item()
    assert np.isnan(ref) and np.isnan(mf.CrossEntropy()(z, probs)[0])
    assert np.isfinite(mf.CrossEntropy()(z, np.array([2]))[0])
