"""minifw.onnx: export and load round trips for every layer kind (float32 and float64), checked
against onnxruntime, models exported by PyTorch and Keras, and the errors for what it cannot read."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import minifw as mf

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402

# ONNX float attributes (epsilon, alpha) are float32, so a float64 graph differs from minifw by ~1e-10
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-9, atol=1e-12)}


def _bn(n: int, seed: int = 1) -> mf.BatchNorm1d:
    bn = mf.BatchNorm1d(n, eps=1e-3, momentum=0.2)
    rng = np.random.default_rng(seed)
    bn.gamma.data[...] = rng.uniform(0.5, 1.5, n)
    bn.beta.data[...] = rng.normal(size=n)
    bn.running_mean[...] = rng.normal(size=n)
    bn.running_var[...] = rng.uniform(0.5, 2.0, n)
    return bn


# layer kind -> (network holding it, the shape of one sample)
NETS = {
    "Linear": (lambda: mf.Sequential(mf.Linear(5, 3, seed=0)), (5,)),
    "Linear without bias": (lambda: mf.Sequential(mf.Linear(5, 3, bias=False, seed=0)), (5,)),
    "ReLU": (lambda: mf.Sequential(mf.Linear(5, 4, seed=0), mf.ReLU()), (5,)),
    "LeakyReLU": (lambda: mf.Sequential(mf.Linear(5, 4, seed=0), mf.LeakyReLU(0.2)), (5,)),
    "Sigmoid": (lambda: mf.Sequential(mf.Sigmoid()), (5,)),
    "Tanh": (lambda: mf.Sequential(mf.Tanh()), (5,)),
    "Softmax": (lambda: mf.Sequential(mf.Linear(5, 4, seed=0), mf.Softmax()), (5,)),
    "Dropout": (lambda: mf.Sequential(mf.Linear(5, 4, seed=0), mf.Dropout(0.3)), (5,)),
    "BatchNorm1d": (lambda: mf.Sequential(mf.Linear(5, 4, seed=0), _bn(4)), (5,)),
    "Flatten": (lambda: mf.Sequential(mf.Flatten(), mf.Linear(6, 2, seed=0)), (2, 3)),
}


def _ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _same_layers(a: mf.Module, b: mf.Module) -> None:
    assert [type(layer) for layer in a.layers] == [type(layer) for layer in b.layers]
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert state_b[name].dtype == state_a[name].dtype, name
        np.testing.assert_allclose(state_b[name], state_a[name], rtol=1e-7, err_msg=name)


def test_import_minifw_does_not_import_onnx():
    code = "import minifw, sys; assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", NETS)
def test_round_trip(kind, dtype, tmp_path):
    make, features = NETS[kind]
    net = make().astype(dtype).eval()
    x = np.random.default_rng(0).normal(size=(7, *features)).astype(dtype)
    model = mf.onnx.export(net, tmp_path / "net.onnx", features, dtype=dtype)
    assert (tmp_path / "net.onnx").stat().st_size > 0
    expected = net(x)
    if not (kind == "LeakyReLU" and dtype == np.float64):  # onnxruntime has no float64 LeakyRelu kernel
        got = _ort(model, x)
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, **TOL[dtype])
    back = mf.onnx.load(tmp_path / "net.onnx")
    assert not back.training
    _same_layers(net, back)
    np.testing.assert_array_equal(back(x), expected)


def test_round_trip_keeps_hyper_parameters():
    net = mf.Sequential(mf.Linear(3, 4, seed=0), _bn(4), mf.LeakyReLU(0.1), mf.Dropout(0.25))
    bn, leaky, drop = mf.onnx.load(mf.onnx.export(net, None, 3).SerializeToString()).layers[1:]
    assert (bn.eps, bn.momentum, leaky.negative_slope, drop.p) == (1e-3, 0.2, 0.1, 0.25)


@pytest.mark.parametrize("opset", [mf.onnx.MIN_OPSET, mf.onnx.DEFAULT_OPSET, mf.onnx.MAX_OPSET])
def test_every_layer_at_each_opset(opset):
    net = mf.Sequential(mf.Flatten(), mf.Linear(12, 8, seed=0), _bn(8), mf.LeakyReLU(0.1), mf.Dropout(0.3),
                        mf.Linear(8, 6, bias=False, seed=1), mf.Tanh(), mf.Linear(6, 5, seed=2), mf.Sigmoid(),
                        mf.Linear(5, 4, seed=3), mf.ReLU(), mf.Linear(4, 3, seed=4), mf.Softmax()).eval()
    x = np.random.default_rng(0).normal(size=(9, 3, 4)).astype(np.float32)
    model = mf.onnx.export(net, None, (3, 4), opset=opset)
    assert model.opset_import[0].version == opset
    assert [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == ["N", 3, 4]
    np.testing.assert_allclose(_ort(model, x), net(x), **TOL[np.float32])
    np.testing.assert_allclose(_ort(model, x[:2]), net(x[:2]), **TOL[np.float32])  # the batch axis is dynamic
    back = mf.onnx.load(model)
    _same_layers(net, back)
    np.testing.assert_array_equal(back(x), net(x))


def test_nested_sequential_and_names():
    net = mf.Sequential(mf.Sequential(mf.Linear(4, 3, seed=0), mf.ReLU()), mf.Linear(3, 2, seed=1))
    model = mf.onnx.export(net, None, 4)
    assert [t.name for t in model.graph.initializer] == ["0.0.W", "0.0.b", "1.W", "1.b"]
    assert [n.op_type for n in model.graph.node] == ["Gemm", "Relu", "Gemm"]
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(mf.onnx.load(model)(x), net(x))


def test_a_single_layer_exports():
    layer = mf.Linear(4, 2, seed=0)
    x = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(_ort(mf.onnx.export(layer, None, 4), x), layer(x), **TOL[np.float32])


def test_export_errors():
    class Square(mf.Module):
        def forward(self, x):
            return x * x

    with pytest.raises(mf.onnx.UnsupportedOnnxError, match="Square"):
        mf.onnx.export(mf.Sequential(mf.Linear(2, 2), Square()), None, 2)
    with pytest.raises(ValueError, match=r"expects \(N, 4\) inputs, it gets \(N, 5\)"):
        mf.onnx.export(mf.Sequential(mf.Linear(4, 2)), None, 5)
    with pytest.raises(ValueError, match="mix dtypes"):
        mf.onnx.export(mf.Sequential(mf.Linear(4, 2), mf.Linear(2, 2).astype(np.float64)), None, 4)
    with pytest.raises(ValueError, match="opset must be in"):
        mf.onnx.export(mf.Sequential(mf.ReLU()), None, 4, opset=11)


# -- what other exporters write ------------------------------------------------------------
def _graph(nodes, inits, features=(4,), opset=18, elem=onnx.TensorProto.FLOAT, outputs=4):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", elem, ["N", *features])],
                              [helper.make_tensor_value_info("y", elem, ["N", outputs])],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model_gen_version(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_matmul_add_mul_reshape_constant_identity():
    """MatMul + Add is a Linear, a per-feature Mul + Add an affine BatchNorm1d, Reshape(-1, k) a Flatten."""
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    scale, shift = rng.normal(size=(1, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    nodes = [helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([-1, 6]))),
             helper.make_node("Reshape", ["x", "shape"], ["flat"]),
             helper.make_node("Identity", ["w"], ["w2"]),
             helper.make_node("MatMul", ["flat", "w2"], ["mm"]),
             helper.make_node("Add", ["b", "mm"], ["lin"]),
             helper.make_node("Mul", ["lin", "scale"], ["scaled"]),
             helper.make_node("Add", ["scaled", "shift"], ["aff"]),
             helper.make_node("Identity", ["aff"], ["id"]),
             helper.make_node("Gemm", ["id", "w3", "b3"], ["y"], transB=1, alpha=2.0, beta=0.5)]
    w3, b3 = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(1, 2)).astype(np.float32)
    model = _graph(nodes, {"w": w, "b": b, "scale": scale, "shift": shift, "w3": w3, "b3": b3}, features=(2, 3),
                   outputs=2)
    onnx.checker.check_model(model)
    net = mf.onnx.load(model)
    assert [type(layer) for layer in net.layers] == [mf.Flatten, mf.Linear, mf.BatchNorm1d, mf.Linear]
    x = rng.normal(size=(5, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(net(x), _ort(model, x), **TOL[np.float32])


def test_unsupported_operator_is_named():
    model = _graph([helper.make_node("Gemm", ["x", "w"], ["h"]), helper.make_node("Gelu", ["h"], ["y"], name="act")],
                   {"w": np.ones((4, 3), np.float32)}, opset=20, outputs=3)
    with pytest.raises(mf.onnx.UnsupportedOnnxError, match="act.*operator Gelu is not supported"):
        mf.onnx.load(model)


def test_unsupported_opset_is_named():
    model = _graph([helper.make_node("Relu", ["x"], ["y"])], {}, opset=11)
    with pytest.raises(mf.onnx.UnsupportedOnnxError, match=r"opset 11; minifw reads opsets 13\.\.28.*convert_version"):
        mf.onnx.load(model)
    up = onnx.version_converter.convert_version(model, mf.onnx.DEFAULT_OPSET)
    assert [type(layer) for layer in mf.onnx.load(up).layers] == [mf.ReLU]


@pytest.mark.parametrize("nodes, inits, match", [
    ([helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Add", ["h", "x"], ["y"])], {}, "reads a chain"),
    ([helper.make_node("MatMul", ["x", "w"], ["y"])], {"w": np.ones((4, 3, 1), np.float32)}, "2-D weight"),
    ([helper.make_node("Gemm", ["x", "w"], ["y"])], {"w": np.ones((5, 3), np.float32)}, r"weight \(5, 3\) on 4"),
    ([helper.make_node("Softmax", ["x"], ["y"], axis=0)], {}, "axis 0"),
    ([helper.make_node("Reshape", ["x", "s"], ["y"])], {"s": np.array([2, -1])}, "not a flatten"),
    ([helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Relu", ["x"], ["y"])], {}, "reads a chain"),
    ([helper.make_node("Relu", ["x"], ["y"], domain="com.microsoft")], {}, "com.microsoft::Relu"),
])
def test_unreadable_graphs(nodes, inits, match):
    model = _graph(nodes, inits)
    if nodes[0].domain:
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(mf.onnx.UnsupportedOnnxError, match=match):
        mf.onnx.load(model)


def test_unsupported_input_dtype():
    model = _graph([helper.make_node("Relu", ["x"], ["y"])], {}, elem=onnx.TensorProto.FLOAT16)
    with pytest.raises(mf.onnx.UnsupportedOnnxError, match="float16"):
        mf.onnx.load(model)


def test_training_mode_batchnorm_is_refused():
    c = np.ones(4, np.float32)
    bn = helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y", "rm", "rv"], training_mode=1)
    model = _graph([bn], {"g": c, "b": c, "m": c, "v": c})
    with pytest.raises(mf.onnx.UnsupportedOnnxError, match="training mode"):
        mf.onnx.load(model)


# -- PyTorch and Keras exports ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pytorch_export_loads(dtype, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.BatchNorm1d(8),
                              torch.nn.LeakyReLU(0.1), torch.nn.Dropout(0.2), torch.nn.Linear(8, 5, bias=False),
                              torch.nn.Tanh(), torch.nn.Linear(5, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 3),
                              torch.nn.ReLU(), torch.nn.Linear(3, 3), torch.nn.Softmax(dim=1))
    with torch.no_grad():
        net[2].running_mean.normal_()
        net[2].running_var.uniform_(0.5, 2.0)
    net = net.to(torch.float64 if dtype == np.float64 else torch.float32).eval()
    x = np.random.default_rng(0).normal(size=(6, 3, 4)).astype(dtype)
    torch.onnx.export(net, (torch.from_numpy(x),), tmp_path / "t.onnx", dynamo=True,
                      dynamic_shapes=({0: "batch"},), external_data=False, verbose=False)
    back = mf.onnx.load(tmp_path / "t.onnx")
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = back(x)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, **TOL[dtype])
    # the exporter keeps the weight as (out, in) with transB=1; minifw stores (in, out)
    np.testing.assert_array_equal(back[-2].W.data, net[-2].weight.detach().numpy().T)


def test_keras_export_loads(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("tf2onnx")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3, 4)), keras.layers.Flatten(), keras.layers.Dense(8),
                              keras.layers.BatchNormalization(), keras.layers.LeakyReLU(0.1),
                              keras.layers.Dropout(0.2), keras.layers.Dense(5, use_bias=False, activation="tanh"),
                              keras.layers.Dense(4, activation="sigmoid"), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    bn = model.layers[2]
    rng = np.random.default_rng(0)
    bn.moving_mean.assign(rng.normal(size=8).astype(np.float32))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, 8).astype(np.float32))
    x = rng.normal(size=(6, 3, 4)).astype(np.float32)
    expected = model(x, training=False).numpy()  # a Keras model exports once it has been called
    model.export(str(tmp_path / "k.onnx"), format="onnx", verbose=False)
    back = mf.onnx.load(tmp_path / "k.onnx")
    np.testing.assert_allclose(back(x), expected, **TOL[np.float32])
    np.testing.assert_allclose(back(x), _ort(onnx.load(tmp_path / "k.onnx"), x), **TOL[np.float32])


def test_batchnorm_momentum_none_and_dropout_p_1_export_and_run():
    bn = mf.BatchNorm1d(4, momentum=None)
    bn.load_state_dict({**_bn(4).state_dict(), "num_batches_tracked": np.array(3)})
    net = mf.Sequential(mf.Linear(5, 4, seed=0), bn, mf.Dropout(1.0), mf.Tanh()).eval()
    model = mf.onnx.export(net, None, 5)
    assert [n.op_type for n in model.graph.node] == ["Gemm", "BatchNormalization", "Identity", "Tanh"]
    x = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    np.testing.assert_allclose(_ort(model, x), net(x), **TOL[np.float32])
    back = mf.onnx.load(model)
    assert [type(layer) for layer in back.layers] == [mf.Linear, mf.BatchNorm1d, mf.Tanh]
    assert back.layers[1].momentum == pytest.approx(0.1)  # ONNX has no cumulative average: its default
    np.testing.assert_array_equal(back(x), net(x))
