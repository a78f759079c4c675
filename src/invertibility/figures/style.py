"""The figures' shared style: matplotlib without a display, a grid of panels, and saving."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..core.atomic import save_figure  # noqa: E402


def finish(fig, pdf: str, png: str) -> None:
    fig.tight_layout()
    save_figure(fig, [pdf, png])
    plt.close(fig)


def grid(n: int, width: float = 4.2, height: float = 3.2):
    """``n`` panels, at most three per row; the unused cells of the last row are blank."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])
