"""Training throughput of a 784-512-512-10 ReLU MLP: minifw vs a raw numpy loop, PyTorch, Keras.

One epoch of plain SGD (lr 0.01) over 20,000 random MNIST-shaped float32 samples, at each
batch size. Every number comes from this one run, so the ratios against the raw numpy loop
compare like with like on this machine; the machine's numpy sgemm GFLOP/s is printed too.

    python benchmarks/mlp_throughput.py [--samples 20000] [--batch-sizes 64 256] [--repeats 3] [--skip keras]
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SIZES = (784, 512, 512, 10)
LR = 0.01


def sgemm_gflops(n: int = 1024, repeats: int = 10) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def raw_numpy(X: np.ndarray, y: np.ndarray, batch_size: int) -> Callable[[], None]:
    """The reference: the same network written as a bare loop (no layers, no bookkeeping)."""
    rng = np.random.default_rng(0)
    Ws = [(rng.standard_normal((i, o)) * np.sqrt(2 / i)).astype(np.float32) for i, o in zip(SIZES, SIZES[1:])]
    bs = [np.zeros(o, dtype=np.float32) for o in SIZES[1:]]

    def epoch() -> None:
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = X[idx], y[idx]
            h1 = np.maximum(xb @ Ws[0] + bs[0], 0)
            h2 = np.maximum(h1 @ Ws[1] + bs[1], 0)
            z = h2 @ Ws[2] + bs[2]
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            g3 = p / len(yb)
            g2 = (g3 @ Ws[2].T) * (h2 > 0)
            g1 = (g2 @ Ws[1].T) * (h1 > 0)
            for W, b, a, g in ((Ws[2], bs[2], h2, g3), (Ws[1], bs[1], h1, g2), (Ws[0], bs[0], xb, g1)):
                W -= LR * (a.T @ g)
                b -= LR * g.sum(axis=0)
    return epoch


def minifw_fit(X: np.ndarray, y: np.ndarray, batch_size: int) -> Callable[[], None]:
    import minifw as mf

    net = mf.Sequential(mf.Linear(784, 512, seed=0), mf.ReLU(), mf.Linear(512, 512, seed=1), mf.ReLU(),
                        mf.Linear(512, 10, seed=2))
    model = mf.Model(net, mf.CrossEntropy(), mf.SGD(net.parameters(), lr=LR))
    return lambda: model.fit(X, y, epochs=1, batch_size=batch_size, progress=False)


def torch_eager(X: np.ndarray, y: np.ndarray, batch_size: int) -> Callable[[], None]:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
                              torch.nn.Linear(512, 10))
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch() -> None:
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()
    return epoch


def keras_fit(X: np.ndarray, y: np.ndarray, batch_size: int) -> Callable[[], None]:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.SGD(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X[:batch_size * 2], y[:batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)  # trace once
    return lambda: model.fit(X, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)


RUNNERS = {"raw numpy": raw_numpy, "minifw fit": minifw_fit, "PyTorch eager": torch_eager, "Keras fit": keras_fit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per runner; the fastest is kept")
    parser.add_argument("--skip", nargs="*", default=[], choices=["minifw", "torch", "keras"])
    args = parser.parse_args()
    skip = {"minifw": "minifw fit", "torch": "PyTorch eager", "keras": "Keras fit"}
    runners = {k: v for k, v in RUNNERS.items() if k not in {skip[s] for s in args.skip}}

    rng = np.random.default_rng(0)
    X = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    print(f"numpy {np.__version__}, sgemm {sgemm_gflops():.1f} GFLOP/s, {os.cpu_count()} CPUs, "
          f"{args.samples} samples, best of {args.repeats} epochs\n")
    # Interleave the runners within each repeat so that a change in machine load hits all alike.
    results: dict[str, list[float]] = {name: [] for name in runners}
    for batch_size in args.batch_sizes:
        epochs = {name: make(X, y, batch_size) for name, make in runners.items()}
        best = dict.fromkeys(runners, float("inf"))
        for _ in range(args.repeats):
            for name, epoch in epochs.items():
                start = time.perf_counter()
                epoch()
                best[name] = min(best[name], time.perf_counter() - start)
        for name in runners:
            results[name].append(args.samples / best[name])
    print(f"{'runner':<15}" + "".join(f"{'batch ' + str(b):>26}" for b in args.batch_sizes))
    for name, rates in results.items():
        cells = [f"{s:10,.0f}/s ({s / r:4.2f}x raw)" for s, r in zip(rates, results["raw numpy"])]
        print(f"{name:<15}" + "".join(f"{c:>26}" for c in cells))


if __name__ == "__main__":
    main()
