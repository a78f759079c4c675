"""The figures' shared style: matplotlib without a display, a grid of panels, and saving."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..core.atomic import save_figure  # noqa: E402

# A figure at most this many times as wide as it is tall (or as tall as wide) reads on a page or
# a laptop screen; a figure of few panels gets taller panels rather than becoming a strip.
MAX_ASPECT = 2.1


def page_size(width: float, height: float) -> tuple[float, float]:
    """``(width, height)`` in inches, the height raised where the figure would be a strip."""
    return width, max(height, width / MAX_ASPECT)


def finish(fig, pdf: str, png: str, legend: tuple | None = None, title_room: float = 0) -> None:
    """Lay out and save ``fig``; ``legend``: (handles, labels) of one legend for the whole
    figure, set in a row under the panels rather than on any of them; ``title_room``: inches
    kept free above the panels for the title (a tall figure's layout would reach into it)."""
    top = 1 - title_room / fig.get_figheight()
    if legend:
        fig.legend(*legend, loc="lower center", ncol=len(legend[0]), fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0.04, 1, top))
    elif title_room:
        fig.tight_layout(rect=(0, 0, 1, top))
    else:
        fig.tight_layout()
    save_figure(fig, [pdf, png])
    plt.close(fig)


def grid(n: int, width: float = 4.2, height: float = 3.2):
    """``n`` panels, at most three per row; the unused cells of the last row are blank."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=page_size(width * cols, height * rows), squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])
