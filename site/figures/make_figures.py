"""Draw the course's diagrams as SVG: `python site/figures/make_figures.py` rewrites them.

- `mlp.svg`: a small network drawn as neurons and layers (lesson 01-numpy/03, `Sequential`).
- `dropout.svg`: the same kind of network in training, with dropped units, and in evaluation
  (lesson 03-overfitting/02, dropout).

The output is the same byte for byte on every run (fixed hash salt, no date), so a test can
check that the committed files are current.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

HERE = Path(__file__).resolve().parent
BLUE, ORANGE, GREY = "#1f77b4", "#ff7f0e", "#b0b0b0"


def _positions(sizes: list[int], gap: float = 2.2) -> list[np.ndarray]:
    """(x, y) of every unit, layer by layer, each layer centred on y = 0."""
    return [np.column_stack([np.full(n, i * gap), np.arange(n)[::-1] - (n - 1) / 2]) for i, n in enumerate(sizes)]


def _draw(ax, sizes: list[int], dropped: list[set[int]] | None = None, highlight: tuple[int, int] | None = None,
          gap: float = 2.2):
    """Units as circles and weights as lines; `dropped[k]` units of layer k are switched off."""
    layers = _positions(sizes, gap)
    dropped = dropped or [set() for _ in sizes]
    for k in range(len(sizes) - 1):
        for i, (x0, y0) in enumerate(layers[k]):
            for j, (x1, y1) in enumerate(layers[k + 1]):
                if i in dropped[k] or j in dropped[k + 1]:
                    continue
                hot = highlight == (k + 1, j)
                ax.plot([x0, x1], [y0, y1], color=ORANGE if hot else GREY, lw=1.6 if hot else 0.8,
                        zorder=2 if hot else 1)
    for k, units in enumerate(layers):
        for i, (x, y) in enumerate(units):
            off = i in dropped[k]
            inner = BLUE if 0 < k < len(sizes) - 1 else "#d9e7f5"
            face = "white" if off else (ORANGE if highlight == (k, i) else inner)
            ax.add_patch(plt.Circle((x, y), 0.27, facecolor=face, edgecolor=GREY if off else "black",
                                    lw=1.2, ls="--" if off else "-", zorder=3))
            if off:
                ax.plot([x - 0.17, x + 0.17], [y - 0.17, y + 0.17], color=GREY, lw=1.5, zorder=4)
                ax.plot([x - 0.17, x + 0.17], [y + 0.17, y - 0.17], color=GREY, lw=1.5, zorder=4)
    ax.set_aspect("equal")
    ax.axis("off")
    return layers


def mlp(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 5))
    layers = _draw(ax, [4, 5, 3], highlight=(1, 1), gap=4.0)
    bottom = min(y for units in layers for _, y in units) - 0.8
    for units, text in zip(layers, ["input $x$\n4 features", "hidden $h$\n5 units", "output $z$\n3 classes"]):
        ax.text(units[0, 0], bottom, text, ha="center", va="top", fontsize=11)
    top = max(y for units in layers for _, y in units) + 0.7
    for (x0, x1), text in zip([(0, 4), (4, 8)],
                              ["Linear(4, 5), ReLU\n$h = \\mathrm{relu}(xW_1 + b_1)$\n$W_1$: (4, 5)",
                               "Linear(5, 3)\n$z = hW_2 + b_2$\n$W_2$: (5, 3)"]):
        ax.text((x0 + x1) / 2, top, text, ha="center", va="bottom", fontsize=11)
    x, y = layers[1][1]
    ax.annotate("one unit: a weighted sum of\nevery input, plus a bias,\nthen the activation",
                xy=(x + 0.3, y + 0.1), xytext=(x + 5.2, y + 0.6), fontsize=10, color=ORANGE,
                ha="left", va="bottom", arrowprops={"arrowstyle": "->", "color": ORANGE})
    ax.set_xlim(-1.2, 12.5)
    ax.set_ylim(bottom - 1.1, top + 1.6)
    _save(fig, path)


def dropout(path: Path) -> None:
    sizes = [4, 6, 6, 3]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    _draw(axes[0], sizes, dropped=[set(), {1, 4}, {0, 2, 5}, set()])
    axes[0].set_title("training: a new random mask at every step\n"
                      "dropped units are off; the others are scaled by $1/(1-p)$", fontsize=11)
    _draw(axes[1], sizes)
    axes[1].set_title("evaluation: every unit on,\nno mask and no scaling", fontsize=11)
    for ax in axes:
        ax.set_xlim(-0.6, 7.2)
        ax.set_ylim(-3.4, 3.2)
    fig.text(0.5, 0.02, "dropout after the ReLU of each hidden layer, rate $p = 0.5$", ha="center",
             fontsize=10, color="dimgray")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    plt.rcParams["svg.hashsalt"] = "nn-course"
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    path.write_text(buffer.getvalue())


FIGURES = {"mlp.svg": mlp, "dropout.svg": dropout}


def main(folder: Path = HERE) -> None:
    for name, draw in FIGURES.items():
        draw(folder / name)


if __name__ == "__main__":
    main()
