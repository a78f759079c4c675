"""Image-grid figures of the paper: per panel, one row per (layer, image), the original image
then one column per activation step ``tp``, all inverted with the panel's function step ``t``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.atomic import save_figure
from ..core.inversion_io import load_inversion
from .kind import FigureKind

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
    """Yield (row label, [images or None for a diverged one...]) for one panel, in config order
    (top row first)."""
    contrast = panel.get("contrast", False)
    model = panel["model"]
    seed = panel["seed"]  # resolved by validation: default the model's first seed
    for layer in panel["layers"]:
        first = by_key[(model, seed, layer, panel["function"], panel["activations"][0])]
        for index in panel.get("images") or DEFAULT_IMAGES[: len(first["image_id"])]:
            cells = [for_display(first["originals"][index], False)]
            for tp in panel["activations"]:
                result = by_key[(model, seed, layer, panel["function"], tp)]
                diverged = bool(result["diverged"][index])
                cells.append(
                    None if diverged else for_display(result["reconstructions"][index], contrast)
                )
            yield f"{layer}\n{first['image_id'][index]}", cells


def _draw_panel(subfig, panel: dict, rows: list, n_cols: int) -> None:
    axes = subfig.subplots(len(rows), n_cols, squeeze=False)
    headers = ["original", *panel["activations"]]
    for i, (label, cells) in enumerate(rows):
        for col, ax in enumerate(axes[i]):
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(cells):
                ax.axis("off")
                continue
            if cells[col] is None:  # say so, rather than draw NaN as a black square
                ax.set_facecolor("0.85")
                ax.text(
                    0.5,
                    0.5,
                    "diverged",
                    ha="center",
                    va="center",
                    fontsize=7,
                    transform=ax.transAxes,
                )
                ax.set_box_aspect(1)
            else:
                ax.imshow(cells[col], cmap="gray", vmin=0, vmax=1)
            if i == 0:
                ax.set_title(headers[col], fontsize=8)
        axes[i, 0].set_ylabel(label, fontsize=7)
    title = panel.get("title") or f"{panel['model']}, function {panel['function']}"
    subfig.suptitle(title, fontsize=9, fontweight="bold")


def draw_figure(spec: dict, inputs: Sequence[str], pdf: str, png: str) -> None:
    """One figure of image grids: a block per panel (its own title), stacked top to bottom."""
    from .style import plt

    results = [load_inversion(path) for path in inputs]
    by_key = {(r["model"], r["seed"], r["layer"], r["t"], r["tp"]): r for r in results}
    blocks = [(panel, list(_panel_rows(panel, by_key))) for panel in spec["panels"]]
    n_rows = sum(len(rows) for _, rows in blocks)
    n_cols = max(1 + len(panel["activations"]) for panel, _ in blocks)
    fig = plt.figure(
        figsize=(1.3 * n_cols + 1.0, 1.3 * n_rows + 0.5 * len(blocks) + 0.4),
        layout="constrained",
    )
    # each panel's height: its rows plus room for its title and column headers
    subfigs = fig.subfigures(
        len(blocks), 1, squeeze=False, height_ratios=[len(rows) + 0.5 for _, rows in blocks]
    )[:, 0]
    for subfig, (panel, rows) in zip(subfigs, blocks, strict=True):
        _draw_panel(subfig, panel, rows, n_cols)
    if spec.get("title"):
        fig.suptitle(spec["title"], fontsize=10)
    save_figure(fig, [pdf, png])
    plt.close(fig)


def inputs(plan, name: str) -> dict:
    """The panels' inversion files, or the chunk folders that hold them."""
    return {"inversions": plan.inversions.targets(plan.figures.inversion_jobs(name))}


def planned(plan, name: str) -> dict:
    """Which files of those the panels show."""
    return {"files": [job.path for job in plan.figures.inversion_jobs(name)]}


def draw(files: dict, spec: dict, pdf: str, png: str) -> None:
    draw_figure(spec, spec["files"], pdf, png)


KIND = FigureKind(
    name="image_grid",
    inputs=inputs,
    planned=planned,
    panels=True,
    draw=draw,
    category="Paper figures",
    caption="""\
Figure ``{name}``: reconstructions of the original images (first column) from the activations at
each later step (columns), inverted with the layer function of the figure's function step; one
row per (layer, image), drawn top to bottom in the order the panel's ``layers`` list them in the
config (Figure 1 lists fc3, fc2, fc1, so the first layer is at the bottom there). Rows, columns and
images come from the ``figures`` entry of the config.""",
)
