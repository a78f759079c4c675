"""Image-grid figures of the paper: per panel, one row per (layer, image), the original image
then one column per activation step ``tp``, all inverted with the panel's function step ``t``."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .atomic import save_figure  # noqa: E402
from .inversion_io import load_inversion  # noqa: E402

DEFAULT_IMAGES = (0, 1, 2, 3)


def for_display(image: np.ndarray, contrast: bool) -> np.ndarray:
    """CHW pixels to an HW(C) array in [0, 1]; with ``contrast``, stretch the 1st-99th
    percentile of the image to the full range."""
    image = np.nan_to_num(image.transpose(1, 2, 0), nan=0.0)
    if contrast:
        low, high = np.percentile(image, [1, 99])
        image = (image - low) / max(high - low, 1e-8)
    image = np.clip(image, 0, 1)
    return image[..., 0] if image.shape[-1] == 1 else image


def _panel_rows(panel: dict, by_key: dict):
    """Yield (row label, [images...]) for one panel, in config order (top row first)."""
    contrast = panel.get("contrast", False)
    for layer in panel["layers"]:
        first = by_key[(panel["model"], layer, panel["function"], panel["activations"][0])]
        for index in panel.get("images") or DEFAULT_IMAGES[: len(first["image_id"])]:
            cells = [for_display(first["originals"][index], False)]
            for tp in panel["activations"]:
                result = by_key[(panel["model"], layer, panel["function"], tp)]
                cells.append(for_display(result["reconstructions"][index], contrast))
            yield f"{layer}\n{first['image_id'][index]}", cells


def draw_figure(spec: dict, inputs: Sequence[str], pdf: str, png: str) -> None:
    results = [load_inversion(path) for path in inputs]
    by_key = {(r["model"], r["layer"], r["t"], r["tp"]): r for r in results}
    blocks = [(panel, list(_panel_rows(panel, by_key))) for panel in spec["panels"]]
    n_rows = sum(len(rows) for _, rows in blocks)
    n_cols = max(1 + len(panel["activations"]) for panel, _ in blocks)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(1.4 * n_cols + 0.8, 1.4 * n_rows + 0.8), squeeze=False
    )
    row = 0
    for panel, rows in blocks:
        headers = ["original", *panel["activations"]]
        for i, (label, cells) in enumerate(rows):
            for col in range(n_cols):
                ax = axes[row, col]
                ax.set_xticks([])
                ax.set_yticks([])
                if col >= len(cells):
                    ax.axis("off")
                    continue
                ax.imshow(cells[col], cmap="gray", vmin=0, vmax=1)
                if i == 0:
                    ax.set_title(headers[col], fontsize=8)
            axes[row, 0].set_ylabel(label, fontsize=7)
            row += 1
        first_ax = axes[row - len(rows), 0]
        title = panel.get("title") or f"{panel['model']}, function {panel['function']}"
        first_ax.annotate(title, (0, 1.35), xycoords="axes fraction", fontsize=9, fontweight="bold")
    if spec.get("title"):
        fig.suptitle(spec["title"], fontsize=10)
    fig.tight_layout()
    save_figure(fig, [pdf, png])
    plt.close(fig)
